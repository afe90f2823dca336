// Package serving is an Open Inference Protocol v2 (KServe "V2") HTTP server for kiln.model/v1
// models, as a library. It serves
//
//	GET  /v2                                  server metadata
//	GET  /v2/health/live, /v2/health/ready    liveness and readiness
//	GET  /v2/models/{name}[/versions/{v}]     model metadata
//	GET  /v2/models/{name}[/versions/{v}]/ready
//	POST /v2/models/{name}[/versions/{v}]/infer
//
// A model artifact embeds its fitted preprocessing transform, so requests carry raw feature
// values. An infer request gives the rows in one of two forms:
//
//   - one tensor per feature, named after it, of shape [N] or [N,1] (numbers, or BYTES for a
//     categorical feature);
//   - a single numeric tensor of shape [N, F] holding the features in the model's order
//     (listed in the model metadata).
//
// A classifier answers with the tensors "label" (BYTES [N]), "class" (INT64 [N]) and
// "probabilities" (FP64 [N, K], classes in the order of the model's "classes" parameter); a
// regressor with "value" (FP64 [N]).
package serving

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/kilnml/kiln/components/ml/model"
)

// Model is a model to serve.
type Model struct {
	// Name is the model's name in URLs.
	Name string
	// Version labels the model version ("1"); empty is allowed.
	Version string
	// Model is the loaded artifact.
	Model *model.Model
}

// LoadFile reads a kiln.model/v1 artifact from path.
func LoadFile(ctx context.Context, name, version, path string) (Model, error) {
	m, err := model.LoadFile(ctx, path)
	if err != nil {
		return Model{}, fmt.Errorf("serve %s: %w", name, err)
	}
	return Model{Name: name, Version: version, Model: m}, nil
}

// Server answers Open Inference Protocol v2 requests for a fixed set of models.
type Server struct {
	models map[string]Model
	log    *slog.Logger
	mux    *http.ServeMux
}

// ServerName is reported by GET /v2.
const ServerName = "kiln-serve"

// New returns a server for models (distinct, non-empty names); a nil log discards logs.
func New(log *slog.Logger, models ...Model) (*Server, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{models: map[string]Model{}, log: log, mux: http.NewServeMux()}
	for i, m := range models {
		if m.Name == "" || strings.ContainsAny(m.Name, "/ ") {
			return nil, fmt.Errorf("serve: model %d: invalid name %q", i, m.Name)
		}
		if m.Model == nil {
			return nil, fmt.Errorf("serve: model %q: no model", m.Name)
		}
		if _, dup := s.models[m.Name]; dup {
			return nil, fmt.Errorf("serve: model %q given twice", m.Name)
		}
		s.models[m.Name] = m
	}
	s.mux.HandleFunc("GET /v2", s.serverMetadata)
	s.mux.HandleFunc("GET /v2/health/live", s.health("live"))
	s.mux.HandleFunc("GET /v2/health/ready", s.health("ready"))
	for _, prefix := range []string{"/v2/models/{name}", "/v2/models/{name}/versions/{version}"} {
		s.mux.HandleFunc("GET "+prefix, s.modelMetadata)
		s.mux.HandleFunc("GET "+prefix+"/ready", s.modelReady)
		s.mux.HandleFunc("POST "+prefix+"/infer", s.infer)
	}
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Names returns the served model names, sorted.
func (s *Server) Names() []string { return slices.Sorted(maps.Keys(s.models)) }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, code int, err error) {
	writeJSON(w, code, errorBody{Error: err.Error()})
}

func (s *Server) serverMetadata(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, ServerMetadata{Name: ServerName, Version: "2", Extensions: []string{}})
}

func (s *Server) health(kind string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{kind: true})
	}
}

// lookup finds the model of the request, writing a 404 if there is none.
func (s *Server) lookup(w http.ResponseWriter, r *http.Request) (Model, bool) {
	name := r.PathValue("name")
	m, ok := s.models[name]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Errorf("model %q not found (serving %v)", name, s.Names()))
		return Model{}, false
	}
	if v := r.PathValue("version"); v != "" && v != m.Version {
		writeError(w, http.StatusNotFound, fmt.Errorf("model %q has no version %q (serving %q)", name, v, m.Version))
		return Model{}, false
	}
	return m, true
}

// Metadata returns the OIP metadata of m.
func Metadata(m Model) ModelMetadata {
	md := ModelMetadata{Name: m.Name, Platform: "kiln/" + string(m.Model.Kind)}
	if m.Version != "" {
		md.Versions = []string{m.Version}
	}
	for _, f := range m.Model.Features {
		dt := "FP64"
		if m.Model.Preprocess != nil {
			for _, c := range m.Model.Preprocess.Columns {
				if c.Name == f && len(c.Categories) > 0 {
					dt = "BYTES"
				}
			}
		}
		md.Inputs = append(md.Inputs, TensorMetadata{Name: f, Datatype: dt, Shape: []int{-1}})
	}
	if m.Model.IsClassifier() {
		md.Outputs = []TensorMetadata{
			{Name: "label", Datatype: "BYTES", Shape: []int{-1}},
			{Name: "class", Datatype: "INT64", Shape: []int{-1}},
			{Name: "probabilities", Datatype: "FP64", Shape: []int{-1, len(m.Model.Classes)}},
		}
	} else {
		md.Outputs = []TensorMetadata{{Name: "value", Datatype: "FP64", Shape: []int{-1}}}
	}
	return md
}

func (s *Server) modelMetadata(w http.ResponseWriter, r *http.Request) {
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, Metadata(m))
}

func (s *Server) modelReady(w http.ResponseWriter, r *http.Request) {
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"name": m.Name, "ready": true})
}

// maxBody bounds an infer request.
const maxBody = 64 << 20

func (s *Server) infer(w http.ResponseWriter, r *http.Request) {
	m, ok := s.lookup(w, r)
	if !ok {
		return
	}
	var req InferRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBody))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, fmt.Errorf("decode infer request: %w", err))
		return
	}
	resp, err := Infer(m, &req)
	if err != nil {
		var bad *BadRequestError
		code := http.StatusInternalServerError
		if errors.As(err, &bad) {
			code = http.StatusBadRequest
		}
		s.log.Info("infer failed", "model", m.Name, "err", err)
		writeError(w, code, err)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// BadRequestError is an infer request the model cannot answer.
type BadRequestError struct{ Err error }

func (e *BadRequestError) Error() string { return e.Err.Error() }
func (e *BadRequestError) Unwrap() error { return e.Err }

func badRequest(format string, args ...any) error {
	return &BadRequestError{Err: fmt.Errorf(format, args...)}
}

// Records converts the inputs of req into one record of raw feature values per row.
func Records(m *model.Model, req *InferRequest) ([]map[string]any, error) {
	if len(req.Inputs) == 0 {
		return nil, badRequest("no inputs")
	}
	if len(req.Inputs) == 1 && len(req.Inputs[0].Shape) == 2 && req.Inputs[0].Shape[1] == len(m.Features) && !slices.Contains(m.Features, req.Inputs[0].Name) {
		t := req.Inputs[0]
		el, err := t.elements()
		if err != nil {
			return nil, &BadRequestError{Err: err}
		}
		n, d := t.Shape[0], t.Shape[1]
		recs := make([]map[string]any, n)
		for i := range n {
			recs[i] = make(map[string]any, d)
			for j, f := range m.Features {
				v, err := numeric(t.Name, el[i*d+j])
				if err != nil {
					return nil, &BadRequestError{Err: err}
				}
				recs[i][f] = v
			}
		}
		return recs, nil
	}
	var recs []map[string]any
	seen := map[string]bool{}
	for _, t := range req.Inputs {
		if !slices.Contains(m.Features, t.Name) {
			return nil, badRequest("input %q is not a feature of the model (features: %v; or send one [N,%d] tensor)", t.Name, m.Features, len(m.Features))
		}
		if seen[t.Name] {
			return nil, badRequest("input %q given twice", t.Name)
		}
		seen[t.Name] = true
		if len(t.Shape) > 2 || (len(t.Shape) == 2 && t.Shape[1] != 1) {
			return nil, badRequest("input %q: shape %v, want [N] or [N,1]", t.Name, t.Shape)
		}
		el, err := t.elements()
		if err != nil {
			return nil, &BadRequestError{Err: err}
		}
		if recs == nil {
			recs = make([]map[string]any, len(el))
			for i := range recs {
				recs[i] = map[string]any{}
			}
		}
		if len(el) != len(recs) {
			return nil, badRequest("input %q has %d rows, input %q has %d", t.Name, len(el), req.Inputs[0].Name, len(recs))
		}
		for i, v := range el {
			if t.Datatype == "BYTES" {
				if sv, ok := v.(string); ok {
					recs[i][t.Name] = sv
					continue
				}
			}
			f, err := numeric(t.Name, v)
			if err != nil {
				return nil, &BadRequestError{Err: err}
			}
			recs[i][t.Name] = f
		}
	}
	return recs, nil
}

// Infer answers req with m.
func Infer(m Model, req *InferRequest) (*InferResponse, error) {
	recs, err := Records(m.Model, req)
	if err != nil {
		return nil, err
	}
	p, err := m.Model.PredictRecords(recs)
	if err != nil {
		return nil, &BadRequestError{Err: err}
	}
	n := len(recs)
	resp := &InferResponse{ModelName: m.Name, ModelVersion: m.Version, ID: req.ID}
	if m.Model.IsClassifier() {
		labels := make([]any, n)
		classes := make([]any, n)
		probs := make([]any, 0, n*len(m.Model.Classes))
		for i := range n {
			labels[i], classes[i] = p.Labels[i], p.Classes[i]
			for _, v := range p.Probabilities[i] {
				probs = append(probs, v)
			}
		}
		resp.Outputs = []Tensor{
			{Name: "label", Datatype: "BYTES", Shape: []int{n}, Data: labels},
			{Name: "class", Datatype: "INT64", Shape: []int{n}, Data: classes},
			{Name: "probabilities", Datatype: "FP64", Shape: []int{n, len(m.Model.Classes)}, Data: probs,
				Parameters: map[string]any{"classes": m.Model.Classes}},
		}
	} else {
		vals := make([]any, n)
		for i, v := range p.Values {
			vals[i] = v
		}
		resp.Outputs = []Tensor{{Name: "value", Datatype: "FP64", Shape: []int{n}, Data: vals}}
	}
	if len(req.Outputs) > 0 {
		var keep []Tensor
		for _, o := range req.Outputs {
			i := slices.IndexFunc(resp.Outputs, func(t Tensor) bool { return t.Name == o.Name })
			if i < 0 {
				return nil, badRequest("unknown output %q", o.Name)
			}
			keep = append(keep, resp.Outputs[i])
		}
		resp.Outputs = keep
	}
	return resp, nil
}

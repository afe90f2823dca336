package notebooks

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Authorizer decides whether a request may use a namespace. The backend supplies it from its
// token and namespace model. It returns the user's name, or an error wrapping ErrUnauthenticated
// (answered with 401) or ErrForbidden (403); any other error is answered with 403 too.
type Authorizer interface {
	Authorize(r *http.Request, namespace string) (user string, err error)
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(r *http.Request, namespace string) (string, error)

// Authorize calls f.
func (f AuthorizerFunc) Authorize(r *http.Request, namespace string) (string, error) {
	return f(r, namespace)
}

// CreateRequest is the body of POST /api/v1/notebooks/{namespace}.
type CreateRequest struct {
	// Name is the notebook's name.
	Name string `json:"name"`
	// Spec is the requested server.
	Spec Spec `json:"spec"`
}

// ListResponse is the body of GET /api/v1/notebooks/{namespace}.
type ListResponse struct {
	// Notebooks are sorted by name.
	Notebooks []*Notebook `json:"notebooks"`
}

// ErrorResponse is the body of every error answer.
type ErrorResponse struct {
	// Error describes the failure.
	Error ErrorBody `json:"error"`
}

// ErrorBody is the content of ErrorResponse.
type ErrorBody struct {
	// Code repeats the HTTP status code.
	Code int `json:"code"`
	// Message is a one-line summary.
	Message string `json:"message"`
	// Fields lists validation problems, one per field.
	Fields []FieldError `json:"fields,omitempty"`
}

// FieldError is one validation problem.
type FieldError struct {
	// Field is the path, e.g. "spec.resources.cpu".
	Field string `json:"field"`
	// Type is the kind of problem, e.g. "FieldValueInvalid".
	Type string `json:"type"`
	// Detail explains the problem.
	Detail string `json:"detail"`
}

// Handler returns an http.Handler serving the REST API under /api/v1/notebooks and the proxy
// under /notebook/, both guarded by auth. Use Register to add the routes to an existing mux.
func (m *Manager) Handler(auth Authorizer) http.Handler {
	mux := http.NewServeMux()
	m.Register(mux, auth)
	return mux
}

// Register adds the notebook routes to mux:
//
//	POST   /api/v1/notebooks/{namespace}               create (CreateRequest → 201 Notebook)
//	GET    /api/v1/notebooks/{namespace}               list (ListResponse)
//	GET    /api/v1/notebooks/{namespace}/{name}        get (Notebook with fresh status)
//	POST   /api/v1/notebooks/{namespace}/{name}/stop   stop, keeping the workspace
//	POST   /api/v1/notebooks/{namespace}/{name}/start  start again
//	DELETE /api/v1/notebooks/{namespace}/{name}        delete with the workspace (204)
//	GET    /api/v1/notebooks/{namespace}/{name}/logs   server log, text (?tailLines=N, default 200)
//	*      /notebook/{namespace}/{name}/...            proxy to the server (HTTP and WebSocket)
func (m *Manager) Register(mux *http.ServeMux, auth Authorizer) {
	h := &api{m: m, auth: auth}
	mux.HandleFunc("POST /api/v1/notebooks/{namespace}", h.create)
	mux.HandleFunc("GET /api/v1/notebooks/{namespace}", h.list)
	mux.HandleFunc("GET /api/v1/notebooks/{namespace}/{name}", h.get)
	mux.HandleFunc("POST /api/v1/notebooks/{namespace}/{name}/stop", h.stop)
	mux.HandleFunc("POST /api/v1/notebooks/{namespace}/{name}/start", h.start)
	mux.HandleFunc("DELETE /api/v1/notebooks/{namespace}/{name}", h.delete)
	mux.HandleFunc("GET /api/v1/notebooks/{namespace}/{name}/logs", h.logs)
	mux.Handle("/notebook/{namespace}/{name}/", m.ProxyHandler(auth))
}

type api struct {
	m    *Manager
	auth Authorizer
}

// authorize checks the namespace in the path and returns the user, or writes the error.
func (h *api) authorize(w http.ResponseWriter, r *http.Request) (string, bool) {
	ns := r.PathValue("namespace")
	if errs := ValidateName(ns, field.NewPath("namespace")); len(errs) > 0 {
		writeError(w, &ValidationError{Errors: errs})
		return "", false
	}
	user, err := h.auth.Authorize(r, ns)
	if err != nil {
		writeError(w, authError(err))
		return "", false
	}
	return user, true
}

func authError(err error) error {
	if errors.Is(err, ErrUnauthenticated) || errors.Is(err, ErrForbidden) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrForbidden, err)
}

func (h *api) create(w http.ResponseWriter, r *http.Request) {
	user, ok := h.authorize(w, r)
	if !ok {
		return
	}
	var req CreateRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: ErrorBody{Code: http.StatusBadRequest,
			Message: "decode request body: " + err.Error()}})
		return
	}
	nb := &Notebook{Name: req.Name, Namespace: r.PathValue("namespace"), Owner: user, Spec: req.Spec}
	out, err := h.m.Create(r.Context(), nb)
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, out)
}

func (h *api) list(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r); !ok {
		return
	}
	nbs, err := h.m.List(r.Context(), r.PathValue("namespace"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, ListResponse{Notebooks: nbs})
}

func (h *api) get(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r); !ok {
		return
	}
	nb, err := h.m.Get(r.Context(), r.PathValue("namespace"), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nb)
}

func (h *api) stop(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r); !ok {
		return
	}
	nb, err := h.m.Stop(r.Context(), r.PathValue("namespace"), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nb)
}

func (h *api) start(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r); !ok {
		return
	}
	nb, err := h.m.Start(r.Context(), r.PathValue("namespace"), r.PathValue("name"))
	if err != nil {
		writeError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, nb)
}

func (h *api) delete(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r); !ok {
		return
	}
	if err := h.m.Delete(r.Context(), r.PathValue("namespace"), r.PathValue("name")); err != nil {
		writeError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (h *api) logs(w http.ResponseWriter, r *http.Request) {
	if _, ok := h.authorize(w, r); !ok {
		return
	}
	tail := 200
	if v := r.URL.Query().Get("tailLines"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			writeError(w, &ValidationError{Errors: field.ErrorList{field.Invalid(field.NewPath("tailLines"), v, "must be a positive integer")}})
			return
		}
		tail = n
	}
	b, err := h.m.Logs(r.Context(), r.PathValue("namespace"), r.PathValue("name"), tail)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, _ = w.Write(b)
}

// StatusCode maps an error from this package to an HTTP status code.
func StatusCode(err error) int {
	var verr *ValidationError
	switch {
	case errors.As(err, &verr):
		return http.StatusBadRequest
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrAlreadyExists):
		return http.StatusConflict
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrNotRunning):
		return http.StatusServiceUnavailable
	case errors.Is(err, ErrNoLogs):
		return http.StatusNotImplemented
	default:
		return http.StatusInternalServerError
	}
}

func writeError(w http.ResponseWriter, err error) {
	code := StatusCode(err)
	body := ErrorBody{Code: code, Message: err.Error()}
	var verr *ValidationError
	if errors.As(err, &verr) {
		for _, fe := range verr.Errors {
			body.Fields = append(body.Fields, FieldError{Field: fe.Field, Type: string(fe.Type), Detail: fe.ErrorBody()})
		}
	}
	writeJSON(w, code, ErrorResponse{Error: body})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

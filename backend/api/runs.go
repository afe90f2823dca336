package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
)

func (h *Handler) registerRunRoutes() {
	h.handle("POST /api/v1/runs", h.createRun)
	h.handle("GET /api/v1/runs", h.listRuns)
	h.handle("POST /api/v1/runs/search", h.searchRuns)
	h.handle("GET /api/v1/runs/{id}", h.getRun)
	h.handle("DELETE /api/v1/runs/{id}", h.deleteRun)
	h.handle("POST /api/v1/runs/{id}/cancel", h.cancelRun)
	h.handle("POST /api/v1/runs/{id}/retry", h.retryRun)
	h.handle("POST /api/v1/runs/{id}/archive", h.archiveRun(true))
	h.handle("POST /api/v1/runs/{id}/unarchive", h.archiveRun(false))
	h.handle("GET /api/v1/runs/{id}/nodes/{node}/logs", h.runLogs)
	h.handle("POST /api/v1/runs/{id}/status", h.setRunStatus)
}

// setRunStatus sets the phase of a tracking-only run, which its client (not an engine) drives.
func (h *Handler) setRunStatus(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req SetRunStatusRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ph := store.Phase(req.Phase)
	if !ph.Valid() {
		return invalid("phase", "unknown phase %q", req.Phase)
	}
	id := r.PathValue("id")
	run, err := h.runInNamespace(r.Context(), ns, id)
	if err != nil {
		return err
	}
	if len(run.Spec) > 0 {
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: fmt.Sprintf("run %q is executed by the engine; only tracking-only runs take a status", id)}
	}
	u := store.RunUpdate{Phase: ph, Message: &req.Message}
	if ph.Terminal() {
		u.FinishedAt = time.Now()
	}
	run, err = h.st.UpdateRun(r.Context(), ns, id, u)
	if err != nil {
		return fmt.Errorf("set status of run %q: %w", id, err)
	}
	writeJSON(w, http.StatusOK, runOut(run))
	return nil
}

func (h *Handler) createRun(w http.ResponseWriter, r *http.Request) error {
	ns, user, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req CreateRunRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	ctx := r.Context()
	run := &store.Run{Namespace: ns, Name: req.Name, Description: req.Description, ExperimentID: req.ExperimentID,
		Parameters: req.Parameters, CreatedBy: user}
	if req.ExperimentID != "" {
		if _, err := h.st.GetExperiment(ctx, ns, req.ExperimentID); errors.Is(err, store.ErrNotFound) {
			return invalid("experimentId", "experiment %q not found", req.ExperimentID)
		} else if err != nil {
			return err
		}
	}
	if req.PipelineVersionID == "" {
		// A tracking-only run: the caller logs to it and sets its phase through MLflow's API.
		if len(req.Parameters) > 0 {
			return invalid("parameters", "parameters need a pipelineVersionId")
		}
		if run.Name == "" {
			run.Name = "run"
		}
		run.Phase = store.PhaseRunning
		if err := h.st.CreateRun(ctx, run); err != nil {
			return fmt.Errorf("create run: %w", err)
		}
		writeJSON(w, http.StatusCreated, runOut(run))
		return nil
	}
	v, err := h.st.GetPipelineVersion(ctx, ns, req.PipelineVersionID)
	if errors.Is(err, store.ErrNotFound) {
		return invalid("pipelineVersionId", "pipeline version %q not found", req.PipelineVersionID)
	} else if err != nil {
		return err
	}
	schema, err := versionSchema(v)
	if err != nil {
		return err
	}
	if errs := runs.CheckParameters(field.NewPath("parameters"), schema, req.Parameters); len(errs) > 0 {
		return fromFieldErrors("invalid parameters", errs)
	}
	run.PipelineID, run.PipelineVersionID, run.Spec = v.PipelineID, v.ID, v.Spec
	if err := h.runs.Create(ctx, run); err != nil {
		if errors.Is(err, runs.ErrInvalidSpec) {
			return invalid("pipelineVersionId", "%v", err)
		}
		return err
	}
	writeJSON(w, http.StatusCreated, runOut(run))
	return nil
}

// runsQuery is the shared part of list and search.
func (h *Handler) queryRuns(w http.ResponseWriter, r *http.Request, ns string, req SearchRunsRequest) error {
	opts := store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: ns, OrderBy: req.OrderBy, PageSize: req.PageSize, PageToken: req.PageToken},
		ExperimentIDs: req.ExperimentIDs}
	if req.PageSize < 0 {
		return invalid("pageSize", "must not be negative")
	}
	switch strings.ToLower(req.View) {
	case "", "active":
		opts.View = store.ActiveOnly
	case "archived":
		opts.View = store.ArchivedOnly
	case "all":
		opts.View = store.AllRuns
	default:
		return invalid("view", "must be active, archived or all, got %q", req.View)
	}
	if req.Filter != "" {
		f, err := filter.Parse(req.Filter)
		if err != nil {
			return invalid("filter", "%v", err)
		}
		opts.Filter = f
	}
	rs, next, err := h.st.ListRuns(r.Context(), opts)
	if err != nil {
		if errors.Is(err, store.ErrInvalidArgument) {
			return invalid(invalidListField(err), "%v", err)
		}
		return fmt.Errorf("list runs: %w", err)
	}
	out := ListRunsResponse{Runs: convert(rs, runOut), NextPageToken: next}
	if req.IncludeData {
		for i := range out.Runs {
			d, err := h.loadRunData(r.Context(), out.Runs[i].ID)
			if err != nil {
				return err
			}
			out.Runs[i].Data = &d
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// invalidListField guesses which list option a store ErrInvalidArgument is about.
func invalidListField(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "token"):
		return "pageToken"
	case strings.Contains(msg, "order"):
		return "orderBy"
	case strings.Contains(msg, "filter"):
		return "filter"
	}
	return "query"
}

func (h *Handler) listRuns(w http.ResponseWriter, r *http.Request) error {
	ns, opts, err := h.listRequest(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	req := SearchRunsRequest{Filter: q.Get("filter"), OrderBy: opts.OrderBy, PageSize: opts.PageSize, PageToken: opts.PageToken,
		View: q.Get("view"), ExperimentIDs: q["experimentId"]}
	if req.IncludeData, err = queryBool(r, "includeData"); err != nil {
		return err
	}
	return h.queryRuns(w, r, ns, req)
}

func (h *Handler) searchRuns(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	var req SearchRunsRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	return h.queryRuns(w, r, ns, req)
}

func (h *Handler) getRun(w http.ResponseWriter, r *http.Request) error {
	_, run, err := h.pathRun(r, read)
	if err != nil {
		return err
	}
	nodes, err := h.st.ListNodes(r.Context(), run.ID)
	if err != nil {
		return fmt.Errorf("nodes of run %q: %w", run.ID, err)
	}
	out := runOut(run)
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, nodeOut(n))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) deleteRun(w http.ResponseWriter, r *http.Request) error {
	ns, run, err := h.pathRun(r, write)
	if err != nil {
		return err
	}
	id := run.ID
	if !run.Phase.Terminal() && run.PipelineVersionID != "" {
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: fmt.Sprintf("run %q is %s; cancel it before deleting it", id, run.Phase)}
	}
	if err := h.st.DeleteRun(r.Context(), ns, id); err != nil {
		return fmt.Errorf("delete run %q: %w", id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) runAction(w http.ResponseWriter, r *http.Request, fn func(ns, id string) error) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	if err := fn(ns, id); err != nil {
		return err
	}
	run, err := h.runInNamespace(r.Context(), ns, id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, runOut(run))
	return nil
}

func (h *Handler) cancelRun(w http.ResponseWriter, r *http.Request) error {
	return h.runAction(w, r, func(ns, id string) error { return h.runs.Cancel(r.Context(), ns, id) })
}

func (h *Handler) retryRun(w http.ResponseWriter, r *http.Request) error {
	return h.runAction(w, r, func(ns, id string) error { return h.runs.Retry(r.Context(), ns, id) })
}

func (h *Handler) archiveRun(archived bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		return h.runAction(w, r, func(ns, id string) error {
			if err := h.st.SetRunArchived(r.Context(), ns, id, archived); err != nil {
				return fmt.Errorf("archive run %q: %w", id, err)
			}
			return nil
		})
	}
}

// runLogs streams a node's log as text/plain; with follow=true it flushes as output arrives and
// ends when the node does.
func (h *Handler) runLogs(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	follow, err := queryBool(r, "follow")
	if err != nil {
		return err
	}
	rc, err := h.runs.Logs(r.Context(), ns, r.PathValue("id"), r.PathValue("node"), follow)
	if err != nil {
		return err
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	buf := make([]byte, 32<<10)
	for {
		n, rerr := rc.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if rerr != nil {
			if !errors.Is(rerr, io.EOF) {
				h.log.WarnContext(r.Context(), "log stream ended", "run", r.PathValue("id"), "err", rerr)
			}
			return nil
		}
	}
}

// versionSchema decodes the parameters schema stored with a pipeline version.
func versionSchema(v *store.PipelineVersion) ([]runs.ParamSpec, error) {
	var schema []runs.ParamSpec
	if len(v.ParametersSchema) == 0 {
		return nil, nil
	}
	if err := json.Unmarshal(v.ParametersSchema, &schema); err != nil {
		return nil, fmt.Errorf("pipeline version %q: parameters schema: %w", v.ID, err)
	}
	return schema, nil
}

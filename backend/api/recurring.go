package api

import (
	"errors"
	"fmt"
	"net/http"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
)

func (h *Handler) registerRecurringRoutes() {
	h.handle("POST /api/v1/recurring-runs", h.createRecurringRun)
	h.handle("GET /api/v1/recurring-runs", h.listRecurringRuns)
	h.handle("GET /api/v1/recurring-runs/{id}", h.getRecurringRun)
	h.handle("DELETE /api/v1/recurring-runs/{id}", h.deleteRecurringRun)
	h.handle("POST /api/v1/recurring-runs/{id}/enable", h.enableRecurringRun(true))
	h.handle("POST /api/v1/recurring-runs/{id}/disable", h.enableRecurringRun(false))
}

func (h *Handler) createRecurringRun(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req RecurringRun
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var errs field.ErrorList
	if req.ID != "" || req.LastRunAt != nil || !req.CreatedAt.IsZero() || !req.UpdatedAt.IsZero() {
		errs = append(errs, field.Forbidden(field.NewPath("id"), "id, lastRunAt, createdAt and updatedAt are set by the server"))
	}
	if req.Name == "" {
		errs = append(errs, field.Required(field.NewPath("name"), ""))
	}
	rr := &store.RecurringRun{Namespace: ns, Name: req.Name, Description: req.Description, ExperimentID: req.ExperimentID,
		PipelineVersionID: req.PipelineVersionID, Parameters: req.Parameters, Cron: req.Cron, TimeZone: req.TimeZone,
		Enabled: req.Enabled, MaxConcurrency: req.MaxConcurrency, CatchUp: req.CatchUp}
	if req.StartAt != nil {
		rr.StartAt = *req.StartAt
	}
	if req.EndAt != nil {
		rr.EndAt = *req.EndAt
	}
	if req.Interval != "" {
		d, err := time.ParseDuration(req.Interval)
		if err != nil {
			errs = append(errs, field.Invalid(field.NewPath("interval"), req.Interval, "not a Go duration such as 1h30m"))
		}
		rr.Interval = d
	}
	if len(errs) == 0 {
		errs = append(errs, runs.ValidateSchedule(nil, rr)...)
	}
	if req.PipelineVersionID == "" {
		errs = append(errs, field.Required(field.NewPath("pipelineVersionId"), ""))
	} else if v, err := h.st.GetPipelineVersion(r.Context(), ns, req.PipelineVersionID); errors.Is(err, store.ErrNotFound) {
		errs = append(errs, field.NotFound(field.NewPath("pipelineVersionId"), req.PipelineVersionID))
	} else if err != nil {
		return err
	} else if schema, err := versionSchema(v); err != nil {
		return err
	} else {
		errs = append(errs, runs.CheckParameters(field.NewPath("parameters"), schema, req.Parameters)...)
	}
	if len(errs) > 0 {
		return fromFieldErrors("invalid recurring run", errs)
	}
	if err := h.st.CreateRecurringRun(r.Context(), rr); err != nil {
		return fmt.Errorf("create recurring run %q: %w", req.Name, err)
	}
	writeJSON(w, http.StatusCreated, recurringOut(rr))
	return nil
}

func (h *Handler) listRecurringRuns(w http.ResponseWriter, r *http.Request) error {
	_, opts, err := h.listRequest(r)
	if err != nil {
		return err
	}
	rrs, next, err := h.st.ListRecurringRuns(r.Context(), opts)
	if err != nil {
		return fmt.Errorf("list recurring runs: %w", err)
	}
	out := ListRecurringRunsResponse{RecurringRuns: convert(rrs, recurringOut), NextPageToken: next}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getRecurringRun(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	rr, err := h.st.GetRecurringRun(r.Context(), ns, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("recurring run %q: %w", r.PathValue("id"), err)
	}
	writeJSON(w, http.StatusOK, recurringOut(rr))
	return nil
}

func (h *Handler) deleteRecurringRun(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	if err := h.st.DeleteRecurringRun(r.Context(), ns, r.PathValue("id")); err != nil {
		return fmt.Errorf("delete recurring run %q: %w", r.PathValue("id"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) enableRecurringRun(enabled bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ns, _, err := h.namespace(r, write)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		if err := h.st.SetRecurringRunEnabled(r.Context(), ns, id, enabled); err != nil {
			return fmt.Errorf("enable recurring run %q: %w", id, err)
		}
		rr, err := h.st.GetRecurringRun(r.Context(), ns, id)
		if err != nil {
			return fmt.Errorf("recurring run %q: %w", id, err)
		}
		writeJSON(w, http.StatusOK, recurringOut(rr))
		return nil
	}
}

package api

import (
	"fmt"
	"net/http"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/store"
)

func (h *Handler) registerExperimentRoutes() {
	h.handle("POST /api/v1/experiments", h.createExperiment)
	h.handle("GET /api/v1/experiments", h.listExperiments)
	h.handle("GET /api/v1/experiments/{id}", h.getExperiment)
	h.handle("DELETE /api/v1/experiments/{id}", h.deleteExperiment)
	h.handle("POST /api/v1/experiments/{id}/archive", h.archiveExperiment(true))
	h.handle("POST /api/v1/experiments/{id}/unarchive", h.archiveExperiment(false))
}

func (h *Handler) createExperiment(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req CreateExperimentRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return fromFieldErrors("invalid experiment", field.ErrorList{field.Required(field.NewPath("name"), "")})
	}
	e := &store.Experiment{Namespace: ns, Name: req.Name, Description: req.Description, Tags: req.Tags}
	if err := h.st.CreateExperiment(r.Context(), e); err != nil {
		return fmt.Errorf("create experiment %q: %w", req.Name, err)
	}
	writeJSON(w, http.StatusCreated, experimentOut(e))
	return nil
}

func (h *Handler) listExperiments(w http.ResponseWriter, r *http.Request) error {
	_, opts, err := h.listRequest(r)
	if err != nil {
		return err
	}
	all, err := queryBool(r, "includeArchived")
	if err != nil {
		return err
	}
	es, next, err := h.st.ListExperiments(r.Context(), opts, all)
	if err != nil {
		return fmt.Errorf("list experiments: %w", err)
	}
	out := ListExperimentsResponse{Experiments: convert(es, experimentOut), NextPageToken: next}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getExperiment(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	e, err := h.st.GetExperiment(r.Context(), ns, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("experiment %q: %w", r.PathValue("id"), err)
	}
	writeJSON(w, http.StatusOK, experimentOut(e))
	return nil
}

func (h *Handler) deleteExperiment(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	if err := h.st.DeleteExperiment(r.Context(), ns, r.PathValue("id")); err != nil {
		return fmt.Errorf("delete experiment %q: %w", r.PathValue("id"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) archiveExperiment(archived bool) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		ns, _, err := h.namespace(r, write)
		if err != nil {
			return err
		}
		id := r.PathValue("id")
		if err := h.st.SetExperimentArchived(r.Context(), ns, id, archived); err != nil {
			return fmt.Errorf("archive experiment %q: %w", id, err)
		}
		e, err := h.st.GetExperiment(r.Context(), ns, id)
		if err != nil {
			return fmt.Errorf("experiment %q: %w", id, err)
		}
		writeJSON(w, http.StatusOK, experimentOut(e))
		return nil
	}
}

package api

import (
	"fmt"
	"net/http"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/store"
)

func (h *Handler) registerRegistryRoutes() {
	h.handle("POST /api/v1/artifacts", h.createArtifact)
	h.handle("GET /api/v1/artifacts", h.listArtifacts)
	h.handle("GET /api/v1/artifacts/{id}", h.getArtifact)
	h.handle("GET /api/v1/artifacts/{id}/lineage", h.artifactLineage)
	h.handle("GET /api/v1/runs/{id}/lineage", h.runLineage)

	h.handle("POST /api/v1/models", h.createModel)
	h.handle("GET /api/v1/models", h.listModels)
	h.handle("GET /api/v1/models/{name}", h.getModel)
	h.handle("DELETE /api/v1/models/{name}", h.deleteModel)
	h.handle("POST /api/v1/models/{name}/versions", h.createModelVersion)
	h.handle("GET /api/v1/models/{name}/versions", h.listModelVersions)
	h.handle("GET /api/v1/models/{name}/versions/{version}", h.getModelVersion)
	h.handle("PUT /api/v1/models/{name}/aliases/{alias}", h.setAlias)
	h.handle("GET /api/v1/models/{name}/aliases/{alias}", h.getAlias)
	h.handle("DELETE /api/v1/models/{name}/aliases/{alias}", h.deleteAlias)
}

func (h *Handler) createArtifact(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req Artifact
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var errs field.ErrorList
	if req.Name == "" {
		errs = append(errs, field.Required(field.NewPath("name"), ""))
	}
	if req.URI == "" {
		errs = append(errs, field.Required(field.NewPath("uri"), ""))
	}
	if req.ID != "" || !req.CreatedAt.IsZero() {
		errs = append(errs, field.Forbidden(field.NewPath("id"), "id and createdAt are set by the server"))
	}
	if len(errs) > 0 {
		return fromFieldErrors("invalid artifact", errs)
	}
	if req.RunID != "" {
		if _, err := h.runInNamespace(r.Context(), ns, req.RunID); err != nil {
			return invalid("runId", "%v", err)
		}
	}
	a := &store.Artifact{Namespace: ns, RunID: req.RunID, NodeID: req.NodeID, Name: req.Name, URI: req.URI, Type: req.Type,
		Digest: req.Digest, Size: req.Size, Metadata: req.Metadata}
	if err := h.st.CreateArtifact(r.Context(), a); err != nil {
		return fmt.Errorf("create artifact %q: %w", req.Name, err)
	}
	writeJSON(w, http.StatusCreated, artifactOut(a))
	return nil
}

func (h *Handler) listArtifacts(w http.ResponseWriter, r *http.Request) error {
	_, opts, err := h.listRequest(r)
	if err != nil {
		return err
	}
	as, next, err := h.st.ListArtifacts(r.Context(), store.ListArtifactsOptions{ListOptions: opts, RunID: r.URL.Query().Get("runId")})
	if err != nil {
		return fmt.Errorf("list artifacts: %w", err)
	}
	out := ListArtifactsResponse{Artifacts: convert(as, artifactOut), NextPageToken: next}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getArtifact(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	a, err := h.st.GetArtifact(r.Context(), ns, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("artifact %q: %w", r.PathValue("id"), err)
	}
	writeJSON(w, http.StatusOK, artifactOut(a))
	return nil
}

func lineageOut(evs []store.LineageEvent) LineageResponse {
	out := LineageResponse{Events: []LineageEvent{}}
	for _, e := range evs {
		out.Events = append(out.Events, LineageEvent{ArtifactID: e.ArtifactID, RunID: e.RunID, NodeID: e.NodeID, Kind: string(e.Kind), CreatedAt: e.CreatedAt})
	}
	return out
}

func (h *Handler) artifactLineage(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	a, err := h.st.GetArtifact(r.Context(), ns, r.PathValue("id"))
	if err != nil {
		return fmt.Errorf("artifact %q: %w", r.PathValue("id"), err)
	}
	evs, err := h.st.ArtifactLineage(r.Context(), a.ID)
	if err != nil {
		return fmt.Errorf("lineage of artifact %q: %w", a.ID, err)
	}
	writeJSON(w, http.StatusOK, lineageOut(evs))
	return nil
}

func (h *Handler) runLineage(w http.ResponseWriter, r *http.Request) error {
	_, run, err := h.pathRun(r, read)
	if err != nil {
		return err
	}
	evs, err := h.st.RunLineage(r.Context(), run.ID)
	if err != nil {
		return fmt.Errorf("lineage of run %q: %w", run.ID, err)
	}
	writeJSON(w, http.StatusOK, lineageOut(evs))
	return nil
}

func (h *Handler) createModel(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req RegisteredModel
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Name == "" {
		return fromFieldErrors("invalid model", field.ErrorList{field.Required(field.NewPath("name"), "")})
	}
	m := &store.RegisteredModel{Namespace: ns, Name: req.Name, Description: req.Description, Tags: req.Tags}
	if err := h.st.CreateRegisteredModel(r.Context(), m); err != nil {
		return fmt.Errorf("create model %q: %w", req.Name, err)
	}
	writeJSON(w, http.StatusCreated, modelOut(m))
	return nil
}

func (h *Handler) listModels(w http.ResponseWriter, r *http.Request) error {
	_, opts, err := h.listRequest(r)
	if err != nil {
		return err
	}
	ms, next, err := h.st.ListRegisteredModels(r.Context(), opts)
	if err != nil {
		return fmt.Errorf("list models: %w", err)
	}
	out := ListModelsResponse{Models: convert(ms, modelOut), NextPageToken: next}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getModel(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	m, err := h.st.GetRegisteredModel(r.Context(), ns, r.PathValue("name"))
	if err != nil {
		return fmt.Errorf("model %q: %w", r.PathValue("name"), err)
	}
	writeJSON(w, http.StatusOK, modelOut(m))
	return nil
}

func (h *Handler) deleteModel(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	if err := h.st.DeleteRegisteredModel(r.Context(), ns, r.PathValue("name")); err != nil {
		return fmt.Errorf("delete model %q: %w", r.PathValue("name"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) createModelVersion(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req ModelVersion
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	var errs field.ErrorList
	if req.Source == "" && req.ArtifactID == "" {
		errs = append(errs, field.Required(field.NewPath("source"), "set source or artifactId"))
	}
	if req.Version != 0 || len(req.Aliases) > 0 {
		errs = append(errs, field.Forbidden(field.NewPath("version"), "versions are numbered by the server; set aliases with PUT .../aliases/{alias}"))
	}
	if len(errs) > 0 {
		return fromFieldErrors("invalid model version", errs)
	}
	mv := &store.ModelVersion{Namespace: ns, ModelName: r.PathValue("name"), Source: req.Source, ArtifactID: req.ArtifactID,
		RunID: req.RunID, Description: req.Description, Tags: req.Tags, Status: req.Status}
	if err := h.st.CreateModelVersion(r.Context(), mv); err != nil {
		return fmt.Errorf("create version of model %q: %w", mv.ModelName, err)
	}
	writeJSON(w, http.StatusCreated, modelVersionOut(mv))
	return nil
}

func (h *Handler) listModelVersions(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	name := r.PathValue("name")
	vs, err := h.st.ListModelVersions(r.Context(), ns, name)
	if err != nil {
		return fmt.Errorf("versions of model %q: %w", name, err)
	}
	aliases, err := h.st.ListAliases(r.Context(), ns, name)
	if err != nil {
		return fmt.Errorf("aliases of model %q: %w", name, err)
	}
	out := ListModelVersionsResponse{Versions: []ModelVersion{}}
	for _, v := range vs {
		mv := modelVersionOut(v)
		for _, a := range aliases {
			if a.Version == v.Version {
				mv.Aliases = append(mv.Aliases, a.Alias)
			}
		}
		out.Versions = append(out.Versions, mv)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) getModelVersion(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	n, err := strconv.ParseInt(r.PathValue("version"), 10, 64)
	if err != nil || n <= 0 {
		return invalid("version", "must be a positive integer, got %q", r.PathValue("version"))
	}
	v, err := h.st.GetModelVersion(r.Context(), ns, r.PathValue("name"), n)
	if err != nil {
		return fmt.Errorf("version %d of model %q: %w", n, r.PathValue("name"), err)
	}
	writeJSON(w, http.StatusOK, modelVersionOut(v))
	return nil
}

func (h *Handler) setAlias(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	var req SetAliasRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Version <= 0 {
		return invalid("version", "must be a positive integer")
	}
	a := store.Alias{Namespace: ns, ModelName: r.PathValue("name"), Alias: r.PathValue("alias"), Version: req.Version}
	if err := h.st.SetAlias(r.Context(), a); err != nil {
		return fmt.Errorf("set alias %q of model %q: %w", a.Alias, a.ModelName, err)
	}
	return h.getAlias(w, r)
}

func (h *Handler) getAlias(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	v, err := h.st.GetModelVersionByAlias(r.Context(), ns, r.PathValue("name"), r.PathValue("alias"))
	if err != nil {
		return fmt.Errorf("alias %q of model %q: %w", r.PathValue("alias"), r.PathValue("name"), err)
	}
	out := modelVersionOut(v)
	out.Aliases = []string{r.PathValue("alias")}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) deleteAlias(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	if err := h.st.DeleteAlias(r.Context(), ns, r.PathValue("name"), r.PathValue("alias")); err != nil {
		return fmt.Errorf("delete alias %q of model %q: %w", r.PathValue("alias"), r.PathValue("name"), err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

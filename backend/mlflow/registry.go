package mlflow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/backend/store"
)

// registeredModel is MLflow's RegisteredModel message.
type registeredModel struct {
	Name                 string         `json:"name"`
	CreationTimestamp    int64          `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp int64          `json:"last_updated_timestamp,omitempty"`
	Description          string         `json:"description,omitempty"`
	LatestVersions       []modelVersion `json:"latest_versions,omitempty"`
	Tags                 []keyValue     `json:"tags,omitempty"`
	Aliases              []modelAlias   `json:"aliases,omitempty"`
}

type modelAlias struct {
	Alias   string `json:"alias"`
	Version string `json:"version"`
}

// modelVersion is MLflow's ModelVersion message.
type modelVersion struct {
	Name                 string     `json:"name"`
	Version              string     `json:"version"`
	CreationTimestamp    int64      `json:"creation_timestamp,omitempty"`
	LastUpdatedTimestamp int64      `json:"last_updated_timestamp,omitempty"`
	CurrentStage         string     `json:"current_stage"`
	Description          string     `json:"description,omitempty"`
	Source               string     `json:"source,omitempty"`
	RunID                string     `json:"run_id,omitempty"`
	Status               string     `json:"status"`
	Tags                 []keyValue `json:"tags,omitempty"`
	Aliases              []string   `json:"aliases,omitempty"`
}

func (h *Handler) registryRoutes() {
	h.handle(http.MethodPost, "registered-models/create", write, h.createModel)
	h.handle(http.MethodGet, "registered-models/get", read, h.getModel)
	h.handle(http.MethodPatch, "registered-models/update", write, h.updateModel)
	h.handle(http.MethodDelete, "registered-models/delete", write, h.deleteModel)
	h.handle(http.MethodGet, "registered-models/search", read, h.searchModels)
	h.handle(http.MethodPost, "registered-models/get-latest-versions", read, h.latestVersions)
	h.handle(http.MethodGet, "registered-models/get-latest-versions", read, h.latestVersions)
	h.handle(http.MethodPost, "registered-models/set-tag", write, h.setModelTag)
	h.handle(http.MethodDelete, "registered-models/delete-tag", write, h.deleteModelTag)
	h.handle(http.MethodPost, "registered-models/alias", write, h.setAlias)
	h.handle(http.MethodDelete, "registered-models/alias", write, h.deleteAlias)
	h.handle(http.MethodGet, "registered-models/alias", read, h.getByAlias)

	h.handle(http.MethodPost, "model-versions/create", write, h.createVersion)
	h.handle(http.MethodGet, "model-versions/get", read, h.getVersion)
	h.handle(http.MethodPatch, "model-versions/update", write, h.updateVersion)
	h.handle(http.MethodDelete, "model-versions/delete", write, h.deleteVersion)
	h.handle(http.MethodGet, "model-versions/search", read, h.searchVersions)
	h.handle(http.MethodPost, "model-versions/set-tag", write, h.setVersionTag)
	h.handle(http.MethodDelete, "model-versions/delete-tag", write, h.deleteVersionTag)
	h.handle(http.MethodGet, "model-versions/get-download-uri", read, h.downloadURI)
}

// requestedModel decodes a request naming a registered model and loads the model.
func (h *Handler) requestedModel(ctx context.Context, id identity, r *http.Request) (nameRequest, *store.RegisteredModel, error) {
	var req nameRequest
	if err := decode(r, &req); err != nil {
		return req, nil, err
	}
	m, err := h.model(ctx, id.namespace, req.Name)
	return req, m, err
}

// requestedVersion decodes a request naming a model version and loads the version.
func (h *Handler) requestedVersion(ctx context.Context, id identity, r *http.Request) (nameRequest, *store.ModelVersion, error) {
	var req nameRequest
	if err := decode(r, &req); err != nil {
		return req, nil, err
	}
	mv, err := h.version(ctx, id.namespace, req.Name, req.Version)
	return req, mv, err
}

func (h *Handler) model(ctx context.Context, ns, name string) (*store.RegisteredModel, error) {
	if name == "" {
		return nil, required("name")
	}
	m, err := h.st.GetRegisteredModel(ctx, ns, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Registered Model with name=%s not found", name)
	}
	if err != nil {
		return nil, fmt.Errorf("get registered model %q: %w", name, err)
	}
	return m, nil
}

func parseVersion(v string) (int64, error) {
	if v == "" {
		return 0, required("version")
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 1 {
		return 0, invalidParam("Model version must be a positive integer, got '%s'", v)
	}
	return n, nil
}

func (h *Handler) version(ctx context.Context, ns, name, version string) (*store.ModelVersion, error) {
	if name == "" {
		return nil, required("name")
	}
	n, err := parseVersion(version)
	if err != nil {
		return nil, err
	}
	mv, err := h.st.GetModelVersion(ctx, ns, name, n)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Model Version (name=%s, version=%s) not found", name, version)
	}
	if err != nil {
		return nil, fmt.Errorf("get version %d of model %q: %w", n, name, err)
	}
	return mv, nil
}

func versionOut(mv *store.ModelVersion, aliases []store.Alias) modelVersion {
	out := modelVersion{Name: mv.ModelName, Version: strconv.FormatInt(mv.Version, 10),
		CreationTimestamp: millis(mv.CreatedAt), LastUpdatedTimestamp: millis(mv.UpdatedAt), CurrentStage: "None",
		Description: mv.Description, Source: mv.Source, RunID: mv.RunID, Status: mv.Status, Tags: tagsOut(mv.Tags)}
	if out.Status == "" {
		out.Status = "READY"
	}
	for _, a := range aliases {
		if a.Version == mv.Version {
			out.Aliases = append(out.Aliases, a.Alias)
		}
	}
	return out
}

// versionOutWithAliases reads the model's aliases and renders mv.
func (h *Handler) versionOutWithAliases(ctx context.Context, mv *store.ModelVersion) (modelVersion, error) {
	as, err := h.st.ListAliases(ctx, mv.Namespace, mv.ModelName)
	if err != nil {
		return modelVersion{}, fmt.Errorf("aliases of model %q: %w", mv.ModelName, err)
	}
	return versionOut(mv, as), nil
}

// modelOut renders a model with its aliases and latest version (Kiln has no stages, so the
// latest version of stage "None" is the newest version).
func (h *Handler) modelOut(ctx context.Context, m *store.RegisteredModel) (registeredModel, error) {
	out := registeredModel{Name: m.Name, CreationTimestamp: millis(m.CreatedAt), LastUpdatedTimestamp: millis(m.UpdatedAt),
		Description: m.Description, Tags: tagsOut(m.Tags)}
	as, err := h.st.ListAliases(ctx, m.Namespace, m.Name)
	if err != nil {
		return out, fmt.Errorf("aliases of model %q: %w", m.Name, err)
	}
	for _, a := range as {
		out.Aliases = append(out.Aliases, modelAlias{Alias: a.Alias, Version: strconv.FormatInt(a.Version, 10)})
	}
	vs, err := h.st.ListModelVersions(ctx, m.Namespace, m.Name)
	if err != nil {
		return out, fmt.Errorf("versions of model %q: %w", m.Name, err)
	}
	if len(vs) > 0 {
		out.LatestVersions = []modelVersion{versionOut(vs[0], as)}
	}
	return out, nil
}

type modelResponse struct {
	RegisteredModel registeredModel `json:"registered_model"`
}

type createModelRequest struct {
	Name        string     `json:"name"`
	Tags        []keyValue `json:"tags"`
	Description string     `json:"description"`
}

func (h *Handler) createModel(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req createModelRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, required("name")
	}
	for _, t := range req.Tags {
		if err := validTag(t.Key, t.Value, MaxRegistryTagValueLength); err != nil {
			return nil, err
		}
	}
	m := &store.RegisteredModel{Namespace: id.namespace, Name: req.Name, Description: req.Description, Tags: tagsIn(req.Tags)}
	err := h.st.CreateRegisteredModel(ctx, m)
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, &apiError{code: codeAlreadyExists, msg: fmt.Sprintf("Registered Model (name=%s) already exists.", req.Name)}
	}
	if err != nil {
		return nil, fmt.Errorf("create registered model %q: %w", req.Name, err)
	}
	out, err := h.modelOut(ctx, m)
	return modelResponse{out}, err
}

type nameRequest struct {
	Name        string  `json:"name"`
	Description *string `json:"description"`
	Key         string  `json:"key"`
	Value       string  `json:"value"`
	Alias       string  `json:"alias"`
	Version     string  `json:"version"`
}

func (h *Handler) getModel(ctx context.Context, id identity, r *http.Request) (any, error) {
	_, m, err := h.requestedModel(ctx, id, r)
	if err != nil {
		return nil, err
	}
	out, err := h.modelOut(ctx, m)
	return modelResponse{out}, err
}

func (h *Handler) updateModel(ctx context.Context, id identity, r *http.Request) (any, error) {
	req, m, err := h.requestedModel(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if req.Description != nil {
		m.Description = *req.Description
	}
	if err := h.st.UpdateRegisteredModel(ctx, m); err != nil {
		return nil, fmt.Errorf("update registered model %q: %w", req.Name, err)
	}
	if m, err = h.model(ctx, id.namespace, req.Name); err != nil {
		return nil, err
	}
	out, err := h.modelOut(ctx, m)
	return modelResponse{out}, err
}

func (h *Handler) deleteModel(ctx context.Context, id identity, r *http.Request) (any, error) {
	req, _, err := h.requestedModel(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if err := h.st.DeleteRegisteredModel(ctx, id.namespace, req.Name); err != nil {
		return nil, fmt.Errorf("delete registered model %q: %w", req.Name, err)
	}
	return struct{}{}, nil
}

func (h *Handler) setModelTag(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.changeModelTag(ctx, id, r, true)
}

func (h *Handler) deleteModelTag(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.changeModelTag(ctx, id, r, false)
}

// changeTag sets (set) or deletes req's tag in tags, the tags of what names, and returns them.
func changeTag(tags map[string]string, req nameRequest, set bool, what string) (map[string]string, error) {
	if !set {
		if _, ok := tags[req.Key]; !ok {
			return nil, notFound("No tag with key '%s' on %s", req.Key, what)
		}
		delete(tags, req.Key)
		return tags, nil
	}
	if err := validTag(req.Key, req.Value, MaxRegistryTagValueLength); err != nil {
		return nil, err
	}
	if tags == nil {
		tags = map[string]string{}
	}
	tags[req.Key] = req.Value
	return tags, nil
}

func (h *Handler) changeModelTag(ctx context.Context, id identity, r *http.Request, set bool) (any, error) {
	req, m, err := h.requestedModel(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if m.Tags, err = changeTag(m.Tags, req, set, "registered model '"+req.Name+"'"); err != nil {
		return nil, err
	}
	if err := h.st.UpdateRegisteredModel(ctx, m); err != nil {
		return nil, fmt.Errorf("tag registered model %q: %w", req.Name, err)
	}
	return struct{}{}, nil
}

type searchModelsRequest struct {
	Filter     string  `json:"filter"`
	MaxResults int64s  `json:"max_results"`
	OrderBy    strList `json:"order_by"`
	PageToken  string  `json:"page_token"`
}

// MaxModelSearchResults bounds max_results of registered-models/search, as in MLflow.
const MaxModelSearchResults = 1000

func (h *Handler) searchModels(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req searchModelsRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.MaxResults == 0 {
		req.MaxResults = 100
	}
	limit, err := maxResults(req.MaxResults, MaxModelSearchResults)
	if err != nil {
		return nil, err
	}
	match, err := parseNameTagFilter(req.Filter, true)
	if err != nil {
		return nil, err
	}
	offset, err := offsetToken(req.PageToken)
	if err != nil {
		return nil, err
	}
	desc, byTime, err := modelOrder(req.OrderBy)
	if err != nil {
		return nil, err
	}
	var all []*store.RegisteredModel
	opts := store.ListOptions{Namespace: id.namespace, PageSize: store.MaxPageSize}
	for {
		page, next, err := h.st.ListRegisteredModels(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list registered models: %w", err)
		}
		for _, m := range page {
			if match(m.Name, m.Tags) {
				all = append(all, m)
			}
		}
		if next == "" {
			break
		}
		opts.PageToken = next
	}
	slices.SortStableFunc(all, func(a, b *store.RegisteredModel) int {
		c := strings.Compare(a.Name, b.Name)
		if byTime {
			c = a.UpdatedAt.Compare(b.UpdatedAt)
		}
		if desc {
			c = -c
		}
		return c
	})
	out := struct {
		RegisteredModels []registeredModel `json:"registered_models"`
		NextPageToken    string            `json:"next_page_token,omitempty"`
	}{RegisteredModels: []registeredModel{}}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		m, err := h.modelOut(ctx, all[i])
		if err != nil {
			return nil, err
		}
		out.RegisteredModels = append(out.RegisteredModels, m)
	}
	if offset+limit < len(all) {
		out.NextPageToken = strconv.Itoa(offset + limit)
	}
	return out, nil
}

// modelOrder parses registered-models/search order_by: name or last_updated_timestamp.
func modelOrder(orderBy []string) (desc, byTime bool, err error) {
	if len(orderBy) > 1 {
		return false, false, invalidParam("order_by takes one key here, got %d", len(orderBy))
	}
	if len(orderBy) == 0 {
		return false, false, nil
	}
	f := strings.Fields(orderBy[0])
	if len(f) == 2 {
		switch strings.ToUpper(f[1]) {
		case "ASC":
		case "DESC":
			desc = true
		default:
			return false, false, invalidParam("invalid order_by clause '%s'", orderBy[0])
		}
	}
	if len(f) == 0 || len(f) > 2 {
		return false, false, invalidParam("invalid order_by clause '%s'", orderBy[0])
	}
	switch f[0] {
	case "name":
	case "last_updated_timestamp", "timestamp":
		byTime = true
	default:
		return false, false, invalidParam("invalid order_by key '%s': want name or last_updated_timestamp", f[0])
	}
	return desc, byTime, nil
}

func (h *Handler) latestVersions(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req struct {
		Name   string  `json:"name"`
		Stages strList `json:"stages"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	m, err := h.model(ctx, id.namespace, req.Name)
	if err != nil {
		return nil, err
	}
	out := struct {
		ModelVersions []modelVersion `json:"model_versions"`
	}{ModelVersions: []modelVersion{}}
	if len(req.Stages) > 0 && !slices.ContainsFunc(req.Stages, func(s string) bool { return strings.EqualFold(s, "None") }) {
		return out, nil // Kiln has no stages: every version is in "None"
	}
	mo, err := h.modelOut(ctx, m)
	if err != nil {
		return nil, err
	}
	out.ModelVersions = append(out.ModelVersions, mo.LatestVersions...)
	return out, nil
}

// reservedAlias matches aliases MLflow reserves: "latest" and version references "v<n>".
var reservedAlias = regexp.MustCompile(`^(?i:latest|v\d+)$`)

func (h *Handler) setAlias(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req nameRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Alias == "" {
		return nil, required("alias")
	}
	if reservedAlias.MatchString(req.Alias) {
		return nil, invalidParam("'%s' alias name (case insensitive) is reserved", req.Alias)
	}
	if len(req.Alias) > 255 {
		return nil, invalidParam("alias '%s...' exceeds the length limit of 255", req.Alias[:20])
	}
	mv, err := h.version(ctx, id.namespace, req.Name, req.Version)
	if err != nil {
		return nil, err
	}
	a := store.Alias{Namespace: id.namespace, ModelName: mv.ModelName, Alias: req.Alias, Version: mv.Version}
	if err := h.st.SetAlias(ctx, a); err != nil {
		return nil, fmt.Errorf("set alias %q of model %q: %w", req.Alias, req.Name, err)
	}
	return struct{}{}, nil
}

func (h *Handler) deleteAlias(ctx context.Context, id identity, r *http.Request) (any, error) {
	req, _, err := h.requestedModel(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if req.Alias == "" {
		return nil, required("alias")
	}
	err = h.st.DeleteAlias(ctx, id.namespace, req.Name, req.Alias)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Registered model alias %s not found.", req.Alias)
	}
	if err != nil {
		return nil, fmt.Errorf("delete alias %q of model %q: %w", req.Alias, req.Name, err)
	}
	return struct{}{}, nil
}

type versionResponse struct {
	ModelVersion modelVersion `json:"model_version"`
}

func (h *Handler) getByAlias(ctx context.Context, id identity, r *http.Request) (any, error) {
	req, _, err := h.requestedModel(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if req.Alias == "" {
		return nil, required("alias")
	}
	mv, err := h.st.GetModelVersionByAlias(ctx, id.namespace, req.Name, req.Alias)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Registered model alias %s not found.", req.Alias)
	}
	if err != nil {
		return nil, fmt.Errorf("resolve alias %q of model %q: %w", req.Alias, req.Name, err)
	}
	out, err := h.versionOutWithAliases(ctx, mv)
	return versionResponse{out}, err
}

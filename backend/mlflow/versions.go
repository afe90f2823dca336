package mlflow

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"github.com/kilnml/kiln/backend/store"
)

type createVersionRequest struct {
	Name        string     `json:"name"`
	Source      string     `json:"source"`
	RunID       string     `json:"run_id"`
	Tags        []keyValue `json:"tags"`
	Description string     `json:"description"`
}

func (h *Handler) createVersion(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req createVersionRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if _, err := h.model(ctx, id.namespace, req.Name); err != nil {
		return nil, err
	}
	if req.Source == "" {
		return nil, required("source")
	}
	for _, t := range req.Tags {
		if err := validTag(t.Key, t.Value, MaxRegistryTagValueLength); err != nil {
			return nil, err
		}
	}
	if req.RunID != "" {
		if _, err := h.run(ctx, id.namespace, req.RunID); err != nil {
			return nil, err
		}
	}
	mv := &store.ModelVersion{Namespace: id.namespace, ModelName: req.Name, Source: req.Source, RunID: req.RunID,
		Description: req.Description, Tags: tagsIn(req.Tags), Status: "READY"}
	if err := h.st.CreateModelVersion(ctx, mv); err != nil {
		return nil, fmt.Errorf("create version of model %q: %w", req.Name, err)
	}
	return versionResponse{versionOut(mv, nil)}, nil
}

func (h *Handler) getVersion(ctx context.Context, id identity, r *http.Request) (any, error) {
	_, mv, err := h.requestedVersion(ctx, id, r)
	if err != nil {
		return nil, err
	}
	out, err := h.versionOutWithAliases(ctx, mv)
	return versionResponse{out}, err
}

func (h *Handler) updateVersion(ctx context.Context, id identity, r *http.Request) (any, error) {
	req, mv, err := h.requestedVersion(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if req.Description != nil {
		mv.Description = *req.Description
	}
	if err := h.st.UpdateModelVersion(ctx, mv); err != nil {
		return nil, fmt.Errorf("update version %d of model %q: %w", mv.Version, req.Name, err)
	}
	if mv, err = h.version(ctx, id.namespace, req.Name, req.Version); err != nil {
		return nil, err
	}
	out, err := h.versionOutWithAliases(ctx, mv)
	return versionResponse{out}, err
}

func (h *Handler) deleteVersion(ctx context.Context, id identity, r *http.Request) (any, error) {
	req, mv, err := h.requestedVersion(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if err := h.st.DeleteModelVersion(ctx, id.namespace, mv.ModelName, mv.Version); err != nil {
		return nil, fmt.Errorf("delete version %d of model %q: %w", mv.Version, req.Name, err)
	}
	return struct{}{}, nil
}

func (h *Handler) setVersionTag(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.changeVersionTag(ctx, id, r, true)
}

func (h *Handler) deleteVersionTag(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.changeVersionTag(ctx, id, r, false)
}

func (h *Handler) changeVersionTag(ctx context.Context, id identity, r *http.Request, set bool) (any, error) {
	req, mv, err := h.requestedVersion(ctx, id, r)
	if err != nil {
		return nil, err
	}
	if mv.Tags, err = changeTag(mv.Tags, req, set, "model version "+req.Version+" of '"+req.Name+"'"); err != nil {
		return nil, err
	}
	if err := h.st.UpdateModelVersion(ctx, mv); err != nil {
		return nil, fmt.Errorf("tag version %d of model %q: %w", mv.Version, req.Name, err)
	}
	return struct{}{}, nil
}

func (h *Handler) downloadURI(ctx context.Context, id identity, r *http.Request) (any, error) {
	_, mv, err := h.requestedVersion(ctx, id, r)
	if err != nil {
		return nil, err
	}
	return map[string]string{"artifact_uri": mv.Source}, nil
}

// MaxVersionSearchResults bounds max_results of model-versions/search.
const MaxVersionSearchResults = 200000

// searchVersions answers model-versions/search for filters on name and run_id (=, !=, LIKE,
// ILIKE, IN) and tags.<key>; a filter must name the model (name = '...') or the versions of
// every model in the namespace are read.
func (h *Handler) searchVersions(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req searchModelsRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.MaxResults == 0 {
		req.MaxResults = 10000
	}
	limit, err := maxResults(req.MaxResults, MaxVersionSearchResults)
	if err != nil {
		return nil, err
	}
	match, err := parseMemoryFilter(req.Filter, []string{"name", "run_id", "source"}, true)
	if err != nil {
		return nil, err
	}
	offset, err := offsetToken(req.PageToken)
	if err != nil {
		return nil, err
	}
	var models []string
	clauses, _ := parseFilter(req.Filter)
	for _, c := range clauses {
		if c.entity == "attributes" && c.key == "name" && c.op == "=" {
			models = []string{c.values[0]}
		}
	}
	if models == nil {
		opts := store.ListOptions{Namespace: id.namespace, PageSize: store.MaxPageSize}
		for {
			page, next, err := h.st.ListRegisteredModels(ctx, opts)
			if err != nil {
				return nil, fmt.Errorf("list registered models: %w", err)
			}
			for _, m := range page {
				models = append(models, m.Name)
			}
			if next == "" {
				break
			}
			opts.PageToken = next
		}
	}
	out := struct {
		ModelVersions []modelVersion `json:"model_versions"`
		NextPageToken string         `json:"next_page_token,omitempty"`
	}{ModelVersions: []modelVersion{}}
	n := 0
	for _, name := range models {
		vs, err := h.st.ListModelVersions(ctx, id.namespace, name)
		if err != nil {
			return nil, fmt.Errorf("versions of model %q: %w", name, err)
		}
		var aliases []store.Alias
		for _, mv := range vs {
			attr := func(k string) (string, bool) {
				switch k {
				case "name":
					return mv.ModelName, true
				case "run_id":
					return mv.RunID, true
				case "source":
					return mv.Source, true
				}
				return "", false
			}
			if !match(attr, mv.Tags) {
				continue
			}
			n++
			if n <= offset || n > offset+limit {
				continue
			}
			if aliases == nil {
				if aliases, err = h.st.ListAliases(ctx, id.namespace, name); err != nil {
					return nil, fmt.Errorf("aliases of model %q: %w", name, err)
				}
			}
			out.ModelVersions = append(out.ModelVersions, versionOut(mv, aliases))
		}
	}
	if n > offset+limit {
		out.NextPageToken = strconv.Itoa(offset + limit)
	}
	return out, nil
}

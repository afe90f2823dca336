package mlflow

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/backend/store"
)

// DefaultExperimentID is MLflow's default experiment; it names the experiment called
// DefaultExperimentName in the namespace.
const (
	DefaultExperimentID   = "0"
	DefaultExperimentName = "Default"
)

// artifactLocationTag keeps an experiment's artifact_location among its tags; it is not shown.
const artifactLocationTag = "kiln.mlflow/artifact_location"

// experiment is MLflow's Experiment message.
type experiment struct {
	ExperimentID     string     `json:"experiment_id"`
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	LifecycleStage   string     `json:"lifecycle_stage"`
	LastUpdateTime   int64      `json:"last_update_time,omitempty"`
	CreationTime     int64      `json:"creation_time,omitempty"`
	Tags             []keyValue `json:"tags,omitempty"`
}

func lifecycle(archived bool) string {
	if archived {
		return "deleted"
	}
	return "active"
}

func (h *Handler) experimentOut(e *store.Experiment) experiment {
	out := experiment{ExperimentID: e.ID, Name: e.Name, LifecycleStage: lifecycle(e.Archived),
		CreationTime: millis(e.CreatedAt), LastUpdateTime: millis(e.UpdatedAt)}
	out.ArtifactLocation = h.experimentArtifacts(e)
	for k, v := range e.Tags {
		if k != artifactLocationTag {
			out.Tags = append(out.Tags, keyValue{Key: k, Value: v})
		}
	}
	sortKV(out.Tags)
	return out
}

func (h *Handler) experimentArtifacts(e *store.Experiment) string {
	if loc := e.Tags[artifactLocationTag]; loc != "" {
		return loc
	}
	return h.artifactRoot + "/" + e.ID
}

func (h *Handler) experimentRoutes() {
	h.handle(http.MethodPost, "experiments/create", write, h.createExperiment)
	h.handle(http.MethodGet, "experiments/get", read, h.getExperiment)
	h.handle(http.MethodGet, "experiments/get-by-name", read, h.getExperimentByName)
	h.handle(http.MethodPost, "experiments/search", read, h.searchExperiments)
	h.handle(http.MethodGet, "experiments/search", read, h.searchExperiments)
	h.handle(http.MethodPost, "experiments/update", write, h.updateExperiment)
	h.handle(http.MethodPost, "experiments/delete", write, h.deleteExperiment)
	h.handle(http.MethodPost, "experiments/restore", write, h.restoreExperiment)
	h.handle(http.MethodPost, "experiments/set-experiment-tag", write, h.setExperimentTag)
}

// experiment resolves an experiment id, "0" being the namespace's default experiment.
func (h *Handler) experiment(ctx context.Context, ns, id string) (*store.Experiment, error) {
	if id == "" {
		return nil, required("experiment_id")
	}
	if id == DefaultExperimentID {
		return h.defaultExperiment(ctx, ns)
	}
	e, err := h.st.GetExperiment(ctx, ns, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("No Experiment with id=%s exists", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get experiment %q: %w", id, err)
	}
	return e, nil
}

// defaultExperiment returns the namespace's "Default" experiment, creating it on first use.
func (h *Handler) defaultExperiment(ctx context.Context, ns string) (*store.Experiment, error) {
	e, err := h.st.GetExperimentByName(ctx, ns, DefaultExperimentName)
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return e, err
	}
	e = &store.Experiment{Namespace: ns, Name: DefaultExperimentName}
	err = h.st.CreateExperiment(ctx, e)
	if errors.Is(err, store.ErrAlreadyExists) { // created concurrently
		return h.st.GetExperimentByName(ctx, ns, DefaultExperimentName)
	}
	if err != nil {
		return nil, fmt.Errorf("create default experiment: %w", err)
	}
	return e, nil
}

type createExperimentRequest struct {
	Name             string     `json:"name"`
	ArtifactLocation string     `json:"artifact_location"`
	Tags             []keyValue `json:"tags"`
}

func (h *Handler) createExperiment(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req createExperimentRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.Name == "" {
		return nil, required("name")
	}
	for _, t := range req.Tags {
		if err := validTag(t.Key, t.Value, MaxExperimentTagValueLength); err != nil {
			return nil, err
		}
	}
	e := &store.Experiment{Namespace: id.namespace, Name: req.Name, Tags: tagsIn(req.Tags)}
	if req.ArtifactLocation != "" {
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		e.Tags[artifactLocationTag] = req.ArtifactLocation
	}
	err := h.st.CreateExperiment(ctx, e)
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, &apiError{code: codeAlreadyExists, msg: fmt.Sprintf("Experiment '%s' already exists.", req.Name)}
	}
	if err != nil {
		return nil, fmt.Errorf("create experiment %q: %w", req.Name, err)
	}
	return map[string]string{"experiment_id": e.ID}, nil
}

type experimentResponse struct {
	Experiment experiment `json:"experiment"`
}

func (h *Handler) getExperiment(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	e, err := h.experiment(ctx, id.namespace, req.ExperimentID)
	if err != nil {
		return nil, err
	}
	return experimentResponse{h.experimentOut(e)}, nil
}

func (h *Handler) getExperimentByName(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req struct {
		ExperimentName string `json:"experiment_name"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.ExperimentName == "" {
		return nil, required("experiment_name")
	}
	e, err := h.st.GetExperimentByName(ctx, id.namespace, req.ExperimentName)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Could not find experiment with name: '%s'", req.ExperimentName)
	}
	if err != nil {
		return nil, fmt.Errorf("get experiment %q: %w", req.ExperimentName, err)
	}
	return experimentResponse{h.experimentOut(e)}, nil
}

type updateExperimentRequest struct {
	ExperimentID string `json:"experiment_id"`
	NewName      string `json:"new_name"`
}

func (h *Handler) updateExperiment(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req updateExperimentRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	e, err := h.experiment(ctx, id.namespace, req.ExperimentID)
	if err != nil {
		return nil, err
	}
	if req.NewName == "" {
		return nil, required("new_name")
	}
	if e.Archived {
		return nil, &apiError{code: codeInvalidState, msg: fmt.Sprintf("Cannot rename a non-active experiment %s.", e.ID)}
	}
	e.Name = req.NewName
	err = h.st.UpdateExperiment(ctx, e)
	if errors.Is(err, store.ErrAlreadyExists) {
		return nil, &apiError{code: codeAlreadyExists, msg: fmt.Sprintf("Experiment '%s' already exists.", req.NewName)}
	}
	if err != nil {
		return nil, fmt.Errorf("rename experiment %q: %w", e.ID, err)
	}
	return struct{}{}, nil
}

func (h *Handler) deleteExperiment(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.setExperimentArchived(ctx, id, r, true)
}

func (h *Handler) restoreExperiment(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.setExperimentArchived(ctx, id, r, false)
}

// setExperimentArchived deletes or restores an experiment with its runs, as MLflow does.
func (h *Handler) setExperimentArchived(ctx context.Context, id identity, r *http.Request, archived bool) (any, error) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	e, err := h.experiment(ctx, id.namespace, req.ExperimentID)
	if err != nil {
		return nil, err
	}
	view := store.ActiveOnly
	if !archived {
		view = store.ArchivedOnly
	}
	opts := store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: id.namespace, PageSize: store.MaxPageSize},
		ExperimentIDs: []string{e.ID}, View: view}
	var ids []string
	for {
		runs, next, err := h.st.ListRuns(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list runs of experiment %q: %w", e.ID, err)
		}
		for _, run := range runs {
			ids = append(ids, run.ID)
		}
		if next == "" {
			break
		}
		opts.PageToken = next
	}
	for _, runID := range ids {
		if err := h.st.SetRunArchived(ctx, id.namespace, runID, archived); err != nil {
			return nil, fmt.Errorf("archive run %q of experiment %q: %w", runID, e.ID, err)
		}
	}
	if err := h.st.SetExperimentArchived(ctx, id.namespace, e.ID, archived); err != nil {
		return nil, fmt.Errorf("archive experiment %q: %w", e.ID, err)
	}
	return struct{}{}, nil
}

func (h *Handler) setExperimentTag(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req struct {
		ExperimentID string `json:"experiment_id"`
		Key          string `json:"key"`
		Value        string `json:"value"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	e, err := h.experiment(ctx, id.namespace, req.ExperimentID)
	if err != nil {
		return nil, err
	}
	if err := validTag(req.Key, req.Value, MaxExperimentTagValueLength); err != nil {
		return nil, err
	}
	if e.Tags == nil {
		e.Tags = map[string]string{}
	}
	e.Tags[req.Key] = req.Value
	if err := h.st.UpdateExperiment(ctx, e); err != nil {
		return nil, fmt.Errorf("tag experiment %q: %w", e.ID, err)
	}
	return struct{}{}, nil
}

type searchExperimentsRequest struct {
	MaxResults int64s  `json:"max_results"`
	PageToken  string  `json:"page_token"`
	Filter     string  `json:"filter"`
	OrderBy    strList `json:"order_by"`
	ViewType   string  `json:"view_type"`
}

type searchExperimentsResponse struct {
	Experiments   []experiment `json:"experiments"`
	NextPageToken string       `json:"next_page_token,omitempty"`
}

// searchExperiments lists the namespace's experiments and filters, sorts and pages them in
// memory; a page token is the offset of the page.
func (h *Handler) searchExperiments(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req searchExperimentsRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	limit, err := maxResults(req.MaxResults, MaxResultsLimit)
	if err != nil {
		return nil, err
	}
	view, err := parseViewType(req.ViewType)
	if err != nil {
		return nil, err
	}
	match, err := parseNameTagFilter(req.Filter, true)
	if err != nil {
		return nil, err
	}
	less, err := experimentOrder(req.OrderBy)
	if err != nil {
		return nil, err
	}
	offset, err := offsetToken(req.PageToken)
	if err != nil {
		return nil, err
	}
	var all []*store.Experiment
	opts := store.ListOptions{Namespace: id.namespace, PageSize: store.MaxPageSize}
	for {
		page, next, err := h.st.ListExperiments(ctx, opts, view != store.ActiveOnly)
		if err != nil {
			return nil, fmt.Errorf("list experiments: %w", err)
		}
		for _, e := range page {
			if view == store.ArchivedOnly && !e.Archived {
				continue
			}
			if match(e.Name, e.Tags) {
				all = append(all, e)
			}
		}
		if next == "" {
			break
		}
		opts.PageToken = next
	}
	slices.SortStableFunc(all, less)
	out := searchExperimentsResponse{Experiments: []experiment{}}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		out.Experiments = append(out.Experiments, h.experimentOut(all[i]))
	}
	if offset+limit < len(all) {
		out.NextPageToken = strconv.Itoa(offset + limit)
	}
	return out, nil
}

func parseViewType(s string) (store.ArchiveView, error) {
	switch strings.ToUpper(s) {
	case "", "ACTIVE_ONLY", "1":
		return store.ActiveOnly, nil
	case "DELETED_ONLY", "2":
		return store.ArchivedOnly, nil
	case "ALL", "3":
		return store.AllRuns, nil
	}
	return 0, invalidParam("invalid view type %q: want ACTIVE_ONLY, DELETED_ONLY or ALL", s)
}

func offsetToken(tok string) (int, error) {
	if tok == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(tok)
	if err != nil || n < 0 {
		return 0, invalidParam("invalid page token %q", tok)
	}
	return n, nil
}

// experimentOrder parses experiments/search order_by: name, experiment_id, creation_time or
// last_update_time, each ASC or DESC. The default is creation_time DESC, as in MLflow.
func experimentOrder(orderBy []string) (func(a, b *store.Experiment) int, error) {
	type key struct {
		cmp  func(a, b *store.Experiment) int
		desc bool
	}
	var keys []key
	for _, ob := range orderBy {
		f := strings.Fields(ob)
		if len(f) == 0 || len(f) > 2 {
			return nil, invalidParam("invalid order_by clause '%s'", ob)
		}
		k := key{}
		if len(f) == 2 {
			switch strings.ToUpper(f[1]) {
			case "ASC":
			case "DESC":
				k.desc = true
			default:
				return nil, invalidParam("invalid order_by clause '%s'", ob)
			}
		}
		switch strings.TrimPrefix(strings.TrimPrefix(f[0], "attributes."), "attribute.") {
		case "name":
			k.cmp = func(a, b *store.Experiment) int { return strings.Compare(a.Name, b.Name) }
		case "experiment_id":
			k.cmp = func(a, b *store.Experiment) int { return strings.Compare(a.ID, b.ID) }
		case "creation_time":
			k.cmp = func(a, b *store.Experiment) int { return a.CreatedAt.Compare(b.CreatedAt) }
		case "last_update_time":
			k.cmp = func(a, b *store.Experiment) int { return a.UpdatedAt.Compare(b.UpdatedAt) }
		default:
			return nil, invalidParam("invalid order_by key '%s': want name, experiment_id, creation_time or last_update_time", f[0])
		}
		keys = append(keys, k)
	}
	keys = append(keys, key{cmp: func(a, b *store.Experiment) int { return a.CreatedAt.Compare(b.CreatedAt) }, desc: true},
		key{cmp: func(a, b *store.Experiment) int { return cmp.Compare(a.ID, b.ID) }})
	return func(a, b *store.Experiment) int {
		for _, k := range keys {
			c := k.cmp(a, b)
			if k.desc {
				c = -c
			}
			if c != 0 {
				return c
			}
		}
		return 0
	}, nil
}

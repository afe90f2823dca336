package mlflow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// RunNameTag is the tag in which MLflow keeps a run's name.
const RunNameTag = "mlflow.runName"

// runInfo is MLflow's RunInfo message.
type runInfo struct {
	RunID          string `json:"run_id"`
	RunUUID        string `json:"run_uuid"`
	RunName        string `json:"run_name"`
	ExperimentID   string `json:"experiment_id"`
	UserID         string `json:"user_id"`
	Status         string `json:"status"`
	StartTime      int64  `json:"start_time,omitempty"`
	EndTime        int64  `json:"end_time,omitempty"`
	ArtifactURI    string `json:"artifact_uri"`
	LifecycleStage string `json:"lifecycle_stage"`
}

// metric is MLflow's Metric message.
type metric struct {
	Key       string `json:"key"`
	Value     float  `json:"value"`
	Timestamp int64s `json:"timestamp"`
	Step      int64s `json:"step"`
}

// MarshalJSON writes int64 fields as numbers (int64s only customizes decoding).
func (m metric) MarshalJSON() ([]byte, error) {
	v, err := m.Value.MarshalJSON()
	if err != nil {
		return nil, err
	}
	k, err := json.Marshal(m.Key)
	if err != nil {
		return nil, err
	}
	return fmt.Appendf(nil, `{"key":%s,"value":%s,"timestamp":%d,"step":%d}`, k, v, m.Timestamp, m.Step), nil
}

type runData struct {
	Metrics []metric   `json:"metrics,omitempty"`
	Params  []keyValue `json:"params,omitempty"`
	Tags    []keyValue `json:"tags,omitempty"`
}

type run struct {
	Info   runInfo   `json:"info"`
	Data   runData   `json:"data"`
	Inputs runInputs `json:"inputs"`
}

func (h *Handler) runRoutes() {
	h.handle(http.MethodPost, "runs/create", write, h.createRun)
	h.handle(http.MethodGet, "runs/get", read, h.getRun)
	h.handle(http.MethodPost, "runs/update", write, h.updateRun)
	h.handle(http.MethodPost, "runs/delete", write, h.deleteRun)
	h.handle(http.MethodPost, "runs/restore", write, h.restoreRun)
	h.handle(http.MethodPost, "runs/search", read, h.searchRuns)
}

// runArtifacts is the artifact URI of a run: under its experiment's location.
func (h *Handler) runArtifacts(ctx context.Context, r *store.Run, exps map[string]*store.Experiment) string {
	if r.ExperimentID == "" {
		return h.artifactRoot + "/" + r.ID + "/artifacts"
	}
	e, ok := exps[r.ExperimentID]
	if !ok {
		var err error
		e, err = h.st.GetExperiment(ctx, r.Namespace, r.ExperimentID)
		if err != nil {
			return h.artifactRoot + "/" + r.ExperimentID + "/" + r.ID + "/artifacts"
		}
		exps[r.ExperimentID] = e
	}
	return h.experimentArtifacts(e) + "/" + r.ID + "/artifacts"
}

func (h *Handler) infoOut(ctx context.Context, r *store.Run, exps map[string]*store.Experiment) runInfo {
	start := r.StartedAt
	if start.IsZero() {
		start = r.CreatedAt
	}
	return runInfo{RunID: r.ID, RunUUID: r.ID, RunName: r.Name, ExperimentID: r.ExperimentID, UserID: r.CreatedBy,
		Status: r.Phase.MLflowStatus(), StartTime: millis(start), EndTime: millis(r.FinishedAt),
		ArtifactURI: h.runArtifacts(ctx, r, exps), LifecycleStage: lifecycle(r.Archived)}
}

// runOut reads the run's latest metrics, params and tags.
func (h *Handler) runOut(ctx context.Context, r *store.Run, exps map[string]*store.Experiment) (run, error) {
	out := run{Info: h.infoOut(ctx, r, exps)}
	ms, err := h.st.LatestMetrics(ctx, r.ID)
	if err != nil {
		return out, fmt.Errorf("metrics of run %q: %w", r.ID, err)
	}
	for _, m := range ms {
		out.Data.Metrics = append(out.Data.Metrics, metricOut(m))
	}
	ps, err := h.st.ListParams(ctx, r.ID)
	if err != nil {
		return out, fmt.Errorf("params of run %q: %w", r.ID, err)
	}
	for _, p := range ps {
		out.Data.Params = append(out.Data.Params, keyValue{Key: p.Key, Value: p.Value})
	}
	ts, err := h.st.ListTags(ctx, r.ID)
	if err != nil {
		return out, fmt.Errorf("tags of run %q: %w", r.ID, err)
	}
	for _, t := range ts {
		if !strings.HasPrefix(t.Key, hiddenTagPrefix) {
			out.Data.Tags = append(out.Data.Tags, keyValue{Key: t.Key, Value: t.Value})
		}
	}
	out.Inputs = inputsFromTags(ts)
	return out, nil
}

func metricOut(m store.Metric) metric {
	return metric{Key: m.Key, Value: float(m.Value), Timestamp: int64s(millis(m.Timestamp)), Step: int64s(m.Step)}
}

// run returns a run of the namespace, RESOURCE_DOES_NOT_EXIST if there is none.
func (h *Handler) run(ctx context.Context, ns, id string) (*store.Run, error) {
	if id == "" {
		return nil, required("run_id")
	}
	r, err := h.st.GetRun(ctx, ns, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("Run with id=%s not found", id)
	}
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, err)
	}
	return r, nil
}

// activeRun returns a run that may be logged to: not deleted.
func (h *Handler) activeRun(ctx context.Context, ns, id string) (*store.Run, error) {
	r, err := h.run(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	if r.Archived {
		return nil, invalidParam("The run %s must be in the 'active' state. Current state is deleted.", id)
	}
	return r, nil
}

type createRunRequest struct {
	ExperimentID string     `json:"experiment_id"`
	UserID       string     `json:"user_id"`
	RunName      string     `json:"run_name"`
	StartTime    int64s     `json:"start_time"`
	Tags         []keyValue `json:"tags"`
}

type runResponse struct {
	Run run `json:"run"`
}

func (h *Handler) createRun(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req createRunRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.ExperimentID == "" {
		req.ExperimentID = DefaultExperimentID
	}
	e, err := h.experiment(ctx, id.namespace, req.ExperimentID)
	if err != nil {
		return nil, err
	}
	if e.Archived {
		return nil, invalidParam("The experiment %s must be in the 'active' state. Current state is deleted.", e.ID)
	}
	if len(req.Tags) > MaxItemsPerBatch {
		return nil, invalidParam("A request can contain at most %d tags. Got %d tags.", MaxItemsPerBatch, len(req.Tags))
	}
	tags := make([]store.Tag, 0, len(req.Tags)+1)
	for _, t := range req.Tags {
		if err := validTag(t.Key, t.Value, MaxTagValueLength); err != nil {
			return nil, err
		}
		if t.Key == RunNameTag && req.RunName == "" {
			req.RunName = t.Value
		}
		if t.Key != RunNameTag {
			tags = append(tags, store.Tag{Key: t.Key, Value: t.Value})
		}
	}
	user := req.UserID
	if id.user != "" {
		user = id.user
	}
	start := time.Now()
	if req.StartTime > 0 {
		start = time.UnixMilli(int64(req.StartTime))
	}
	run := &store.Run{Namespace: id.namespace, ExperimentID: e.ID, Name: req.RunName, Phase: store.PhaseRunning,
		CreatedBy: user, StartedAt: start}
	if run.Name == "" {
		run.ID = newRunID()
		run.Name = generatedRunName(run.ID)
	}
	tags = append(tags, store.Tag{Key: RunNameTag, Value: run.Name})
	if err := h.st.CreateRun(ctx, run); err != nil {
		return nil, fmt.Errorf("create run in experiment %q: %w", e.ID, err)
	}
	if err := h.st.LogBatch(ctx, run.ID, nil, nil, tags); err != nil {
		return nil, fmt.Errorf("tag run %q: %w", run.ID, err)
	}
	out, err := h.runOut(ctx, run, map[string]*store.Experiment{e.ID: e})
	if err != nil {
		return nil, err
	}
	return runResponse{out}, nil
}

func (h *Handler) getRun(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req struct {
		RunID   string `json:"run_id"`
		RunUUID string `json:"run_uuid"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	run, err := h.run(ctx, id.namespace, cmpOr(req.RunID, req.RunUUID))
	if err != nil {
		return nil, err
	}
	out, err := h.runOut(ctx, run, map[string]*store.Experiment{})
	if err != nil {
		return nil, err
	}
	return runResponse{out}, nil
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

type updateRunRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	Status  string `json:"status"`
	EndTime int64s `json:"end_time"`
	RunName string `json:"run_name"`
}

func (h *Handler) updateRun(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req updateRunRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	runID := cmpOr(req.RunID, req.RunUUID)
	if _, err := h.activeRun(ctx, id.namespace, runID); err != nil {
		return nil, err
	}
	var u store.RunUpdate
	if req.Status != "" {
		p, ok := store.PhaseFromMLflowStatus(req.Status)
		if !ok {
			return nil, invalidParam("invalid value '%s' for parameter 'status': want RUNNING, SCHEDULED, FINISHED, FAILED or KILLED", req.Status)
		}
		u.Phase = p
	}
	if req.EndTime > 0 {
		u.FinishedAt = time.UnixMilli(int64(req.EndTime))
	} else if u.Phase.Terminal() {
		u.FinishedAt = time.Now()
	}
	if req.RunName != "" {
		u.Name = &req.RunName
	}
	run, err := h.st.UpdateRun(ctx, id.namespace, runID, u)
	if err != nil {
		return nil, fmt.Errorf("update run %q: %w", runID, err)
	}
	if req.RunName != "" {
		if err := h.st.LogBatch(ctx, runID, nil, nil, []store.Tag{{Key: RunNameTag, Value: req.RunName}}); err != nil {
			return nil, fmt.Errorf("tag run %q: %w", runID, err)
		}
	}
	return map[string]runInfo{"run_info": h.infoOut(ctx, run, map[string]*store.Experiment{})}, nil
}

func (h *Handler) deleteRun(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.setRunArchived(ctx, id, r, true)
}

func (h *Handler) restoreRun(ctx context.Context, id identity, r *http.Request) (any, error) {
	return h.setRunArchived(ctx, id, r, false)
}

func (h *Handler) setRunArchived(ctx context.Context, id identity, r *http.Request, archived bool) (any, error) {
	var req struct {
		RunID string `json:"run_id"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if _, err := h.run(ctx, id.namespace, req.RunID); err != nil {
		return nil, err
	}
	if err := h.st.SetRunArchived(ctx, id.namespace, req.RunID, archived); err != nil {
		return nil, fmt.Errorf("archive run %q: %w", req.RunID, err)
	}
	return struct{}{}, nil
}

type searchRunsRequest struct {
	ExperimentIDs strList `json:"experiment_ids"`
	Filter        string  `json:"filter"`
	RunViewType   string  `json:"run_view_type"`
	MaxResults    int64s  `json:"max_results"`
	OrderBy       strList `json:"order_by"`
	PageToken     string  `json:"page_token"`
}

type searchRunsResponse struct {
	Runs          []run  `json:"runs"`
	NextPageToken string `json:"next_page_token,omitempty"`
}

func (h *Handler) searchRuns(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req searchRunsRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	limit, err := maxResults(req.MaxResults, MaxResultsLimit)
	if err != nil {
		return nil, err
	}
	view, err := parseViewType(req.RunViewType)
	if err != nil {
		return nil, err
	}
	opts := store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: id.namespace, PageToken: req.PageToken}, View: view}
	if opts.OrderBy, err = runOrder(req.OrderBy); err != nil {
		return nil, err
	}
	if expr, err := runFilterCEL(req.Filter); err != nil {
		return nil, err
	} else if expr != "" {
		f, err := filter.Parse(expr)
		if err != nil {
			return nil, invalidParam("invalid filter '%s': %v", req.Filter, err)
		}
		opts.Filter = f
	}
	exps := map[string]*store.Experiment{}
	for _, eid := range req.ExperimentIDs {
		e, err := h.experiment(ctx, id.namespace, eid)
		if err != nil {
			return nil, err
		}
		exps[e.ID] = e
		opts.ExperimentIDs = append(opts.ExperimentIDs, e.ID)
	}
	out := searchRunsResponse{Runs: []run{}}
	if len(opts.ExperimentIDs) == 0 { // MLflow searches no experiment, not all of them
		return out, nil
	}
	for len(out.Runs) < limit {
		opts.PageSize = min(limit-len(out.Runs), store.MaxPageSize)
		page, next, err := h.st.ListRuns(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("search runs: %w", err)
		}
		for _, run := range page {
			ro, err := h.runOut(ctx, run, exps)
			if err != nil {
				return nil, err
			}
			out.Runs = append(out.Runs, ro)
		}
		out.NextPageToken = next
		if next == "" {
			break
		}
		opts.PageToken = next
	}
	return out, nil
}

// runOrder translates MLflow's order_by (one key) to the store's ordering. MLflow's default,
// start_time DESC, is the store's started_at desc.
func runOrder(orderBy []string) (string, error) {
	if len(orderBy) == 0 {
		return "started_at desc", nil
	}
	if len(orderBy) > 1 {
		return "", invalidParam("order_by takes one key here, got %d: %q", len(orderBy), orderBy)
	}
	ob := strings.TrimSpace(orderBy[0])
	dir := "asc"
	if i := strings.LastIndexByte(ob, ' '); i > 0 {
		switch strings.ToUpper(ob[i+1:]) {
		case "ASC":
			ob = strings.TrimSpace(ob[:i])
		case "DESC":
			ob, dir = strings.TrimSpace(ob[:i]), "desc"
		}
	}
	ent, key, ok := strings.Cut(ob, ".")
	if !ok {
		ent, key = "attributes", ob
	}
	key = strings.Trim(key, "`\"")
	switch entityNames[strings.ToLower(ent)] {
	case "metrics":
		if strings.ContainsAny(key, " \t") {
			return "", invalidParam("order_by metric key %q: keys with spaces cannot be ordered by", key)
		}
		return "metrics." + key + " " + dir, nil
	case "attributes":
		col, ok := map[string]string{"start_time": "started_at", "end_time": "finished_at", "run_name": "name",
			"created": "created_at", "creation_time": "created_at"}[strings.ToLower(key)]
		if !ok {
			return "", invalidParam("invalid order_by key '%s': want attributes.start_time, end_time, run_name, created or metrics.<key>", orderBy[0])
		}
		return col + " " + dir, nil
	}
	return "", invalidParam("invalid order_by key '%s': want attributes.start_time, end_time, run_name, created or metrics.<key>", orderBy[0])
}

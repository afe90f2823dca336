package mlflow

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kilnml/kiln/backend/store"
)

func (h *Handler) trackingRoutes() {
	h.handle(http.MethodPost, "runs/log-metric", write, h.logMetric)
	h.handle(http.MethodPost, "runs/log-parameter", write, h.logParam)
	h.handle(http.MethodPost, "runs/set-tag", write, h.setTag)
	h.handle(http.MethodPost, "runs/delete-tag", write, h.deleteTag)
	h.handle(http.MethodPost, "runs/log-batch", write, h.logBatch)
	h.handle(http.MethodPost, "runs/log-model", write, h.logModel)
	h.handle(http.MethodPost, "runs/log-inputs", write, h.logInputs)
	h.handle(http.MethodGet, "metrics/get-history", read, h.metricHistory)
}

// newRunID returns 32 random lowercase hex characters, the shape of MLflow's run_uuid.
func newRunID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

var (
	nameAdjectives = []string{"amber", "brave", "calm", "dapper", "eager", "fierce", "gentle", "humble", "jolly", "keen",
		"lively", "merry", "nimble", "polite", "quiet", "rare", "silent", "tidy", "vivid", "witty"}
	nameNouns = []string{"ant", "bear", "crane", "deer", "eel", "finch", "goat", "hawk", "ibis", "jay",
		"kiwi", "lark", "mole", "newt", "owl", "pike", "quail", "ram", "seal", "wren"}
)

// generatedRunName names a run that was given no name, as MLflow does ("brave-owl-417"),
// derived from its id.
func generatedRunName(id string) string {
	b, err := hex.DecodeString(id[:8])
	if err != nil || len(b) < 4 {
		return "run-" + id[:8]
	}
	n := int(b[2])<<8 | int(b[3])
	return fmt.Sprintf("%s-%s-%d", nameAdjectives[int(b[0])%len(nameAdjectives)], nameNouns[int(b[1])%len(nameNouns)], n%1000)
}

type logMetricRequest struct {
	RunID     string  `json:"run_id"`
	RunUUID   string  `json:"run_uuid"`
	Key       string  `json:"key"`
	Value     *float  `json:"value"`
	Timestamp *int64s `json:"timestamp"`
	Step      int64s  `json:"step"`
}

func (h *Handler) logMetric(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req logMetricRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	runID := cmpOr(req.RunID, req.RunUUID)
	if req.Value == nil {
		return nil, required("value")
	}
	if req.Timestamp == nil {
		return nil, required("timestamp")
	}
	m := metric{Key: req.Key, Value: *req.Value, Timestamp: *req.Timestamp, Step: req.Step}
	return h.writeBatch(ctx, id, runID, nil, []metric{m}, nil)
}

type paramRequest struct {
	RunID   string `json:"run_id"`
	RunUUID string `json:"run_uuid"`
	Key     string `json:"key"`
	Value   string `json:"value"`
}

func (h *Handler) logParam(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req paramRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	return h.writeBatch(ctx, id, cmpOr(req.RunID, req.RunUUID), []keyValue{{Key: req.Key, Value: req.Value}}, nil, nil)
}

func (h *Handler) setTag(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req paramRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	runID := cmpOr(req.RunID, req.RunUUID)
	resp, err := h.writeBatch(ctx, id, runID, nil, nil, []keyValue{{Key: req.Key, Value: req.Value}})
	if err != nil {
		return nil, err
	}
	if req.Key == RunNameTag { // the run name follows its tag, as in MLflow
		name := req.Value
		if _, err := h.st.UpdateRun(ctx, id.namespace, runID, store.RunUpdate{Name: &name}); err != nil {
			return nil, fmt.Errorf("rename run %q: %w", runID, err)
		}
	}
	return resp, nil
}

func (h *Handler) deleteTag(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req paramRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if _, err := h.activeRun(ctx, id.namespace, req.RunID); err != nil {
		return nil, err
	}
	if req.Key == "" {
		return nil, required("key")
	}
	if err := validUserTag(req.Key); err != nil {
		return nil, err
	}
	err := h.st.DeleteTag(ctx, req.RunID, req.Key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, notFound("No tag with name: %s in run with id %s", req.Key, req.RunID)
	}
	if err != nil {
		return nil, fmt.Errorf("delete tag %q of run %q: %w", req.Key, req.RunID, err)
	}
	return struct{}{}, nil
}

type logBatchRequest struct {
	RunID   string     `json:"run_id"`
	Metrics []metric   `json:"metrics"`
	Params  []keyValue `json:"params"`
	Tags    []keyValue `json:"tags"`
}

func (h *Handler) logBatch(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req logBatchRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	switch {
	case len(req.Metrics) > MaxMetricsPerBatch:
		return nil, invalidParam("A batch logging request can contain at most %d metrics. Got %d metrics. Please split up metrics across multiple requests and try again.", MaxMetricsPerBatch, len(req.Metrics))
	case len(req.Params) > MaxParamsPerBatch:
		return nil, invalidParam("A batch logging request can contain at most %d params. Got %d params. Please split up params across multiple requests and try again.", MaxParamsPerBatch, len(req.Params))
	case len(req.Tags) > MaxTagsPerBatch:
		return nil, invalidParam("A batch logging request can contain at most %d tags. Got %d tags. Please split up tags across multiple requests and try again.", MaxTagsPerBatch, len(req.Tags))
	}
	if n := len(req.Metrics) + len(req.Params) + len(req.Tags); n > MaxItemsPerBatch {
		return nil, invalidParam("A batch logging request can contain at most %d metrics, params, and tags in total. Got %d items. Please split up across multiple requests and try again.", MaxItemsPerBatch, n)
	}
	return h.writeBatch(ctx, id, req.RunID, req.Params, req.Metrics, req.Tags)
}

// writeBatch validates and stores params, metrics and tags of an active run in one transaction.
func (h *Handler) writeBatch(ctx context.Context, id identity, runID string, params []keyValue, metrics []metric, tags []keyValue) (any, error) {
	if _, err := h.activeRun(ctx, id.namespace, runID); err != nil {
		return nil, err
	}
	ps := make([]store.Param, 0, len(params))
	seen := make(map[string]string, len(params))
	for _, p := range params {
		if err := validKey("param", p.Key); err != nil {
			return nil, err
		}
		if err := validValue("param", p.Key, p.Value, MaxParamValueLength); err != nil {
			return nil, err
		}
		if v, dup := seen[p.Key]; dup {
			if v != p.Value {
				return nil, invalidParam("Duplicate parameter keys have been submitted: %s with different values %q and %q", p.Key, v, p.Value)
			}
			continue
		}
		seen[p.Key] = p.Value
		ps = append(ps, store.Param{Key: p.Key, Value: p.Value})
	}
	ms := make([]store.Metric, len(metrics))
	for i, m := range metrics {
		if err := validKey("metric", m.Key); err != nil {
			return nil, err
		}
		if m.Timestamp < 0 {
			return nil, invalidParam("metric '%s' has a negative timestamp %d", m.Key, m.Timestamp)
		}
		ms[i] = store.Metric{Key: m.Key, Value: float64(m.Value), Step: int64(m.Step), Timestamp: time.UnixMilli(int64(m.Timestamp))}
	}
	ts := make([]store.Tag, len(tags))
	for i, t := range tags {
		if err := validTag(t.Key, t.Value, MaxTagValueLength); err != nil {
			return nil, err
		}
		ts[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	err := h.st.LogBatch(ctx, runID, ps, ms, ts)
	if errors.Is(err, store.ErrConflict) {
		return nil, invalidParam("Changing param values is not allowed. Params were already logged with different values for run_id='%s': %v", runID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("log batch to run %q: %w", runID, err)
	}
	return struct{}{}, nil
}

// logModelHistoryTag is where MLflow records logged models' metadata.
const logModelHistoryTag = "mlflow.log-model.history"

func (h *Handler) logModel(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req struct {
		RunID     string `json:"run_id"`
		ModelJSON string `json:"model_json"`
	}
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	if req.ModelJSON == "" {
		return nil, required("model_json")
	}
	var model map[string]any
	if err := json.Unmarshal([]byte(req.ModelJSON), &model); err != nil {
		return nil, invalidParam("model_json is not a JSON object: %v", err)
	}
	if _, err := h.activeRun(ctx, id.namespace, req.RunID); err != nil {
		return nil, err
	}
	tags, err := h.st.ListTags(ctx, req.RunID)
	if err != nil {
		return nil, fmt.Errorf("tags of run %q: %w", req.RunID, err)
	}
	var history []any
	for _, t := range tags {
		if t.Key == logModelHistoryTag {
			_ = json.Unmarshal([]byte(t.Value), &history)
		}
	}
	history = append(history, model)
	b, err := json.Marshal(history)
	if err != nil {
		return nil, fmt.Errorf("encode model history: %w", err)
	}
	if err := h.st.LogBatch(ctx, req.RunID, nil, nil, []store.Tag{{Key: logModelHistoryTag, Value: string(b)}}); err != nil {
		return nil, fmt.Errorf("tag run %q: %w", req.RunID, err)
	}
	return struct{}{}, nil
}

type metricHistoryRequest struct {
	RunID      string `json:"run_id"`
	RunUUID    string `json:"run_uuid"`
	MetricKey  string `json:"metric_key"`
	PageToken  string `json:"page_token"`
	MaxResults int64s `json:"max_results"`
}

type metricHistoryResponse struct {
	Metrics       []metric `json:"metrics"`
	NextPageToken string   `json:"next_page_token,omitempty"`
}

func (h *Handler) metricHistory(ctx context.Context, id identity, r *http.Request) (any, error) {
	var req metricHistoryRequest
	if err := decode(r, &req); err != nil {
		return nil, err
	}
	runID := cmpOr(req.RunID, req.RunUUID)
	if _, err := h.run(ctx, id.namespace, runID); err != nil {
		return nil, err
	}
	if req.MetricKey == "" {
		return nil, required("metric_key")
	}
	if req.MaxResults < 0 {
		return nil, invalidParam("invalid value %d for parameter 'max_results'", req.MaxResults)
	}
	opts := store.MetricHistoryOptions{PageToken: req.PageToken, PageSize: int(req.MaxResults)}
	out := metricHistoryResponse{Metrics: []metric{}}
	for {
		ms, next, err := h.st.MetricHistory(ctx, runID, req.MetricKey, opts)
		if err != nil {
			return nil, fmt.Errorf("history of metric %q of run %q: %w", req.MetricKey, runID, err)
		}
		for _, m := range ms {
			out.Metrics = append(out.Metrics, metricOut(m))
		}
		// Without max_results MLflow returns the whole series; with it, one page.
		if next == "" || req.MaxResults > 0 {
			out.NextPageToken = next
			return out, nil
		}
		opts.PageToken = next
	}
}

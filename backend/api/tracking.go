package api

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/store"
)

// MaxBatchItems bounds params + metrics + tags in one LogBatchRequest.
const MaxBatchItems = 100000

func (h *Handler) registerTrackingRoutes() {
	h.handle("POST /api/v1/runs/{id}/log-batch", h.logBatch)
	h.handle("GET /api/v1/runs/{id}/data", h.runData)
	h.handle("GET /api/v1/runs/{id}/metrics/{key}/history", h.metricHistory)
	h.handle("DELETE /api/v1/runs/{id}/tags/{key}", h.deleteTag)
}

func validateBatch(req *LogBatchRequest) field.ErrorList {
	var errs field.ErrorList
	if n := len(req.Params) + len(req.Metrics) + len(req.Tags); n > MaxBatchItems {
		errs = append(errs, field.TooMany(field.NewPath("metrics"), n, MaxBatchItems))
		return errs
	}
	for i, p := range req.Params {
		if p.Key == "" {
			errs = append(errs, field.Required(field.NewPath("params").Index(i).Child("key"), ""))
		}
	}
	for i, m := range req.Metrics {
		if m.Key == "" {
			errs = append(errs, field.Required(field.NewPath("metrics").Index(i).Child("key"), ""))
		}
		if m.Timestamp < 0 {
			errs = append(errs, field.Invalid(field.NewPath("metrics").Index(i).Child("timestamp"), m.Timestamp, "must not be negative"))
		}
	}
	for i, t := range req.Tags {
		if t.Key == "" {
			errs = append(errs, field.Required(field.NewPath("tags").Index(i).Child("key"), ""))
		}
	}
	return errs
}

func (h *Handler) logBatch(w http.ResponseWriter, r *http.Request) error {
	ns, _, err := h.namespace(r, write)
	if err != nil {
		return err
	}
	req, err := decodeBatch(r)
	if err != nil {
		return err
	}
	if errs := validateBatch(&req); len(errs) > 0 {
		return fromFieldErrors("invalid batch", errs)
	}
	id := r.PathValue("id")
	if _, err := h.runInNamespace(r.Context(), ns, id); err != nil {
		return err
	}
	params := make([]store.Param, len(req.Params))
	for i, p := range req.Params {
		params[i] = store.Param{Key: p.Key, Value: p.Value}
	}
	now := time.Now()
	metrics := make([]store.Metric, len(req.Metrics))
	for i, m := range req.Metrics {
		ts := now
		if m.Timestamp > 0 {
			ts = time.UnixMilli(m.Timestamp)
		}
		metrics[i] = store.Metric{Key: m.Key, Value: m.Value, Step: m.Step, Timestamp: ts}
	}
	tags := make([]store.Tag, len(req.Tags))
	for i, t := range req.Tags {
		tags[i] = store.Tag{Key: t.Key, Value: t.Value}
	}
	if err := h.st.LogBatch(r.Context(), id, params, metrics, tags); err != nil {
		return fmt.Errorf("log batch to run %q: %w", id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (h *Handler) runData(w http.ResponseWriter, r *http.Request) error {
	_, run, err := h.pathRun(r, read)
	if err != nil {
		return err
	}
	id := run.ID
	out, err := h.loadRunData(r.Context(), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) metricHistory(w http.ResponseWriter, r *http.Request) error {
	_, run, err := h.pathRun(r, read)
	if err != nil {
		return err
	}
	id := run.ID
	q := r.URL.Query()
	opts := store.MetricHistoryOptions{PageToken: q.Get("pageToken")}
	for name, dst := range map[string]*int{"maxPoints": &opts.MaxPoints, "pageSize": &opts.PageSize} {
		if s := q.Get(name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < 0 {
				return invalid(name, "must be a non-negative integer, got %q", s)
			}
			*dst = n
		}
	}
	ms, next, err := h.st.MetricHistory(r.Context(), id, r.PathValue("key"), opts)
	if err != nil {
		return fmt.Errorf("history of metric %q of run %q: %w", r.PathValue("key"), id, err)
	}
	out := MetricHistoryResponse{Metrics: make([]Metric, 0, len(ms)), NextPageToken: next}
	for _, m := range ms {
		out.Metrics = append(out.Metrics, metricOut(m))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (h *Handler) deleteTag(w http.ResponseWriter, r *http.Request) error {
	_, run, err := h.pathRun(r, write)
	if err != nil {
		return err
	}
	id := run.ID
	if err := h.st.DeleteTag(r.Context(), id, r.PathValue("key")); err != nil {
		return fmt.Errorf("delete tag %q of run %q: %w", r.PathValue("key"), id, err)
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// decodeBatch reads a LogBatchRequest through the fast path, falling back to decodeJSON.
func decodeBatch(r *http.Request) (LogBatchRequest, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		var req LogBatchRequest
		return req, decodeJSON(r, &req)
	}
	b, err := io.ReadAll(r.Body)
	if err != nil {
		return LogBatchRequest{}, err
	}
	if req, ok := decodeBatchFast(b); ok {
		return req, nil
	}
	var req LogBatchRequest
	r.Body = io.NopCloser(bytes.NewReader(b))
	return req, decodeJSON(r, &req)
}

// loadRunData reads a run's params, latest metrics and tags.
func (h *Handler) loadRunData(ctx context.Context, id string) (RunData, error) {
	ps, err := h.st.ListParams(ctx, id)
	if err != nil {
		return RunData{}, fmt.Errorf("params of run %q: %w", id, err)
	}
	ms, err := h.st.LatestMetrics(ctx, id)
	if err != nil {
		return RunData{}, fmt.Errorf("metrics of run %q: %w", id, err)
	}
	ts, err := h.st.ListTags(ctx, id)
	if err != nil {
		return RunData{}, fmt.Errorf("tags of run %q: %w", id, err)
	}
	out := RunData{Params: []Param{}, Metrics: []Metric{}, Tags: []Tag{}}
	for _, p := range ps {
		out.Params = append(out.Params, Param{Key: p.Key, Value: p.Value})
	}
	for _, m := range ms {
		out.Metrics = append(out.Metrics, metricOut(m))
	}
	for _, t := range ts {
		out.Tags = append(out.Tags, Tag{Key: t.Key, Value: t.Value})
	}
	return out, nil
}

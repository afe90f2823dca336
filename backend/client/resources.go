package client

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/store"
)

// CreatePipeline uploads a compiled pipeline as JSON with its first version.
func (c *Client) CreatePipeline(ctx context.Context, req api.CreatePipelineRequest) (*api.CreatePipelineResponse, error) {
	var out api.CreatePipelineResponse
	return &out, c.do(ctx, http.MethodPost, "/api/v1/pipelines", nil, req, &out)
}

// UploadPipeline uploads a compiled pipeline as multipart/form-data (the spec as a file part).
func (c *Client) UploadPipeline(ctx context.Context, name, description string, spec []byte) (*api.CreatePipelineResponse, error) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("name", name)
	if description != "" {
		_ = mw.WriteField("description", description)
	}
	fw, _ := mw.CreateFormFile("spec", name+".yaml")
	_, _ = fw.Write(spec)
	_ = mw.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/api/v1/pipelines", nil), &buf)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	var out api.CreatePipelineResponse
	return &out, c.send(req, &out)
}

// ListPipelines returns a page of pipelines.
func (c *Client) ListPipelines(ctx context.Context, p PageOptions) (*api.ListPipelinesResponse, error) {
	var out api.ListPipelinesResponse
	return &out, c.do(ctx, http.MethodGet, "/api/v1/pipelines", p.values(), nil, &out)
}

// GetPipeline returns a pipeline by ID or name.
func (c *Client) GetPipeline(ctx context.Context, idOrName string) (*api.Pipeline, error) {
	var out api.Pipeline
	return &out, c.do(ctx, http.MethodGet, "/api/v1/pipelines/"+esc(idOrName), nil, nil, &out)
}

// DeletePipeline deletes a pipeline and its versions.
func (c *Client) DeletePipeline(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/pipelines/"+esc(id), nil, nil, nil)
}

// CreatePipelineVersion uploads a new version of a pipeline.
func (c *Client) CreatePipelineVersion(ctx context.Context, pipelineID string, req api.CreatePipelineRequest) (*api.PipelineVersion, error) {
	var out api.PipelineVersion
	return &out, c.do(ctx, http.MethodPost, "/api/v1/pipelines/"+esc(pipelineID)+"/versions", nil, req, &out)
}

// ListPipelineVersions returns a page of a pipeline's versions.
func (c *Client) ListPipelineVersions(ctx context.Context, pipelineID string, p PageOptions) (*api.ListPipelineVersionsResponse, error) {
	var out api.ListPipelineVersionsResponse
	return &out, c.do(ctx, http.MethodGet, "/api/v1/pipelines/"+esc(pipelineID)+"/versions", p.values(), nil, &out)
}

// GetPipelineVersion returns a version with its spec.
func (c *Client) GetPipelineVersion(ctx context.Context, id string) (*api.PipelineVersion, error) {
	var out api.PipelineVersion
	return &out, c.do(ctx, http.MethodGet, "/api/v1/pipeline-versions/"+esc(id), nil, nil, &out)
}

// CreateExperiment creates an experiment.
func (c *Client) CreateExperiment(ctx context.Context, req api.CreateExperimentRequest) (*api.Experiment, error) {
	var out api.Experiment
	return &out, c.do(ctx, http.MethodPost, "/api/v1/experiments", nil, req, &out)
}

// ListExperiments returns a page of experiments.
func (c *Client) ListExperiments(ctx context.Context, p PageOptions, includeArchived bool) (*api.ListExperimentsResponse, error) {
	q := p.values()
	if includeArchived {
		q.Set("includeArchived", "true")
	}
	var out api.ListExperimentsResponse
	return &out, c.do(ctx, http.MethodGet, "/api/v1/experiments", q, nil, &out)
}

// GetExperiment returns an experiment.
func (c *Client) GetExperiment(ctx context.Context, id string) (*api.Experiment, error) {
	var out api.Experiment
	return &out, c.do(ctx, http.MethodGet, "/api/v1/experiments/"+esc(id), nil, nil, &out)
}

// SetExperimentArchived archives or restores an experiment.
func (c *Client) SetExperimentArchived(ctx context.Context, id string, archived bool) (*api.Experiment, error) {
	verb := "unarchive"
	if archived {
		verb = "archive"
	}
	var out api.Experiment
	return &out, c.do(ctx, http.MethodPost, "/api/v1/experiments/"+esc(id)+"/"+verb, nil, nil, &out)
}

// DeleteExperiment deletes an experiment that has no runs.
func (c *Client) DeleteExperiment(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/experiments/"+esc(id), nil, nil, nil)
}

// CreateRun creates a run.
func (c *Client) CreateRun(ctx context.Context, req api.CreateRunRequest) (*api.Run, error) {
	var out api.Run
	return &out, c.do(ctx, http.MethodPost, "/api/v1/runs", nil, req, &out)
}

// ListRunsOptions select runs for ListRuns.
type ListRunsOptions struct {
	PageOptions
	Filter        string
	View          string
	ExperimentIDs []string
	// IncludeData asks for each run's params, latest metrics and tags (api.Run.Data).
	IncludeData bool
}

// ListRuns returns a page of runs.
func (c *Client) ListRuns(ctx context.Context, o ListRunsOptions) (*api.ListRunsResponse, error) {
	q := o.values()
	if o.Filter != "" {
		q.Set("filter", o.Filter)
	}
	if o.IncludeData {
		q.Set("includeData", "true")
	}
	if o.View != "" {
		q.Set("view", o.View)
	}
	for _, e := range o.ExperimentIDs {
		q.Add("experimentId", e)
	}
	var out api.ListRunsResponse
	return &out, c.do(ctx, http.MethodGet, "/api/v1/runs", q, nil, &out)
}

// SearchRuns searches runs across experiments.
func (c *Client) SearchRuns(ctx context.Context, req api.SearchRunsRequest) (*api.ListRunsResponse, error) {
	var out api.ListRunsResponse
	return &out, c.do(ctx, http.MethodPost, "/api/v1/runs/search", nil, req, &out)
}

// GetRun returns a run with its nodes.
func (c *Client) GetRun(ctx context.Context, id string) (*api.Run, error) {
	var out api.Run
	return &out, c.do(ctx, http.MethodGet, "/api/v1/runs/"+esc(id), nil, nil, &out)
}

func (c *Client) runVerb(ctx context.Context, id, verb string) (*api.Run, error) {
	var out api.Run
	return &out, c.do(ctx, http.MethodPost, "/api/v1/runs/"+esc(id)+"/"+verb, nil, nil, &out)
}

// CancelRun cancels an active run.
func (c *Client) CancelRun(ctx context.Context, id string) (*api.Run, error) {
	return c.runVerb(ctx, id, "cancel")
}

// RetryRun retries a failed run.
func (c *Client) RetryRun(ctx context.Context, id string) (*api.Run, error) {
	return c.runVerb(ctx, id, "retry")
}

// SetRunArchived archives or restores a run.
func (c *Client) SetRunArchived(ctx context.Context, id string, archived bool) (*api.Run, error) {
	if archived {
		return c.runVerb(ctx, id, "archive")
	}
	return c.runVerb(ctx, id, "unarchive")
}

// DeleteRun deletes a finished run.
func (c *Client) DeleteRun(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/runs/"+esc(id), nil, nil, nil)
}

// Logs returns a node's log; with follow it streams until the node ends.
func (c *Client) Logs(ctx context.Context, runID, node string, follow bool) (io.ReadCloser, error) {
	q := url.Values{}
	if follow {
		q.Set("follow", "true")
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url("/api/v1/runs/"+esc(runID)+"/nodes/"+esc(node)+"/logs", q), nil)
	if err != nil {
		return nil, err
	}
	if c.opts.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.opts.Token)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, fmt.Errorf("logs of %s/%s: %w", runID, node, err)
	}
	if resp.StatusCode >= 300 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	return resp.Body, nil
}

// WaitRun polls a run until its phase is terminal and returns it.
func (c *Client) WaitRun(ctx context.Context, id string, poll time.Duration) (*api.Run, error) {
	if poll <= 0 {
		poll = 500 * time.Millisecond
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		r, err := c.GetRun(ctx, id)
		if err != nil {
			return nil, err
		}
		if store.Phase(r.Phase).Terminal() {
			return r, nil
		}
		select {
		case <-ctx.Done():
			return r, ctx.Err()
		case <-t.C:
		}
	}
}

// LogBatch logs params, metrics and tags of a run.
func (c *Client) LogBatch(ctx context.Context, runID string, req api.LogBatchRequest) error {
	return c.do(ctx, http.MethodPost, "/api/v1/runs/"+esc(runID)+"/log-batch", nil, req, nil)
}

// RunData returns a run's params, latest metrics and tags.
func (c *Client) RunData(ctx context.Context, runID string) (*api.RunData, error) {
	var out api.RunData
	return &out, c.do(ctx, http.MethodGet, "/api/v1/runs/"+esc(runID)+"/data", nil, nil, &out)
}

// MetricHistoryOptions select points of a series: a page, or a downsampled view (MaxPoints).
type MetricHistoryOptions struct {
	MaxPoints int
	PageSize  int
	PageToken string
}

// MetricHistory returns points of one metric series.
func (c *Client) MetricHistory(ctx context.Context, runID, key string, o MetricHistoryOptions) (*api.MetricHistoryResponse, error) {
	q := url.Values{}
	if o.MaxPoints > 0 {
		q.Set("maxPoints", strconv.Itoa(o.MaxPoints))
	}
	if o.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(o.PageSize))
	}
	if o.PageToken != "" {
		q.Set("pageToken", o.PageToken)
	}
	var out api.MetricHistoryResponse
	return &out, c.do(ctx, http.MethodGet, "/api/v1/runs/"+esc(runID)+"/metrics/"+esc(key)+"/history", q, nil, &out)
}

// CreateRecurringRun creates a recurring run.
func (c *Client) CreateRecurringRun(ctx context.Context, rr api.RecurringRun) (*api.RecurringRun, error) {
	var out api.RecurringRun
	return &out, c.do(ctx, http.MethodPost, "/api/v1/recurring-runs", nil, rr, &out)
}

// ListRecurringRuns returns a page of recurring runs.
func (c *Client) ListRecurringRuns(ctx context.Context, p PageOptions) (*api.ListRecurringRunsResponse, error) {
	var out api.ListRecurringRunsResponse
	return &out, c.do(ctx, http.MethodGet, "/api/v1/recurring-runs", p.values(), nil, &out)
}

// SetRecurringRunEnabled enables or disables a recurring run.
func (c *Client) SetRecurringRunEnabled(ctx context.Context, id string, enabled bool) (*api.RecurringRun, error) {
	verb := "disable"
	if enabled {
		verb = "enable"
	}
	var out api.RecurringRun
	return &out, c.do(ctx, http.MethodPost, "/api/v1/recurring-runs/"+esc(id)+"/"+verb, nil, nil, &out)
}

// DeleteRecurringRun deletes a recurring run.
func (c *Client) DeleteRecurringRun(ctx context.Context, id string) error {
	return c.do(ctx, http.MethodDelete, "/api/v1/recurring-runs/"+esc(id), nil, nil, nil)
}

// SetRunStatus sets the phase of a tracking-only run.
func (c *Client) SetRunStatus(ctx context.Context, id string, req api.SetRunStatusRequest) (*api.Run, error) {
	var out api.Run
	return &out, c.do(ctx, http.MethodPost, "/api/v1/runs/"+esc(id)+"/status", nil, req, &out)
}

package api

import (
	"encoding/json"
	"time"

	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
)

// Pipeline is a named pipeline; its content lives in its versions.
type Pipeline struct {
	ID          string    `json:"id"`
	Namespace   string    `json:"namespace"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	CreatedAt   time.Time `json:"createdAt"`
}

// PipelineVersion is one immutable upload of a compiled pipeline.
type PipelineVersion struct {
	ID          string           `json:"id"`
	Namespace   string           `json:"namespace"`
	PipelineID  string           `json:"pipelineId"`
	Name        string           `json:"name"`
	Description string           `json:"description,omitempty"`
	Parameters  []runs.ParamSpec `json:"parameters"`
	Spec        string           `json:"spec,omitempty"`
	CreatedAt   time.Time        `json:"createdAt"`
}

// CreatePipelineRequest uploads a pipeline with its first version (POST /api/v1/pipelines), or
// a new version of an existing pipeline (POST /api/v1/pipelines/{id}/versions, Name ignored).
// Spec is the compiled Argo YAML or JSON. The same fields are accepted as multipart form
// fields, with the spec as the file part "spec".
type CreatePipelineRequest struct {
	Name               string `json:"name"`
	Description        string `json:"description,omitempty"`
	VersionName        string `json:"versionName,omitempty"`
	VersionDescription string `json:"versionDescription,omitempty"`
	Spec               string `json:"spec"`
}

// CreatePipelineResponse is the created pipeline and version.
type CreatePipelineResponse struct {
	Pipeline Pipeline        `json:"pipeline"`
	Version  PipelineVersion `json:"version"`
}

// ListPipelinesResponse is a page of pipelines.
type ListPipelinesResponse struct {
	Pipelines     []Pipeline `json:"pipelines"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

// ListPipelineVersionsResponse is a page of versions (without specs).
type ListPipelineVersionsResponse struct {
	Versions      []PipelineVersion `json:"versions"`
	NextPageToken string            `json:"nextPageToken,omitempty"`
}

// Experiment groups runs.
type Experiment struct {
	ID          string            `json:"id"`
	Namespace   string            `json:"namespace"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Archived    bool              `json:"archived"`
	CreatedAt   time.Time         `json:"createdAt"`
	UpdatedAt   time.Time         `json:"updatedAt"`
}

// CreateExperimentRequest creates an experiment.
type CreateExperimentRequest struct {
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
}

// ListExperimentsResponse is a page of experiments.
type ListExperimentsResponse struct {
	Experiments   []Experiment `json:"experiments"`
	NextPageToken string       `json:"nextPageToken,omitempty"`
}

// Run is one execution of a pipeline version (or a tracking-only run).
type Run struct {
	ID                string            `json:"id"`
	Namespace         string            `json:"namespace"`
	ExperimentID      string            `json:"experimentId,omitempty"`
	PipelineID        string            `json:"pipelineId,omitempty"`
	PipelineVersionID string            `json:"pipelineVersionId,omitempty"`
	RecurringRunID    string            `json:"recurringRunId,omitempty"`
	Name              string            `json:"name"`
	Description       string            `json:"description,omitempty"`
	Phase             string            `json:"phase"`
	Message           string            `json:"message,omitempty"`
	Parameters        map[string]string `json:"parameters,omitempty"`
	CreatedBy         string            `json:"createdBy,omitempty"`
	CreatedAt         time.Time         `json:"createdAt"`
	StartedAt         *time.Time        `json:"startedAt,omitempty"`
	FinishedAt        *time.Time        `json:"finishedAt,omitempty"`
	Archived          bool              `json:"archived"`
	// Nodes is the execution graph; set by GET /api/v1/runs/{id} only.
	Nodes []Node `json:"nodes,omitempty"`
	// Data holds logged params, latest metrics and tags when a list asks for them.
	Data *RunData `json:"data,omitempty"`
}

// Node is one node of a run's graph with its phase, inputs, outputs and timings.
type Node struct {
	ID          string          `json:"id"`
	Name        string          `json:"name"`
	DisplayName string          `json:"displayName,omitempty"`
	Type        string          `json:"type"`
	Template    string          `json:"template,omitempty"`
	Phase       string          `json:"phase"`
	Message     string          `json:"message,omitempty"`
	Inputs      json.RawMessage `json:"inputs,omitempty"`
	Outputs     json.RawMessage `json:"outputs,omitempty"`
	Children    []string        `json:"children,omitempty"`
	StartedAt   *time.Time      `json:"startedAt,omitempty"`
	FinishedAt  *time.Time      `json:"finishedAt,omitempty"`
}

// CreateRunRequest creates a run from a pipeline version, or a tracking-only run when
// PipelineVersionID is empty.
type CreateRunRequest struct {
	Name              string            `json:"name,omitempty"`
	Description       string            `json:"description,omitempty"`
	ExperimentID      string            `json:"experimentId,omitempty"`
	PipelineVersionID string            `json:"pipelineVersionId,omitempty"`
	Parameters        map[string]string `json:"parameters,omitempty"`
}

// SetRunStatusRequest sets the phase of a tracking-only run (POST /api/v1/runs/{id}/status).
type SetRunStatusRequest struct {
	Phase   string `json:"phase"`
	Message string `json:"message,omitempty"`
}

// SearchRunsRequest lists runs across experiments (POST /api/v1/runs/search).
type SearchRunsRequest struct {
	ExperimentIDs []string `json:"experimentIds,omitempty"`
	// Filter is a CEL expression (see backend/filter).
	Filter    string `json:"filter,omitempty"`
	OrderBy   string `json:"orderBy,omitempty"`
	PageSize  int    `json:"pageSize,omitempty"`
	PageToken string `json:"pageToken,omitempty"`
	// View is "active" (default), "archived" or "all".
	View string `json:"view,omitempty"`
	// IncludeData adds each run's params, latest metrics and tags (Run.Data), so a table of
	// runs needs one request, not one per row.
	IncludeData bool `json:"includeData,omitempty"`
}

// ListRunsResponse is a page of runs.
type ListRunsResponse struct {
	Runs          []Run  `json:"runs"`
	NextPageToken string `json:"nextPageToken,omitempty"`
}

// Param is a write-once key/value of a run.
type Param struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// Metric is one point of a metric series; Timestamp is in Unix milliseconds (0: now).
type Metric struct {
	Key       string  `json:"key"`
	Value     float64 `json:"value"`
	Step      int64   `json:"step"`
	Timestamp int64   `json:"timestamp,omitempty"`
}

// Tag is a mutable key/value of a run.
type Tag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// LogBatchRequest logs params, metrics and tags of a run in one transaction.
type LogBatchRequest struct {
	Params  []Param  `json:"params,omitempty"`
	Metrics []Metric `json:"metrics,omitempty"`
	Tags    []Tag    `json:"tags,omitempty"`
}

// RunData is what a run logged: params, latest metrics and tags.
type RunData struct {
	Params  []Param  `json:"params"`
	Metrics []Metric `json:"metrics"`
	Tags    []Tag    `json:"tags"`
}

// MetricHistoryResponse is a page (or a downsampled view) of one metric series.
type MetricHistoryResponse struct {
	Metrics       []Metric `json:"metrics"`
	NextPageToken string   `json:"nextPageToken,omitempty"`
}

// RecurringRun creates runs on a cron schedule or at a fixed interval.
type RecurringRun struct {
	ID                string            `json:"id,omitempty"`
	Namespace         string            `json:"namespace,omitempty"`
	Name              string            `json:"name"`
	Description       string            `json:"description,omitempty"`
	ExperimentID      string            `json:"experimentId,omitempty"`
	PipelineVersionID string            `json:"pipelineVersionId"`
	Parameters        map[string]string `json:"parameters,omitempty"`
	Cron              string            `json:"cron,omitempty"`
	// Interval is a Go duration such as "1h30m"; used when Cron is empty.
	Interval       string     `json:"interval,omitempty"`
	TimeZone       string     `json:"timeZone,omitempty"`
	Enabled        bool       `json:"enabled"`
	MaxConcurrency int        `json:"maxConcurrency,omitempty"`
	CatchUp        bool       `json:"catchUp"`
	StartAt        *time.Time `json:"startAt,omitempty"`
	EndAt          *time.Time `json:"endAt,omitempty"`
	LastRunAt      *time.Time `json:"lastRunAt,omitempty"`
	CreatedAt      time.Time  `json:"createdAt,omitzero"`
	UpdatedAt      time.Time  `json:"updatedAt,omitzero"`
}

// ListRecurringRunsResponse is a page of recurring runs.
type ListRecurringRunsResponse struct {
	RecurringRuns []RecurringRun `json:"recurringRuns"`
	NextPageToken string         `json:"nextPageToken,omitempty"`
}

// Artifact is a stored output with its location and identity.
type Artifact struct {
	ID        string            `json:"id,omitempty"`
	Namespace string            `json:"namespace,omitempty"`
	RunID     string            `json:"runId,omitempty"`
	NodeID    string            `json:"nodeId,omitempty"`
	Name      string            `json:"name"`
	URI       string            `json:"uri"`
	Type      string            `json:"type,omitempty"`
	Digest    string            `json:"digest,omitempty"`
	Size      int64             `json:"size,omitempty"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	CreatedAt time.Time         `json:"createdAt,omitzero"`
}

// ListArtifactsResponse is a page of artifacts.
type ListArtifactsResponse struct {
	Artifacts     []Artifact `json:"artifacts"`
	NextPageToken string     `json:"nextPageToken,omitempty"`
}

// LineageEvent says that a run node produced or consumed an artifact.
type LineageEvent struct {
	ArtifactID string    `json:"artifactId"`
	RunID      string    `json:"runId"`
	NodeID     string    `json:"nodeId,omitempty"`
	Kind       string    `json:"kind"`
	CreatedAt  time.Time `json:"createdAt,omitzero"`
}

// LineageResponse lists lineage events.
type LineageResponse struct {
	Events []LineageEvent `json:"events"`
}

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Namespace   string            `json:"namespace,omitempty"`
	Name        string            `json:"name"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	CreatedAt   time.Time         `json:"createdAt,omitzero"`
	UpdatedAt   time.Time         `json:"updatedAt,omitzero"`
}

// ListModelsResponse is a page of registered models.
type ListModelsResponse struct {
	Models        []RegisteredModel `json:"models"`
	NextPageToken string            `json:"nextPageToken,omitempty"`
}

// ModelVersion is one version of a registered model.
type ModelVersion struct {
	ModelName   string            `json:"modelName,omitempty"`
	Version     int64             `json:"version,omitempty"`
	Source      string            `json:"source,omitempty"`
	ArtifactID  string            `json:"artifactId,omitempty"`
	RunID       string            `json:"runId,omitempty"`
	Description string            `json:"description,omitempty"`
	Tags        map[string]string `json:"tags,omitempty"`
	Status      string            `json:"status,omitempty"`
	Aliases     []string          `json:"aliases,omitempty"`
	CreatedAt   time.Time         `json:"createdAt,omitzero"`
	UpdatedAt   time.Time         `json:"updatedAt,omitzero"`
}

// ListModelVersionsResponse lists a model's versions, newest first.
type ListModelVersionsResponse struct {
	Versions []ModelVersion `json:"versions"`
}

// SetAliasRequest points an alias at a version.
type SetAliasRequest struct {
	Version int64 `json:"version"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func pipelineOut(p *store.Pipeline) Pipeline {
	return Pipeline{ID: p.ID, Namespace: p.Namespace, Name: p.Name, Description: p.Description, CreatedAt: p.CreatedAt}
}

func versionOut(v *store.PipelineVersion, withSpec bool) PipelineVersion {
	out := PipelineVersion{ID: v.ID, Namespace: v.Namespace, PipelineID: v.PipelineID, Name: v.Name, Description: v.Description, CreatedAt: v.CreatedAt}
	_ = json.Unmarshal(v.ParametersSchema, &out.Parameters)
	if out.Parameters == nil {
		out.Parameters = []runs.ParamSpec{}
	}
	if withSpec {
		out.Spec = string(v.Spec)
	}
	return out
}

func experimentOut(e *store.Experiment) Experiment {
	return Experiment{ID: e.ID, Namespace: e.Namespace, Name: e.Name, Description: e.Description, Tags: e.Tags, Archived: e.Archived, CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

func runOut(r *store.Run) Run {
	return Run{ID: r.ID, Namespace: r.Namespace, ExperimentID: r.ExperimentID, PipelineID: r.PipelineID,
		PipelineVersionID: r.PipelineVersionID, RecurringRunID: r.RecurringRunID, Name: r.Name, Description: r.Description,
		Phase: string(r.Phase), Message: r.Message, Parameters: r.Parameters, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt,
		StartedAt: timePtr(r.StartedAt), FinishedAt: timePtr(r.FinishedAt), Archived: r.Archived}
}

func nodeOut(n store.Node) Node {
	return Node{ID: n.ID, Name: n.Name, DisplayName: n.DisplayName, Type: n.Type, Template: n.Template, Phase: string(n.Phase),
		Message: n.Message, Inputs: n.Inputs, Outputs: n.Outputs, Children: n.Children,
		StartedAt: timePtr(n.StartedAt), FinishedAt: timePtr(n.FinishedAt)}
}

func metricOut(m store.Metric) Metric {
	return Metric{Key: m.Key, Value: m.Value, Step: m.Step, Timestamp: m.Timestamp.UnixMilli()}
}

func recurringOut(rr *store.RecurringRun) RecurringRun {
	out := RecurringRun{ID: rr.ID, Namespace: rr.Namespace, Name: rr.Name, Description: rr.Description, ExperimentID: rr.ExperimentID,
		PipelineVersionID: rr.PipelineVersionID, Parameters: rr.Parameters, Cron: rr.Cron, TimeZone: rr.TimeZone, Enabled: rr.Enabled,
		MaxConcurrency: rr.MaxConcurrency, CatchUp: rr.CatchUp, StartAt: timePtr(rr.StartAt), EndAt: timePtr(rr.EndAt),
		LastRunAt: timePtr(rr.LastRunAt), CreatedAt: rr.CreatedAt, UpdatedAt: rr.UpdatedAt}
	if rr.Interval > 0 {
		out.Interval = rr.Interval.String()
	}
	return out
}

func artifactOut(a *store.Artifact) Artifact {
	return Artifact{ID: a.ID, Namespace: a.Namespace, RunID: a.RunID, NodeID: a.NodeID, Name: a.Name, URI: a.URI, Type: a.Type,
		Digest: a.Digest, Size: a.Size, Metadata: a.Metadata, CreatedAt: a.CreatedAt}
}

func modelOut(m *store.RegisteredModel) RegisteredModel {
	return RegisteredModel{Namespace: m.Namespace, Name: m.Name, Description: m.Description, Tags: m.Tags, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt}
}

func modelVersionOut(v *store.ModelVersion) ModelVersion {
	return ModelVersion{ModelName: v.ModelName, Version: v.Version, Source: v.Source, ArtifactID: v.ArtifactID, RunID: v.RunID,
		Description: v.Description, Tags: v.Tags, Status: v.Status, CreatedAt: v.CreatedAt, UpdatedAt: v.UpdatedAt}
}

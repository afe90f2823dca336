package store

import (
	"context"
	"time"

	"github.com/kilnml/kiln/backend/filter"
)

// Store is the backend's persistence. Implementations are safe for concurrent use; every method
// that writes commits before it returns, so an acknowledged write survives a crash of the process.
type Store interface {
	Pipelines
	Experiments
	Runs
	Tracking
	Artifacts
	RecurringRuns
	Models
	Auth
	// Close releases the store's connections.
	Close() error
}

// ListOptions selects a page of a list. The zero value lists the first page of the default
// order with the default page size.
type ListOptions struct {
	Namespace string
	// Filter restricts the rows; only ListRuns accepts a filter, other lists return
	// ErrInvalidArgument when it is set.
	Filter *filter.Filter
	// OrderBy is "<key>" or "<key> asc|desc"; the keys each list accepts are documented on it.
	// Empty means "created_at desc".
	OrderBy string
	// PageSize is the maximum number of items; 0 means DefaultPageSize, and it is capped at
	// MaxPageSize.
	PageSize int
	// PageToken is the NextPageToken of the previous page, with the same OrderBy and Filter.
	PageToken string
}

// Page size bounds applied to ListOptions.PageSize.
const (
	DefaultPageSize = 50
	MaxPageSize     = 1000
)

// Pipelines stores pipelines and their immutable versions.
type Pipelines interface {
	// CreatePipeline stores p, assigning ID and CreatedAt; ErrAlreadyExists if the name is taken.
	CreatePipeline(ctx context.Context, p *Pipeline) error
	// GetPipeline returns a pipeline by ID; ErrNotFound if it is not in the namespace.
	GetPipeline(ctx context.Context, namespace, id string) (*Pipeline, error)
	// GetPipelineByName returns a pipeline by its name in the namespace.
	GetPipelineByName(ctx context.Context, namespace, name string) (*Pipeline, error)
	// ListPipelines orders by "created_at" or "name".
	ListPipelines(ctx context.Context, opts ListOptions) ([]*Pipeline, string, error)
	// DeletePipeline deletes the pipeline and its versions; runs keep their Spec.
	DeletePipeline(ctx context.Context, namespace, id string) error

	// CreatePipelineVersion stores v under v.PipelineID, assigning ID and CreatedAt.
	CreatePipelineVersion(ctx context.Context, v *PipelineVersion) error
	// GetPipelineVersion returns a version by ID, with its spec.
	GetPipelineVersion(ctx context.Context, namespace, id string) (*PipelineVersion, error)
	// ListPipelineVersions lists the versions of one pipeline, ordered by "created_at" or "name".
	ListPipelineVersions(ctx context.Context, pipelineID string, opts ListOptions) ([]*PipelineVersion, string, error)
	// DeletePipelineVersion deletes one version; runs made from it keep their Spec.
	DeletePipelineVersion(ctx context.Context, namespace, id string) error
}

// Experiments stores experiments.
type Experiments interface {
	// CreateExperiment stores e, assigning ID, CreatedAt and UpdatedAt; ErrAlreadyExists if the
	// name is taken in the namespace (archived experiments keep their name, as in MLflow).
	CreateExperiment(ctx context.Context, e *Experiment) error
	// GetExperiment returns an experiment by ID, archived or not.
	GetExperiment(ctx context.Context, namespace, id string) (*Experiment, error)
	// GetExperimentByName returns an experiment by its name in the namespace.
	GetExperimentByName(ctx context.Context, namespace, name string) (*Experiment, error)
	// ListExperiments orders by "created_at" or "name"; archived experiments are listed only when
	// includeArchived is set.
	ListExperiments(ctx context.Context, opts ListOptions, includeArchived bool) ([]*Experiment, string, error)
	// UpdateExperiment replaces Name, Description and Tags.
	UpdateExperiment(ctx context.Context, e *Experiment) error
	// SetExperimentArchived archives or restores the experiment (MLflow delete/restore).
	SetExperimentArchived(ctx context.Context, namespace, id string, archived bool) error
	// DeleteExperiment removes the experiment; ErrConflict while it still has runs.
	DeleteExperiment(ctx context.Context, namespace, id string) error
}

// ArchiveView selects runs by their archived flag. The zero value lists active runs only.
type ArchiveView int

// Archive views.
const (
	ActiveOnly ArchiveView = iota
	ArchivedOnly
	AllRuns
)

// ListRunsOptions selects runs. OrderBy keys: "created_at" (default, desc), "name", "started_at",
// "finished_at" (runs that have not started or finished sort as time zero), and
// "metrics.<key>" (the latest value; runs without the metric come last in either direction,
// and the page costs a sort of the namespace's runs rather than an index walk).
type ListRunsOptions struct {
	ListOptions
	// ExperimentIDs restricts the runs to these experiments; empty means every experiment in the
	// namespace (search across experiments).
	ExperimentIDs []string
	View          ArchiveView
}

// RunUpdate changes a run's status. Zero-valued fields are left unchanged.
type RunUpdate struct {
	Phase      Phase
	Message    *string
	StartedAt  time.Time
	FinishedAt time.Time
	Name       *string
	Spec       []byte
}

// Runs stores runs and their node graphs.
type Runs interface {
	// CreateRun stores r, assigning ID (unless set), CreatedAt and Phase Pending (unless set).
	CreateRun(ctx context.Context, r *Run) error
	// GetRun returns a run by ID; its nodes come from ListNodes.
	GetRun(ctx context.Context, namespace, id string) (*Run, error)
	// ListRuns returns a page of runs and the token of the next page ("" on the last page).
	ListRuns(ctx context.Context, opts ListRunsOptions) ([]*Run, string, error)
	// UpdateRun applies u and returns the updated run.
	UpdateRun(ctx context.Context, namespace, id string, u RunUpdate) (*Run, error)
	// SetRunArchived archives or restores a run (MLflow delete/restore of a run).
	SetRunArchived(ctx context.Context, namespace, id string, archived bool) error
	// DeleteRun removes the run with its nodes, params, metrics, tags and lineage events;
	// artifacts it produced stay, without a run.
	DeleteRun(ctx context.Context, namespace, id string) error
	// ListUnfinishedRunRefs returns every run, in every namespace, whose phase is not terminal,
	// oldest first, without the runs' bodies (specs, parameters): for the reconciliation on
	// start-up and the leader's periodic scan of runs it may have to follow.
	ListUnfinishedRunRefs(ctx context.Context) ([]RunRef, error)

	// UpsertNodes inserts or replaces nodes of one run (by node ID) in one transaction.
	UpsertNodes(ctx context.Context, runID string, nodes []Node) error
	// ListNodes returns the run's nodes ordered by StartedAt, then ID.
	ListNodes(ctx context.Context, runID string) ([]Node, error)
}

// MetricHistoryOptions selects points of one metric series.
type MetricHistoryOptions struct {
	// MaxPoints > 0 downsamples the series for a chart and ignores paging: the series, in step
	// order, is cut into max(1, MaxPoints/4) buckets of (nearly) equal point counts (SQL NTILE)
	// and each bucket keeps its first, minimum, maximum and last point, so spikes survive and at
	// most max(4, MaxPoints) points return, ordered by step. A series of at most MaxPoints points
	// returns whole.
	MaxPoints int
	// PageSize and PageToken page through the full series ordered by step, then insertion order.
	// PageSize 0 means DefaultMetricPageSize.
	PageSize  int
	PageToken string
}

// DefaultMetricPageSize is the page size of MetricHistory when none is given.
const DefaultMetricPageSize = 10000

// Tracking stores what runs log: write-once params, append-only metrics and mutable tags.
type Tracking interface {
	// LogBatch writes params, metrics and tags of a run in one transaction. A param that exists
	// with a different value fails the whole batch with ErrConflict; the same value is accepted.
	// Each metric is appended and the run's latest value per key (highest step, then timestamp)
	// is kept for filters. Tags overwrite.
	LogBatch(ctx context.Context, runID string, params []Param, metrics []Metric, tags []Tag) error
	// ListParams returns the run's params ordered by key.
	ListParams(ctx context.Context, runID string) ([]Param, error)
	// ListTags returns the run's tags ordered by key.
	ListTags(ctx context.Context, runID string) ([]Tag, error)
	// DeleteTag removes one tag; ErrNotFound if the run has no such tag.
	DeleteTag(ctx context.Context, runID, key string) error
	// LatestMetrics returns the latest point of each metric key of the run, ordered by key.
	LatestMetrics(ctx context.Context, runID string) ([]Metric, error)
	// MetricHistory returns points of one series and the next page token; an unknown run or
	// key has no points.
	MetricHistory(ctx context.Context, runID, key string, opts MetricHistoryOptions) ([]Metric, string, error)
}

// ListArtifactsOptions selects artifacts. OrderBy keys: "created_at" (default, desc), "name".
type ListArtifactsOptions struct {
	ListOptions
	RunID string // empty: all artifacts in the namespace
}

// Artifacts stores artifacts and the lineage events linking them to run nodes.
type Artifacts interface {
	// CreateArtifact stores a, assigning ID (unless set) and CreatedAt, and records a Produced
	// event when a.RunID is set.
	CreateArtifact(ctx context.Context, a *Artifact) error
	// GetArtifact returns an artifact by ID.
	GetArtifact(ctx context.Context, namespace, id string) (*Artifact, error)
	// ListArtifacts returns a page of artifacts, optionally of one run.
	ListArtifacts(ctx context.Context, opts ListArtifactsOptions) ([]*Artifact, string, error)
	// RecordLineage stores events; recording the same event twice is not an error.
	RecordLineage(ctx context.Context, events []LineageEvent) error
	// ArtifactLineage returns the events of one artifact: who produced it, who consumed it.
	ArtifactLineage(ctx context.Context, artifactID string) ([]LineageEvent, error)
	// RunLineage returns the events of one run: what it produced and consumed.
	RunLineage(ctx context.Context, runID string) ([]LineageEvent, error)
}

// RecurringRuns stores schedules.
type RecurringRuns interface {
	// CreateRecurringRun stores rr, assigning ID, CreatedAt and UpdatedAt.
	CreateRecurringRun(ctx context.Context, rr *RecurringRun) error
	// GetRecurringRun returns a schedule by ID.
	GetRecurringRun(ctx context.Context, namespace, id string) (*RecurringRun, error)
	// ListRecurringRuns orders by "created_at" or "name".
	ListRecurringRuns(ctx context.Context, opts ListOptions) ([]*RecurringRun, string, error)
	// ListEnabledRecurringRuns returns the enabled schedules of every namespace, for the scheduler.
	ListEnabledRecurringRuns(ctx context.Context) ([]*RecurringRun, error)
	// UpdateRecurringRun replaces every mutable field of rr (all but ID, Namespace, CreatedAt).
	UpdateRecurringRun(ctx context.Context, rr *RecurringRun) error
	// SetRecurringRunEnabled enables or disables a schedule.
	SetRecurringRunEnabled(ctx context.Context, namespace, id string, enabled bool) error
	// MarkRecurringRunFired records the scheduled time of the last run created; it fails with
	// ErrConflict when another scheduler already recorded a time at or after scheduledAt, so two
	// servers never fire the same tick.
	MarkRecurringRunFired(ctx context.Context, namespace, id string, scheduledAt time.Time) error
	// DeleteRecurringRun deletes a schedule; the runs it created stay, without the reference.
	DeleteRecurringRun(ctx context.Context, namespace, id string) error
}

// Models stores the model registry.
type Models interface {
	// CreateRegisteredModel stores m, assigning CreatedAt and UpdatedAt; ErrAlreadyExists if the name is taken.
	CreateRegisteredModel(ctx context.Context, m *RegisteredModel) error
	// GetRegisteredModel returns a model by name.
	GetRegisteredModel(ctx context.Context, namespace, name string) (*RegisteredModel, error)
	// ListRegisteredModels orders by "name" (default, asc) or "created_at".
	ListRegisteredModels(ctx context.Context, opts ListOptions) ([]*RegisteredModel, string, error)
	// UpdateRegisteredModel replaces Description and Tags.
	UpdateRegisteredModel(ctx context.Context, m *RegisteredModel) error
	// DeleteRegisteredModel deletes the model with its versions and aliases.
	DeleteRegisteredModel(ctx context.Context, namespace, name string) error

	// CreateModelVersion allocates the next version number of mv.ModelName and stores mv.
	CreateModelVersion(ctx context.Context, mv *ModelVersion) error
	// GetModelVersion returns one version of a model.
	GetModelVersion(ctx context.Context, namespace, model string, version int64) (*ModelVersion, error)
	// ListModelVersions returns the model's versions, newest first.
	ListModelVersions(ctx context.Context, namespace, model string) ([]*ModelVersion, error)
	// UpdateModelVersion replaces Description, Tags and Status.
	UpdateModelVersion(ctx context.Context, mv *ModelVersion) error
	// DeleteModelVersion deletes the version and the aliases pointing at it.
	DeleteModelVersion(ctx context.Context, namespace, model string, version int64) error

	// SetAlias points alias at version, creating or moving it atomically.
	SetAlias(ctx context.Context, a Alias) error
	// DeleteAlias removes an alias; the version stays.
	DeleteAlias(ctx context.Context, namespace, model, alias string) error
	// GetModelVersionByAlias resolves an alias.
	GetModelVersionByAlias(ctx context.Context, namespace, model, alias string) (*ModelVersion, error)
	// ListAliases returns the model's aliases ordered by name.
	ListAliases(ctx context.Context, namespace, model string) ([]Alias, error)
}

// Auth stores bearer tokens and namespace membership.
type Auth interface {
	// CreateToken stores t, assigning CreatedAt; ErrAlreadyExists if the hash is taken.
	CreateToken(ctx context.Context, t *Token) error
	// LookupToken returns the token with this hash; ErrNotFound if it is unknown or expired.
	LookupToken(ctx context.Context, hash string) (*Token, error)
	// ListTokens returns the user's tokens, newest first.
	ListTokens(ctx context.Context, user string) ([]*Token, error)
	// DeleteToken revokes a token by its hash.
	DeleteToken(ctx context.Context, hash string) error

	// SetMember grants or changes a user's role in a namespace.
	SetMember(ctx context.Context, m Member) error
	// RemoveMember revokes a user's membership of a namespace.
	RemoveMember(ctx context.Context, namespace, user string) error
	// UserNamespaces returns the user's memberships ordered by namespace.
	UserNamespaces(ctx context.Context, user string) ([]Member, error)
	// NamespaceMembers returns the namespace's members ordered by user.
	NamespaceMembers(ctx context.Context, namespace string) ([]Member, error)
}

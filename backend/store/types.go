package store

import (
	"encoding/json"
	"time"
)

// Pipeline is a named pipeline in a namespace. Its content lives in its versions.
type Pipeline struct {
	ID          string
	Namespace   string
	Name        string // unique within the namespace
	Description string
	CreatedAt   time.Time
}

// PipelineVersion is one immutable upload of a compiled pipeline.
type PipelineVersion struct {
	ID          string
	Namespace   string
	PipelineID  string
	Name        string // unique within the pipeline
	Description string
	// Spec is the compiled Argo YAML exactly as uploaded.
	Spec []byte
	// ParametersSchema is a JSON document describing the pipeline's input parameters.
	ParametersSchema json.RawMessage
	CreatedAt        time.Time
}

// Experiment groups runs. An MLflow experiment is an Experiment; MLflow's lifecycle_stage
// "deleted" is Archived.
type Experiment struct {
	ID          string
	Namespace   string
	Name        string // unique within the namespace
	Description string
	Tags        map[string]string
	Archived    bool
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Phase is the lifecycle phase of a run or node, using Argo's vocabulary.
type Phase string

// Phases of runs and nodes.
const (
	PhasePending   Phase = "Pending"
	PhaseRunning   Phase = "Running"
	PhaseSucceeded Phase = "Succeeded"
	PhaseFailed    Phase = "Failed"
	PhaseError     Phase = "Error"
	PhaseSkipped   Phase = "Skipped"
	PhaseOmitted   Phase = "Omitted"
	// PhaseCancelled marks a run or node stopped by a user (MLflow's KILLED).
	PhaseCancelled Phase = "Cancelled"
)

// Valid reports whether p is one of the phases above.
func (p Phase) Valid() bool {
	switch p {
	case PhasePending, PhaseRunning, PhaseSucceeded, PhaseFailed, PhaseError, PhaseSkipped, PhaseOmitted, PhaseCancelled:
		return true
	}
	return false
}

// Terminal reports whether p is a final phase: runs in such a phase are not reconciled on start-up.
func (p Phase) Terminal() bool {
	switch p {
	case PhaseSucceeded, PhaseFailed, PhaseError, PhaseSkipped, PhaseOmitted, PhaseCancelled:
		return true
	}
	return false
}

// MLflowStatus maps p to MLflow's RunStatus: RUNNING, SCHEDULED, FINISHED, FAILED or KILLED.
func (p Phase) MLflowStatus() string {
	switch p {
	case PhaseRunning:
		return "RUNNING"
	case PhaseSucceeded, PhaseSkipped, PhaseOmitted:
		return "FINISHED"
	case PhaseFailed, PhaseError:
		return "FAILED"
	case PhaseCancelled:
		return "KILLED"
	default:
		return "SCHEDULED"
	}
}

// PhaseFromMLflowStatus is the inverse of Phase.MLflowStatus; ok is false for an unknown status.
func PhaseFromMLflowStatus(s string) (p Phase, ok bool) {
	switch s {
	case "RUNNING":
		return PhaseRunning, true
	case "SCHEDULED":
		return PhasePending, true
	case "FINISHED":
		return PhaseSucceeded, true
	case "FAILED":
		return PhaseFailed, true
	case "KILLED":
		return PhaseCancelled, true
	}
	return "", false
}

// Run is one execution of a pipeline version, or a tracking-only run (MLflow) when
// PipelineVersionID is empty.
type Run struct {
	// ID is 32 lowercase hex characters, the shape of MLflow's run_uuid.
	ID           string
	Namespace    string
	ExperimentID string // empty: not in an experiment
	// PipelineID and PipelineVersionID are empty for tracking-only runs, and become empty when
	// the pipeline is deleted; Spec keeps what was run.
	PipelineID        string
	PipelineVersionID string
	RecurringRunID    string // set when a recurring run created this run
	Name              string
	Description       string
	Phase             Phase
	Message           string
	// Parameters are the pipeline input values the run was created with.
	Parameters map[string]string
	// Spec is the compiled workflow the engine executes (pipeline version spec as submitted).
	Spec       []byte
	CreatedBy  string
	CreatedAt  time.Time
	StartedAt  time.Time // zero until the run starts
	FinishedAt time.Time // zero until the run reaches a terminal phase
	Archived   bool
}

// RunRef identifies a run in a scan of many: where it lives, its phase, and whether the backend
// runs it (HasSpec) or a tracking client owns it.
type RunRef struct {
	ID        string
	Namespace string
	Phase     Phase
	CreatedAt time.Time
	// HasSpec is set when the run has a compiled workflow, so an engine executes it.
	HasSpec bool
}

// Node is one node of a run's execution graph, as reported by the engine.
type Node struct {
	RunID       string
	ID          string // the engine's node ID, unique within the run
	Name        string
	DisplayName string
	Type        string // Argo node type: Pod, DAG, Steps, Retry, Skipped, ...
	Template    string
	Phase       Phase
	Message     string
	Inputs      json.RawMessage
	Outputs     json.RawMessage
	Children    []string
	StartedAt   time.Time
	FinishedAt  time.Time
}

// Param is a write-once key/value logged on a run.
type Param struct {
	Key   string
	Value string
}

// Metric is one point of a metric series. Points are append-only; several points may share a step.
type Metric struct {
	Key       string
	Value     float64
	Step      int64
	Timestamp time.Time // millisecond precision is kept (MLflow's unit); finer is truncated
}

// Tag is a mutable key/value on a run.
type Tag struct {
	Key   string
	Value string
}

// Artifact is a stored output (file or directory) with its location and identity.
type Artifact struct {
	ID        string
	Namespace string
	RunID     string // run that produced it; empty for artifacts registered outside a run
	NodeID    string
	Name      string
	URI       string
	Type      string // e.g. Dataset, Model, Metrics
	Digest    string // e.g. "sha256:..."
	Size      int64
	Metadata  map[string]string
	CreatedAt time.Time
}

// LineageKind says how a run node touched an artifact.
type LineageKind string

// Lineage kinds.
const (
	Produced LineageKind = "produced"
	Consumed LineageKind = "consumed"
)

// LineageEvent records that a run node produced or consumed an artifact.
type LineageEvent struct {
	ArtifactID string
	RunID      string
	NodeID     string
	Kind       LineageKind
	CreatedAt  time.Time
}

// RecurringRun creates runs on a schedule: a cron expression in a time zone, or a fixed interval.
type RecurringRun struct {
	ID                string
	Namespace         string
	Name              string // unique within the namespace
	Description       string
	ExperimentID      string
	PipelineVersionID string
	Parameters        map[string]string
	// Cron is a five-field cron expression; Interval is used when Cron is empty.
	Cron     string
	Interval time.Duration
	TimeZone string // IANA name; empty means UTC
	Enabled  bool
	// MaxConcurrency limits runs of this schedule in a non-terminal phase; 0 means 1.
	MaxConcurrency int
	// CatchUp makes the scheduler create the runs it missed while the server was down.
	CatchUp   bool
	StartAt   time.Time // zero: no bound
	EndAt     time.Time // zero: no bound
	LastRunAt time.Time // the scheduled time of the last run created
	CreatedAt time.Time
	UpdatedAt time.Time
}

// RegisteredModel is a named model in the registry.
type RegisteredModel struct {
	Namespace   string
	Name        string // unique within the namespace
	Description string
	Tags        map[string]string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// ModelVersion is one version of a registered model, pointing at an artifact or a source URI.
type ModelVersion struct {
	Namespace   string
	ModelName   string
	Version     int64 // allocated by the store: 1, 2, 3, ... per model
	Source      string
	ArtifactID  string
	RunID       string
	Description string
	Tags        map[string]string
	// Status is MLflow's model version status; the store defaults it to READY.
	Status    string
	CreatedAt time.Time
	UpdatedAt time.Time
}

// Alias names one version of a registered model, such as "production". Setting an alias that
// exists moves it atomically.
type Alias struct {
	Namespace string
	ModelName string
	Alias     string
	Version   int64
}

// Token maps a bearer token to a user. The store never sees the secret: Hash is the hex SHA-256
// of it, which the API computes from the Authorization header and looks up.
type Token struct {
	Hash      string
	User      string
	Name      string    // what the token is for, shown when listing
	CreatedAt time.Time // assigned by the store
	ExpiresAt time.Time // zero: never; LookupToken reports expired tokens as not found
}

// Role is what a member may do in a namespace.
type Role string

// Roles, each including the ones before it.
const (
	RoleViewer Role = "viewer"
	RoleEditor Role = "editor"
	RoleAdmin  Role = "admin"
)

// Member grants a user a role in a namespace.
type Member struct {
	Namespace string
	User      string
	Role      Role
}

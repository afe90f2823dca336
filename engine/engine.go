package engine

import (
	"context"
	"errors"
	"io"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// ErrRunNotFound is returned for an unknown run ID.
var ErrRunNotFound = errors.New("engine: run not found")

// ErrNodeNotFound is returned when a node ID or name is unknown in a run.
var ErrNodeNotFound = errors.New("engine: node not found")

// ErrRunActive is returned by Retry when the run has not finished yet.
var ErrRunActive = errors.New("engine: run is still active")

// Engine executes compiled Argo workflows. Implementations: engine/local (this
// machine) and, later, an Argo/Kubernetes engine. Every method is safe for
// concurrent use.
type Engine interface {
	// Submit validates wf and starts it. Anything the engine cannot execute
	// faithfully is rejected here, before any node runs, with field paths.
	Submit(ctx context.Context, wf *wfv1.Workflow, opts SubmitOptions) (string, error)
	// Watch streams the run's events from its beginning: every event already
	// emitted is replayed first, then live ones. The channel is closed after the
	// final RunFinished event or when ctx ends.
	Watch(ctx context.Context, runID string) (<-chan Event, error)
	// Status returns a snapshot of the run's status.
	Status(ctx context.Context, runID string) (*RunStatus, error)
	// Logs returns the combined stdout/stderr of one node, given its ID or
	// name. With follow the reader blocks for more output until the node ends.
	Logs(ctx context.Context, runID, node string, follow bool) (io.ReadCloser, error)
	// Cancel stops a running workflow: running nodes are killed and marked
	// Failed, nothing new starts, and exit handlers still run.
	Cancel(ctx context.Context, runID string) error
	// Retry re-runs a finished, unsuccessful run: nodes that succeeded keep
	// their outputs, failed, errored and never-run nodes run again.
	Retry(ctx context.Context, runID string) error
}

// SubmitOptions refine one submission.
type SubmitOptions struct {
	// Parameters override workflow arguments (spec.arguments.parameters) by name.
	Parameters map[string]string
	// RunID names the run; empty means the engine generates one.
	RunID string
}

// RunStatus is a run's status in Argo's own shape, plus where the run lives.
type RunStatus struct {
	// RunID identifies the run.
	RunID string `json:"runID"`
	// Workflow is the workflow's name as executed (generateName resolved).
	Workflow string `json:"workflow"`
	// Dir is the run's directory for engines that keep files locally
	// (node logs, artifacts); empty otherwise.
	Dir string `json:"dir,omitempty"`
	// Status holds the phase, timestamps, message, outputs and node map
	// exactly as Argo's controller would report them.
	Status wfv1.WorkflowStatus `json:"status"`
}

// EventType says what an Event reports.
type EventType string

const (
	// EventNode reports a node's status change (created, phase, outputs).
	EventNode EventType = "Node"
	// EventRun reports a change of the run's phase; the last event of a run
	// is an EventRun with a completed phase.
	EventRun EventType = "Run"
)

// Event is one typed change in a run.
type Event struct {
	// Seq orders the events of one run, starting at 1.
	Seq int `json:"seq"`
	// Time is when the change happened.
	Time time.Time `json:"time"`
	// RunID is the run the event belongs to.
	RunID string `json:"runID"`
	// Type says whether Node or Phase is set.
	Type EventType `json:"type"`
	// Node is a copy of the node's status after the change (EventNode).
	Node *wfv1.NodeStatus `json:"node,omitempty"`
	// Phase is the run's phase (EventRun).
	Phase wfv1.WorkflowPhase `json:"phase,omitempty"`
	// Message explains the run phase, e.g. why it failed (EventRun).
	Message string `json:"message,omitempty"`
}

// Finished reports whether the event is the final event of its run.
func (e Event) Finished() bool {
	return e.Type == EventRun && e.Phase.Completed()
}

package argo

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kilnml/kiln/engine"
)

// run is what the engine knows of one run: the Workflow last observed, the
// state already reported, and the events reported so far.
type run struct {
	id, ns, name string

	mu      sync.Mutex
	wf      *wfv1.Workflow // latest observed; nil before the first observation
	uid     types.UID
	rv      string // resourceVersion of wf
	phase   wfv1.WorkflowPhase
	message string
	nodes   map[string]nodeState // reported state by node id
	events  []engine.Event
	changed chan struct{} // closed and replaced whenever events grow
	ended   bool          // the Workflow is gone; no more events will come
}

// nodeState is the part of a node's status whose change is reported.
type nodeState struct {
	phase      wfv1.NodePhase
	message    string
	startedAt  time.Time
	finishedAt time.Time
	progress   wfv1.Progress
	outputs    string // JSON of the outputs, compared as a whole
}

func stateOf(n *wfv1.NodeStatus) nodeState {
	s := nodeState{
		phase: n.Phase, message: n.Message, progress: n.Progress,
		startedAt: n.StartedAt.Time, finishedAt: n.FinishedAt.Time,
	}
	if n.Outputs != nil {
		b, _ := json.Marshal(n.Outputs)
		s.outputs = string(b)
	}
	return s
}

func newRun(id, ns, name string) *run {
	r := &run{id: id, ns: ns, name: name, nodes: map[string]nodeState{}, changed: make(chan struct{})}
	r.emitLocked(engine.Event{Type: engine.EventRun, Phase: wfv1.WorkflowPending})
	r.phase = wfv1.WorkflowPending
	return r
}

// emitLocked appends an event and wakes the watchers; r.mu must be held.
func (r *run) emitLocked(ev engine.Event) {
	ev.Seq = len(r.events) + 1
	ev.RunID = r.id
	if ev.Time.IsZero() {
		ev.Time = time.Now()
	}
	r.events = append(r.events, ev)
	close(r.changed)
	r.changed = make(chan struct{})
}

// observe compares wf with what was reported and emits one event per node
// whose reported state changed (ordered by start time), then one for the
// run's phase or message. Comparing with reported state, rather than with
// the informer's previous object, makes relists and repeated deliveries
// after watch failures or API-server restarts harmless: an unchanged state
// emits nothing, and a state that changed while the watch was down is
// reported once with its latest value.
func (r *run) observe(wf *wfv1.Workflow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	if r.wf != nil && r.uid == wf.UID && !newer(wf.ResourceVersion, r.rv) {
		return // an older copy (a write's response racing the informer)
	}
	r.wf, r.uid, r.rv = wf, wf.UID, wf.ResourceVersion

	ids := make([]string, 0, len(wf.Status.Nodes))
	for id, n := range wf.Status.Nodes {
		if old, ok := r.nodes[id]; !ok || old != stateOf(&n) {
			ids = append(ids, id)
		}
	}
	// Changes seen together (after a relist, or a controller write that
	// touched several nodes) are reported in the order they happened.
	sort.Slice(ids, func(i, j int) bool {
		a, b := changedAt(wf.Status.Nodes[ids[i]]), changedAt(wf.Status.Nodes[ids[j]])
		if !a.Equal(b) {
			return a.Before(b)
		}
		return ids[i] < ids[j]
	})
	for _, id := range ids {
		n := wf.Status.Nodes[id]
		s := stateOf(&n)
		r.nodes[id] = s
		r.emitLocked(engine.Event{Type: engine.EventNode, Node: n.DeepCopy(), Time: nonZero(changedAt(n))})
	}
	// A retried workflow resets nodes: forget those no longer present so
	// they are reported again when they reappear.
	for id := range r.nodes {
		if _, ok := wf.Status.Nodes[id]; !ok {
			delete(r.nodes, id)
		}
	}
	phase := wf.Status.Phase
	if phase == "" {
		phase = wfv1.WorkflowPending // not yet picked up by the controller
	}
	msg := runMessage(wf, phase)
	if phase != r.phase || msg != r.message {
		r.phase, r.message = phase, msg
		at := wf.Status.FinishedAt.Time
		if !phase.Completed() {
			at = time.Time{}
		}
		r.emitLocked(engine.Event{Type: engine.EventRun, Phase: phase, Message: msg, Time: nonZero(at)})
	}
}

// runMessage is the workflow's message, or, for a failed run whose
// workflow has none (Argo v3.7 leaves a DAG's failure without one), the
// steps that failed with their own messages, so a user sees at once what
// went wrong.
func runMessage(wf *wfv1.Workflow, phase wfv1.WorkflowPhase) string {
	if wf.Status.Message != "" || (phase != wfv1.WorkflowFailed && phase != wfv1.WorkflowError) {
		return wf.Status.Message
	}
	var failed []string
	for _, n := range wf.Status.Nodes {
		if n.Type != wfv1.NodeTypePod && n.Type != wfv1.NodeTypeContainer && n.Type != wfv1.NodeTypeSuspend && n.Type != wfv1.NodeTypeHTTP && n.Type != wfv1.NodeTypePlugin {
			continue
		}
		if n.Phase != wfv1.NodeFailed && n.Phase != wfv1.NodeError {
			continue
		}
		s := fmt.Sprintf("step %q %s", n.DisplayName, strings.ToLower(string(n.Phase)))
		if n.Message != "" {
			s += ": " + n.Message
		}
		failed = append(failed, s)
	}
	sort.Strings(failed)
	return strings.Join(failed, "; ")
}

// gone reports the deletion of the run's Workflow: a run deleted before it
// completed ends as Error so that watchers are released.
func (r *run) gone(wf *wfv1.Workflow) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ended {
		return
	}
	if !r.phase.Completed() {
		r.phase, r.message = wfv1.WorkflowError, "workflow was deleted before it completed"
		r.emitLocked(engine.Event{Type: engine.EventRun, Phase: r.phase, Message: r.message})
	}
	if wf != nil {
		r.wf = wf
	}
	r.ended = true
	close(r.changed)
	r.changed = make(chan struct{})
}

// uidOf returns the UID of the run's Workflow, if observed.
func (r *run) uidOf() types.UID {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.uid
}

// latest returns the Workflow last observed (not a copy: do not modify).
func (r *run) latest() *wfv1.Workflow {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wf
}

// completedLocked reports whether the run's last event is its final one.
func (r *run) completedLocked() bool {
	return len(r.events) > 0 && r.events[len(r.events)-1].Finished()
}

// changedAt is when a node last changed phase: its finish, else its start.
func changedAt(n wfv1.NodeStatus) time.Time {
	if !n.FinishedAt.IsZero() {
		return n.FinishedAt.Time
	}
	return n.StartedAt.Time
}

// nonZero returns t, or now when t is zero.
func nonZero(t time.Time) time.Time {
	if t.IsZero() {
		return time.Now()
	}
	return t
}

// newer reports whether resource version a is newer than b. Resource
// versions are opaque, but the API server's are decimal etcd revisions; a
// non-numeric one is treated as newer.
func newer(a, b string) bool {
	if len(a) != len(b) {
		return len(a) > len(b) || !numeric(a) || !numeric(b)
	}
	if !numeric(a) || !numeric(b) {
		return a != b
	}
	return a > b
}

func numeric(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}

// Watch streams the run's events from its first one: those already
// reported are replayed, then live ones follow. The channel closes after
// the run's final event (a completed run phase that no retry has followed),
// when the run's Workflow is deleted, or when ctx ends.
func (e *Engine) Watch(ctx context.Context, id string) (<-chan engine.Event, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	ch := make(chan engine.Event, 64)
	go func() {
		defer close(ch)
		next := 0
		for {
			r.mu.Lock()
			batch := append([]engine.Event(nil), r.events[next:]...)
			changed, ended := r.changed, r.ended
			done := r.completedLocked() && next+len(batch) == len(r.events)
			r.mu.Unlock()
			next += len(batch)
			for _, ev := range batch {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
			if done || ended {
				return
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

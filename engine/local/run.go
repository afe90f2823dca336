package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kilnml/kiln/engine"
)

// Causes attached to cancelled contexts, so a node knows why it was stopped.
var (
	errStopped          = errors.New("Stopped with strategy 'Stop'")
	errWorkflowDeadline = errors.New("Step exceeded its deadline")
	errNodeDeadline     = errors.New("Pod was active on the node longer than the specified deadline")
	errNodeTimeout      = errors.New("node exceeded its timeout")
)

// run is one workflow execution and everything it owns.
type run struct {
	id     string
	dir    string
	wf     *wfv1.Workflow
	eng    *Engine
	log    *slog.Logger
	tmpls  map[string]*wfv1.Template
	podSem chan struct{} // spec.parallelism; nil when unlimited

	mu        sync.Mutex
	status    wfv1.WorkflowStatus
	nodes     map[string]*wfv1.NodeStatus
	events    []engine.Event
	changed   chan struct{} // closed and replaced on every new event
	globals   map[string]string
	globalArt map[string]wfv1.Artifact
	extraPar  map[string][]string         // node name → further parents (DAG fan-in, step groups)
	prev      map[string]*wfv1.NodeStatus // succeeded nodes of the previous attempt (Retry)
	prevAll   map[string]*wfv1.NodeStatus
	stopMain  context.CancelCauseFunc
	stopExit  context.CancelCauseFunc
	cancelled bool
	active    bool
	done      chan struct{}
}

func (r *run) logPath(nodeID string) string {
	return filepath.Join(r.dir, "logs", nodeID+".log")
}

func (r *run) nodeDir(nodeID string) string {
	return filepath.Join(r.dir, "nodes", nodeID)
}

// emitLocked appends an event; the caller holds r.mu.
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

// createNode registers a node and links it under parentID.
func (r *run) createNode(name, display string, typ wfv1.NodeType, tmplName, parentID, boundaryID string) *wfv1.NodeStatus {
	id := r.wf.NodeID(name)
	n := &wfv1.NodeStatus{
		ID:           id,
		Name:         name,
		DisplayName:  display,
		Type:         typ,
		TemplateName: tmplName,
		BoundaryID:   boundaryID,
		Phase:        wfv1.NodePending,
		StartedAt:    metav1.Now(),
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.nodes[id] = n
	r.linkLocked(parentID, id)
	for _, p := range r.extraPar[name] {
		r.linkLocked(p, id)
	}
	r.emitLocked(engine.Event{Type: engine.EventNode, Node: n.DeepCopy()})
	return n
}

func (r *run) linkLocked(parentID, childID string) {
	if parentID == "" {
		return
	}
	p, ok := r.nodes[parentID]
	if !ok {
		return
	}
	for _, c := range p.Children {
		if c == childID {
			return
		}
	}
	p.Children = append(p.Children, childID)
	r.emitLocked(engine.Event{Type: engine.EventNode, Node: p.DeepCopy()})
}

// setParents makes the node that will be named name a child of every ID in
// parents, as Argo links a task under each task it depends on. It returns
// the primary parent to create the node with.
func (r *run) setParents(name string, parents []string) string {
	if len(parents) == 0 {
		return ""
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.extraPar == nil {
		r.extraPar = map[string][]string{}
	}
	r.extraPar[name] = parents[1:]
	return parents[0]
}

// link adds childID to parentID's children.
func (r *run) link(parentID, childID string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.linkLocked(parentID, childID)
}

// update mutates a node under the lock and emits its new status.
func (r *run) update(n *wfv1.NodeStatus, f func(n *wfv1.NodeStatus)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f(n)
	r.emitLocked(engine.Event{Type: engine.EventNode, Node: n.DeepCopy()})
}

// finish completes a node with a phase and message.
func (r *run) finish(n *wfv1.NodeStatus, phase wfv1.NodePhase, msg string) {
	r.update(n, func(n *wfv1.NodeStatus) {
		n.Phase = phase
		n.Message = msg
		n.FinishedAt = metav1.Now()
		if phase == wfv1.NodeSucceeded {
			n.Progress = "1/1"
		}
	})
}

// snapshot copies a node under the lock.
func (r *run) snapshot(n *wfv1.NodeStatus) *wfv1.NodeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return n.DeepCopy()
}

func (r *run) setPhase(phase wfv1.WorkflowPhase, msg string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.status.Phase = phase
	r.status.Message = msg
	if phase.Completed() {
		r.status.FinishedAt = metav1.Now()
	}
	r.emitLocked(engine.Event{Type: engine.EventRun, Phase: phase, Message: msg})
}

// globalParams returns a copy of the workflow-wide variables.
func (r *run) globalParams() map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return maps.Clone(r.globals)
}

// addGlobalOutputs publishes outputs that carry a globalName.
func (r *run) addGlobalOutputs(out *wfv1.Outputs) {
	if out == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range out.Parameters {
		if p.GlobalName == "" || p.Value == nil {
			continue
		}
		r.globals["workflow.outputs.parameters."+p.GlobalName] = p.Value.String()
		if r.status.Outputs == nil {
			r.status.Outputs = &wfv1.Outputs{}
		}
		gp := wfv1.Parameter{Name: p.GlobalName, Value: p.Value}
		replaced := false
		for i := range r.status.Outputs.Parameters {
			if r.status.Outputs.Parameters[i].Name == p.GlobalName {
				r.status.Outputs.Parameters[i] = gp
				replaced = true
			}
		}
		if !replaced {
			r.status.Outputs.Parameters = append(r.status.Outputs.Parameters, gp)
		}
	}
	for _, a := range out.Artifacts {
		if a.GlobalName == "" {
			continue
		}
		ga := *a.DeepCopy()
		ga.Name = a.GlobalName
		r.globalArt["workflow.outputs.artifacts."+a.GlobalName] = ga
		if r.status.Outputs == nil {
			r.status.Outputs = &wfv1.Outputs{}
		}
		r.status.Outputs.Artifacts = append(r.status.Outputs.Artifacts, ga)
	}
}

// statusCopy returns the run status with the node map filled in.
func (r *run) statusCopy() *engine.RunStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	st := r.status.DeepCopy()
	st.Nodes = make(wfv1.Nodes, len(r.nodes))
	for id, n := range r.nodes {
		st.Nodes[id] = *n.DeepCopy()
	}
	return &engine.RunStatus{RunID: r.id, Workflow: r.wf.Name, Dir: r.dir, Status: *st}
}

// execute runs the workflow to completion: the entrypoint, then the exit
// handler, then the final phase.
func (r *run) execute(ctx context.Context) {
	defer close(r.done)
	start := time.Now()
	r.setPhase(wfv1.WorkflowRunning, "")

	mainCtx, stopMain := context.WithCancelCause(ctx)
	if d := r.wf.Spec.ActiveDeadlineSeconds; d != nil {
		var cancelDeadline context.CancelFunc
		mainCtx, cancelDeadline = context.WithDeadlineCause(mainCtx, start.Add(time.Duration(*d)*time.Second), errWorkflowDeadline)
		defer cancelDeadline()
	}
	r.mu.Lock()
	r.stopMain = stopMain
	if r.cancelled {
		stopMain(errStopped)
	}
	r.mu.Unlock()
	defer stopMain(nil)

	root := r.executeTemplate(mainCtx, invocation{
		name:     r.wf.Name,
		display:  r.wf.Name,
		tmplName: r.wf.Spec.Entrypoint,
		args:     r.wf.Spec.Arguments,
	})
	phase, msg := nodeToWorkflowPhase(root)
	if cause := context.Cause(mainCtx); cause != nil && mainCtx.Err() != nil && phase != wfv1.WorkflowSucceeded {
		msg = cause.Error()
	}

	if exitTmpl := r.exitHandlerName(); exitTmpl != "" {
		exitCtx, stopExit := context.WithCancelCause(context.WithoutCancel(ctx))
		r.mu.Lock()
		r.stopExit = stopExit
		r.globals["workflow.status"] = string(phase)
		r.globals["workflow.failures"] = r.failuresLocked()
		r.globals["workflow.duration"] = fmt.Sprintf("%f", time.Since(start).Seconds())
		r.mu.Unlock()
		exitNode := r.executeTemplate(exitCtx, invocation{
			name:     r.wf.Name + ".onExit",
			display:  r.wf.Name + ".onExit",
			tmplName: exitTmpl,
			args:     r.wf.Spec.Arguments,
		})
		stopExit(nil)
		if exitNode.Phase.FailedOrError() && phase == wfv1.WorkflowSucceeded {
			phase, msg = wfv1.WorkflowFailed, "exit handler failed: "+exitNode.Message
		}
	}
	// Write status.json before the final event so that whoever sees the end
	// of the run sees a quiet run directory.
	r.mu.Lock()
	r.active = false
	r.status.Phase, r.status.Message, r.status.FinishedAt = phase, msg, metav1.Now()
	r.mu.Unlock()
	r.writeStatusFile()
	r.mu.Lock()
	r.emitLocked(engine.Event{Type: engine.EventRun, Phase: phase, Message: msg})
	r.mu.Unlock()
}

func (r *run) exitHandlerName() string {
	if r.wf.Spec.OnExit != "" {
		return r.wf.Spec.OnExit
	}
	if h, ok := r.wf.Spec.Hooks[wfv1.ExitLifecycleEvent]; ok {
		return h.Template
	}
	return ""
}

func nodeToWorkflowPhase(n *wfv1.NodeStatus) (wfv1.WorkflowPhase, string) {
	switch n.Phase {
	case wfv1.NodeSucceeded, wfv1.NodeSkipped, wfv1.NodeOmitted:
		return wfv1.WorkflowSucceeded, ""
	case wfv1.NodeError:
		return wfv1.WorkflowError, n.Message
	default:
		return wfv1.WorkflowFailed, n.Message
	}
}

// failuresLocked renders {{workflow.failures}} like Argo: a JSON list of the
// failed and errored pod-level nodes.
func (r *run) failuresLocked() string {
	type failure struct {
		DisplayName  string `json:"displayName"`
		Message      string `json:"message"`
		TemplateName string `json:"templateName"`
		Phase        string `json:"phase"`
		PodName      string `json:"podName"`
		FinishedAt   string `json:"finishedAt"`
	}
	var out []failure
	ids := make([]string, 0, len(r.nodes))
	for id := range r.nodes {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		n := r.nodes[id]
		if !n.Phase.FailedOrError() {
			continue
		}
		out = append(out, failure{
			DisplayName: n.DisplayName, Message: n.Message, TemplateName: n.TemplateName,
			Phase: string(n.Phase), PodName: n.ID, FinishedAt: n.FinishedAt.UTC().Format(time.RFC3339),
		})
	}
	b, _ := json.Marshal(out)
	// Argo quotes the list so substitution keeps its inner quotes escaped.
	return strconv.Quote(string(b))
}

// writeStatusFile leaves the final status next to the logs for later tools.
func (r *run) writeStatusFile() {
	b, err := json.MarshalIndent(r.statusCopy(), "", "  ")
	if err != nil {
		r.log.Warn("encode run status", "run", r.id, "err", err)
		return
	}
	if err := os.WriteFile(filepath.Join(r.dir, "status.json"), b, 0o644); err != nil {
		r.log.Warn("write run status", "run", r.id, "err", err)
	}
}

// nodeByRef finds a node by ID, name or display name.
func (r *run) nodeByRef(ref string) (*wfv1.NodeStatus, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if n, ok := r.nodes[ref]; ok {
		return n.DeepCopy(), true
	}
	var match *wfv1.NodeStatus
	for _, n := range r.nodes {
		if n.Name == ref {
			return n.DeepCopy(), true
		}
		if n.DisplayName == ref && n.Type == wfv1.NodeTypePod {
			match = n
		}
	}
	if match != nil {
		return match.DeepCopy(), true
	}
	return nil, false
}

func nodeEvent(n *wfv1.NodeStatus) engine.Event {
	return engine.Event{Type: engine.EventNode, Node: n.DeepCopy()}
}

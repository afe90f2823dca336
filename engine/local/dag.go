package local

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/expr/argoexpr"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

// dagGraph adapts a DAG template to Argo's common.DagContext so dependency
// expansion ("dependencies" → "depends") is Argo's own code.
type dagGraph struct {
	tasks map[string]*wfv1.DAGTask
	deps  map[string][]string
	logic map[string]string
}

func (g *dagGraph) GetTask(name string) *wfv1.DAGTask { return g.tasks[name] }

func (g *dagGraph) GetTaskDependencies(name string) []string { return g.deps[name] }

func (g *dagGraph) GetTaskFinishedAtTime(string) time.Time { return time.Time{} }

func newDAGGraph(dag *wfv1.DAGTemplate) (*dagGraph, error) {
	g := &dagGraph{tasks: map[string]*wfv1.DAGTask{}, deps: map[string][]string{}, logic: map[string]string{}}
	for i := range dag.Tasks {
		g.tasks[dag.Tasks[i].Name] = &dag.Tasks[i]
	}
	for i := range dag.Tasks {
		t := &dag.Tasks[i]
		for _, d := range t.Dependencies {
			if _, ok := g.tasks[d]; !ok {
				return nil, fmt.Errorf("task %q depends on unknown task %q", t.Name, d)
			}
		}
		deps, logic := common.GetTaskDependencies(t, g)
		for d := range deps {
			if _, ok := g.tasks[d]; !ok {
				return nil, fmt.Errorf("task %q depends on unknown task %q", t.Name, d)
			}
			g.deps[t.Name] = append(g.deps[t.Name], d)
		}
		g.logic[t.Name] = logic
	}
	return g, nil
}

// taskResults mirrors the variables Argo exposes to a depends expression.
type taskResults struct {
	Succeeded    bool `json:"Succeeded"`
	Failed       bool `json:"Failed"`
	Errored      bool `json:"Errored"`
	Skipped      bool `json:"Skipped"`
	Omitted      bool `json:"Omitted"`
	Daemoned     bool `json:"Daemoned"`
	AnySucceeded bool `json:"AnySucceeded"`
	AllFailed    bool `json:"AllFailed"`
}

type taskDone struct {
	name string
	node *wfv1.NodeStatus
	kids []*wfv1.NodeStatus // loop children, for aggregation
}

// dagRun is the state of one DAG template execution.
type dagRun struct {
	base     *scope // globals and template inputs
	r        *run
	node     *wfv1.NodeStatus
	tmpl     *wfv1.Template
	g        *dagGraph
	results  map[string]taskDone
	sc       *scope
	sem      chan struct{}
	failFast bool
}

func (r *run) runDAG(ctx context.Context, node *wfv1.NodeStatus, tmpl *wfv1.Template) (wfv1.NodePhase, string, *wfv1.Outputs) {
	g, err := newDAGGraph(tmpl.DAG)
	if err != nil {
		return wfv1.NodeError, err.Error(), nil
	}
	d := &dagRun{
		r: r, node: node, tmpl: tmpl, g: g,
		results:  map[string]taskDone{},
		sc:       r.templateScope(tmpl),
		base:     r.templateScope(tmpl),
		failFast: tmpl.DAG.FailFast == nil || *tmpl.DAG.FailFast,
	}
	if tmpl.Parallelism != nil && *tmpl.Parallelism > 0 {
		d.sem = make(chan struct{}, *tmpl.Parallelism)
		ctx = withPodLimit(ctx, make(chan struct{}, *tmpl.Parallelism))
	}
	targets := d.targets()
	pending := d.needed(targets)

	done := make(chan taskDone)
	running := 0
	stopped := false
	for {
		progressed := true
		for progressed {
			progressed = false
			for _, t := range tmpl.DAG.Tasks {
				if !pending[t.Name] {
					continue
				}
				ready, execute, err := d.evaluateDepends(t.Name)
				if err != nil {
					delete(pending, t.Name)
					n := r.createNode(node.Name+"."+t.Name, t.Name, wfv1.NodeTypeSkipped, t.Template, d.parentFor(t.Name), node.ID)
					r.finish(n, wfv1.NodeError, err.Error())
					d.record(taskDone{name: t.Name, node: r.snapshot(n)})
					progressed = true
					continue
				}
				if !ready {
					continue
				}
				if !execute {
					delete(pending, t.Name)
					n := r.createNode(node.Name+"."+t.Name, t.Name, wfv1.NodeTypeSkipped, t.Template, d.parentFor(t.Name), node.ID)
					r.finish(n, wfv1.NodeOmitted, "omitted: depends condition not met")
					d.record(taskDone{name: t.Name, node: r.snapshot(n)})
					progressed = true
					continue
				}
				if stopped || ctx.Err() != nil {
					continue
				}
				delete(pending, t.Name)
				running++
				task := *t.DeepCopy()
				sc := d.taskScope(t.Name)
				parent := d.parentFor(t.Name)
				go func() { done <- d.executeTask(ctx, task, sc, parent) }()
			}
		}
		if running == 0 {
			break
		}
		res := <-done
		running--
		d.record(res)
		if d.failFast && !stopped {
			if ph := d.assess(targets, false); ph.FailedOrError() {
				stopped = true
			}
		}
	}
	if ctx.Err() != nil && len(pending) > 0 {
		return wfv1.NodeFailed, context.Cause(ctx).Error(), nil
	}
	phase := d.assess(targets, true)
	if phase.FailedOrError() {
		return phase, d.failureMessage(), nil
	}
	out, err := d.sc.resolveOutputs(tmpl)
	if err != nil {
		return wfv1.NodeError, err.Error(), nil
	}
	return wfv1.NodeSucceeded, "", out
}

func (r *run) globalArtifacts() map[string]wfv1.Artifact {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make(map[string]wfv1.Artifact, len(r.globalArt))
	for k, v := range r.globalArt {
		out[k] = v
	}
	return out
}

func (d *dagRun) record(res taskDone) {
	d.results[res.name] = res
	prefix := "tasks." + res.name
	if res.kids != nil {
		d.sc.addNode(prefix, res.node)
		d.sc.addAggregate(prefix, res.kids)
		return
	}
	d.sc.addNode(prefix, res.node)
}

// taskScope is what a task sees, like Argo: globals, the DAG's inputs and
// the results of its ancestors (not of unrelated branches).
func (d *dagRun) taskScope(name string) *scope {
	sc := d.base.clone()
	seen := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		for _, dep := range d.g.deps[n] {
			if seen[dep] {
				continue
			}
			seen[dep] = true
			visit(dep)
			if res, ok := d.results[dep]; ok {
				sc.addNode("tasks."+dep, res.node)
				if res.kids != nil {
					sc.addAggregate("tasks."+dep, res.kids)
				}
			}
		}
	}
	visit(name)
	return sc
}

// parentFor links a task's node like Argo: under every dependency's node, or
// under the DAG node for a task without dependencies.
func (d *dagRun) parentFor(name string) string {
	var parents []string
	for _, dep := range d.g.deps[name] {
		if res, ok := d.results[dep]; ok {
			parents = append(parents, res.node.ID)
		}
	}
	if len(parents) == 0 {
		parents = []string{d.node.ID}
	}
	return d.r.setParents(d.node.Name+"."+name, parents)
}

// targets are dag.target, or every task no other task depends on.
func (d *dagRun) targets() []string {
	if t := strings.TrimSpace(d.tmpl.DAG.Target); t != "" {
		return strings.FieldsFunc(t, func(r rune) bool { return r == ' ' || r == ',' })
	}
	hasDependents := map[string]bool{}
	for _, deps := range d.g.deps {
		for _, dep := range deps {
			hasDependents[dep] = true
		}
	}
	var out []string
	for _, t := range d.tmpl.DAG.Tasks {
		if !hasDependents[t.Name] {
			out = append(out, t.Name)
		}
	}
	return out
}

// needed returns the targets and all their ancestors.
func (d *dagRun) needed(targets []string) map[string]bool {
	need := map[string]bool{}
	var visit func(string)
	visit = func(n string) {
		if need[n] {
			return
		}
		need[n] = true
		for _, dep := range d.g.deps[n] {
			visit(dep)
		}
	}
	for _, t := range targets {
		visit(t)
	}
	return need
}

// evaluateDepends says whether every dependency of a task is fulfilled and,
// if so, whether the task's depends expression lets it run.
func (d *dagRun) evaluateDepends(name string) (ready, execute bool, err error) {
	env := map[string]any{}
	for _, dep := range d.g.deps[name] {
		res, ok := d.results[dep]
		if !ok || !res.node.Phase.Fulfilled(nil) {
			return false, false, nil
		}
		tr := taskResults{
			Succeeded: res.node.Phase == wfv1.NodeSucceeded,
			Failed:    res.node.Phase == wfv1.NodeFailed,
			Errored:   res.node.Phase == wfv1.NodeError,
			Skipped:   res.node.Phase == wfv1.NodeSkipped,
			Omitted:   res.node.Phase == wfv1.NodeOmitted,
		}
		if res.node.Type == wfv1.NodeTypeTaskGroup {
			tr.AllFailed = len(res.kids) > 0
			for _, k := range res.kids {
				tr.AnySucceeded = tr.AnySucceeded || k.Phase == wfv1.NodeSucceeded
				tr.AllFailed = tr.AllFailed && k.Phase == wfv1.NodeFailed
			}
		}
		env[strings.ReplaceAll(dep, "-", "_")] = tr
	}
	logic := d.g.logic[name]
	if logic == "" {
		return true, true, nil
	}
	ok, err := argoexpr.EvalBool(strings.ReplaceAll(logic, "-", "_"), env)
	if err != nil {
		return true, false, fmt.Errorf("evaluate depends %q: %w", logic, err)
	}
	return true, ok, nil
}

// branchPhase is the phase a task's branch ended with: its own phase when it
// completed, otherwise (skipped, omitted) the worst phase of its ancestors.
func (d *dagRun) branchPhase(name string, memo map[string]wfv1.NodePhase) wfv1.NodePhase {
	if p, ok := memo[name]; ok {
		return p
	}
	res, ok := d.results[name]
	if !ok {
		return ""
	}
	if res.node.Phase.Completed() {
		memo[name] = res.node.Phase
		return res.node.Phase
	}
	phase := wfv1.NodeSucceeded
	for _, dep := range d.g.deps[name] {
		if p := d.branchPhase(dep, memo); p.FailedOrError() {
			phase = p
			break
		}
	}
	memo[name] = phase
	return phase
}

// assess computes the DAG's phase from its targets like Argo's controller.
func (d *dagRun) assess(targets []string, final bool) wfv1.NodePhase {
	memo := map[string]wfv1.NodePhase{}
	result := wfv1.NodeSucceeded
	for _, t := range targets {
		p := d.branchPhase(t, memo)
		switch {
		case p == "":
			if !final {
				result = wfv1.NodeRunning
			} else {
				result = wfv1.NodeFailed
			}
		case p.FailedOrError():
			if d.g.tasks[t].ContinuesOn(p) {
				continue
			}
			return p
		}
	}
	return result
}

func (d *dagRun) failureMessage() string {
	var names []string
	for _, t := range d.tmpl.DAG.Tasks {
		if res, ok := d.results[t.Name]; ok && res.node.Phase.FailedOrError() {
			names = append(names, t.Name)
		}
	}
	if len(names) == 0 {
		return "not all targets completed"
	}
	return "failed tasks: " + strings.Join(names, ", ")
}

// executeTask runs one DAG task (possibly a loop) and its exit hook.
func (d *dagRun) executeTask(ctx context.Context, task wfv1.DAGTask, sc *scope, parent string) taskDone {
	r := d.r
	name := d.node.Name + "." + task.Name
	if err := sc.replace(&task, true); err != nil {
		n := r.createNode(name, task.Name, wfv1.NodeTypeSkipped, task.Template, parent, d.node.ID)
		r.finish(n, wfv1.NodeError, fmt.Sprintf("resolve task %q: %v", task.Name, err))
		return taskDone{name: task.Name, node: r.snapshot(n)}
	}
	if len(task.WithItems) == 0 && task.WithParam == "" && task.WithSequence == nil {
		if d.sem != nil {
			d.sem <- struct{}{}
			defer func() { <-d.sem }()
		}
		n := d.runOne(ctx, task, sc, name, task.Name, parent)
		n = r.runTaskExitHook(ctx, task.OnExit, task.Hooks, n, sc, "tasks."+task.Name)
		return taskDone{name: task.Name, node: n}
	}
	group := r.createNode(name, task.Name, wfv1.NodeTypeTaskGroup, task.Template, parent, d.node.ID)
	r.update(group, func(n *wfv1.NodeStatus) { n.Phase = wfv1.NodeRunning })
	items, err := expandItems(task.WithItems, task.WithParam, task.WithSequence)
	if err != nil {
		r.finish(group, wfv1.NodeError, err.Error())
		return taskDone{name: task.Name, node: r.snapshot(group), kids: []*wfv1.NodeStatus{}}
	}
	if len(items) == 0 {
		r.finish(group, wfv1.NodeSkipped, "Skipped, empty params")
		return taskDone{name: task.Name, node: r.snapshot(group), kids: []*wfv1.NodeStatus{}}
	}
	kids := runLoop(items, func(i int, item wfv1.Item) *wfv1.NodeStatus {
		isc, itemName, err := sc.withItem(name, i, item)
		if err != nil {
			n := r.createNode(fmt.Sprintf("%s(%d)", name, i), task.Name, wfv1.NodeTypeSkipped, task.Template, group.ID, d.node.ID)
			r.finish(n, wfv1.NodeError, err.Error())
			return r.snapshot(n)
		}
		t := *task.DeepCopy()
		t.WithItems, t.WithParam, t.WithSequence = nil, "", nil
		if err := isc.replace(&t, true); err != nil {
			n := r.createNode(itemName, itemName[len(d.node.Name)+1:], wfv1.NodeTypeSkipped, task.Template, group.ID, d.node.ID)
			r.finish(n, wfv1.NodeError, err.Error())
			return r.snapshot(n)
		}
		n := d.runOne(ctx, t, isc, itemName, itemName[len(d.node.Name)+1:], group.ID)
		return r.runTaskExitHook(ctx, t.OnExit, t.Hooks, n, isc, "tasks."+task.Name)
	}, d.sem, ctx, templateFailFast(d.tmpl))
	phase, msg := groupPhase(kids, func(ph wfv1.NodePhase) bool { return task.ContinuesOn(ph) })
	r.finish(group, phase, msg)
	return taskDone{name: task.Name, node: r.snapshot(group), kids: kids}
}

// runOne evaluates `when` and runs a single (already expanded) task.
func (d *dagRun) runOne(ctx context.Context, task wfv1.DAGTask, sc *scope, name, display, parentID string) *wfv1.NodeStatus {
	r := d.r
	ok, err := shouldExecute(task.When)
	if err != nil {
		n := r.createNode(name, display, wfv1.NodeTypeSkipped, task.Template, parentID, d.node.ID)
		r.finish(n, wfv1.NodeError, err.Error())
		return r.snapshot(n)
	}
	if !ok {
		n := r.createNode(name, display, wfv1.NodeTypeSkipped, task.Template, parentID, d.node.ID)
		r.finish(n, wfv1.NodeSkipped, fmt.Sprintf("when '%s' evaluated false", task.When))
		return r.snapshot(n)
	}
	args := *task.Arguments.DeepCopy()
	if err := sc.resolveArtifacts(&args); err != nil {
		n := r.createNode(name, display, wfv1.NodeTypeSkipped, task.Template, parentID, d.node.ID)
		r.finish(n, wfv1.NodeError, err.Error())
		return r.snapshot(n)
	}
	return r.executeTemplate(ctx, invocation{
		name: name, display: display, tmplName: task.Template, inline: task.Inline,
		args: args, parentID: parentID, boundaryID: d.node.ID,
	})
}

func templateFailFast(t *wfv1.Template) bool {
	return t.FailFast != nil && *t.FailFast
}

// groupPhase aggregates a loop's or step group's children: Failed (or
// Error) when a child failed without continueOn, Succeeded otherwise.
func groupPhase(kids []*wfv1.NodeStatus, continues func(wfv1.NodePhase) bool) (wfv1.NodePhase, string) {
	for _, k := range kids {
		if k.Phase.FailedOrError() && !continues(k.Phase) {
			return k.Phase, fmt.Sprintf("child '%s' %s", k.ID, strings.ToLower(string(k.Phase)))
		}
	}
	return wfv1.NodeSucceeded, ""
}

// runLoop runs fn for every item concurrently, bounded by sem when set;
// with failFast a failure stops starting new items.
func runLoop(items []wfv1.Item, fn func(int, wfv1.Item) *wfv1.NodeStatus, sem chan struct{}, ctx context.Context, failFast bool) []*wfv1.NodeStatus {
	kids := make([]*wfv1.NodeStatus, len(items))
	done := make(chan struct{}, len(items))
	failed := make(chan struct{})
	var failedOnce sync.Once
	var anyFailed atomic.Bool
	started := 0
	for i, item := range items {
		if sem != nil {
			acquired := false
			select {
			case sem <- struct{}{}:
				acquired = true
			case <-ctx.Done():
			case <-failed:
			}
			if !acquired {
				break
			}
		}
		if ctx.Err() != nil || (failFast && anyFailed.Load()) {
			if sem != nil {
				<-sem
			}
			break
		}
		started++
		go func() {
			defer func() { done <- struct{}{} }()
			if sem != nil {
				defer func() { <-sem }()
			}
			kids[i] = fn(i, item)
			if failFast && kids[i].Phase.FailedOrError() {
				anyFailed.Store(true)
				failedOnce.Do(func() { close(failed) })
			}
		}()
	}
	for range started {
		<-done
	}
	out := kids[:0]
	for _, k := range kids {
		if k != nil {
			out = append(out, k)
		}
	}
	return out
}

package local

import (
	"context"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// runSteps executes a steps template: groups in order, the steps of a group
// in parallel.
func (r *run) runSteps(ctx context.Context, node *wfv1.NodeStatus, tmpl *wfv1.Template) (wfv1.NodePhase, string, *wfv1.Outputs) {
	sc := r.templateScope(tmpl)
	var sem chan struct{}
	if tmpl.Parallelism != nil && *tmpl.Parallelism > 0 {
		sem = make(chan struct{}, *tmpl.Parallelism)
		ctx = withPodLimit(ctx, make(chan struct{}, *tmpl.Parallelism))
	}
	// Like Argo, the first group hangs under the steps node and each later
	// group under the nodes of the group before it.
	prevLeaves := []string{node.ID}
	for i, group := range tmpl.Steps {
		groupName := fmt.Sprintf("%s[%d]", node.Name, i)
		gn := r.createNode(groupName, fmt.Sprintf("[%d]", i), wfv1.NodeTypeStepGroup, "", r.setParents(groupName, prevLeaves), node.ID)
		if ctx.Err() != nil {
			r.finish(gn, wfv1.NodeFailed, context.Cause(ctx).Error())
			return wfv1.NodeFailed, context.Cause(ctx).Error(), nil
		}
		r.update(gn, func(n *wfv1.NodeStatus) { n.Phase = wfv1.NodeRunning })
		type result struct {
			step wfv1.WorkflowStep
			node *wfv1.NodeStatus
			kids []*wfv1.NodeStatus
		}
		results := make([]result, len(group.Steps))
		done := make(chan struct{}, len(group.Steps))
		for j := range group.Steps {
			step := *group.Steps[j].DeepCopy()
			gsc := sc.clone()
			go func() {
				defer func() { done <- struct{}{} }()
				n, kids := r.runStep(ctx, step, gsc, groupName, gn.ID, node.ID, sem, templateFailFast(tmpl))
				results[j] = result{step: step, node: n, kids: kids}
			}()
		}
		for range group.Steps {
			<-done
		}
		var all []*wfv1.NodeStatus
		prevLeaves = nil
		for _, res := range results {
			prefix := "steps." + res.step.Name
			sc.addNode(prefix, res.node)
			if res.kids != nil {
				sc.addAggregate(prefix, res.kids)
				for _, k := range res.kids {
					all = append(all, withContinue(k, res.step.ContinueOn))
					prevLeaves = append(prevLeaves, k.ID)
				}
				continue
			}
			all = append(all, withContinue(res.node, res.step.ContinueOn))
			prevLeaves = append(prevLeaves, res.node.ID)
		}
		if len(prevLeaves) == 0 {
			prevLeaves = []string{gn.ID}
		}
		phase, msg := groupPhase(all, func(ph wfv1.NodePhase) bool { return false })
		r.finish(gn, phase, msg)
		if phase.FailedOrError() {
			return phase, msg, nil
		}
	}
	out, err := sc.resolveOutputs(tmpl)
	if err != nil {
		return wfv1.NodeError, err.Error(), nil
	}
	return wfv1.NodeSucceeded, "", out
}

// withContinue hides a failure that continueOn allows from group assessment.
func withContinue(n *wfv1.NodeStatus, c *wfv1.ContinueOn) *wfv1.NodeStatus {
	if c == nil {
		return n
	}
	if (n.Phase == wfv1.NodeFailed && c.Failed) || (n.Phase == wfv1.NodeError && c.Error) {
		cp := *n
		cp.Phase = wfv1.NodeSucceeded
		return &cp
	}
	return n
}

// runStep runs one step of a group, expanding loops into sibling nodes.
func (r *run) runStep(ctx context.Context, step wfv1.WorkflowStep, sc *scope, groupName, groupID, boundaryID string, sem chan struct{}, failFast bool) (*wfv1.NodeStatus, []*wfv1.NodeStatus) {
	name := groupName + "." + step.Name
	if err := sc.replace(&step, true); err != nil {
		n := r.createNode(name, step.Name, wfv1.NodeTypeSkipped, step.Template, groupID, boundaryID)
		r.finish(n, wfv1.NodeError, fmt.Sprintf("resolve step %q: %v", step.Name, err))
		return r.snapshot(n), nil
	}
	if len(step.WithItems) == 0 && step.WithParam == "" && step.WithSequence == nil {
		if sem != nil {
			sem <- struct{}{}
			defer func() { <-sem }()
		}
		n := r.runOneStep(ctx, step, sc, name, step.Name, groupID, boundaryID)
		return n, nil
	}
	items, err := expandItems(step.WithItems, step.WithParam, step.WithSequence)
	if err != nil {
		n := r.createNode(name, step.Name, wfv1.NodeTypeSkipped, step.Template, groupID, boundaryID)
		r.finish(n, wfv1.NodeError, err.Error())
		return r.snapshot(n), nil
	}
	if len(items) == 0 {
		n := r.createNode(name, step.Name, wfv1.NodeTypeSkipped, step.Template, groupID, boundaryID)
		r.finish(n, wfv1.NodeSkipped, "Skipped, empty params")
		return r.snapshot(n), []*wfv1.NodeStatus{}
	}
	kids := runLoop(items, func(i int, item wfv1.Item) *wfv1.NodeStatus {
		isc, itemName, err := sc.withItem(name, i, item)
		display := step.Name
		if err == nil {
			display = itemName[len(groupName)+1:]
		}
		if err != nil {
			n := r.createNode(fmt.Sprintf("%s(%d)", name, i), display, wfv1.NodeTypeSkipped, step.Template, groupID, boundaryID)
			r.finish(n, wfv1.NodeError, err.Error())
			return r.snapshot(n)
		}
		s := *step.DeepCopy()
		s.WithItems, s.WithParam, s.WithSequence = nil, "", nil
		if err := isc.replace(&s, true); err != nil {
			n := r.createNode(itemName, display, wfv1.NodeTypeSkipped, step.Template, groupID, boundaryID)
			r.finish(n, wfv1.NodeError, err.Error())
			return r.snapshot(n)
		}
		return r.runOneStep(ctx, s, isc, itemName, display, groupID, boundaryID)
	}, sem, ctx, failFast)
	// The loop's own status is its children's: report the first failure.
	agg := &wfv1.NodeStatus{Phase: wfv1.NodeSucceeded, ID: r.wf.NodeID(name), Name: name}
	if ph, msg := groupPhase(kids, func(ph wfv1.NodePhase) bool { return step.ContinuesOn(ph) }); ph != wfv1.NodeSucceeded {
		agg.Phase, agg.Message = ph, msg
	}
	return agg, kids
}

// runOneStep evaluates `when` and runs a single (already expanded) step.
func (r *run) runOneStep(ctx context.Context, step wfv1.WorkflowStep, sc *scope, name, display, parentID, boundaryID string) *wfv1.NodeStatus {
	ok, err := shouldExecute(step.When)
	if err != nil {
		n := r.createNode(name, display, wfv1.NodeTypeSkipped, step.Template, parentID, boundaryID)
		r.finish(n, wfv1.NodeError, err.Error())
		return r.snapshot(n)
	}
	if !ok {
		n := r.createNode(name, display, wfv1.NodeTypeSkipped, step.Template, parentID, boundaryID)
		r.finish(n, wfv1.NodeSkipped, fmt.Sprintf("when '%s' evaluated false", step.When))
		return r.snapshot(n)
	}
	args := *step.Arguments.DeepCopy()
	if err := sc.resolveArtifacts(&args); err != nil {
		n := r.createNode(name, display, wfv1.NodeTypeSkipped, step.Template, parentID, boundaryID)
		r.finish(n, wfv1.NodeError, err.Error())
		return r.snapshot(n)
	}
	n := r.executeTemplate(ctx, invocation{
		name: name, display: display, tmplName: step.Template, inline: step.Inline,
		args: args, parentID: parentID, boundaryID: boundaryID,
	})
	return r.runTaskExitHook(ctx, step.OnExit, step.Hooks, n, sc, "steps."+step.Name)
}

// runTaskExitHook runs a task's or step's onExit / hooks.exit template after
// it finished, whatever its phase, and returns the task's node.
func (r *run) runTaskExitHook(ctx context.Context, onExit string, hooks wfv1.LifecycleHooks, n *wfv1.NodeStatus, sc *scope, prefix string) *wfv1.NodeStatus {
	tmplName := onExit
	var args wfv1.Arguments
	if h, ok := hooks[wfv1.ExitLifecycleEvent]; ok {
		tmplName = h.Template
		args = *h.Arguments.DeepCopy()
	}
	if tmplName == "" {
		return n
	}
	hsc := sc.clone()
	hsc.addNode(prefix, n)
	if err := hsc.replace(&args, true); err == nil {
		err = hsc.resolveArtifacts(&args)
		if err != nil {
			r.log.Warn("exit hook artifacts", "node", n.Name, "err", err)
		}
	}
	r.executeTemplate(context.WithoutCancel(ctx), invocation{
		name: n.Name + ".onExit", display: n.DisplayName + ".onExit", tmplName: tmplName,
		args: args, parentID: n.ID, boundaryID: n.BoundaryID,
	})
	return n
}

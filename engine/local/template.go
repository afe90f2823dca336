package local

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/expr/argoexpr"
	exprenv "github.com/argoproj/argo-workflows/v3/util/expr/env"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
)

// invocation is one call of a template: a workflow entrypoint, a DAG task, a
// step, an exit handler.
type invocation struct {
	name       string // Argo node name, e.g. "wf.task(0:a)"
	display    string
	tmplName   string
	inline     *wfv1.Template
	args       wfv1.Arguments
	parentID   string
	boundaryID string
	lastRetry  *wfv1.NodeStatus // previous attempt, for {{lastRetry.*}}
}

func (r *run) lookupTemplate(inv invocation) (*wfv1.Template, error) {
	if inv.inline != nil {
		return inv.inline, nil
	}
	t, ok := r.tmpls[inv.tmplName]
	if !ok {
		return nil, fmt.Errorf("template %q not found", inv.tmplName)
	}
	return t, nil
}

// errorNode records a node that could not start and returns it.
func (r *run) errorNode(inv invocation, err error) *wfv1.NodeStatus {
	n := r.createNode(inv.name, inv.display, wfv1.NodeTypePod, inv.tmplName, inv.parentID, inv.boundaryID)
	r.finish(n, wfv1.NodeError, err.Error())
	return r.snapshot(n)
}

// executeTemplate runs one invocation to completion, including memoization,
// retries and timeouts, and returns the final status of its node.
func (r *run) executeTemplate(ctx context.Context, inv invocation) *wfv1.NodeStatus {
	if n := r.reusePrevious(inv); n != nil {
		return n
	}
	tmpl, err := r.lookupTemplate(inv)
	if err != nil {
		return r.errorNode(inv, err)
	}
	resolved, err := common.ProcessArgs(tmpl, &inv.args, r.globalParams(), map[string]string{"node.name": inv.name}, false, r.wf.Namespace, nil)
	if err != nil {
		return r.errorNode(inv, fmt.Errorf("resolve inputs: %w", err))
	}
	var memo *memoEntry
	if resolved.Memoize != nil {
		memo = r.eng.cache.entry(resolved.Memoize)
		if out, ok := memo.load(r); ok {
			n := r.createNode(inv.name, inv.display, nodeTypeOf(resolved), inv.tmplName, inv.parentID, inv.boundaryID)
			r.update(n, func(n *wfv1.NodeStatus) {
				n.Inputs = inputsOf(resolved)
				n.Outputs = out
				n.MemoizationStatus = &wfv1.MemoizationStatus{Hit: true, Key: memo.key, CacheName: memo.cacheName}
			})
			r.finish(n, wfv1.NodeSucceeded, "")
			r.addGlobalOutputs(out)
			return r.snapshot(n)
		}
	}
	if resolved.Timeout != "" {
		d, err := parseDuration(resolved.Timeout)
		if err != nil {
			return r.errorNode(inv, fmt.Errorf("timeout %q: %w", resolved.Timeout, err))
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, d, errNodeTimeout)
		defer cancel()
	}

	var n *wfv1.NodeStatus
	if tmpl.RetryStrategy != nil {
		n = r.executeWithRetries(ctx, inv, tmpl, resolved)
	} else {
		n = r.executeAttempt(ctx, inv, tmpl, 0)
	}
	if memo != nil {
		r.update(n, func(n *wfv1.NodeStatus) {
			n.MemoizationStatus = &wfv1.MemoizationStatus{Hit: false, Key: memo.key, CacheName: memo.cacheName}
		})
		if n.Phase == wfv1.NodeSucceeded {
			if err := memo.store(r, r.snapshot(n).Outputs); err != nil {
				r.log.Warn("memoize outputs", "node", inv.name, "err", err)
			}
		}
	}
	return r.snapshot(n)
}

// executeWithRetries wraps attempts in a Retry node named like Argo's.
func (r *run) executeWithRetries(ctx context.Context, inv invocation, tmpl, resolved *wfv1.Template) *wfv1.NodeStatus {
	rs := resolved.RetryStrategy
	node := r.createNode(inv.name, inv.display, wfv1.NodeTypeRetry, inv.tmplName, inv.parentID, inv.boundaryID)
	r.update(node, func(n *wfv1.NodeStatus) { n.Phase = wfv1.NodeRunning; n.Inputs = inputsOf(resolved) })
	limit := -1
	if rs.Limit != nil {
		l, err := strconv.Atoi(rs.Limit.String())
		if err != nil {
			r.finish(node, wfv1.NodeError, fmt.Sprintf("retryStrategy.limit %q is not an integer", rs.Limit.String()))
			return node
		}
		limit = l
	}
	policy := rs.RetryPolicy
	if policy == "" {
		policy = wfv1.RetryPolicyOnFailure
	}
	start := time.Now()
	var prevAttempt *wfv1.NodeStatus
	for attempt := 0; ; attempt++ {
		child := inv
		child.name = fmt.Sprintf("%s(%d)", inv.name, attempt)
		child.display = fmt.Sprintf("%s(%d)", inv.display, attempt)
		child.parentID = node.ID
		child.lastRetry = prevAttempt
		last := r.executeAttempt(ctx, child, tmpl, attempt)
		prevAttempt = last
		if last.Phase == wfv1.NodeSucceeded || last.Phase == wfv1.NodeSkipped {
			r.update(node, func(n *wfv1.NodeStatus) { n.Outputs = last.Outputs })
			r.finish(node, last.Phase, "")
			return node
		}
		retryable := (last.Phase == wfv1.NodeFailed && (policy == wfv1.RetryPolicyAlways || policy == wfv1.RetryPolicyOnFailure)) ||
			(last.Phase == wfv1.NodeError && (policy == wfv1.RetryPolicyAlways || policy == wfv1.RetryPolicyOnError || policy == wfv1.RetryPolicyOnTransientError))
		msg := last.Message
		if ctx.Err() != nil || !retryable {
			r.update(node, func(n *wfv1.NodeStatus) { n.Outputs = last.Outputs })
			r.finish(node, last.Phase, msg)
			return node
		}
		if limit >= 0 && attempt >= limit {
			r.update(node, func(n *wfv1.NodeStatus) { n.Outputs = last.Outputs })
			r.finish(node, last.Phase, "No more retries left")
			return node
		}
		if rs.Expression != "" {
			ok, err := evalRetryExpression(rs.Expression, last, attempt)
			if err != nil {
				r.finish(node, wfv1.NodeError, err.Error())
				return node
			}
			if !ok {
				r.update(node, func(n *wfv1.NodeStatus) { n.Outputs = last.Outputs })
				r.finish(node, last.Phase, "retryStrategy.expression evaluated to false")
				return node
			}
		}
		wait, stop, err := backoffDelay(rs.Backoff, attempt, start)
		if err != nil {
			r.finish(node, wfv1.NodeError, err.Error())
			return node
		}
		if stop {
			r.finish(node, last.Phase, "Max duration limit exceeded")
			return node
		}
		if wait > 0 {
			select {
			case <-time.After(wait):
			case <-ctx.Done():
				r.finish(node, wfv1.NodeFailed, context.Cause(ctx).Error())
				return node
			}
		}
	}
}

func evalRetryExpression(expression string, last *wfv1.NodeStatus, attempt int) (bool, error) {
	exit := "-1"
	if last.Outputs != nil && last.Outputs.ExitCode != nil {
		exit = *last.Outputs.ExitCode
	}
	scope := map[string]any{
		"retries":            strconv.Itoa(attempt),
		"lastRetry.exitCode": exit,
		"lastRetry.status":   string(last.Phase),
		"lastRetry.duration": fmt.Sprint(last.FinishedAt.Truncate(time.Second).Sub(last.StartedAt.Truncate(time.Second)).Seconds()),
		"lastRetry.message":  last.Message,
	}
	ok, err := argoexpr.EvalBool(expression, exprenv.GetFuncMap(scope))
	if err != nil {
		return false, fmt.Errorf("evaluate retryStrategy.expression %q: %w", expression, err)
	}
	return ok, nil
}

// backoffDelay returns how long to wait before attempt+1, or stop when the
// backoff's maxDuration is spent.
func backoffDelay(b *wfv1.Backoff, attempt int, start time.Time) (time.Duration, bool, error) {
	if b == nil || b.Duration == "" {
		return 0, false, nil
	}
	base, err := parseDuration(b.Duration)
	if err != nil {
		return 0, false, fmt.Errorf("retryStrategy.backoff.duration %q: %w", b.Duration, err)
	}
	factor := 1.0
	if b.Factor != nil {
		f, err := strconv.ParseFloat(b.Factor.String(), 64)
		if err != nil {
			return 0, false, fmt.Errorf("retryStrategy.backoff.factor %q: %w", b.Factor.String(), err)
		}
		factor = f
	}
	wait := time.Duration(float64(base) * math.Pow(factor, float64(attempt)))
	if b.Cap != "" {
		c, err := parseDuration(b.Cap)
		if err != nil {
			return 0, false, fmt.Errorf("retryStrategy.backoff.cap %q: %w", b.Cap, err)
		}
		wait = min(wait, c)
	}
	if b.MaxDuration != "" {
		m, err := parseDuration(b.MaxDuration)
		if err != nil {
			return 0, false, fmt.Errorf("retryStrategy.backoff.maxDuration %q: %w", b.MaxDuration, err)
		}
		if time.Since(start)+wait > m {
			return 0, true, nil
		}
	}
	return wait, false, nil
}

// parseDuration accepts Go durations ("1m30s") and bare seconds ("90").
func parseDuration(s string) (time.Duration, error) {
	if n, err := strconv.ParseFloat(s, 64); err == nil {
		return time.Duration(n * float64(time.Second)), nil
	}
	return time.ParseDuration(s)
}

func nodeTypeOf(t *wfv1.Template) wfv1.NodeType {
	switch {
	case t.DAG != nil:
		return wfv1.NodeTypeDAG
	case t.Steps != nil:
		return wfv1.NodeTypeSteps
	case t.Suspend != nil:
		return wfv1.NodeTypeSuspend
	default:
		return wfv1.NodeTypePod
	}
}

func inputsOf(t *wfv1.Template) *wfv1.Inputs {
	if len(t.Inputs.Parameters) == 0 && len(t.Inputs.Artifacts) == 0 {
		return nil
	}
	return t.Inputs.DeepCopy()
}

// executeAttempt runs a template once (one pod, one DAG, one steps run).
func (r *run) executeAttempt(ctx context.Context, inv invocation, tmpl *wfv1.Template, attempt int) *wfv1.NodeStatus {
	id := r.wf.NodeID(inv.name)
	local := map[string]string{
		"node.name": inv.name, "pod.name": id, "retries": strconv.Itoa(attempt),
		// The first attempt sees Argo's defaults.
		"lastRetry.exitCode": "0", "lastRetry.duration": "0", "lastRetry.status": "", "lastRetry.message": "",
	}
	if l := inv.lastRetry; l != nil {
		if l.Outputs != nil && l.Outputs.ExitCode != nil {
			local["lastRetry.exitCode"] = *l.Outputs.ExitCode
		}
		local["lastRetry.status"] = string(l.Phase)
		local["lastRetry.duration"] = fmt.Sprint(l.FinishedAt.Truncate(time.Second).Sub(l.StartedAt.Truncate(time.Second)).Seconds())
		local["lastRetry.message"] = l.Message
	}
	resolved, err := common.ProcessArgs(tmpl, &inv.args, r.globalParams(), local, false, r.wf.Namespace, nil)
	if err != nil {
		return r.errorNode(inv, fmt.Errorf("resolve inputs: %w", err))
	}
	node := r.createNode(inv.name, inv.display, nodeTypeOf(resolved), inv.tmplName, inv.parentID, inv.boundaryID)
	r.update(node, func(n *wfv1.NodeStatus) { n.Inputs = inputsOf(resolved) })
	if resolved.ActiveDeadlineSeconds != nil {
		secs, err := strconv.Atoi(resolved.ActiveDeadlineSeconds.String())
		if err != nil {
			r.finish(node, wfv1.NodeError, fmt.Sprintf("activeDeadlineSeconds %q is not an integer", resolved.ActiveDeadlineSeconds.String()))
			return r.snapshot(node)
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, time.Duration(secs)*time.Second, errNodeDeadline)
		defer cancel()
	}
	if ctx.Err() != nil {
		r.finish(node, wfv1.NodeFailed, context.Cause(ctx).Error())
		return r.snapshot(node)
	}
	var (
		phase wfv1.NodePhase
		msg   string
		out   *wfv1.Outputs
	)
	switch {
	case resolved.DAG != nil:
		r.update(node, func(n *wfv1.NodeStatus) { n.Phase = wfv1.NodeRunning })
		phase, msg, out = r.runDAG(ctx, node, resolved)
	case resolved.Steps != nil:
		r.update(node, func(n *wfv1.NodeStatus) { n.Phase = wfv1.NodeRunning })
		phase, msg, out = r.runSteps(ctx, node, resolved)
	case resolved.Suspend != nil:
		r.update(node, func(n *wfv1.NodeStatus) { n.Phase = wfv1.NodeRunning })
		phase, msg, out = r.runSuspend(ctx, resolved)
	default:
		phase, msg, out = r.runPod(ctx, node, resolved)
	}
	if phase == wfv1.NodeSucceeded {
		r.addGlobalOutputs(out)
	}
	r.update(node, func(n *wfv1.NodeStatus) { n.Outputs = out })
	r.finish(node, phase, msg)
	return r.snapshot(node)
}

func (r *run) runSuspend(ctx context.Context, t *wfv1.Template) (wfv1.NodePhase, string, *wfv1.Outputs) {
	d, err := parseDuration(t.Suspend.Duration)
	if err != nil {
		return wfv1.NodeError, fmt.Sprintf("suspend.duration %q: %v", t.Suspend.Duration, err), nil
	}
	var out *wfv1.Outputs
	for _, p := range t.Outputs.Parameters {
		if p.ValueFrom != nil && p.ValueFrom.Default != nil {
			if out == nil {
				out = &wfv1.Outputs{}
			}
			out.Parameters = append(out.Parameters, wfv1.Parameter{Name: p.Name, Value: p.ValueFrom.Default, GlobalName: p.GlobalName})
		}
	}
	select {
	case <-time.After(d):
		return wfv1.NodeSucceeded, "", out
	case <-ctx.Done():
		return wfv1.NodeFailed, context.Cause(ctx).Error(), nil
	}
}

// reusePrevious restores a node (and its subtree) that succeeded in the
// attempt a Retry is re-running.
func (r *run) reusePrevious(inv invocation) *wfv1.NodeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.prev == nil {
		return nil
	}
	prev, ok := r.prev[inv.name]
	if !ok {
		return nil
	}
	var restore func(id string)
	restore = func(id string) {
		p, ok := r.prevAll[id]
		if !ok {
			return
		}
		if _, exists := r.nodes[id]; exists {
			return
		}
		c := p.DeepCopy()
		r.nodes[id] = c
		r.emitLocked(nodeEvent(c))
		for _, ch := range p.Children {
			restore(ch)
		}
	}
	restore(prev.ID)
	r.linkLocked(inv.parentID, prev.ID)
	if prev.Outputs != nil {
		r.mu.Unlock()
		r.addGlobalOutputs(prev.Outputs)
		r.mu.Lock()
	}
	return prev.DeepCopy()
}

package argo

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/util"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kilnml/kiln/engine"
)

// Cancel stops the run gracefully (Argo's shutdown strategy Stop): running
// pods are stopped, nothing new starts, and exit handlers still run; the run
// ends Failed. Cancelling a completed run does nothing.
func (e *Engine) Cancel(ctx context.Context, id string) error {
	return e.shutdown(ctx, id, wfv1.ShutdownStrategyStop)
}

// Terminate stops the run at once (Argo's shutdown strategy Terminate):
// running pods are killed and exit handlers do not run.
func (e *Engine) Terminate(ctx context.Context, id string) error {
	return e.shutdown(ctx, id, wfv1.ShutdownStrategyTerminate)
}

func (e *Engine) shutdown(ctx context.Context, id string, s wfv1.ShutdownStrategy) error {
	r, err := e.get(id)
	if err != nil {
		return err
	}
	if wf := r.latest(); wf != nil && wf.Status.Phase.Completed() {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"spec": map[string]any{"shutdown": s}})
	if err != nil {
		return fmt.Errorf("argo: %s run %q: %w", s, id, err)
	}
	wf, err := e.wfc.ArgoprojV1alpha1().Workflows(r.ns).Patch(ctx, r.name, types.MergePatchType, patch, metav1.PatchOptions{})
	if err != nil {
		return fmt.Errorf("argo: %s run %q: %w", s, id, err)
	}
	e.log.Info("run shutdown requested", "run", id, "strategy", s)
	r.observe(wf)
	return nil
}

// Retry re-runs a completed, unsuccessful run with Argo's own retry rules:
// succeeded nodes keep their results, failed and errored nodes (and those
// that never ran) run again, and the pods of the nodes to re-run are
// deleted. It returns engine.ErrRunActive while the run is still going.
func (e *Engine) Retry(ctx context.Context, id string) error {
	r, err := e.get(id)
	if err != nil {
		return err
	}
	wfs := e.wfc.ArgoprojV1alpha1().Workflows(r.ns)
	wf, err := wfs.Get(ctx, r.name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("argo: retry run %q: %w", id, err)
	}
	switch {
	case !wf.Status.Phase.Completed():
		return fmt.Errorf("argo: retry run %q: %w", id, engine.ErrRunActive)
	case wf.Status.Phase == wfv1.WorkflowSucceeded:
		return fmt.Errorf("argo: retry run %q: run succeeded; nothing to retry", id)
	}
	retried, podsToDelete, err := util.FormulateRetryWorkflow(ctx, wf, false, "", nil)
	if err != nil {
		return fmt.Errorf("argo: retry run %q: %w", id, err)
	}
	pods := e.kube.CoreV1().Pods(r.ns)
	for _, p := range podsToDelete {
		if err := pods.Delete(ctx, p, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("argo: retry run %q: delete pod %s: %w", id, p, err)
		}
	}
	updated := &wfv1.Workflow{}
	if err := e.writeStrict(ctx, http.MethodPut, "workflows", r.ns, r.name, retried, updated); err != nil {
		return fmt.Errorf("argo: retry run %q: update workflow: %w", id, err)
	}
	e.log.Info("run retried", "run", id, "podsDeleted", len(podsToDelete))
	r.observe(updated)
	return nil
}

// Delete removes the run's Workflow; its pods and other owned objects are
// removed by Kubernetes' garbage collector through their owner references.
// The run's watchers are released.
func (e *Engine) Delete(ctx context.Context, id string) error {
	r, err := e.get(id)
	if err != nil {
		return err
	}
	bg := metav1.DeletePropagationBackground
	err = e.wfc.ArgoprojV1alpha1().Workflows(r.ns).Delete(ctx, r.name, metav1.DeleteOptions{PropagationPolicy: &bg})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("argo: delete run %q: %w", id, err)
	}
	e.forget(id, r)
	r.gone(nil)
	return nil
}

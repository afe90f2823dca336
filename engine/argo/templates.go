package argo

import (
	"context"
	"fmt"
	"net/http"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// rejected wraps an API error, marking schema rejections with ErrRejected.
func rejected(what string, err error) error {
	if apierrors.IsInvalid(err) || apierrors.IsBadRequest(err) {
		return fmt.Errorf("argo: %s: %w: %w", what, ErrRejected, err)
	}
	return fmt.Errorf("argo: %s: %w", what, err)
}

// PublishTemplate creates or replaces a WorkflowTemplate (a published
// pipeline version) in its namespace, mapped like a submitted workflow's,
// with strict field validation. It returns the stored object.
func (e *Engine) PublishTemplate(ctx context.Context, t *wfv1.WorkflowTemplate) (*wfv1.WorkflowTemplate, error) {
	t = t.DeepCopy()
	t.Namespace = e.namespaceOf(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: t.Namespace}})
	c := e.wfc.ArgoprojV1alpha1().WorkflowTemplates(t.Namespace)
	what := fmt.Sprintf("publish workflow template %s/%s", t.Namespace, t.Name)
	out := &wfv1.WorkflowTemplate{}
	err := e.writeStrict(ctx, http.MethodPost, "workflowtemplates", t.Namespace, "", t, out)
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := c.Get(ctx, t.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("argo: %s: %w", what, gerr)
		}
		t.ResourceVersion = cur.ResourceVersion
		err = e.writeStrict(ctx, http.MethodPut, "workflowtemplates", t.Namespace, t.Name, t, out)
	}
	if err != nil {
		return nil, rejected(what, err)
	}
	return out, nil
}

// DeleteTemplate deletes a WorkflowTemplate; a missing one is not an error.
func (e *Engine) DeleteTemplate(ctx context.Context, namespace, name string) error {
	ns := e.namespaceOf(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: namespace}})
	err := e.wfc.ArgoprojV1alpha1().WorkflowTemplates(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("argo: delete workflow template %s/%s: %w", ns, name, err)
	}
	return nil
}

// ScheduleCron creates or replaces a CronWorkflow (a recurring run) with
// strict field validation. Argo's controller creates its Workflows; they are
// followed as runs when the CronWorkflow's workflowMetadata carries
// LabelRunID.
func (e *Engine) ScheduleCron(ctx context.Context, cw *wfv1.CronWorkflow) (*wfv1.CronWorkflow, error) {
	cw = cw.DeepCopy()
	cw.Namespace = e.namespaceOf(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: cw.Namespace}})
	c := e.wfc.ArgoprojV1alpha1().CronWorkflows(cw.Namespace)
	what := fmt.Sprintf("schedule cron workflow %s/%s", cw.Namespace, cw.Name)
	out := &wfv1.CronWorkflow{}
	err := e.writeStrict(ctx, http.MethodPost, "cronworkflows", cw.Namespace, "", cw, out)
	if apierrors.IsAlreadyExists(err) {
		cur, gerr := c.Get(ctx, cw.Name, metav1.GetOptions{})
		if gerr != nil {
			return nil, fmt.Errorf("argo: %s: %w", what, gerr)
		}
		cw.ResourceVersion = cur.ResourceVersion
		cw.Status = cur.Status // the controller's record of past runs
		err = e.writeStrict(ctx, http.MethodPut, "cronworkflows", cw.Namespace, cw.Name, cw, out)
	}
	if err != nil {
		return nil, rejected(what, err)
	}
	return out, nil
}

// DeleteCron deletes a CronWorkflow; a missing one is not an error.
func (e *Engine) DeleteCron(ctx context.Context, namespace, name string) error {
	ns := e.namespaceOf(&wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{Namespace: namespace}})
	err := e.wfc.ArgoprojV1alpha1().CronWorkflows(ns).Delete(ctx, name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("argo: delete cron workflow %s/%s: %w", ns, name, err)
	}
	return nil
}

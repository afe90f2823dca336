package argo

import (
	"context"
	"fmt"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Labels on the objects the engine manages for runs' service accounts.
const (
	// LabelManagedBy marks service accounts, roles and role bindings that
	// the engine created (value ManagedByKiln); objects without it are the
	// user's and are never changed.
	LabelManagedBy = "app.kubernetes.io/managed-by"
	// ManagedByKiln is LabelManagedBy's value on the engine's objects.
	ManagedByKiln = "kiln"
	// LabelPipeline is the compiler's label naming a run's pipeline.
	LabelPipeline = "kiln.dev/pipeline"
)

// ExecutorRole is the Role the engine binds to the service accounts it
// creates: what Argo's executor needs in v3.7 and nothing more (Argo's
// "workflow RBAC" minimum for v3.4 and later: its wait container reports
// outputs as WorkflowTaskResults; pods get/watch/patch were needed only by
// executors before v3.4).
const ExecutorRole = "kiln-executor"

// executorRules are ExecutorRole's rules.
var executorRules = []rbacv1.PolicyRule{{
	APIGroups: []string{"argoproj.io"},
	Resources: []string{"workflowtaskresults"},
	Verbs:     []string{"create", "patch"},
}}

// ServiceAccountPerPipeline returns a Config.ServiceAccountFor giving each
// run template (a workflow's kiln.dev/pipeline label, else its
// workflowTemplateRef, else its generateName) its own service account named
// prefix + that name, so that the rights of one pipeline's pods can be
// widened without widening every pipeline's. Names are lower-cased and cut
// to a valid object name; a workflow with none of these gets "".
func ServiceAccountPerPipeline(prefix string) func(*wfv1.Workflow) string {
	return func(wf *wfv1.Workflow) string {
		name := wf.Labels[LabelPipeline]
		if name == "" && wf.Spec.WorkflowTemplateRef != nil {
			name = wf.Spec.WorkflowTemplateRef.Name
		}
		if name == "" {
			name = strings.TrimSuffix(wf.GenerateName, "-")
		}
		if name == "" {
			return ""
		}
		sa := strings.ToLower(prefix + name)
		if len(sa) > validation.DNS1123SubdomainMaxLength {
			sa = strings.TrimRight(sa[:validation.DNS1123SubdomainMaxLength], "-.")
		}
		if len(validation.IsDNS1123Subdomain(sa)) > 0 {
			return ""
		}
		return sa
	}
}

// ensureServiceAccount makes sure the service account sa exists in ns.
// When absent it is created with a RoleBinding to ExecutorRole (itself
// created in ns when absent), all labelled as managed by Kiln. An existing
// service account the engine did not create is left as it is: its owner
// decides its rights. Once ensured, a (ns, sa) pair is not checked again by
// this Engine.
func (e *Engine) ensureServiceAccount(ctx context.Context, ns, sa string) error {
	key := ns + "/" + sa
	e.mu.Lock()
	done := e.ensured[key]
	e.mu.Unlock()
	if done {
		return nil
	}
	labels := map[string]string{LabelManagedBy: ManagedByKiln}
	core := e.kube.CoreV1().ServiceAccounts(ns)
	existing, err := core.Get(ctx, sa, metav1.GetOptions{})
	switch {
	case err == nil && existing.Labels[LabelManagedBy] != ManagedByKiln:
		e.markEnsured(key)
		return nil // the user's own account
	case err != nil && !apierrors.IsNotFound(err):
		return fmt.Errorf("argo: get service account %s/%s: %w", ns, sa, err)
	case err != nil:
		obj := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns, Labels: labels}}
		if _, err := core.Create(ctx, obj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("argo: create service account %s/%s: %w", ns, sa, err)
		}
		e.log.Info("service account created", "namespace", ns, "serviceAccount", sa)
	}
	// The Role is looked up first: an operator may ship it (Kiln's manifests do) and give the
	// server only get and bind on it rather than the right to create roles.
	roles := e.kube.RbacV1().Roles(ns)
	if _, err := roles.Get(ctx, ExecutorRole, metav1.GetOptions{}); apierrors.IsNotFound(err) {
		role := &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: ExecutorRole, Namespace: ns, Labels: labels}, Rules: executorRules}
		if _, err := roles.Create(ctx, role, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			return fmt.Errorf("argo: create role %s/%s: %w", ns, ExecutorRole, err)
		}
	} else if err != nil {
		return fmt.Errorf("argo: get role %s/%s: %w", ns, ExecutorRole, err)
	}
	bindingName := sa + "-executor"
	if len(bindingName) > validation.DNS1123SubdomainMaxLength {
		bindingName = bindingName[len(bindingName)-validation.DNS1123SubdomainMaxLength:]
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: bindingName, Namespace: ns, Labels: labels},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: ExecutorRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: ns}},
	}
	if _, err := e.kube.RbacV1().RoleBindings(ns).Create(ctx, binding, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("argo: create role binding %s/%s: %w", ns, binding.Name, err)
	}
	e.markEnsured(key)
	return nil
}

func (e *Engine) markEnsured(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.ensured[key] = true
}

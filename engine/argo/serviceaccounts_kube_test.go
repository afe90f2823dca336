package argo

import (
	"context"
	"strings"
	"testing"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

// TestManagedServiceAccounts submits with ManageServiceAccounts against the
// real API server: the account, role and binding are created once and
// labelled; an engine whose own account may not create service accounts
// fails the submit before creating the Workflow.
func TestManagedServiceAccounts(t *testing.T) {
	env := kube.Shared(t)
	ns := newNamespace(t, env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(env.Config)

	e := newTestEngine(t, env.Config, func(c *Config) {
		c.ServiceAccountFor = ServiceAccountPerPipeline("kiln-run-")
		c.ManageServiceAccounts = true
	}, ns)
	for _, id := range []string{"sa-1", "sa-2"} { // the second finds everything in place
		if _, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: id}); err != nil {
			t.Fatalf("submit %s: %v", id, err)
		}
	}
	const sa = "kiln-run-hello"
	acct, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if acct.Labels[LabelManagedBy] != ManagedByKiln {
		t.Errorf("service account labels = %v", acct.Labels)
	}
	rb, err := cs.RbacV1().RoleBindings(ns).Get(ctx, sa+"-executor", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rb.RoleRef.Name != ExecutorRole || len(rb.Subjects) != 1 || rb.Subjects[0].Name != sa || rb.Subjects[0].Namespace != ns {
		t.Errorf("role binding = %+v %+v", rb.RoleRef, rb.Subjects)
	}
	role, err := cs.RbacV1().Roles(ns).Get(ctx, ExecutorRole, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(role.Rules) != 1 || role.Rules[0].Resources[0] != "workflowtaskresults" {
		t.Errorf("role rules = %+v", role.Rules)
	}

	// An engine that may manage workflows but not service accounts.
	const user = "kiln-engine-without-sa-rights"
	mustCreate := func(err error) {
		t.Helper()
		if err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
	}
	_, err = cs.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: "workflows-only"},
		Rules: []rbacv1.PolicyRule{{APIGroups: []string{"argoproj.io"}, Resources: []string{"workflows"}, Verbs: []string{"*"}}}}, metav1.CreateOptions{})
	mustCreate(err)
	_, err = cs.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "workflows-only"},
		RoleRef:  rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: "workflows-only"},
		Subjects: []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}}, metav1.CreateOptions{})
	mustCreate(err)
	limited := rest.CopyConfig(env.Config)
	limited.Impersonate = rest.ImpersonationConfig{UserName: user}
	le := newTestEngine(t, limited, func(c *Config) {
		c.ServiceAccountFor = ServiceAccountPerPipeline("other-")
		c.ManageServiceAccounts = true
	}, ns)
	_, err = le.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "sa-denied"})
	if err == nil || !strings.Contains(err.Error(), "service account") || !apierrors.IsForbidden(err) {
		t.Fatalf("submit without rights on service accounts: err = %v, want a forbidden service account error", err)
	}
	if _, err := le.Status(ctx, "sa-denied"); err == nil {
		t.Error("the refused run is still known to the engine")
	}
	wfs, err := wfclientset.NewForConfigOrDie(env.Config).ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRunID + "=sa-denied"})
	if err != nil {
		t.Fatal(err)
	}
	if len(wfs.Items) != 0 {
		t.Errorf("a Workflow was created for the refused run")
	}
}

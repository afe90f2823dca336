package kubetest

import (
	"context"
	"testing"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/google/go-cmp/cmp"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	argoengine "github.com/kilnml/kiln/engine/argo"
)

// TestServiceAccountPerRunTemplate runs the sweep through the REST API with
// an engine that gives each run template its own service account: the
// account is created on first use, labelled as Kiln's, bound to Argo's
// executor minimum, and the run's pods use it. SubjectAccessReviews against
// the real API server check what it may and may not do. An account the
// user created is used as it is, without a binding.
func TestServiceAccountPerRunTemplate(t *testing.T) {
	e := startE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs, err := kubernetes.NewForConfig(e.env.Config)
	if err != nil {
		t.Fatal(err)
	}
	wfc, err := wfclientset.NewForConfig(e.env.Config)
	if err != nil {
		t.Fatal(err)
	}

	run := e.runWorkflow(ctx, t, "sweep-sa", compileExample(t, "sweep"))
	got := e.wait(ctx, t, run.ID)
	if got.Phase != "Succeeded" {
		t.Fatalf("run ended %s\n%s", got.Phase, describe(got))
	}
	const sa = runSAPrefix + "sweep" // the compiler labels the Workflow kiln.dev/pipeline=sweep
	wfs, err := wfc.ArgoprojV1alpha1().Workflows(e2eNamespace).List(ctx, metav1.ListOptions{LabelSelector: argoengine.LabelRunID + "=" + run.ID})
	if err != nil || len(wfs.Items) != 1 {
		t.Fatalf("workflow of run %s: %v (%d found)", run.ID, err, len(wfs.Items))
	}
	if got := wfs.Items[0].Spec.ServiceAccountName; got != sa {
		t.Errorf("workflow service account = %q, want %q", got, sa)
	}
	pods, err := cs.CoreV1().Pods(e2eNamespace).List(ctx, metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + wfs.Items[0].Name})
	if err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) == 0 {
		t.Error("the run left no pods to check")
	}
	for _, p := range pods.Items {
		if p.Spec.ServiceAccountName != sa {
			t.Errorf("pod %s runs as %q, want %q", p.Name, p.Spec.ServiceAccountName, sa)
		}
	}

	acct, err := cs.CoreV1().ServiceAccounts(e2eNamespace).Get(ctx, sa, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("service account %s: %v", sa, err)
	}
	if acct.Labels[argoengine.LabelManagedBy] != argoengine.ManagedByKiln {
		t.Errorf("service account labels = %v, want managed by kiln", acct.Labels)
	}
	user := "system:serviceaccount:" + e2eNamespace + ":" + sa
	checks := []struct {
		verb, group, resource string
		want                  bool
	}{
		{"create", "argoproj.io", "workflowtaskresults", true},
		{"patch", "argoproj.io", "workflowtaskresults", true},
		{"delete", "argoproj.io", "workflowtaskresults", false},
		{"delete", "", "pods", false},
		{"get", "", "pods", false},
		{"create", "argoproj.io", "workflows", false},
		{"get", "", "secrets", false},
	}
	for _, c := range checks {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:   user,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + e2eNamespace, "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: e2eNamespace, Verb: c.verb, Group: c.group, Resource: c.resource,
			},
		}}
		res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != c.want {
			t.Errorf("%s may %s %s.%s: %v, want %v (%s)", sa, c.verb, c.resource, c.group, res.Status.Allowed, c.want, res.Status.Reason)
		}
	}

	// The user's own account: used, never bound or relabelled.
	const own = "team-owned"
	if _, err := cs.CoreV1().ServiceAccounts(e2eNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: own}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wf := stoppable()
	wf.Spec.ServiceAccountName = own
	wf.Spec.Templates[1].Metadata.Annotations = nil // quick
	owned := e.wait(ctx, t, e.runWorkflow(ctx, t, "owned-sa", wf).ID)
	if owned.Phase != "Succeeded" {
		t.Errorf("run with the user's account ended %s\n%s", owned.Phase, describe(owned))
	}
	acct, err = cs.CoreV1().ServiceAccounts(e2eNamespace).Get(ctx, own, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string]string(nil), acct.Labels); diff != "" {
		t.Errorf("user's account relabelled (-want +got):\n%s", diff)
	}
	if _, err := cs.RbacV1().RoleBindings(e2eNamespace).Get(ctx, own+"-executor", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a binding was made for the user's account: %v", err)
	}
}

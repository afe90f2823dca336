package manifests

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	authzv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kilnml/kiln/engine"
	argoengine "github.com/kilnml/kiln/engine/argo"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

// TestRunServiceAccounts submits a run as the server's ServiceAccount (impersonated) with the
// engine configured as the base manifests configure `kiln server` (a service account per
// pipeline, managed): the server's Role must let it create the pipeline's account and bind it to
// kiln-executor, and the account may then record task results and do nothing else.
func TestRunServiceAccounts(t *testing.T) {
	env := sharedWithDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const ns, prefix = "kiln", "kiln-run-"
	server := "system:serviceaccount:kiln:kiln-server"
	groups := []string{"system:serviceaccounts", "system:serviceaccounts:kiln", "system:authenticated"}
	asServer := rest.CopyConfig(env.Config)
	asServer.Impersonate = rest.ImpersonationConfig{UserName: server, Groups: groups}
	eng, err := argoengine.New(ctx, argoengine.Config{RestConfig: asServer, Namespace: ns, Namespaces: []string{ns},
		ServiceAccountFor: argoengine.ServiceAccountPerPipeline(prefix), ManageServiceAccounts: true})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	wf := &wfv1.Workflow{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "rbac-", Labels: map[string]string{argoengine.LabelPipeline: "rbac-check"}},
		Spec: wfv1.WorkflowSpec{Entrypoint: "main", Templates: []wfv1.Template{{
			Name: "main", Container: &corev1.Container{Image: "busybox:1.36", Command: []string{"true"}},
		}}},
	}
	if _, err := eng.Submit(ctx, wf, engine.SubmitOptions{RunID: "rbac-check-1"}); err != nil {
		t.Fatalf("submit as kiln-server: %v", err)
	}
	cs := kubernetes.NewForConfigOrDie(env.Config)
	sa := prefix + "rbac-check"
	if _, err := cs.CoreV1().ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{}); err != nil {
		t.Fatalf("the pipeline's service account: %v", err)
	}
	user := "system:serviceaccount:" + ns + ":" + sa
	for _, c := range []struct {
		group, resource, verb string
		allowed               bool
	}{
		{"argoproj.io", "workflowtaskresults", "create", true},
		{"argoproj.io", "workflowtaskresults", "patch", true},
		{"argoproj.io", "workflowtaskresults", "delete", false},
		{"argoproj.io", "workflows", "create", false},
		{"", "pods", "get", false},
		{"", "secrets", "get", false},
	} {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User: user, Groups: groups,
			ResourceAttributes: &authzv1.ResourceAttributes{Namespace: ns, Group: c.group, Resource: c.resource, Verb: c.verb},
		}}
		res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if res.Status.Allowed != c.allowed {
			t.Errorf("%s %s %s/%s: allowed=%v, want %v", sa, c.verb, c.group, c.resource, res.Status.Allowed, c.allowed)
		}
	}
}

// sharedWithDev returns the shared control plane with the dev overlay applied (server-side
// apply, so applying it again in another test changes nothing).
func sharedWithDev(t *testing.T) *kube.Env {
	t.Helper()
	env := kube.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dev, err := Render("overlays/dev")
	if err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, env, dev, false)
	return env
}

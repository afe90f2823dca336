package manifests

import (
	"context"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	authzv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/restmapper"

	"github.com/kilnml/kiln/internal/testenv/kube"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

var overlays = []string{"base", "overlays/dev", "overlays/production"}

func find(objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	return nil
}

// TestRender checks what each overlay deploys: replicas, the security context, probes, and that
// nothing asks for cluster-wide rights.
func TestRender(t *testing.T) {
	// Several replicas are safe with leader election; the dev overlay runs one.
	wantReplicas := map[string]int64{"base": 2, "overlays/dev": 1, "overlays/production": 2}
	for _, dir := range overlays {
		t.Run(dir, func(t *testing.T) {
			objs, err := Render(dir)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range objs {
				if k := o.GetKind(); k == "ClusterRole" || k == "ClusterRoleBinding" {
					t.Errorf("%s %s: Kiln needs no cluster-wide rights", k, o.GetName())
				}
			}
			d := find(objs, "Deployment", "kiln-server")
			if d == nil {
				t.Fatal("no kiln-server Deployment")
			}
			if got, _, _ := unstructured.NestedInt64(d.Object, "spec", "replicas"); got != wantReplicas[dir] {
				t.Errorf("replicas = %d, want %d", got, wantReplicas[dir])
			}
			ctrs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			c := ctrs[0].(map[string]any)
			for _, f := range [][]string{{"securityContext", "readOnlyRootFilesystem"}, {"securityContext", "allowPrivilegeEscalation"}} {
				v, _, _ := unstructured.NestedBool(c, f...)
				if want := f[1] == "readOnlyRootFilesystem"; v != want {
					t.Errorf("container %s = %v, want %v", strings.Join(f, "."), v, want)
				}
			}
			if nonRoot, _, _ := unstructured.NestedBool(d.Object, "spec", "template", "spec", "securityContext", "runAsNonRoot"); !nonRoot {
				t.Error("pod does not run as non-root")
			}
			for _, probe := range []string{"readinessProbe", "livenessProbe"} {
				if _, ok := c[probe]; !ok {
					t.Errorf("no %s", probe)
				}
			}
			if _, ok, _ := unstructured.NestedMap(c, "resources", "requests"); !ok {
				t.Error("no resource requests")
			}
			// Leader election names the candidate after its pod and keeps the Lease in the
			// pod's namespace: both come from the downward API.
			fieldRefs := map[string]string{}
			env, _, _ := unstructured.NestedSlice(c, "env")
			for _, e := range env {
				e := e.(map[string]any)
				p, _, _ := unstructured.NestedString(e, "valueFrom", "fieldRef", "fieldPath")
				fieldRefs[e["name"].(string)] = p
			}
			want := map[string]string{"POD_NAME": "metadata.name", "POD_NAMESPACE": "metadata.namespace"}
			for k, v := range want {
				if fieldRefs[k] != v {
					t.Errorf("env %s from fieldRef %q, want %q", k, fieldRefs[k], v)
				}
			}
			args, _, _ := unstructured.NestedStringSlice(c, "args")
			if !slices.Contains(args, "--leader-elect=true") {
				t.Errorf("args %v do not enable leader election", args)
			}
		})
	}
}

// apply sends objects to the API server with server-side apply (dryRun for a dry run).
func apply(ctx context.Context, t *testing.T, env *kube.Env, objs []*unstructured.Unstructured, dryRun bool) {
	t.Helper()
	dc, err := discovery.NewDiscoveryClientForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(dc))
	dyn, err := dynamic.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	opts := metav1.ApplyOptions{FieldManager: "kiln-manifests-test", Force: true}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	for _, o := range objs {
		gvk := o.GroupVersionKind()
		m, err := mapper.RESTMapping(schema.GroupKind{Group: gvk.Group, Kind: gvk.Kind}, gvk.Version)
		if err != nil {
			t.Fatalf("%s %s: %v", gvk.Kind, o.GetName(), err)
		}
		var ri dynamic.ResourceInterface = dyn.Resource(m.Resource)
		if m.Scope.Name() == "namespace" {
			ri = dyn.Resource(m.Resource).Namespace(o.GetNamespace())
		}
		if _, err := ri.Apply(ctx, o.GetName(), o, opts); err != nil {
			t.Errorf("apply %s %s/%s (dry run %v): %v", gvk.Kind, o.GetNamespace(), o.GetName(), dryRun, err)
		}
	}
}

// TestApply applies the dev overlay to a real API server, dry-runs the production overlay, and
// checks with SubjectAccessReviews that the server's ServiceAccount can do what the engine, the
// notebook spawner and leader election need — and nothing they do not.
func TestApply(t *testing.T) {
	env := kube.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dev, err := Render("overlays/dev")
	if err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, env, dev, false)
	prod, err := Render("overlays/production")
	if err != nil {
		t.Fatal(err)
	}
	apply(ctx, t, env, prod, true)

	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	type check struct {
		user, ns, group, resource, sub, verb string
		allowed                              bool
	}
	server := "system:serviceaccount:kiln:kiln-server"
	checks := []check{
		{server, "kiln", "argoproj.io", "workflows", "", "create", true},
		{server, "kiln", "argoproj.io", "workflows", "", "watch", true},
		{server, "kiln", "argoproj.io", "workflowtemplates", "", "create", true},
		{server, "kiln", "argoproj.io", "cronworkflows", "", "delete", true},
		{server, "kiln", "", "pods", "log", "get", true},
		{server, "kiln", "apps", "statefulsets", "", "patch", true},
		{server, "kiln", "", "persistentvolumeclaims", "", "create", true},
		{server, "kiln", "coordination.k8s.io", "leases", "", "create", true},
		{server, "kiln", "coordination.k8s.io", "leases", "", "delete", false},
		{server, "kiln", "coordination.k8s.io", "leases", "", "list", false},
		{server, "default", "coordination.k8s.io", "leases", "", "update", false},
		{server, "kube-system", "coordination.k8s.io", "leases", "", "get", false},
		{server, "kiln", "", "secrets", "", "list", false},
		{server, "kiln", "", "pods", "", "delete", false},
		{server, "kiln", "", "pods", "exec", "create", false},
		{server, "kiln", "", "configmaps", "", "update", false},
		{server, "default", "argoproj.io", "workflows", "", "create", false},
		{server, "", "", "nodes", "", "list", false},
		{server, "", "rbac.authorization.k8s.io", "clusterroles", "", "create", false},
		{server, "kiln", "", "serviceaccounts", "", "create", true},
		{server, "kiln", "", "serviceaccounts", "", "delete", false},
		{server, "kiln", "rbac.authorization.k8s.io", "rolebindings", "", "create", true},
		{server, "kiln", "rbac.authorization.k8s.io", "rolebindings", "", "delete", false},
		{server, "kiln", "rbac.authorization.k8s.io", "roles", "", "create", false},
		{server, "kiln", "rbac.authorization.k8s.io", "roles", "", "bind", false},
	}
	// Leader election reads and renews its own Lease and no other (such as another
	// controller's in the same namespace).
	leases := []struct {
		name, verb string
		allowed    bool
	}{
		{"kiln-backend", "get", true},
		{"kiln-backend", "update", true},
		{"kiln-backend", "delete", false},
		{"other-controller", "get", false},
		{"other-controller", "update", false},
	}
	var got, want []string
	for _, l := range leases {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:   server,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kiln", "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: "kiln", Group: "coordination.k8s.io", Resource: "leases", Name: l.name, Verb: l.verb,
			},
		}}
		res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		line := "kiln-server " + l.verb + " lease " + l.name + " in kiln"
		got = append(got, line+" → "+allowed(res.Status.Allowed))
		want = append(want, line+" → "+allowed(l.allowed))
	}
	for _, c := range checks {
		sar := &authzv1.SubjectAccessReview{Spec: authzv1.SubjectAccessReviewSpec{
			User:   c.user,
			Groups: []string{"system:serviceaccounts", "system:serviceaccounts:kiln", "system:authenticated"},
			ResourceAttributes: &authzv1.ResourceAttributes{
				Namespace: c.ns, Group: c.group, Resource: c.resource, Subresource: c.sub, Verb: c.verb,
			},
		}}
		res, err := cs.AuthorizationV1().SubjectAccessReviews().Create(ctx, sar, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		line := strings.Join([]string{c.user[strings.LastIndexByte(c.user, ':')+1:], c.verb, c.group, c.resource, c.sub, "in", c.ns}, " ")
		got = append(got, line+" → "+allowed(res.Status.Allowed))
		want = append(want, line+" → "+allowed(c.allowed))
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("access (-want +got):\n%s", diff)
	}
}

func allowed(b bool) string {
	if b {
		return "allowed"
	}
	return "denied"
}

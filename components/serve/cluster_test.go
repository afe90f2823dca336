package serve

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/components/internal/testserver"
	"github.com/kilnml/kiln/components/register"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/testenv/kube"
	"github.com/kilnml/kiln/tracking"
)

func TestMain(m *testing.M) { os.Exit(kube.Main(m)) }

// startWorkloadControllers runs a kube-controller-manager with the Deployment and ReplicaSet
// controllers (the harness's runs only garbage collection), so Deployments get pods, which
// kwok's fake node then runs and marks Ready.
func startWorkloadControllers(t *testing.T, env *kube.Env) {
	t.Helper()
	bin, err := kube.BinDir("kube-controller-manager")
	kube.Skip(t, err)
	kc, err := env.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	logf, err := os.Create(filepath.Join(t.TempDir(), "controller-manager.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(filepath.Join(bin, "kube-controller-manager"),
		"--kubeconfig="+kc, "--authentication-kubeconfig="+kc, "--authorization-kubeconfig="+kc,
		"--leader-elect=false", "--bind-address=127.0.0.1", "--secure-port=0",
		"--controllers=deployment-controller,replicaset-controller", "--v=0")
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		logf.Close()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("controller-manager log (tail):\n%s", tail(string(b), 30))
		}
	})
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

func createNamespace(t *testing.T, cs kubernetes.Interface, ns string) {
	t.Helper()
	ctx := t.Context()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	// No service-account controller runs; pods need the namespace's default account.
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: ns}}
	if _, err := cs.CoreV1().ServiceAccounts(ns).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// TestCluster deploys to a real kube-apiserver: first without KServe (a Deployment and a
// Service, whose pod kwok runs, so the component sees it become available), then with the
// InferenceService CRD installed (detected through discovery).
func TestCluster(t *testing.T) {
	env := kube.Shared(t)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	dyn := dynamic.NewForConfigOrDie(env.Config)
	cl := &Cluster{Config: env.Config, Poll: 200 * time.Millisecond}
	model := []byte(`{"format":"kiln.model/v1","kind":"logistic_regression"}`)
	if err := env.StartArgoController(ctx, "kiln-serve-kwok"); err != nil { // kwok's node, the scheduler
		kube.Skip(t, err)
	}
	startWorkloadControllers(t, env)

	t.Run("deployment", func(t *testing.T) {
		createNamespace(t, cs, "ml")
		has, err := cl.HasKServe(ctx)
		if err != nil || has {
			t.Fatalf("HasKServe = %v, %v before the CRD is installed", has, err)
		}
		cfg := Config{Name: "cancer", Namespace: "ml", Image: "example.com/kiln-serve:1", Model: model, Mode: "auto"}
		res, err := Run(ctx, cl, cfg, 2*time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		want := Result{Mode: Deployment, Manifests: res.Manifests, Ready: true,
			URL:     "http://cancer.ml.svc.cluster.local/v2/models/cancer/infer",
			BaseURL: "http://cancer.ml.svc.cluster.local"}
		if res != want {
			t.Errorf("result %+v, want %+v", res, want)
		}
		dep, err := cs.AppsV1().Deployments("ml").Get(ctx, "cancer", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkContainer(t, dep.Spec.Template.Spec.Containers, "cancer=/kiln/model/model.json")
		if dep.Status.AvailableReplicas != 1 {
			t.Errorf("%d available replicas after the wait", dep.Status.AvailableReplicas)
		}
		pods, err := cs.CoreV1().Pods("ml").List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=cancer"})
		if err != nil || len(pods.Items) != 1 || pods.Items[0].Spec.NodeName != kube.FakeNode {
			t.Fatalf("pods %v, %v: want one on %s", pods, err, kube.FakeNode)
		}
		svc, err := cs.CoreV1().Services("ml").Get(ctx, "cancer", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if p := svc.Spec.Ports; len(p) != 1 || p[0].Port != 80 || p[0].TargetPort.IntValue() != Port || svc.Spec.Selector["app.kubernetes.io/name"] != "cancer" {
			t.Errorf("service %+v", svc.Spec)
		}
		cm, err := cs.CoreV1().ConfigMaps("ml").Get(ctx, "cancer-model", metav1.GetOptions{})
		if err != nil || cm.Data["model.json"] != string(model) {
			t.Errorf("model configmap %v, %v", cm, err)
		}
		// Re-applying the same objects is a no-op: no object gets a new resource version.
		before := []string{dep.ResourceVersion, svc.ResourceVersion, cm.ResourceVersion}
		objs, err := Manifests(Config{Name: "cancer", Namespace: "ml", Image: "example.com/kiln-serve:1", Model: model, Mode: Deployment})
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Apply(ctx, objs); err != nil {
			t.Fatal(err)
		}
		dep2, _ := cs.AppsV1().Deployments("ml").Get(ctx, "cancer", metav1.GetOptions{})
		svc2, _ := cs.CoreV1().Services("ml").Get(ctx, "cancer", metav1.GetOptions{})
		cm2, _ := cs.CoreV1().ConfigMaps("ml").Get(ctx, "cancer-model", metav1.GetOptions{})
		if after := []string{dep2.ResourceVersion, svc2.ResourceVersion, cm2.ResourceVersion}; !slices.Equal(before, after) {
			t.Errorf("re-apply changed resource versions %v → %v", before, after)
		}
		// A model given by URI needs no ConfigMap.
		res, err = Run(ctx, cl, Config{Name: "iris", Namespace: "ml", Image: "example.com/kiln-serve:1", ModelURI: "s3://models/iris/model.json", Mode: Deployment}, 0)
		if err != nil || res.Ready {
			t.Fatalf("apply without waiting: %+v, %v", res, err)
		}
		dep, err = cs.AppsV1().Deployments("ml").Get(ctx, "iris", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		checkContainer(t, dep.Spec.Template.Spec.Containers, "iris=s3://models/iris/model.json")
		if len(dep.Spec.Template.Spec.Volumes) != 0 {
			t.Errorf("volumes %v for a model given by URI", dep.Spec.Template.Spec.Volumes)
		}
		if _, err := cs.CoreV1().ConfigMaps("ml").Get(ctx, "iris-model", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("configmap for a model given by URI: %v", err)
		}
		// A deployment that never becomes available times out with ErrNotReady.
		short, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		if _, err := cl.Wait(short, Config{Name: "missing", Namespace: "ml", Mode: Deployment}); err == nil || !strings.Contains(err.Error(), "not ready") {
			t.Errorf("wait for a missing deployment: %v", err)
		}
	})

	// The Deploy component, as a pipeline runs it: cluster from KUBECONFIG, Kiln server from
	// KILN_API_URL; once the endpoint is ready the registry version carries its base URL.
	t.Run("component", func(t *testing.T) {
		kc, err := env.Kubeconfig()
		if err != nil {
			t.Fatal(err)
		}
		srv := testserver.Start(t)
		t.Setenv("KUBECONFIG", kc)
		t.Setenv(tracking.EnvAPIURL, srv.URL)
		reg := register.APIRegistry{URL: srv.URL}
		v, err := reg.Register(ctx, "wine", "/models/wine.json", map[string]float64{"accuracy": 0.9}, nil)
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(t.TempDir(), "model.json")
		if err := os.WriteFile(p, model, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := deploy(ctx, DeployIn{Model: dsl.Of(dsl.Model{Path: p}), Name: dsl.Of("wine"), Namespace: dsl.Of("ml"),
			Image: dsl.Of("example.com/kiln-serve:1"), Mode: dsl.Of(string(Deployment)), Apply: dsl.Of(true), Wait: dsl.Of("2m"),
			ServerVersion: dsl.Of(v.Version)})
		if err != nil {
			t.Fatal(err)
		}
		if !out.Ready.Get() || out.URL.Get() != "http://wine.ml.svc.cluster.local/v2/models/wine/infer" {
			t.Errorf("ready %v, url %q", out.Ready.Get(), out.URL.Get())
		}
		got, err := reg.Version(ctx, "wine", v.Version)
		if err != nil {
			t.Fatal(err)
		}
		if tag := got.Metadata[api.EndpointTag]; tag != "http://wine.ml.svc.cluster.local" {
			t.Errorf("%s = %q, want the service's base URL", api.EndpointTag, tag)
		}
	})

	t.Run("kserve", func(t *testing.T) {
		createNamespace(t, cs, "ml-kserve")
		b, err := os.ReadFile("testdata/inferenceservice-crd.yaml")
		if err != nil {
			t.Fatal(err)
		}
		var crd unstructured.Unstructured
		if err := yaml.Unmarshal(b, &crd.Object); err != nil {
			t.Fatal(err)
		}
		if err := env.ApplyCRDs(ctx, &crd); err != nil {
			t.Fatal(err)
		}
		// Discovery can trail the CRD's Established condition by a moment.
		var has bool
		for range 50 {
			if has, err = cl.HasKServe(ctx); has || err != nil {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if err != nil || !has {
			t.Fatalf("HasKServe = %v, %v with the CRD installed", has, err)
		}
		cfg := Config{Name: "cancer", Namespace: "ml-kserve", Image: "example.com/kiln-serve:2", Model: model, Mode: "auto"}
		res, err := Run(ctx, cl, cfg, 0)
		if err != nil {
			t.Fatal(err)
		}
		if res.Mode != KServe || res.URL != "http://cancer-predictor.ml-kserve.svc.cluster.local/v2/models/cancer/infer" {
			t.Errorf("result %+v", res)
		}
		isvcs := dyn.Resource(InferenceServiceGVR).Namespace("ml-kserve")
		got, err := isvcs.Get(ctx, "cancer", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ctrs, _, _ := unstructured.NestedSlice(got.Object, "spec", "predictor", "containers")
		var typed []corev1.Container
		for _, c := range ctrs {
			var ctr corev1.Container
			if err := runtimeConvert(c, &ctr); err != nil {
				t.Fatal(err)
			}
			typed = append(typed, ctr)
		}
		checkContainer(t, typed, "cancer=/kiln/model/model.json")
		if typed[0].Image != "example.com/kiln-serve:2" {
			t.Errorf("image %q", typed[0].Image)
		}
		// Idempotent re-apply.
		cfg.Mode = KServe
		objs, err := Manifests(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := cl.Apply(ctx, objs); err != nil {
			t.Fatal(err)
		}
		again, err := isvcs.Get(ctx, "cancer", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if again.GetResourceVersion() != got.GetResourceVersion() || again.GetGeneration() != 1 {
			t.Errorf("re-apply: resource version %s → %s, generation %d", got.GetResourceVersion(), again.GetResourceVersion(), again.GetGeneration())
		}
		// Strict field validation: a field the CRD does not declare is refused, not dropped.
		bad := objs[len(objs)-1].(map[string]any)
		bad["spec"].(map[string]any)["predictor"].(map[string]any)["replicaz"] = 2
		if err := cl.Apply(ctx, []any{bad}); err == nil || !strings.Contains(err.Error(), "replicaz") {
			t.Errorf("unknown field applied: %v", err)
		}
		// Once KServe reports the service Ready with its URL, Wait returns that URL.
		got.Object["status"] = map[string]any{"url": "http://cancer.ml-kserve.example.com",
			"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}
		if _, err := isvcs.UpdateStatus(ctx, got, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		url, err := cl.Wait(ctx, cfg)
		if err != nil || url != "http://cancer.ml-kserve.example.com/v2/models/cancer/infer" {
			t.Errorf("wait: %q, %v", url, err)
		}
	})
}

// checkContainer checks the server container: the image's kiln-serve serving the model spec
// on Port, probed on the OIP health endpoints.
func checkContainer(t *testing.T, ctrs []corev1.Container, modelSpec string) {
	t.Helper()
	if len(ctrs) != 1 {
		t.Fatalf("%d containers", len(ctrs))
	}
	c := ctrs[0]
	if got, want := strings.Join(c.Command, " "), "/kiln/kiln-serve -addr 0.0.0.0:8080 -model "+modelSpec; got != want {
		t.Errorf("command %q, want %q", got, want)
	}
	if !strings.HasPrefix(c.Image, "example.com/kiln-serve:") {
		t.Errorf("image %q", c.Image)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/v2/health/ready" || p.HTTPGet.Port.IntValue() != Port {
		t.Errorf("readiness probe %+v", p)
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/v2/health/live" {
		t.Errorf("liveness probe %+v", p)
	}
}

// runtimeConvert turns an unstructured value into a typed one.
func runtimeConvert(in any, out any) error {
	b, err := yaml.Marshal(in)
	if err != nil {
		return err
	}
	return yaml.UnmarshalStrict(b, out)
}

package kube

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

var workflows = schema.GroupVersionResource{Group: "argoproj.io", Version: "v1alpha1", Resource: "workflows"}

func workflow(name string, extraSpec map[string]any) *unstructured.Unstructured {
	spec := map[string]any{
		"entrypoint": "main",
		"templates": []any{map[string]any{
			"name":      "main",
			"container": map[string]any{"image": "busybox", "command": []any{"true"}},
		}},
	}
	for k, v := range extraSpec {
		spec[k] = v
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "argoproj.io/v1alpha1",
		"kind":       "Workflow",
		"metadata":   map[string]any{"name": name, "namespace": "default"},
		"spec":       spec,
	}}
}

func TestWorkflowSchemaStrict(t *testing.T) {
	env := Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	dyn := dynamic.NewForConfigOrDie(env.Config)
	wfs := dyn.Resource(workflows).Namespace("default")
	strict := metav1.CreateOptions{FieldValidation: metav1.FieldValidationStrict}

	if _, err := wfs.Create(ctx, workflow("valid", nil), strict); err != nil {
		t.Fatalf("create valid workflow: %v", err)
	}
	got, err := wfs.Get(ctx, "valid", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get workflow: %v", err)
	}
	if ep, _, _ := unstructured.NestedString(got.Object, "spec", "entrypoint"); ep != "main" {
		t.Errorf("spec.entrypoint = %q, want main", ep)
	}

	_, err = wfs.Create(ctx, workflow("unknown-field", map[string]any{"entrypointt": "typo"}), strict)
	if err == nil || !strings.Contains(err.Error(), `unknown field "spec.entrypointt"`) {
		t.Errorf("create with unknown field: err = %v, want unknown field spec.entrypointt", err)
	}
	// Without strict validation the API server silently drops the field: this
	// is why the engine always asks for strict validation.
	if _, err := wfs.Create(ctx, workflow("lenient", map[string]any{"entrypointt": "typo"}), metav1.CreateOptions{}); err != nil {
		t.Errorf("create lenient: %v", err)
	}
	_, err = wfs.Create(ctx, workflow("wrong-type", map[string]any{"parallelism": "ten"}), strict)
	if err == nil || !strings.Contains(err.Error(), "spec.parallelism") {
		t.Errorf("create with wrong type: err = %v, want an error on spec.parallelism", err)
	}
}

func TestKubeconfig(t *testing.T) {
	env := Shared(t)
	path, err := env.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", path)
	if err != nil {
		t.Fatalf("load kubeconfig: %v", err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kubeconfig-check"}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace through kubeconfig: %v", err)
	}
	v, err := cs.Discovery().ServerVersion()
	if err != nil {
		t.Fatal(err)
	}
	if v.GitVersion != "v1.35.4" {
		t.Errorf("server version = %q, want v1.35.4", v.GitVersion)
	}
}

func TestRestartKeepsData(t *testing.T) {
	if testing.Short() {
		t.Skip("restarts a private control plane")
	}
	env := StartT(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cs := kubernetes.NewForConfigOrDie(env.Config)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "survivor", Namespace: "default"}, Data: map[string]string{"k": "v"}}
	if _, err := cs.CoreV1().ConfigMaps("default").Create(ctx, cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	got, err := cs.CoreV1().ConfigMaps("default").Get(ctx, "survivor", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get after restart: %v", err)
	}
	if got.Data["k"] != "v" {
		t.Errorf("data after restart = %v", got.Data)
	}
}

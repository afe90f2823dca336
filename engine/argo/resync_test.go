package argo

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

var private struct {
	once sync.Once
	env  *kube.Env
	err  error
}

// privateEnv is a control plane for tests that restart the API server or
// change a CRD, shared by those tests only. Its Workflow CRD lacks
// spec.podGC, standing in for a cluster whose Argo is older than the
// compiler's.
func privateEnv(t *testing.T) *kube.Env {
	t.Helper()
	private.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		env, err := kube.Start(ctx, kube.Options{})
		if err != nil {
			private.err = err
			return
		}
		crds, err := kube.ArgoCRDs(ctx)
		if err == nil {
			for _, crd := range crds {
				if crd.GetName() != "workflows.argoproj.io" {
					continue
				}
				versions, _, _ := unstructured.NestedSlice(crd.Object, "spec", "versions")
				for _, v := range versions {
					unstructured.RemoveNestedField(v.(map[string]any), "schema", "openAPIV3Schema", "properties", "spec", "properties", "podGC")
				}
				err = unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions")
				if err != nil {
					break
				}
				err = env.ApplyCRDs(ctx, crd)
			}
		}
		if err != nil {
			env.Stop()
			private.err = err
			return
		}
		private.env = env
	})
	kube.Skip(t, private.err)
	return private.env
}

func TestUnknownFieldIsAnError(t *testing.T) {
	env := privateEnv(t)
	ns := newNamespace(t, env.Config)
	e := newTestEngine(t, env.Config, nil, ns)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wf := testWorkflow()
	wf.Spec.PodGC = &wfv1.PodGC{Strategy: wfv1.PodGCOnPodSuccess}
	_, err := e.Submit(ctx, wf, engine.SubmitOptions{RunID: "unknown-field"})
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), `unknown field "spec.podGC"`) {
		t.Fatalf("submit with a field the CRD lacks: err = %v, want ErrRejected naming spec.podGC", err)
	}
	if _, err := e.Status(ctx, "unknown-field"); !errors.Is(err, engine.ErrRunNotFound) {
		t.Errorf("a rejected run is still known: %v", err)
	}
	// The same workflow without the field is accepted.
	wf.Spec.PodGC = nil
	if _, err := e.Submit(ctx, wf, engine.SubmitOptions{RunID: "unknown-field"}); err != nil {
		t.Errorf("submit without the unknown field: %v", err)
	}
}

// TestResyncAfterAPIServerRestart breaks the engine's watch by stopping the
// API server, changes state across the outage and restart, and checks that
// every transition is reported exactly once.
func TestResyncAfterAPIServerRestart(t *testing.T) {
	env := privateEnv(t)
	ns := newNamespace(t, env.Config)
	e := newTestEngine(t, env.Config, nil, ns)
	wfc := wfclientset.NewForConfigOrDie(env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	id, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "resync"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.Status(ctx, id)
	name := st.Workflow
	ch, _ := e.Watch(ctx, id)
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
		wf.Status.Phase = wfv1.WorkflowRunning
		wf.Status.Nodes = wfv1.Nodes{
			name:        node(name, name, name, wfv1.NodeTypeDAG, wfv1.NodeRunning, t0),
			name + "-a": node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeRunning, t0.Add(time.Second)),
		}
	})
	waitEvents(t, ch, 4, 20*time.Second)

	// An outage long enough for the watch to fail and the reflector to retry.
	env.StopAPIServer()
	time.Sleep(3 * time.Second)
	if err := env.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	// a finishes right after the restart, then (after a full restart) the run.
	updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
		wf.Status.Nodes[name+"-a"] = node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeSucceeded, t0.Add(time.Second))
	})
	if err := env.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
		dag := node(name, name, name, wfv1.NodeTypeDAG, wfv1.NodeSucceeded, t0)
		dag.FinishedAt = metav1.NewTime(t0.Add(3 * time.Second))
		wf.Status.Nodes[name] = dag
		wf.Status.Phase = wfv1.WorkflowSucceeded
		wf.Status.FinishedAt = metav1.Now()
	})
	drain(t, ch, 60*time.Second)

	all, _ := e.Watch(ctx, id)
	want := []step{
		{Type: engine.EventRun, Phase: "Pending"},
		{Type: engine.EventNode, Node: name, Phase: "Running"},
		{Type: engine.EventNode, Node: "a", Phase: "Running"},
		{Type: engine.EventRun, Phase: "Running"},
		{Type: engine.EventNode, Node: "a", Phase: "Succeeded"},
		{Type: engine.EventNode, Node: name, Phase: "Succeeded"},
		{Type: engine.EventRun, Phase: "Succeeded"},
	}
	if diff := cmp.Diff(want, steps(drain(t, all, 5*time.Second))); diff != "" {
		t.Errorf("events across the restart (-want +got):\n%s", diff)
	}

	// A new engine (a restarted backend) recovers the run from the cluster
	// and reports its current state once.
	e2 := newTestEngine(t, env.Config, nil, ns)
	ch2, err := e2.Watch(ctx, id)
	if err != nil {
		t.Fatalf("recovered engine does not know the run: %v", err)
	}
	wantRecovered := []step{
		{Type: engine.EventRun, Phase: "Pending"},
		{Type: engine.EventNode, Node: "a", Phase: "Succeeded"},
		{Type: engine.EventNode, Node: name, Phase: "Succeeded"},
		{Type: engine.EventRun, Phase: "Succeeded"},
	}
	if diff := cmp.Diff(wantRecovered, steps(drain(t, ch2, 5*time.Second))); diff != "" {
		t.Errorf("recovered events (-want +got):\n%s", diff)
	}
}

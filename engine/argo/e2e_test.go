package argo

import (
	"context"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

// e2eEnv returns the shared control plane with Argo's workflow-controller
// (and kwok) running for a fresh namespace.
func e2eEnv(t *testing.T) (*kube.Env, string) {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end through Argo's controller")
	}
	env := kube.Shared(t)
	ns := newNamespace(t, env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kube.Skip(t, env.StartArgoController(ctx, ns))
	return env, ns
}

// annotate sets pod annotations on the echo template (kwok's behaviour).
func annotate(wf *wfv1.Workflow, ann map[string]string) *wfv1.Workflow {
	for i := range wf.Spec.Templates {
		if wf.Spec.Templates[i].Name == "echo" {
			wf.Spec.Templates[i].Metadata.Annotations = ann
		}
	}
	return wf
}

func TestEndToEnd(t *testing.T) {
	env, ns := e2eEnv(t)
	e := newTestEngine(t, env.Config, nil, ns)

	finalNodes := func(evs []engine.Event) map[string]wfv1.NodePhase {
		m := map[string]wfv1.NodePhase{}
		for _, ev := range evs {
			if ev.Type == engine.EventNode {
				m[ev.Node.DisplayName] = ev.Node.Phase
			}
		}
		return m
	}
	t.Run("succeeds", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		id, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "e2e-ok"})
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := e.Watch(ctx, id)
		evs := drain(t, ch, 80*time.Second)
		last := evs[len(evs)-1]
		if last.Phase != wfv1.WorkflowSucceeded {
			t.Fatalf("run ended %s (%s); events %+v", last.Phase, last.Message, steps(evs))
		}
		nodes := finalNodes(evs)
		if nodes["a"] != wfv1.NodeSucceeded || nodes["b"] != wfv1.NodeSucceeded {
			t.Errorf("final node phases = %v", nodes)
		}
		st, _ := e.Status(ctx, id)
		var a, b wfv1.NodeStatus
		for _, n := range st.Status.Nodes {
			switch n.DisplayName {
			case "a":
				a = n
			case "b":
				b = n
			}
		}
		if b.StartedAt.Before(&a.FinishedAt) {
			t.Errorf("b started (%v) before a finished (%v)", b.StartedAt, a.FinishedAt)
		}
	})
	t.Run("failing pod", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		wf := testWorkflow()
		// Only b's pods fail: give b its own failing template.
		fail := wf.Spec.Templates[1].DeepCopy()
		fail.Name = "echo-fail"
		fail.Metadata.Annotations = map[string]string{kube.AnnotationFail: "true"}
		wf.Spec.Templates = append(wf.Spec.Templates, *fail)
		wf.Spec.Templates[0].DAG.Tasks[1].Template = "echo-fail"
		id, err := e.Submit(ctx, wf, engine.SubmitOptions{RunID: "e2e-fail"})
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := e.Watch(ctx, id)
		evs := drain(t, ch, 80*time.Second)
		last := evs[len(evs)-1]
		if last.Phase != wfv1.WorkflowFailed {
			t.Fatalf("run ended %s; events %+v", last.Phase, steps(evs))
		}
		nodes := finalNodes(evs)
		if nodes["a"] != wfv1.NodeSucceeded || nodes["b"] != wfv1.NodeFailed {
			t.Errorf("final node phases = %v, want a Succeeded, b Failed", nodes)
		}
		// The failed node is reported by name with the reason from its pod.
		var failed *wfv1.NodeStatus
		for _, ev := range evs {
			if ev.Type == engine.EventNode && ev.Node.Phase == wfv1.NodeFailed && ev.Node.Type == wfv1.NodeTypePod {
				failed = ev.Node
			}
		}
		if failed == nil || failed.DisplayName != "b" || !strings.Contains(failed.Message, "exit code 1") {
			t.Errorf("failed pod node = %+v, want b with exit code 1; events %+v", failed, steps(evs))
		}
	})
	t.Run("stop", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		wf := annotate(testWorkflow(), map[string]string{kube.AnnotationDuration: "60s"})
		id, err := e.Submit(ctx, wf, engine.SubmitOptions{RunID: "e2e-stop"})
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := e.Watch(ctx, id)
		waitUntil(t, ch, func(ev engine.Event) bool {
			return ev.Type == engine.EventNode && ev.Node.DisplayName == "a" && ev.Node.Phase == wfv1.NodeRunning
		})
		if err := e.Cancel(ctx, id); err != nil {
			t.Fatal(err)
		}
		evs := drain(t, ch, 80*time.Second)
		last := evs[len(evs)-1]
		if last.Phase != wfv1.WorkflowFailed || !strings.Contains(last.Message, "Stop") {
			t.Errorf("stopped run ended %s (%q), want Failed by Stop", last.Phase, last.Message)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		wf := annotate(testWorkflow(), map[string]string{kube.AnnotationDuration: "60s"})
		id, err := e.Submit(ctx, wf, engine.SubmitOptions{RunID: "e2e-cancel"})
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := e.Watch(ctx, id)
		waitUntil(t, ch, func(ev engine.Event) bool {
			return ev.Type == engine.EventNode && ev.Node.DisplayName == "a" && ev.Node.Phase == wfv1.NodeRunning
		})
		if err := e.Terminate(ctx, id); err != nil {
			t.Fatal(err)
		}
		evs := drain(t, ch, 80*time.Second)
		last := evs[len(evs)-1]
		if last.Phase != wfv1.WorkflowFailed || !strings.Contains(last.Message, "Terminate") {
			t.Errorf("cancelled run ended %s (%q), want Failed by Terminate", last.Phase, last.Message)
		}
		if nodes := finalNodes(evs); nodes["b"] != "" && nodes["b"] != wfv1.NodeOmitted && nodes["b"] != wfv1.NodeSkipped {
			t.Errorf("b ran after cancel: %v", nodes)
		}
	})
}

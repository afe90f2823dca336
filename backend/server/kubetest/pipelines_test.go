package kubetest

import (
	"context"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kilnml/kiln/internal/testenv/kube"
)

// Under kwok no container runs, so every output takes its valueFrom.default
// (the harness reports task results as a container that wrote nothing). The
// flagship's two trial loops fan out over the suggest steps' assignments,
// whose default is "[]": Argo skips both loops ("Skipped, empty params") and
// every other step runs. The sweep's loop fans out over a workflow parameter,
// so all six trials run; best's score defaults to 0, below the 0.9 target,
// so publish is skipped by its when condition.

// TestFlagshipOnKubernetes runs the flagship pipeline, compiled by its own
// program, through the REST API on Argo's controller with kwok's pods.
func TestFlagshipOnKubernetes(t *testing.T) {
	e := startE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	run := e.runWorkflow(ctx, t, "flagship", compileExample(t, "flagship"))
	got := e.wait(ctx, t, run.ID)
	t.Logf("flagship ended %s after %v", got.Phase, time.Since(start).Round(time.Millisecond))
	assertAllDone(t, got)
	// Every step's pod ran; no trial pod did.
	want := map[string]string{}
	for _, n := range []string{"import", "profile", "split", "suggest", "suggest-2", "best", "evaluate", "register", "deploy"} {
		want[n] = "Succeeded"
	}
	gotPods := map[string]string{}
	for name, n := range podNodes(got) {
		gotPods[name] = n.Phase
	}
	if diff := cmp.Diff(want, gotPods); diff != "" {
		t.Errorf("pod nodes (-want +got):\n%s\n%s", diff, describe(got))
	}
	// The two trial loops are skipped because their lists are empty, and
	// nothing else is skipped.
	var skipped []string
	for _, n := range got.Nodes {
		if n.Phase == string(wfv1.NodeSkipped) {
			skipped = append(skipped, n.DisplayName)
			if !strings.Contains(n.Message, "empty params") || !strings.Contains(n.DisplayName, "trial") {
				t.Errorf("node %s skipped (%q); only the empty trial loops should be", n.Name, n.Message)
			}
		}
	}
	if len(skipped) != 2 {
		t.Errorf("skipped nodes %v, want the two trial loops\n%s", skipped, describe(got))
	}
}

// TestSweepOnKubernetes runs examples/sweep: a parallel-for over six
// learning rates, a fan-in and a conditional publish.
func TestSweepOnKubernetes(t *testing.T) {
	e := startE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	start := time.Now()
	run := e.runWorkflow(ctx, t, "sweep", compileExample(t, "sweep"))
	got := e.wait(ctx, t, run.ID)
	t.Logf("sweep ended %s after %v", got.Phase, time.Since(start).Round(time.Millisecond))
	assertAllDone(t, got)
	pods := podNodes(got)
	var trials []string
	for name, n := range pods {
		if strings.HasPrefix(name, "train(") {
			trials = append(trials, name)
			if n.Phase != "Succeeded" {
				t.Errorf("trial %s ended %s", name, n.Phase)
			}
		}
	}
	if len(trials) != 6 {
		t.Errorf("%d trials ran (%v), want one per rate (6)\n%s", len(trials), trials, describe(got))
	}
	if pods["best"].Phase != "Succeeded" {
		t.Errorf("best = %+v, want Succeeded", pods["best"])
	}
	// publish's when condition reads best's score, which is its default (0) under kwok.
	phases := nodePhases(got)
	if phases["publish"] != "Skipped" {
		t.Errorf("publish = %q, want Skipped (score 0 < target 0.9)\n%s", phases["publish"], describe(got))
	}
}

// TestFailingPodOnKubernetes makes the flagship's split step fail (kwok
// fails pods with the kiln.dev/kwok-fail annotation, set on the compiled
// template's metadata, which Argo copies onto the pod): the run ends Failed
// and names the failed node.
func TestFailingPodOnKubernetes(t *testing.T) {
	e := startE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	wf := compileExample(t, "flagship")
	setPodAnnotations(t, wf, map[string]string{kube.AnnotationFail: "true"}, "split-dataset")
	start := time.Now()
	run := e.runWorkflow(ctx, t, "flagship-failing-split", wf)
	got := e.wait(ctx, t, run.ID)
	t.Logf("failing flagship ended %s after %v", got.Phase, time.Since(start).Round(time.Millisecond))
	if got.Phase != "Failed" {
		t.Fatalf("run ended %s, want Failed\n%s", got.Phase, describe(got))
	}
	var failed []string
	for _, n := range got.Nodes {
		if n.Type == string(wfv1.NodeTypePod) && n.Phase == string(wfv1.NodeFailed) {
			failed = append(failed, n.DisplayName)
			if !strings.Contains(n.Message, "exit code 1") {
				t.Errorf("failed node %s message = %q, want the pod's exit code 1", n.DisplayName, n.Message)
			}
		}
	}
	if diff := cmp.Diff([]string{"split"}, failed); diff != "" {
		t.Errorf("failed pod nodes (-want +got):\n%s\n%s", diff, describe(got))
	}
	// Argo leaves the failed Workflow's message empty; the engine names the failed step.
	if want := `step "split" failed: main: Error (exit code 1)`; !strings.Contains(got.Message, want) {
		t.Errorf("run message = %q, want it to contain %q", got.Message, want)
	}
	phases := nodePhases(got)
	// import ran before split; nothing that depends on split ran.
	if phases["import"] != "Succeeded" {
		t.Errorf("import = %q, want Succeeded", phases["import"])
	}
	for _, n := range []string{"best", "evaluate", "register", "deploy"} {
		if p := phases[n]; p == "Succeeded" || p == "Running" {
			t.Errorf("%s = %q after split failed, want it not run", n, p)
		}
	}
}

// stoppable is a run that takes a minute (kwok's duration annotation) and has
// an exit handler.
func stoppable() *wfv1.Workflow {
	slow := map[string]string{kube.AnnotationDuration: "60s"}
	return &wfv1.Workflow{
		TypeMeta:   wfMeta,
		ObjectMeta: objMeta("stoppable-"),
		Spec: wfv1.WorkflowSpec{
			Entrypoint: "main",
			OnExit:     "cleanup",
			Templates: []wfv1.Template{
				{Name: "main", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
					{Name: "long", Template: "slow"},
					{Name: "after", Template: "quick", Depends: "long"},
				}}},
				{Name: "slow", Metadata: wfv1.Metadata{Annotations: slow}, Container: &corev1.Container{Image: "busybox:1.36", Command: []string{"sleep", "60"}}},
				{Name: "quick", Container: &corev1.Container{Image: "busybox:1.36", Command: []string{"true"}}},
				{Name: "cleanup", Container: &corev1.Container{Image: "busybox:1.36", Command: []string{"echo", "{{workflow.status}}"}}},
			},
		},
	}
}

// TestCancelOnKubernetes cancels a long-running run with POST
// /api/v1/runs/{id}/cancel: the engine asks Argo for a graceful stop, the
// running pod is stopped, nothing after it starts, the exit handler still
// runs, and the backend records the run Cancelled with Argo's message.
func TestCancelOnKubernetes(t *testing.T) {
	e := startE2E(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	run := e.runWorkflow(ctx, t, "stoppable", stoppable())
	e.waitNode(ctx, t, run.ID, "long", "Running")
	start := time.Now()
	if _, err := e.c.CancelRun(ctx, run.ID); err != nil {
		t.Fatal(err)
	}
	got := e.wait(ctx, t, run.ID)
	t.Logf("cancelled run ended %s %q %v after the cancel", got.Phase, got.Message, time.Since(start).Round(time.Millisecond))
	if got.Phase != "Cancelled" || !strings.Contains(got.Message, "Stop") {
		t.Errorf("cancelled run = %s %q, want Cancelled with Argo's Stop message\n%s", got.Phase, got.Message, describe(got))
	}
	phases := nodePhases(got)
	if p := phases["long"]; p != "Failed" && p != "Error" {
		t.Errorf("long = %q, want stopped (Failed or Error)\n%s", p, describe(got))
	}
	if p := phases["after"]; p == "Succeeded" || p == "Running" {
		t.Errorf("after = %q: it started after the cancel", p)
	}
	var exit string
	for _, n := range got.Nodes {
		if strings.HasSuffix(n.Name, ".onExit") {
			exit = n.Phase
		}
	}
	if exit != "Succeeded" {
		t.Errorf("exit handler = %q, want Succeeded (Stop runs exit handlers)\n%s", exit, describe(got))
	}
}

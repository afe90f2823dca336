package argo

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

func TestSubmitCreatesWorkflow(t *testing.T) {
	env := kube.Shared(t)
	ns := newNamespace(t, env.Config)
	ttl := int32(600)
	e := newTestEngine(t, env.Config, func(c *Config) {
		c.Namespace = ""
		c.NamespaceFor = func(kiln string) string {
			if kiln == "team-a" {
				return ns
			}
			return kiln
		}
		c.ServiceAccountFor = func(wf *wfv1.Workflow) string { return "runner-" + wf.GenerateName[:len(wf.GenerateName)-1] }
		c.DefaultTTL = &wfv1.TTLStrategy{SecondsAfterCompletion: &ttl}
		c.DefaultPodGC = &wfv1.PodGC{Strategy: wfv1.PodGCOnWorkflowCompletion}
	}, ns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	wf := testWorkflow()
	wf.Namespace = "team-a"
	id, err := e.Submit(ctx, wf, engine.SubmitOptions{RunID: "run-0001", Parameters: map[string]string{"greeting": "hi"}})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	if id != "run-0001" {
		t.Errorf("run id = %q, want run-0001", id)
	}
	wfc := wfclientset.NewForConfigOrDie(env.Config)
	list, err := wfc.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRunID + "=run-0001"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list.Items) != 1 {
		t.Fatalf("found %d workflows labelled run-0001, want 1", len(list.Items))
	}
	got := list.Items[0]
	if !strings.HasPrefix(got.Name, "hello-") {
		t.Errorf("name = %q, want prefix hello-", got.Name)
	}
	type summary struct {
		ServiceAccount string
		Greeting       string
		TTL            *int32
		PodGC          wfv1.PodGCStrategy
		Templates      []string
		Depends        string
	}
	want := summary{"runner-hello", "hi", &ttl, wfv1.PodGCOnWorkflowCompletion, []string{"main", "echo"}, "a"}
	gotSum := summary{
		ServiceAccount: got.Spec.ServiceAccountName,
		Greeting:       got.Spec.Arguments.Parameters[0].Value.String(),
		PodGC:          got.Spec.PodGC.Strategy,
		Depends:        got.Spec.Templates[0].DAG.Tasks[1].Depends,
	}
	if got.Spec.TTLStrategy != nil {
		gotSum.TTL = got.Spec.TTLStrategy.SecondsAfterCompletion
	}
	for _, tm := range got.Spec.Templates {
		gotSum.Templates = append(gotSum.Templates, tm.Name)
	}
	if diff := cmp.Diff(want, gotSum); diff != "" {
		t.Errorf("created workflow (-want +got):\n%s", diff)
	}

	st, err := e.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Workflow != got.Name {
		t.Errorf("status workflow = %q, want %q", st.Workflow, got.Name)
	}

	t.Run("duplicate run id", func(t *testing.T) {
		if _, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "run-0001"}); err == nil {
			t.Error("second submit with the same run id succeeded")
		}
	})
	t.Run("unknown parameter", func(t *testing.T) {
		wf := testWorkflow()
		wf.Namespace = "team-a"
		_, err := e.Submit(ctx, wf, engine.SubmitOptions{Parameters: map[string]string{"nope": "x"}})
		if err == nil || !strings.Contains(err.Error(), `parameter "nope"`) {
			t.Errorf("err = %v, want unknown parameter nope", err)
		}
	})
	t.Run("unwatched namespace", func(t *testing.T) {
		wf := testWorkflow()
		wf.Namespace = "elsewhere"
		if _, err := e.Submit(ctx, wf, engine.SubmitOptions{}); err == nil {
			t.Error("submit to an unwatched namespace succeeded")
		}
	})
	t.Run("schema rejects wrong value", func(t *testing.T) {
		wf := testWorkflow()
		wf.Namespace = "team-a"
		wf.Spec.ArtifactGC = &wfv1.WorkflowLevelArtifactGC{ArtifactGC: wfv1.ArtifactGC{Strategy: "Sometimes"}} // not in the CRD's enum
		_, err := e.Submit(ctx, wf, engine.SubmitOptions{RunID: "rejected"})
		if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "spec.artifactGC.strategy") {
			t.Errorf("err = %v, want ErrRejected naming spec.artifactGC.strategy", err)
		}
		if _, err := e.Status(ctx, "rejected"); !errors.Is(err, engine.ErrRunNotFound) {
			t.Errorf("a rejected run is still known: %v", err)
		}
	})
	t.Run("unknown run", func(t *testing.T) {
		if _, err := e.Watch(ctx, "no-such-run"); !errors.Is(err, engine.ErrRunNotFound) {
			t.Errorf("watch err = %v, want ErrRunNotFound", err)
		}
	})
}

// TestStatusMapping drives a workflow's status as Argo's controller would
// and checks the engine's event stream and status snapshot.
func TestStatusMapping(t *testing.T) {
	env := kube.Shared(t)
	ns := newNamespace(t, env.Config)
	e := newTestEngine(t, env.Config, nil, ns)
	wfc := wfclientset.NewForConfigOrDie(env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	id, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "mapping"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.Status(ctx, id)
	name := st.Workflow
	ch, err := e.Watch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	// The controller picks the workflow up: the DAG node and task a run.
	updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
		wf.Status.Phase = wfv1.WorkflowRunning
		wf.Status.StartedAt = metav1.NewTime(t0)
		wf.Status.Progress = "0/2"
		wf.Status.Nodes = wfv1.Nodes{
			name:        node(name, name, name, wfv1.NodeTypeDAG, wfv1.NodeRunning, t0),
			name + "-a": node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeRunning, t0.Add(time.Second)),
		}
	})
	waitEvents(t, ch, 4, 20*time.Second) // Pending, DAG, a, Running
	// a succeeds with an output; b starts. A second, identical write must not
	// produce events.
	for range 2 {
		updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
			a := node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeSucceeded, t0.Add(time.Second))
			a.Outputs = &wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "out", Value: wfv1.AnyStringPtr("42")}}}
			a.Progress = "1/1"
			wf.Status.Nodes[name+"-a"] = a
			wf.Status.Nodes[name+"-b"] = node(name, name+"-b", "b", wfv1.NodeTypePod, wfv1.NodeRunning, t0.Add(3*time.Second))
			wf.Status.Progress = "1/2"
		})
	}
	// b fails; the run fails.
	updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
		b := node(name, name+"-b", "b", wfv1.NodeTypePod, wfv1.NodeFailed, t0.Add(3*time.Second))
		b.Message = "Error (exit code 1)"
		wf.Status.Nodes[name+"-b"] = b
		dag := node(name, name, name, wfv1.NodeTypeDAG, wfv1.NodeFailed, t0)
		dag.Message = "child 'b' failed"
		dag.FinishedAt = metav1.NewTime(t0.Add(5 * time.Second))
		wf.Status.Nodes[name] = dag
		wf.Status.Phase = wfv1.WorkflowFailed
		wf.Status.Message = "child 'b' failed"
		wf.Status.FinishedAt = metav1.NewTime(t0.Add(5 * time.Second))
	})
	rest := drain(t, ch, 20*time.Second)

	events, err := e.Watch(ctx, id) // a second watcher replays everything
	if err != nil {
		t.Fatal(err)
	}
	all := drain(t, events, 5*time.Second)
	want := []step{
		{Type: engine.EventRun, Phase: "Pending"},
		{Type: engine.EventNode, Node: name, Phase: "Running"},
		{Type: engine.EventNode, Node: "a", Phase: "Running"},
		{Type: engine.EventRun, Phase: "Running"},
		{Type: engine.EventNode, Node: "a", Phase: "Succeeded"},
		{Type: engine.EventNode, Node: "b", Phase: "Running"},
		{Type: engine.EventNode, Node: "b", Phase: "Failed", Message: "Error (exit code 1)"},
		{Type: engine.EventNode, Node: name, Phase: "Failed", Message: "child 'b' failed"},
		{Type: engine.EventRun, Phase: "Failed", Message: "child 'b' failed"},
	}
	if diff := cmp.Diff(want, steps(all)); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(want[4:], steps(rest)); diff != "" {
		t.Errorf("live events after the first four (-want +got):\n%s", diff)
	}
	for i, ev := range all {
		if ev.Seq != i+1 || ev.RunID != id {
			t.Errorf("event %d: seq %d run %q", i, ev.Seq, ev.RunID)
		}
	}
	if got := all[4].Node.Outputs.Parameters[0].Value.String(); got != "42" {
		t.Errorf("node a output = %q, want 42", got)
	}
	if !all[len(all)-1].Finished() {
		t.Error("last event is not the run's final event")
	}

	st, err = e.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if st.Status.Phase != wfv1.WorkflowFailed || len(st.Status.Nodes) != 3 || st.Status.Progress != "1/2" {
		t.Errorf("status = phase %s, %d nodes, progress %s; want Failed, 3, 1/2", st.Status.Phase, len(st.Status.Nodes), st.Status.Progress)
	}
}

func TestCancelTerminateRetryDelete(t *testing.T) {
	env := kube.Shared(t)
	ns := newNamespace(t, env.Config)
	e := newTestEngine(t, env.Config, nil, ns)
	wfc := wfclientset.NewForConfigOrDie(env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	shutdownOf := func(id string) wfv1.ShutdownStrategy {
		st, err := e.Status(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		wf, err := wfc.ArgoprojV1alpha1().Workflows(ns).Get(ctx, st.Workflow, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return wf.Spec.Shutdown
	}

	stopID, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "stop-me"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Cancel(ctx, stopID); err != nil {
		t.Fatal(err)
	}
	if got := shutdownOf(stopID); got != wfv1.ShutdownStrategyStop {
		t.Errorf("after Cancel shutdown = %q, want Stop", got)
	}
	termID, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "terminate-me"})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Terminate(ctx, termID); err != nil {
		t.Fatal(err)
	}
	if got := shutdownOf(termID); got != wfv1.ShutdownStrategyTerminate {
		t.Errorf("after Terminate shutdown = %q, want Terminate", got)
	}

	// Retry: refused while running, then resets the failed node.
	if err := e.Retry(ctx, stopID); !errors.Is(err, engine.ErrRunActive) {
		t.Errorf("retry of an active run: err = %v, want ErrRunActive", err)
	}
	st, _ := e.Status(ctx, stopID)
	name := st.Workflow
	t0 := time.Now().Add(-time.Minute).Truncate(time.Second)
	updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
		wf.Spec.Shutdown = ""
		wf.Status.Phase = wfv1.WorkflowFailed
		wf.Status.StartedAt = metav1.NewTime(t0)
		wf.Status.FinishedAt = metav1.NewTime(t0.Add(time.Minute))
		wf.Status.Nodes = wfv1.Nodes{
			name:        node(name, name, name, wfv1.NodeTypeDAG, wfv1.NodeFailed, t0),
			name + "-a": node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeSucceeded, t0),
			name + "-b": node(name, name+"-b", "b", wfv1.NodeTypePod, wfv1.NodeFailed, t0.Add(time.Second)),
		}
		wf.Status.Nodes[name] = withChildren(wf.Status.Nodes[name], name+"-a")
		wf.Status.Nodes[name+"-a"] = withChildren(wf.Status.Nodes[name+"-a"], name+"-b")
	})
	ch, _ := e.Watch(ctx, stopID)
	waitUntil(t, ch, func(ev engine.Event) bool { return ev.Finished() })
	if err := e.Retry(ctx, stopID); err != nil {
		t.Fatalf("retry: %v", err)
	}
	wf, err := wfc.ArgoprojV1alpha1().Workflows(ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if wf.Status.Phase != wfv1.WorkflowRunning {
		t.Errorf("after retry phase = %q, want Running", wf.Status.Phase)
	}
	if _, ok := wf.Status.Nodes[name+"-b"]; ok {
		t.Error("after retry the failed node b is still in the status")
	}
	if n, ok := wf.Status.Nodes[name+"-a"]; !ok || n.Phase != wfv1.NodeSucceeded {
		t.Errorf("after retry node a = %+v, want kept Succeeded", n)
	}

	// Delete ends the run's stream and removes the object.
	ch, _ = e.Watch(ctx, termID)
	if err := e.Delete(ctx, termID); err != nil {
		t.Fatal(err)
	}
	evs := drain(t, ch, 10*time.Second)
	last := evs[len(evs)-1]
	if last.Phase != wfv1.WorkflowError || !strings.Contains(last.Message, "deleted") {
		t.Errorf("last event after delete = %+v", stepOf(last))
	}
	if _, err := e.Status(ctx, termID); !errors.Is(err, engine.ErrRunNotFound) {
		t.Errorf("status after delete: err = %v, want ErrRunNotFound", err)
	}
	st, _ = e.Status(ctx, stopID)
	_ = st
	list, _ := wfc.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: LabelRunID + "=terminate-me"})
	if len(list.Items) != 0 {
		t.Errorf("workflow still present after delete")
	}
}

func withChildren(n wfv1.NodeStatus, children ...string) wfv1.NodeStatus {
	n.Children = children
	return n
}

// waitUntil reads events until one satisfies ok.
func waitUntil(t testing.TB, ch <-chan engine.Event, ok func(engine.Event) bool) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case ev, open := <-ch:
			if !open {
				t.Fatal("event stream closed before the awaited event")
			}
			if ok(ev) {
				return
			}
		case <-deadline:
			t.Fatal("timed out waiting for an event")
		}
	}
}

func TestLogsFromArchive(t *testing.T) {
	env := kube.Shared(t)
	ns := newNamespace(t, env.Config)
	e := newTestEngine(t, env.Config, nil, ns)
	wfc := wfclientset.NewForConfigOrDie(env.Config)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	const logText = "step b: loading data\nstep b: boom\n"
	repo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/logs/b/main.log" {
			http.NotFound(w, r)
			return
		}
		io.WriteString(w, logText)
	}))
	defer repo.Close()

	id, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{RunID: "logs"})
	if err != nil {
		t.Fatal(err)
	}
	st, _ := e.Status(ctx, id)
	name := st.Workflow
	t0 := time.Now().Truncate(time.Second)
	updateStatus(t, wfc, ns, name, func(wf *wfv1.Workflow) {
		b := node(name, name+"-b", "b", wfv1.NodeTypePod, wfv1.NodeFailed, t0)
		b.Outputs = &wfv1.Outputs{Artifacts: []wfv1.Artifact{{
			Name:             "main-logs",
			ArtifactLocation: wfv1.ArtifactLocation{HTTP: &wfv1.HTTPArtifact{URL: repo.URL + "/logs/b/main.log"}},
		}}}
		wf.Status.Phase = wfv1.WorkflowFailed
		wf.Status.FinishedAt = metav1.NewTime(t0)
		wf.Status.Nodes = wfv1.Nodes{
			name + "-a": node(name, name+"-a", "a", wfv1.NodeTypePod, wfv1.NodeSucceeded, t0),
			name + "-b": b,
		}
	})
	ch, _ := e.Watch(ctx, id)
	drain(t, ch, 20*time.Second)

	// The pod of b is gone (never existed here): the archived log is read.
	for _, key := range []string{"b", name + ".b", name + "-b"} {
		rc, err := e.Logs(ctx, id, key, false)
		if err != nil {
			t.Fatalf("logs of %s: %v", key, err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		if string(b) != logText {
			t.Errorf("logs of %s = %q, want %q", key, b, logText)
		}
	}
	// Without an archived log the error says what is missing.
	_, err = e.Logs(ctx, id, "a", false)
	if err == nil || !strings.Contains(err.Error(), "archiveLogs") {
		t.Errorf("logs of a: err = %v, want a hint at archiveLogs", err)
	}
	if _, err := e.Logs(ctx, id, "zzz", false); !errors.Is(err, engine.ErrNodeNotFound) {
		t.Errorf("logs of unknown node: err = %v, want ErrNodeNotFound", err)
	}
}

func TestTemplatesAndCron(t *testing.T) {
	env := kube.Shared(t)
	ns := newNamespace(t, env.Config)
	e := newTestEngine(t, env.Config, nil, ns)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	wf := testWorkflow()
	tmpl := &wfv1.WorkflowTemplate{ObjectMeta: metav1.ObjectMeta{Name: "hello-v1", Namespace: ns}, Spec: wf.Spec}
	got, err := e.PublishTemplate(ctx, tmpl)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	tmpl.Spec.Arguments.Parameters[0].Value = wfv1.AnyStringPtr("bonjour")
	got2, err := e.PublishTemplate(ctx, tmpl)
	if err != nil {
		t.Fatalf("republish: %v", err)
	}
	if got2.ResourceVersion == got.ResourceVersion || got2.Spec.Arguments.Parameters[0].Value.String() != "bonjour" {
		t.Errorf("republished template not updated: %+v", got2.Spec.Arguments)
	}
	bad := tmpl.DeepCopy()
	bad.Name = "bad"
	bad.Spec.ArtifactGC = &wfv1.WorkflowLevelArtifactGC{ArtifactGC: wfv1.ArtifactGC{Strategy: "Sometimes"}}
	if _, err := e.PublishTemplate(ctx, bad); !errors.Is(err, ErrRejected) {
		t.Errorf("publish invalid template: err = %v, want ErrRejected", err)
	}

	cw := &wfv1.CronWorkflow{
		ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: ns},
		Spec: wfv1.CronWorkflowSpec{
			Schedules:        []string{"0 2 * * *"},
			WorkflowSpec:     wfv1.WorkflowSpec{WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: "hello-v1"}},
			WorkflowMetadata: &metav1.ObjectMeta{Labels: map[string]string{"kiln.dev/recurring-run": "nightly"}},
		},
	}
	if _, err := e.ScheduleCron(ctx, cw); err != nil {
		t.Fatalf("schedule: %v", err)
	}
	cw.Spec.Schedules = []string{"0 3 * * *"}
	out, err := e.ScheduleCron(ctx, cw)
	if err != nil {
		t.Fatalf("reschedule: %v", err)
	}
	if diff := cmp.Diff([]string{"0 3 * * *"}, out.Spec.Schedules); diff != "" {
		t.Errorf("schedules (-want +got):\n%s", diff)
	}
	if err := e.DeleteCron(ctx, ns, "nightly"); err != nil {
		t.Fatal(err)
	}
	if err := e.DeleteTemplate(ctx, ns, "hello-v1"); err != nil {
		t.Fatal(err)
	}
	wfc := wfclientset.NewForConfigOrDie(env.Config)
	if l, _ := wfc.ArgoprojV1alpha1().CronWorkflows(ns).List(ctx, metav1.ListOptions{}); len(l.Items) != 0 {
		t.Errorf("%d cron workflows left after delete", len(l.Items))
	}
}

// TestKubeconfigDiscovery connects through $KUBECONFIG, as kubectl would.
func TestKubeconfigDiscovery(t *testing.T) {
	env := kube.Shared(t)
	path, err := env.Kubeconfig()
	if err != nil {
		t.Fatal(err)
	}
	ns := newNamespace(t, env.Config)
	t.Setenv("KUBECONFIG", path)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e, err := New(ctx, Config{Namespaces: []string{ns}, Namespace: ns})
	if err != nil {
		t.Fatalf("new engine from KUBECONFIG: %v", err)
	}
	defer e.Close()
	if _, err := e.Submit(ctx, testWorkflow(), engine.SubmitOptions{}); err != nil {
		t.Fatalf("submit: %v", err)
	}
	if _, err := New(ctx, Config{Kubeconfig: path + ".missing"}); err == nil {
		t.Error("an explicit missing kubeconfig was accepted")
	}
}

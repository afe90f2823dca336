package argo

import (
	"context"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

func TestMain(m *testing.M) {
	code := kube.Main(m)
	if private.env != nil {
		private.env.Stop()
	}
	os.Exit(code)
}

var nsCounter atomic.Int64

// newNamespace creates a fresh namespace for one test.
func newNamespace(t testing.TB, cfg *rest.Config) string {
	t.Helper()
	name := fmt.Sprintf("t%d-%s", nsCounter.Add(1), strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())))
	if len(name) > 50 {
		name = name[:50]
	}
	name = strings.TrimRight(name, "-")
	cs := kubernetes.NewForConfigOrDie(cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// newTestEngine starts an engine on env's API server that watches ns.
func newTestEngine(t testing.TB, cfg *rest.Config, mut func(*Config), ns ...string) *Engine {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := Config{RestConfig: cfg, Namespaces: ns}
	if len(ns) > 0 {
		c.Namespace = ns[0]
	}
	if mut != nil {
		mut(&c)
	}
	e, err := New(ctx, c)
	if err != nil {
		t.Fatalf("new engine: %v", err)
	}
	t.Cleanup(e.Close)
	return e
}

// testWorkflow is a compiled two-task pipeline: b depends on a.
func testWorkflow() *wfv1.Workflow {
	return &wfv1.Workflow{
		TypeMeta:   metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"},
		ObjectMeta: metav1.ObjectMeta{GenerateName: "hello-"},
		Spec: wfv1.WorkflowSpec{
			Entrypoint: "main",
			Arguments:  wfv1.Arguments{Parameters: []wfv1.Parameter{{Name: "greeting", Value: wfv1.AnyStringPtr("hello")}}},
			Templates: []wfv1.Template{
				{Name: "main", DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{
					{Name: "a", Template: "echo"},
					{Name: "b", Template: "echo", Depends: "a"},
				}}},
				{Name: "echo", Container: &corev1.Container{
					Image: "busybox", Command: []string{"echo", "{{workflow.parameters.greeting}}"},
				}},
			},
		},
	}
}

// updateStatus writes the workflow's status with a plain update, as Argo's
// controller does (the Workflow CRD has no status subresource).
func updateStatus(t testing.TB, wfc wfclientset.Interface, ns, name string, mut func(*wfv1.Workflow)) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		wf, err := wfc.ArgoprojV1alpha1().Workflows(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("get workflow %s/%s: %v", ns, name, err)
		}
		mut(wf)
		_, err = wfc.ArgoprojV1alpha1().Workflows(ns).Update(ctx, wf, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			continue
		}
		if err != nil {
			t.Fatalf("update workflow status: %v", err)
		}
		return
	}
}

// step is an event reduced to what status-mapping tests compare.
type step struct {
	Type    engine.EventType
	Node    string // display name for node events
	Phase   string
	Message string
}

func stepOf(ev engine.Event) step {
	if ev.Type == engine.EventNode {
		return step{Type: ev.Type, Node: ev.Node.DisplayName, Phase: string(ev.Node.Phase), Message: ev.Node.Message}
	}
	return step{Type: ev.Type, Phase: string(ev.Phase), Message: ev.Message}
}

// waitEvents reads events from ch until n have arrived (or the channel
// closes), failing after timeout.
func waitEvents(t testing.TB, ch <-chan engine.Event, n int, timeout time.Duration) []engine.Event {
	t.Helper()
	var got []engine.Event
	deadline := time.After(timeout)
	for len(got) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("timed out after %v waiting for %d events; got %d: %+v", timeout, n, len(got), steps(got))
		}
	}
	return got
}

// drain reads events until the channel closes.
func drain(t testing.TB, ch <-chan engine.Event, timeout time.Duration) []engine.Event {
	t.Helper()
	var got []engine.Event
	deadline := time.After(timeout)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return got
			}
			got = append(got, ev)
		case <-deadline:
			t.Fatalf("timed out after %v waiting for the run to finish; got: %+v", timeout, steps(got))
		}
	}
}

func steps(evs []engine.Event) []step {
	out := make([]step, len(evs))
	for i, ev := range evs {
		out[i] = stepOf(ev)
	}
	return out
}

// node builds a node status for simulated controller updates.
func node(wfName, id, display string, typ wfv1.NodeType, phase wfv1.NodePhase, started time.Time) wfv1.NodeStatus {
	n := wfv1.NodeStatus{
		ID: id, Name: wfName + "." + display, DisplayName: display, Type: typ, Phase: phase,
		TemplateName: "echo", StartedAt: metav1.NewTime(started),
	}
	if display == wfName {
		n.Name, n.TemplateName = wfName, "main"
	}
	if phase.Fulfilled(nil) {
		n.FinishedAt = metav1.NewTime(started.Add(time.Second))
	}
	return n
}

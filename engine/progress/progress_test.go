package progress

import (
	"bytes"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kilnml/kiln/engine"
)

func node(id, display string, typ wfv1.NodeType, phase wfv1.NodePhase, start time.Time, secs int, children ...string) *wfv1.NodeStatus {
	n := &wfv1.NodeStatus{ID: id, Name: "wf." + display, DisplayName: display, Type: typ, Phase: phase, StartedAt: metav1.NewTime(start), Children: children}
	if secs > 0 {
		n.FinishedAt = metav1.NewTime(start.Add(time.Duration(secs) * time.Second))
	}
	return n
}

func TestTree(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out bytes.Buffer
	r := New(&out, Options{TTY: false})
	r.now = func() time.Time { return t0.Add(5 * time.Second) }
	events := []*wfv1.NodeStatus{
		node("root", "wf", wfv1.NodeTypeDAG, wfv1.NodeRunning, t0, 0, "a", "b"),
		node("a", "a", wfv1.NodeTypeRetry, wfv1.NodeSucceeded, t0, 3, "a0", "a1"),
		node("a0", "a(0)", wfv1.NodeTypePod, wfv1.NodeFailed, t0, 1),
		node("a1", "a(1)", wfv1.NodeTypePod, wfv1.NodeSucceeded, t0.Add(time.Second), 2),
		node("b", "b", wfv1.NodeTypeSkipped, wfv1.NodeSkipped, t0, 0),
	}
	events[2].Message = "Error (exit code 1)"
	events[4].Message = "when 'false' evaluated false"
	for _, n := range events {
		r.Handle(engine.Event{Type: engine.EventNode, Node: n, Time: t0})
	}
	r.Close()
	want := []string{
		"● wf (5s)",
		"  ✔ a (3s, retries: 1)",
		"    ✖ a(0) (1s, Error (exit code 1))",
		"    ✔ a(1) (2s)",
		"  ○ b (5s, when 'false' evaluated false)",
	}
	if diff := cmp.Diff(want, r.Lines()); diff != "" {
		t.Errorf("tree (-want +got):\n%s", diff)
	}
	if got := strings.Count(out.String(), "\n"); got != 5 {
		t.Errorf("plain mode printed %d lines, want one per node phase:\n%s", got, out.String())
	}
	if strings.Contains(out.String(), "\x1b[") {
		t.Errorf("plain mode wrote ANSI escapes")
	}
}

func TestTTYRedrawsInPlace(t *testing.T) {
	var out bytes.Buffer
	r := New(&out, Options{TTY: true, Interval: time.Hour})
	t0 := time.Now()
	r.Handle(engine.Event{Type: engine.EventNode, Node: node("root", "wf", wfv1.NodeTypePod, wfv1.NodeRunning, t0, 0)})
	r.mu.Lock()
	r.drawLocked()
	r.mu.Unlock()
	r.Handle(engine.Event{Type: engine.EventNode, Node: node("root", "wf", wfv1.NodeTypePod, wfv1.NodeSucceeded, t0, 1)})
	r.Handle(engine.Event{Type: engine.EventRun, Phase: wfv1.WorkflowSucceeded})
	r.Close()
	s := out.String()
	if !strings.Contains(s, "\x1b[2A") {
		t.Errorf("second frame does not move the cursor up over the first: %q", s)
	}
	if !strings.Contains(s, "✔ wf (1s)") || !strings.Contains(s, "Workflow Succeeded") {
		t.Errorf("final frame missing: %q", s)
	}
}

package local

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/engine"
)

func TestFailureCases(t *testing.T) {
	marker := filepath.Join(t.TempDir(), "attempts")
	tests := []struct {
		name       string
		doc        string
		wantPhase  wfv1.WorkflowPhase
		wantNodes  map[string]wfv1.NodePhase
		wantInNode map[string]string // display name → substring of message
	}{
		{
			name: "failing command",
			doc: `
metadata: {name: fail}
spec:
  entrypoint: main
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "echo boom; exit 3"]}
`,
			wantPhase:  wfv1.WorkflowFailed,
			wantNodes:  map[string]wfv1.NodePhase{"fail": wfv1.NodeFailed},
			wantInNode: map[string]string{"fail": "exit code 3"},
		},
		{
			name: "timeout",
			doc: `
metadata: {name: timeout}
spec:
  entrypoint: main
  templates:
  - name: main
    activeDeadlineSeconds: 1
    container: {image: alpine, command: [sleep, "30"]}
`,
			wantPhase:  wfv1.WorkflowFailed,
			wantNodes:  map[string]wfv1.NodePhase{"timeout": wfv1.NodeFailed},
			wantInNode: map[string]string{"timeout": "deadline"},
		},
		{
			name: "retries that eventually succeed",
			doc: `
metadata: {name: retry}
spec:
  entrypoint: main
  templates:
  - name: main
    retryStrategy: {limit: "4", backoff: {duration: "10ms", factor: "2"}}
    script:
      image: alpine
      command: [sh]
      source: |
        echo x >> ` + marker + `
        test $(wc -l < ` + marker + `) -ge 3
`,
			wantPhase: wfv1.WorkflowSucceeded,
			wantNodes: map[string]wfv1.NodePhase{
				"retry": wfv1.NodeSucceeded, "retry(0)": wfv1.NodeFailed, "retry(1)": wfv1.NodeFailed, "retry(2)": wfv1.NodeSucceeded,
			},
		},
		{
			name: "exit handler after failure",
			doc: `
metadata: {name: exit}
spec:
  entrypoint: main
  onExit: handler
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "exit 1"]}
  - name: handler
    container: {image: alpine, command: [sh, -c, 'test "{{workflow.status}}" = Failed && echo {{workflow.failures}}']}
`,
			wantPhase:  wfv1.WorkflowFailed,
			wantNodes:  map[string]wfv1.NodePhase{"exit": wfv1.NodeFailed, "exit.onExit": wfv1.NodeSucceeded},
			wantInNode: map[string]string{"exit": "exit code 1"},
		},
		{
			name: "workflow deadline still runs the exit handler",
			doc: `
metadata: {name: wfdeadline}
spec:
  entrypoint: main
  activeDeadlineSeconds: 1
  onExit: handler
  templates:
  - name: main
    steps:
    - - {name: slow, template: slow}
  - name: slow
    retryStrategy: {limit: "2"}
    container: {image: alpine, command: [sh, -c, "echo attempt {{retries}} last={{lastRetry.exitCode}}; sleep 30"]}
  - name: handler
    container: {image: alpine, command: [sh, -c, 'test "{{workflow.status}}" = Failed']}
`,
			wantPhase: wfv1.WorkflowFailed,
			wantNodes: map[string]wfv1.NodePhase{
				"wfdeadline": wfv1.NodeFailed, "[0]": wfv1.NodeFailed, "slow": wfv1.NodeFailed, "slow(0)": wfv1.NodeFailed,
				"wfdeadline.onExit": wfv1.NodeSucceeded,
			},
			wantInNode: map[string]string{"slow(0)": "deadline"},
		},
		{
			name: "when that skips",
			doc: `
metadata: {name: when}
spec:
  entrypoint: main
  arguments: {parameters: [{name: go, value: "no"}]}
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: ok, when: "{{workflow.parameters.go}} == yes"}
      - {name: b, template: ok, depends: a}
      - {name: c, template: ok, depends: a.Skipped}
  - name: ok
    container: {image: alpine, command: ["true"]}
`,
			wantPhase:  wfv1.WorkflowSucceeded,
			wantNodes:  map[string]wfv1.NodePhase{"when": wfv1.NodeSucceeded, "a": wfv1.NodeSkipped, "b": wfv1.NodeSucceeded, "c": wfv1.NodeSucceeded},
			wantInNode: map[string]string{"a": "evaluated false"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := runYAML(t, newTestEngine(t), tc.doc, nil)
			if st.Status.Phase != tc.wantPhase {
				t.Errorf("phase = %s (%s), want %s", st.Status.Phase, st.Status.Message, tc.wantPhase)
			}
			if diff := cmp.Diff(tc.wantNodes, nodePhases(st)); diff != "" {
				t.Errorf("node phases (-want +got):\n%s", diff)
			}
			for name, sub := range tc.wantInNode {
				if n := nodeByDisplay(t, st, name); !strings.Contains(n.Message, sub) {
					t.Errorf("node %s message %q, want it to contain %q", name, n.Message, sub)
				}
			}
		})
	}
}

func TestCancelRunsExitHandlerAndKillsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "child.pid")
	e := New(Options{WorkDir: dir})
	wf, err := engine.ParseWorkflow([]byte(`
metadata: {name: cancel}
spec:
  entrypoint: main
  onExit: handler
  templates:
  - name: main
    steps:
    - - {name: sleeper, template: sleep}
    - - {name: never, template: ok}
  - name: sleep
    container: {image: alpine, command: [sh, -c, "sleep 60 & echo $! > ` + pidFile + `; wait"]}
  - name: ok
    container: {image: alpine, command: ["true"]}
  - name: handler
    container: {image: alpine, command: [sh, -c, "echo status={{workflow.status}}"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	id, err := e.Submit(ctx, wf, engine.SubmitOptions{})
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(pidFile); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("sleeper never started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := e.Cancel(ctx, id); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := e.Wait(wctx, id)
	if err != nil {
		t.Fatalf("run did not stop: %v", err)
	}
	if st.Status.Phase != wfv1.WorkflowFailed {
		t.Errorf("phase = %s, want Failed", st.Status.Phase)
	}
	got := nodePhases(st)
	if got["sleeper"] != wfv1.NodeFailed || got["cancel.onExit"] != wfv1.NodeSucceeded {
		t.Errorf("nodes = %v, want sleeper Failed and cancel.onExit Succeeded", got)
	}
	if _, ok := got["never"]; ok {
		t.Errorf("step after the cancelled one ran: %v", got)
	}
	rc, err := e.Logs(ctx, id, "cancel.onExit", false)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 100)
	n, _ := rc.Read(b)
	rc.Close()
	if !strings.Contains(string(b[:n]), "status=Failed") {
		t.Errorf("exit handler log %q, want status=Failed", b[:n])
	}
	pid := strings.TrimSpace(string(must(os.ReadFile(pidFile))))
	if alive(pid, 3*time.Second) {
		t.Errorf("background child %s of the cancelled node is still alive", pid)
	}
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// alive reports whether a process is still running (not gone or a zombie)
// after waiting up to d.
func alive(pid string, d time.Duration) bool {
	end := time.Now().Add(d)
	for {
		b, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return false
		}
		if f := strings.Fields(string(b)); len(f) > 2 && f[2] == "Z" {
			return false
		}
		if time.Now().After(end) {
			return true
		}
		time.Sleep(50 * time.Millisecond)
	}
}

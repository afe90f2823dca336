package compiler_test

import (
	"context"
	"math"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/engine/local"
	"github.com/kilnml/kiln/internal/entrypoint"
)

// TestMain lets this test binary serve as the pipeline program when the local engine runs a
// Go-function component: the engine calls it as `BINARY component NAME ...`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "component" {
		os.Exit(runComponent(os.Args[2:]))
	}
	os.Exit(m.Run())
}

func runComponent(args []string) int {
	req, err := entrypoint.ParseArgs(args)
	if err != nil {
		os.Stderr.WriteString(err.Error() + "\n")
		return 2
	}
	for _, sh := range shapes {
		if c := entrypoint.Find(sh.build().Graph(), req.Component); c != nil {
			if err := entrypoint.Run(context.Background(), c, req); err != nil {
				os.Stderr.WriteString(err.Error() + "\n")
				return 1
			}
			return 0
		}
	}
	os.Stderr.WriteString("no component " + req.Component + "\n")
	return 2
}

// localExpect is what running a golden shape locally must give.
type localExpect struct {
	// phases maps node display names to phases; unlisted nodes must have succeeded or been
	// skipped by a condition.
	phases map[string]wfv1.NodePhase
	// outputs maps "node.parameter" to its value.
	outputs map[string]string
	// rejected is set when the local engine must refuse the workflow before it starts.
	rejected string
}

var localExpectations = map[string]localExpect{
	"hello":          {outputs: map[string]string{"square.y": "9", "square-2.y": "81"}},
	"fan-in":         {outputs: map[string]string{"sum.total": "14"}},
	"fan-in-structs": {outputs: map[string]string{"sum-rates.y": "1.4", "sum-dag.y": "1.4"}},
	"if-else": {
		phases: map[string]wfv1.NodePhase{"ship": wfv1.NodeSucceeded, "retrain": wfv1.NodeSkipped},
	},
	"nested-if": {
		phases: map[string]wfv1.NodePhase{"train": wfv1.NodeSucceeded, "notify": wfv1.NodeSucceeded},
	},
	"sweep": {
		phases:  map[string]wfv1.NodePhase{"notify": wfv1.NodeSucceeded},
		outputs: map[string]string{"sum.total": "1.71"},
	},
	"nested-pipeline":     {outputs: map[string]string{"small-lr.verdict": "good"}},
	"nested-loop-imports": {outputs: map[string]string{"sweep-sub.best": "1.71"}},
	"condition-input":     {phases: map[string]wfv1.NodePhase{"notify": wfv1.NodeSucceeded}},
	"container":           {outputs: map[string]string{"echo.said": "hello world"}},
	"container-artifacts": {outputs: map[string]string{"wc.lines": "100", "wc-again.lines": "100"}},
	"exit-handler":        {phases: map[string]wfv1.NodePhase{"report": wfv1.NodeSucceeded}},
	"caching":             {rejected: ""},
	"env-secrets-volumes": {rejected: "secret"},
}

// TestGoldenRunLocally runs every golden pipeline with the local engine: what a user debugs on
// a laptop is the document Argo runs.
func TestGoldenRunLocally(t *testing.T) {
	if testing.Short() {
		t.Skip("runs processes")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	eng := local.New(local.Options{WorkDir: t.TempDir(), PipelineBinary: self})
	for _, sh := range shapes {
		t.Run(sh.name, func(t *testing.T) {
			want := localExpectations[sh.name]
			res, err := compiler.Compile(sh.build(), compiler.Options{Kind: sh.kind, Params: sh.params})
			if err != nil {
				t.Fatal(err)
			}
			wf := &wfv1.Workflow{Spec: *res.Spec()}
			wf.GenerateName = sh.name + "-"
			var params map[string]string
			if sh.kind == compiler.KindTemplate {
				params = map[string]string{"rows": "5"}
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			id, err := eng.Submit(ctx, wf, engine.SubmitOptions{Parameters: params})
			if want.rejected != "" {
				if err == nil || !strings.Contains(err.Error(), want.rejected) {
					t.Fatalf("submit: got error %v, want one mentioning %q", err, want.rejected)
				}
				return
			}
			if err != nil {
				t.Fatalf("submit: %v", err)
			}
			st := waitRun(ctx, t, eng, id)
			byName := map[string]wfv1.NodeStatus{}
			for _, n := range st.Status.Nodes {
				byName[n.DisplayName] = n
			}
			if st.Status.Phase != wfv1.WorkflowSucceeded {
				for _, n := range st.Status.Nodes {
					t.Logf("node %s: %s %s", n.DisplayName, n.Phase, n.Message)
				}
				t.Fatalf("run ended %s: %s", st.Status.Phase, st.Status.Message)
			}
			for name, phase := range want.phases {
				if got := byName[name].Phase; got != phase {
					t.Errorf("node %s: phase %q, want %q", name, got, phase)
				}
			}
			for key, value := range want.outputs {
				node, param, _ := strings.Cut(key, ".")
				n, ok := byName[node]
				if !ok || n.Outputs == nil {
					t.Errorf("node %s: no outputs", node)
					continue
				}
				got := ""
				for _, p := range n.Outputs.Parameters {
					if p.Name == param && p.Value != nil {
						got = p.Value.String()
					}
				}
				if !sameValue(got, value) {
					t.Errorf("%s = %q, want %q", key, got, value)
				}
			}
		})
	}
}

// sameValue compares outputs, numbers within rounding.
func sameValue(got, want string) bool {
	g, err1 := strconv.ParseFloat(strings.TrimSpace(got), 64)
	w, err2 := strconv.ParseFloat(want, 64)
	if err1 == nil && err2 == nil {
		return math.Abs(g-w) < 1e-9
	}
	return strings.TrimSpace(got) == want
}

// waitRun waits for run id of eng to finish and returns its status.
func waitRun(ctx context.Context, t *testing.T, eng engine.Engine, id string) *engine.RunStatus {
	t.Helper()
	events, err := eng.Watch(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	for ev := range events {
		if ev.Finished() {
			break
		}
	}
	st, err := eng.Status(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

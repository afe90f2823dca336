// Package kilntest runs pipelines in tests: the test binary doubles as the pipeline program, so
// a test can run a whole pipeline with the local engine and assert on its nodes and outputs.
//
//	func TestMain(m *testing.M) { kilntest.Main(m, pipeline) }
//
//	func TestPipeline(t *testing.T) {
//		run := kilntest.Run(t, pipeline, map[string]string{"rows": "10"})
//		if run.Phase != wfv1.WorkflowSucceeded { ... }
//		fmt.Println(run.Output("train", "accuracy"))
//	}
package kilntest

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/engine/local"
	"github.com/kilnml/kiln/internal/entrypoint"
)

// Main is TestMain for packages that run pipelines: when the local engine calls the test binary
// to run a Go-function component of one of pipelines, it runs the component and exits; otherwise
// it runs the tests.
func Main(m *testing.M, pipelines ...*dsl.Pipeline) {
	if len(os.Args) > 1 && os.Args[1] == "component" {
		os.Exit(component(pipelines, os.Args[2:]))
	}
	os.Exit(m.Run())
}

func component(pipelines []*dsl.Pipeline, args []string) int {
	req, err := entrypoint.ParseArgs(args)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	for _, p := range pipelines {
		if c := entrypoint.Find(p.Graph(), req.Component); c != nil {
			if err := entrypoint.Run(context.Background(), c, req); err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(os.Stderr, "no Go component %q in the pipelines given to kilntest.Main\n", req.Component)
	return 2
}

// Result is a finished local run.
type Result struct {
	Phase   wfv1.WorkflowPhase
	Message string
	// Nodes are the run's nodes by display name (loop iterations are named "task(i:item)").
	Nodes map[string]wfv1.NodeStatus
	// Dir is the run's directory: logs and artifacts.
	Dir string
}

// Output returns the value of output parameter name of the node with the given display name,
// and whether it was found.
func (r *Result) Output(node, name string) (string, bool) {
	n, ok := r.Nodes[node]
	if !ok || n.Outputs == nil {
		return "", false
	}
	for _, p := range n.Outputs.Parameters {
		if p.Name == name && p.Value != nil {
			return p.Value.String(), true
		}
	}
	return "", false
}

// Run compiles p as a Workflow and runs it with the local engine, Go-function components
// running in this test binary (see Main). params override pipeline inputs. It fails the test if
// the pipeline does not compile or the run cannot start; the run's own outcome is in the Result.
func Run(t testing.TB, p *dsl.Pipeline, params map[string]string) *Result {
	t.Helper()
	res, err := compiler.Compile(p, compiler.Options{Image: "local", Params: params})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	if err := compiler.ValidateArgo(context.Background(), res); err != nil {
		t.Fatalf("%v", err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	eng := local.New(local.Options{WorkDir: t.TempDir(), PipelineBinary: self})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	id, err := eng.Submit(ctx, res.Workflow, engine.SubmitOptions{})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	events, err := eng.Watch(ctx, id)
	if err != nil {
		t.Fatalf("watch: %v", err)
	}
	for ev := range events {
		if ev.Finished() {
			break
		}
	}
	st, err := eng.Status(ctx, id)
	if err != nil {
		t.Fatalf("status: %v", err)
	}
	out := &Result{Phase: st.Status.Phase, Message: st.Status.Message, Nodes: map[string]wfv1.NodeStatus{}, Dir: st.Dir}
	for _, n := range st.Status.Nodes {
		out.Nodes[n.DisplayName] = n
	}
	return out
}

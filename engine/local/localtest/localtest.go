// Package localtest runs workflows on the local engine from tests: submit,
// wait, and fail the test on anything but a completed run. The compiler's
// golden-pipeline tests use it to execute what they compile.
package localtest

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/engine/local"
)

// Options configure Run. The zero value runs in a test temp directory with
// no pipeline binary and a one-minute limit.
type Options struct {
	// Engine options; WorkDir defaults to t.TempDir().
	Engine local.Options
	// Parameters override spec.arguments.parameters.
	Parameters map[string]string
	// Timeout bounds the run (default 1 minute); on expiry the run is
	// cancelled and the test fails.
	Timeout time.Duration
}

// Run submits wf to a fresh local engine, waits for it to finish and returns
// its final status. It fails the test if the workflow is rejected or does not
// finish in time; the phase is left for the caller to check. On failure the
// logs of failed nodes are written to the test log.
func Run(t testing.TB, wf *wfv1.Workflow, opts Options) *engine.RunStatus {
	t.Helper()
	if opts.Engine.WorkDir == "" {
		opts.Engine.WorkDir = t.TempDir()
	}
	if opts.Timeout == 0 {
		opts.Timeout = time.Minute
	}
	e := local.New(opts.Engine)
	ctx, cancel := context.WithTimeout(context.Background(), opts.Timeout)
	defer cancel()
	id, err := e.Submit(ctx, wf, engine.SubmitOptions{Parameters: opts.Parameters})
	if err != nil {
		t.Fatalf("submit %s: %v", wf.Name+wf.GenerateName, err)
	}
	st, err := e.Wait(ctx, id)
	if err != nil {
		_ = e.Cancel(context.Background(), id)
		st, _ = e.Wait(context.Background(), id)
		t.Fatalf("run %s did not finish within %s (nodes: %v)", id, opts.Timeout, phases(st))
	}
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		for _, n := range st.Status.Nodes {
			if n.Type == wfv1.NodeTypePod && n.Phase.FailedOrError() {
				t.Logf("node %s %s: %s (logs in %s/logs/%s.log)", n.Name, n.Phase, n.Message, st.Dir, n.ID)
			}
		}
	}
	return st
}

func phases(st *engine.RunStatus) map[string]wfv1.NodePhase {
	out := map[string]wfv1.NodePhase{}
	if st == nil {
		return out
	}
	for _, n := range st.Status.Nodes {
		out[n.Name] = n.Phase
	}
	return out
}

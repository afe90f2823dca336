package local

import (
	"context"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/engine"
)

// runYAML parses and runs a workflow to completion and returns its status.
func runYAML(t *testing.T, e *Engine, doc string, params map[string]string) *engine.RunStatus {
	t.Helper()
	wf, err := engine.ParseWorkflow([]byte(doc))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return runWF(t, e, wf, params)
}

func runWF(t *testing.T, e *Engine, wf *wfv1.Workflow, params map[string]string) *engine.RunStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	id, err := e.Submit(ctx, wf, engine.SubmitOptions{Parameters: params})
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	st, err := e.Wait(ctx, id)
	if err != nil {
		t.Fatalf("wait: %v", err)
	}
	return st
}

func newTestEngine(t *testing.T) *Engine {
	t.Helper()
	return New(Options{WorkDir: t.TempDir()})
}

// nodePhases maps display names of the run's nodes to their phases.
func nodePhases(st *engine.RunStatus) map[string]wfv1.NodePhase {
	out := map[string]wfv1.NodePhase{}
	for _, n := range st.Status.Nodes {
		out[n.DisplayName] = n.Phase
	}
	return out
}

// nodeByDisplay finds a node by display name.
func nodeByDisplay(t *testing.T, st *engine.RunStatus, name string) wfv1.NodeStatus {
	t.Helper()
	for _, n := range st.Status.Nodes {
		if n.DisplayName == name {
			return n
		}
	}
	t.Fatalf("no node %q in %v", name, nodePhases(st))
	return wfv1.NodeStatus{}
}

package main

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/kilntest"
)

func TestMain(m *testing.M) { kilntest.Main(m, pipeline) }

func TestNested(t *testing.T) {
	run := kilntest.Run(t, pipeline, nil)
	if run.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("run %s: %s", run.Phase, run.Message)
	}
	if got, _ := run.Output("total", "words"); got != "11" {
		t.Errorf("total.words = %q, want 11", got)
	}
	if got := run.Nodes["report"].Phase; got != wfv1.NodeSucceeded {
		t.Errorf("exit handler: %s, want Succeeded", got)
	}
}

func TestNestedFailureStillReports(t *testing.T) {
	run := kilntest.Run(t, pipeline, map[string]string{"fail": "true"})
	if run.Phase != wfv1.WorkflowFailed {
		t.Fatalf("run %s, want Failed", run.Phase)
	}
	if got := run.Nodes["report"].Phase; got != wfv1.NodeSucceeded {
		t.Errorf("exit handler after failure: %s, want Succeeded", got)
	}
	if got := run.Nodes["total"].Phase; got == wfv1.NodeSucceeded {
		t.Errorf("total ran although its input failed")
	}
}

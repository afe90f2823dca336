package main

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/kilntest"
)

func TestMain(m *testing.M) { kilntest.Main(m, pipeline) }

func TestHello(t *testing.T) {
	run := kilntest.Run(t, pipeline, map[string]string{"name": "Ada"})
	if run.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("run %s: %s", run.Phase, run.Message)
	}
	if got, _ := run.Output("shout", "loud"); got != "HELLO, ADA!" {
		t.Errorf("shout.loud = %q, want %q", got, "HELLO, ADA!")
	}
}

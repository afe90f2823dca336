package main

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/kilntest"
)

func TestMain(m *testing.M) { kilntest.Main(m, pipeline) }

func TestContainers(t *testing.T) {
	run := kilntest.Run(t, pipeline, map[string]string{"words": "to be or not to be"})
	if run.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("run %s: %s", run.Phase, run.Message)
	}
	for name, want := range map[string]string{"lines": "6", "unique": "4"} {
		if got, _ := run.Output("count", name); got != want {
			t.Errorf("count.%s = %q, want %q", name, got, want)
		}
	}
}

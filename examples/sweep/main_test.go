package main

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/kilntest"
)

func TestMain(m *testing.M) { kilntest.Main(m, pipeline) }

func TestSweep(t *testing.T) {
	tests := []struct {
		name    string
		params  map[string]string
		publish wfv1.NodePhase
	}{
		{"good enough", map[string]string{"rates": "[0.01,0.1,1.2]"}, wfv1.NodeSucceeded},
		{"target too high", map[string]string{"rates": "[0.0001,0.0002]", "target": "0.99"}, wfv1.NodeSkipped},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			run := kilntest.Run(t, pipeline, tc.params)
			if run.Phase != wfv1.WorkflowSucceeded {
				t.Fatalf("run %s: %s", run.Phase, run.Message)
			}
			if got := run.Nodes["publish"].Phase; got != tc.publish {
				t.Errorf("publish: %s, want %s", got, tc.publish)
			}
		})
	}
	run := kilntest.Run(t, pipeline, map[string]string{"rates": "[0.01,0.1,1.2]"})
	if lr, _ := run.Output("best", "lr"); lr != "0.1" {
		t.Errorf("best lr = %q, want 0.1", lr)
	}
}

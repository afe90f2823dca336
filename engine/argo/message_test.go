package argo

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

func TestRunMessage(t *testing.T) {
	nodes := wfv1.Nodes{
		"w":   {ID: "w", DisplayName: "w", Type: wfv1.NodeTypeDAG, Phase: wfv1.NodeFailed},
		"w-1": {ID: "w-1", DisplayName: "split", Type: wfv1.NodeTypePod, Phase: wfv1.NodeFailed, Message: "main: Error (exit code 1)"},
		"w-2": {ID: "w-2", DisplayName: "import", Type: wfv1.NodeTypePod, Phase: wfv1.NodeSucceeded},
		"w-3": {ID: "w-3", DisplayName: "fetch", Type: wfv1.NodeTypePod, Phase: wfv1.NodeError},
		"w-4": {ID: "w-4", DisplayName: "loop", Type: wfv1.NodeTypeRetry, Phase: wfv1.NodeFailed, Message: "No more retries left"},
	}
	tests := []struct {
		name    string
		phase   wfv1.WorkflowPhase
		message string
		want    string
	}{
		{name: "argo's message is kept", phase: wfv1.WorkflowFailed, message: "child 'w-1' failed", want: "child 'w-1' failed"},
		{name: "failed without a message names the failed steps", phase: wfv1.WorkflowFailed,
			want: `step "fetch" error; step "split" failed: main: Error (exit code 1)`},
		{name: "errored", phase: wfv1.WorkflowError, want: `step "fetch" error; step "split" failed: main: Error (exit code 1)`},
		{name: "running keeps the empty message", phase: wfv1.WorkflowRunning, want: ""},
		{name: "succeeded", phase: wfv1.WorkflowSucceeded, want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wf := &wfv1.Workflow{Status: wfv1.WorkflowStatus{Phase: tt.phase, Message: tt.message, Nodes: nodes}}
			if got := runMessage(wf, tt.phase); got != tt.want {
				t.Errorf("runMessage() = %q, want %q", got, tt.want)
			}
		})
	}
}

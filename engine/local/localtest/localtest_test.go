package localtest

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kilnml/kiln/engine"
)

func TestRun(t *testing.T) {
	wf, err := engine.ParseWorkflow([]byte(`
metadata: {generateName: lt-}
spec:
  entrypoint: main
  arguments: {parameters: [{name: count, value: "1"}]}
  templates:
  - name: main
    container: {image: alpine, command: [sh, -c, "echo n={{workflow.parameters.count}}"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	st := Run(t, wf, Options{Parameters: map[string]string{"count": "7"}})
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s", st.Status.Phase)
	}
	for _, n := range st.Status.Nodes {
		if got := *n.Outputs.Result; got != "n=7" {
			t.Errorf("result %q, want n=7", got)
		}
	}
}

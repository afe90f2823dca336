package local

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

func TestSmokeDiamond(t *testing.T) {
	e := newTestEngine(t)
	st := runYAML(t, e, `
apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: diamond-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: A
        template: echo
        arguments: {parameters: [{name: message, value: A}]}
      - name: B
        depends: A
        template: echo
        arguments: {parameters: [{name: message, value: "{{tasks.A.outputs.result}}B"}]}
      - name: C
        depends: A
        template: echo
        arguments: {parameters: [{name: message, value: C}]}
      - name: D
        depends: B && C
        template: echo
        arguments: {parameters: [{name: message, value: "{{tasks.B.outputs.result}}{{tasks.C.outputs.result}}"}]}
  - name: echo
    inputs: {parameters: [{name: message}]}
    container:
      image: alpine
      command: [sh, -c]
      args: ["echo {{inputs.parameters.message}}"]
`, nil)
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s %v", st.Status.Phase, st.Status.Message, nodePhases(st))
	}
	d := nodeByDisplay(t, st, "D")
	if got := *d.Outputs.Result; got != "ABC" {
		t.Errorf("D result = %q, want ABC", got)
	}
}

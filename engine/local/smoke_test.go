package local

import (
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"

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

// TestNodeLinksFollowArgo checks the children edges the portal draws: a DAG
// task hangs under each task it depends on, a step group under the steps of
// the group before it.
func TestNodeLinksFollowArgo(t *testing.T) {
	st := runYAML(t, newTestEngine(t), `
metadata: {name: links}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: steps}
      - {name: b, template: ok, depends: a}
      - {name: c, template: ok, depends: a}
      - {name: d, template: ok, depends: b && c}
  - name: steps
    steps:
    - - {name: s1, template: ok}
    - - {name: s2, template: ok}
  - name: ok
    container: {image: alpine, command: ["true"]}
`, nil)
	if st.Status.Phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s: %s", st.Status.Phase, st.Status.Message)
	}
	children := map[string][]string{}
	for _, n := range st.Status.Nodes {
		for _, c := range n.Children {
			children[n.DisplayName] = append(children[n.DisplayName], st.Status.Nodes[c].DisplayName)
		}
		sort.Strings(children[n.DisplayName])
	}
	want := map[string][]string{
		"links": {"a"},
		"a":     {"[0]", "b", "c"},
		"[0]":   {"s1"},
		"s1":    {"[1]"},
		"[1]":   {"s2"},
		"b":     {"d"},
		"c":     {"d"},
	}
	if diff := cmp.Diff(want, children); diff != "" {
		t.Errorf("children (-want +got):\n%s", diff)
	}
}

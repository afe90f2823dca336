package portal_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/portal"
)

func TestGraph(t *testing.T) {
	tests := []struct {
		name string
		spec string
		want *portal.SpecGraph
	}{
		{
			name: "dag with dependencies, depends and a loop",
			spec: `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: g-}
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - {name: a, template: leaf}
      - {name: b, template: leaf, dependencies: [a], withItems: [1, 2]}
      - {name: c, template: leaf, depends: "a.Succeeded && (b || b.Failed)", when: "{{tasks.a.outputs.result}} == x"}
  - name: leaf
    container: {image: alpine, command: ["true"]}
`,
			want: &portal.SpecGraph{Entrypoint: "main", Templates: []portal.TemplateGraph{
				{Name: "main", Kind: "dag", Tasks: []portal.TaskNode{
					{Name: "a", Template: "leaf", Depends: []string{}},
					{Name: "b", Template: "leaf", Depends: []string{"a"}, Loop: true},
					{Name: "c", Template: "leaf", Depends: []string{"a", "b"}, When: "{{tasks.a.outputs.result}} == x"},
				}},
				{Name: "leaf", Kind: "Container"},
			}},
		},
		{
			name: "steps depend on the previous group",
			spec: `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata: {generateName: s-}
spec:
  entrypoint: main
  templates:
  - name: main
    steps:
    - - {name: one, template: leaf}
    - - {name: two, template: leaf}
      - {name: three, template: leaf}
  - name: leaf
    script: {image: alpine, command: [sh], source: "true"}
`,
			want: &portal.SpecGraph{Entrypoint: "main", Templates: []portal.TemplateGraph{
				{Name: "main", Kind: "steps", Tasks: []portal.TaskNode{
					{Name: "one", Template: "leaf"},
					{Name: "two", Template: "leaf", Depends: []string{"one"}},
					{Name: "three", Template: "leaf", Depends: []string{"one"}},
				}},
				{Name: "leaf", Kind: "Script"},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := portal.Graph([]byte(tt.spec))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Graph (-want +got):\n%s", d)
			}
		})
	}
}

func TestGraphEndpoint(t *testing.T) {
	h := portal.Handler(portal.Options{})
	for _, tt := range []struct {
		name, body string
		want       int
		contains   string
	}{
		{"valid", "apiVersion: argoproj.io/v1alpha1\nkind: Workflow\nmetadata: {name: x}\nspec:\n  entrypoint: m\n  templates:\n  - name: m\n    container: {image: a}\n", 200, `"entrypoint":"m"`},
		{"not yaml", "{{{", 400, `"message":"portal: graph:`},
		{"too large", strings.Repeat("#", 9<<20), 413, "larger than"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, portal.GraphPath, strings.NewReader(tt.body)))
			if rec.Code != tt.want || !strings.Contains(rec.Body.String(), tt.contains) {
				t.Errorf("status %d body %s; want %d containing %q", rec.Code, rec.Body.String(), tt.want, tt.contains)
			}
		})
	}
}

package engine

import (
	"strings"
	"testing"
)

func TestParseWorkflow(t *testing.T) {
	tests := []struct {
		name, doc, wantGenerate, wantErr string
	}{
		{name: "workflow", doc: "kind: Workflow\nmetadata: {generateName: w-}\nspec: {entrypoint: main}", wantGenerate: "w-"},
		{name: "template", doc: "kind: WorkflowTemplate\nmetadata: {name: t}\nspec: {entrypoint: main}", wantGenerate: "t-"},
		{name: "cron", doc: "kind: CronWorkflow\nmetadata: {name: c}\nspec: {schedules: ['* * * * *'], workflowSpec: {entrypoint: main}}", wantGenerate: "c-"},
		{name: "unknown field", doc: "kind: Workflow\nspec: {entrypoint: main, bogus: 1}", wantErr: `unknown field "bogus"`},
		{name: "unknown field in template", doc: "kind: WorkflowTemplate\nspec: {entrypoint: main, templates: [{name: a, contaner: {}}]}", wantErr: `unknown field "contaner"`},
		{name: "other kind", doc: "kind: ConfigMap\nmetadata: {name: x}", wantErr: `kind "ConfigMap"`},
		{name: "other api", doc: "apiVersion: v1\nkind: Workflow", wantErr: `apiVersion "v1"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wf, err := ParseWorkflow([]byte(tc.doc))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if wf.GenerateName != tc.wantGenerate || wf.Spec.Entrypoint != "main" {
				t.Errorf("got generateName %q entrypoint %q", wf.GenerateName, wf.Spec.Entrypoint)
			}
		})
	}
}

func FuzzParseWorkflow(f *testing.F) {
	f.Add([]byte("kind: Workflow\nspec: {entrypoint: main}"))
	f.Add([]byte("kind: CronWorkflow\nspec: {workflowSpec: {entrypoint: main}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = ParseWorkflow(data) // must not panic
	})
}

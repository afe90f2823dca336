package argo

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestWithoutNulls(t *testing.T) {
	tests := []struct {
		name string
		in   any
		kind string
		want string
	}{
		{
			name: "cron workflow metadata",
			in: &wfv1.CronWorkflow{
				ObjectMeta: metav1.ObjectMeta{Name: "c"},
				Spec: wfv1.CronWorkflowSpec{
					Schedules:        []string{"* * * * *"},
					WorkflowMetadata: &metav1.ObjectMeta{Labels: map[string]string{"a": "b"}},
				},
			},
			kind: "CronWorkflow",
			want: `{"apiVersion":"argoproj.io/v1alpha1","kind":"CronWorkflow","metadata":{"name":"c"},"spec":{"schedules":["* * * * *"],"workflowMetadata":{"labels":{"a":"b"}},"workflowSpec":{"arguments":{}}}}`,
		},
		{
			name: "large integers stay exact",
			in:   map[string]any{"n": int64(9007199254740993), "status": map[string]any{}, "x": nil, "l": []any{map[string]any{"y": nil}}},
			kind: "Workflow",
			want: `{"apiVersion":"argoproj.io/v1alpha1","kind":"Workflow","l":[{}],"n":9007199254740993}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := withoutNulls(tt.in, tt.kind, true)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestNewer(t *testing.T) {
	tests := []struct {
		a, b string
		want bool
	}{
		{"10", "9", true},
		{"9", "10", false},
		{"100", "100", false},
		{"abc", "100", true},
		{"101", "100", true},
	}
	for _, tt := range tests {
		if got := newer(tt.a, tt.b); got != tt.want {
			t.Errorf("newer(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

package argo

import (
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestServiceAccountPerPipeline(t *testing.T) {
	tests := []struct {
		name string
		wf   wfv1.Workflow
		want string
	}{
		{name: "pipeline label", want: "kiln-run-flagship", wf: wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{
			GenerateName: "other-", Labels: map[string]string{LabelPipeline: "flagship"}}}},
		{name: "workflow template", want: "kiln-run-nightly", wf: wfv1.Workflow{
			Spec: wfv1.WorkflowSpec{WorkflowTemplateRef: &wfv1.WorkflowTemplateRef{Name: "nightly"}}}},
		{name: "generate name", want: "kiln-run-hello", wf: wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{GenerateName: "hello-"}}},
		{name: "lower-cased", want: "kiln-run-mixedcase", wf: wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{
			Labels: map[string]string{LabelPipeline: "MixedCase"}}}},
		{name: "nothing to go by", want: "", wf: wfv1.Workflow{}},
		{name: "invalid name", want: "", wf: wfv1.Workflow{ObjectMeta: metav1.ObjectMeta{
			Labels: map[string]string{LabelPipeline: "a_b"}}}},
		{name: "too long is cut", want: "kiln-run-" + strings.Repeat("x", 253-len("kiln-run-")), wf: wfv1.Workflow{
			ObjectMeta: metav1.ObjectMeta{GenerateName: strings.Repeat("x", 300)}}},
	}
	f := ServiceAccountPerPipeline("kiln-run-")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := f(&tt.wf); got != tt.want {
				t.Errorf("ServiceAccountPerPipeline(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

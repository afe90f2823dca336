package kube

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
)

func TestOutputsOf(t *testing.T) {
	s3 := func(key string) wfv1.ArtifactLocation {
		return wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{S3Bucket: wfv1.S3Bucket{Bucket: "b", Endpoint: "s3.example"}, Key: key}}
	}
	tests := []struct {
		name string
		tmpl wfv1.Template
		want *wfv1.Outputs
	}{
		{name: "no outputs", tmpl: wfv1.Template{}, want: nil},
		{
			name: "parameters take their defaults; one without is left out",
			tmpl: wfv1.Template{Outputs: wfv1.Outputs{Parameters: []wfv1.Parameter{
				{Name: "score", ValueFrom: &wfv1.ValueFrom{Path: "/tmp/score", Default: wfv1.AnyStringPtr("0")}},
				{Name: "raw", ValueFrom: &wfv1.ValueFrom{Path: "/tmp/raw"}},
			}}},
			want: &wfv1.Outputs{Parameters: []wfv1.Parameter{{Name: "score", Value: wfv1.AnyStringPtr("0")}}},
		},
		{
			name: "artifacts are placed under the archive location's key",
			tmpl: wfv1.Template{
				ArchiveLocation: &wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{S3Bucket: wfv1.S3Bucket{Bucket: "b", Endpoint: "s3.example"}, Key: "wf/pod"}},
				Outputs: wfv1.Outputs{Artifacts: []wfv1.Artifact{
					{Name: "data", Path: "/tmp/data"},
					{Name: "kept", Path: "/tmp/kept", ArtifactLocation: s3("elsewhere")},
				}},
			},
			want: &wfv1.Outputs{Artifacts: []wfv1.Artifact{
				{Name: "data", Path: "/tmp/data", ArtifactLocation: s3("wf/pod/data.tgz")},
				{Name: "kept", Path: "/tmp/kept", ArtifactLocation: s3("elsewhere")},
			}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, outputsOf(&tt.tmpl, "wf", "pod")); diff != "" {
				t.Errorf("outputsOf (-want +got):\n%s", diff)
			}
		})
	}
}

package engine

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"sigs.k8s.io/yaml"
)

// ParseWorkflow decodes one Argo Workflow from YAML or JSON. Decoding is
// strict: an unknown or duplicated field is an error naming its path, so a
// typo is never silently dropped.
func ParseWorkflow(data []byte) (*wfv1.Workflow, error) {
	var wf wfv1.Workflow
	if err := yaml.UnmarshalStrict(data, &wf); err != nil {
		return nil, fmt.Errorf("parse workflow: %w", err)
	}
	if wf.Kind != "" && wf.Kind != "Workflow" {
		return nil, fmt.Errorf("parse workflow: kind %q is not Workflow", wf.Kind)
	}
	if wf.APIVersion != "" && wf.APIVersion != "argoproj.io/v1alpha1" {
		return nil, fmt.Errorf("parse workflow: apiVersion %q is not argoproj.io/v1alpha1", wf.APIVersion)
	}
	return &wf, nil
}

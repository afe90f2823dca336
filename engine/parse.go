package engine

import (
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"
)

// ParseWorkflow decodes one Argo Workflow from YAML or JSON. Decoding is
// strict: an unknown or duplicated field is an error naming its path, so a
// typo is never silently dropped.
//
// A WorkflowTemplate or ClusterWorkflowTemplate becomes the Workflow that
// `argo submit --from` would create (its spec, named "<template>-…"), and a
// CronWorkflow becomes the Workflow one of its schedules would start, using
// Argo's own conversion.
func ParseWorkflow(data []byte) (*wfv1.Workflow, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(data, &tm); err != nil {
		return nil, fmt.Errorf("parse workflow: %w", err)
	}
	if tm.APIVersion != "" && tm.APIVersion != "argoproj.io/v1alpha1" {
		return nil, fmt.Errorf("parse workflow: apiVersion %q is not argoproj.io/v1alpha1", tm.APIVersion)
	}
	switch tm.Kind {
	case "", "Workflow":
		var wf wfv1.Workflow
		if err := yaml.UnmarshalStrict(data, &wf); err != nil {
			return nil, fmt.Errorf("parse workflow: %w", err)
		}
		return &wf, nil
	case "WorkflowTemplate", "ClusterWorkflowTemplate":
		var t wfv1.WorkflowTemplate
		if err := yaml.UnmarshalStrict(data, &t); err != nil {
			return nil, fmt.Errorf("parse %s: %w", tm.Kind, err)
		}
		wf := &wfv1.Workflow{Spec: *t.Spec.DeepCopy()}
		wf.APIVersion, wf.Kind = "argoproj.io/v1alpha1", "Workflow"
		wf.GenerateName = t.Name + "-"
		wf.Namespace = t.Namespace
		wf.Labels, wf.Annotations = t.Labels, t.Annotations
		return wf, nil
	case "CronWorkflow":
		var c wfv1.CronWorkflow
		if err := yaml.UnmarshalStrict(data, &c); err != nil {
			return nil, fmt.Errorf("parse CronWorkflow: %w", err)
		}
		return common.ConvertCronWorkflowToWorkflow(&c), nil
	default:
		return nil, fmt.Errorf("parse workflow: kind %q is not Workflow, WorkflowTemplate or CronWorkflow", tm.Kind)
	}
}

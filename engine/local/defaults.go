package local

import (
	"encoding/json"
	"fmt"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
)

// applyTemplateDefaults merges spec.templateDefaults into every template the
// way Argo's controller does: a strategic merge in which the template's own
// fields win, and defaults for another template kind (a container default on
// a DAG template, say) do not apply.
func applyTemplateDefaults(wf *wfv1.Workflow) error {
	defaults := wf.Spec.TemplateDefaults
	if defaults == nil {
		return nil
	}
	for i := range wf.Spec.Templates {
		t := &wf.Spec.Templates[i]
		d := defaults.DeepCopy()
		typ := t.GetType()
		if typ != wfv1.TemplateTypeContainer {
			d.Container = nil
		}
		if typ != wfv1.TemplateTypeScript {
			d.Script = nil
		}
		if typ != wfv1.TemplateTypeDAG {
			d.DAG = nil
		}
		if typ != wfv1.TemplateTypeSteps {
			d.Steps = nil
		}
		if typ != wfv1.TemplateTypeSuspend {
			d.Suspend = nil
		}
		if typ != wfv1.TemplateTypeResource {
			d.Resource = nil
		}
		if typ != wfv1.TemplateTypeContainerSet {
			d.ContainerSet = nil
		}
		if typ != wfv1.TemplateTypeData {
			d.Data = nil
		}
		if typ != wfv1.TemplateTypeHTTP {
			d.HTTP = nil
		}
		if typ != wfv1.TemplateTypePlugin {
			d.Plugin = nil
		}
		dj, err := json.Marshal(d)
		if err != nil {
			return fmt.Errorf("templateDefaults: %w", err)
		}
		tj, err := json.Marshal(t)
		if err != nil {
			return fmt.Errorf("template %q: %w", t.Name, err)
		}
		merged, err := strategicpatch.StrategicMergePatch(dj, tj, wfv1.Template{})
		if err != nil {
			return fmt.Errorf("apply templateDefaults to template %q: %w", t.Name, err)
		}
		var out wfv1.Template
		if err := json.Unmarshal(merged, &out); err != nil {
			return fmt.Errorf("apply templateDefaults to template %q: %w", t.Name, err)
		}
		*t = out
	}
	wf.Spec.TemplateDefaults = nil
	return nil
}

package local

import (
	"fmt"
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/workflow/templateresolution"
	"github.com/argoproj/argo-workflows/v3/workflow/validate"
	apiv1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validate reports, with field paths, everything in wf that Argo itself
// rejects or that this engine cannot execute faithfully. Fields that only
// place pods on Kubernetes (resources, nodeSelector, affinity, tolerations,
// images, security contexts, service accounts) have no local meaning and are
// accepted.
func (e *Engine) Validate(wf *wfv1.Workflow) field.ErrorList {
	var errs field.ErrorList
	spec := field.NewPath("spec")
	argoValidateMu.Lock()
	err := validate.ValidateWorkflow(noTemplates{}, noClusterTemplates{}, wf, nil, validate.ValidateOpts{Submit: true})
	argoValidateMu.Unlock()
	if err != nil {
		errs = append(errs, field.Invalid(spec, wf.Name, fmt.Sprintf("argo validation: %v", err)))
	}
	// What runs is each template with templateDefaults merged in.
	wf = wf.DeepCopy()
	if err := applyTemplateDefaults(wf); err != nil {
		errs = append(errs, field.Invalid(spec.Child("templateDefaults"), "", err.Error()))
	}
	s := &wf.Spec
	unsupported := func(p *field.Path, what string) {
		errs = append(errs, field.Forbidden(p, what+" is not supported by the local engine"))
	}
	if s.WorkflowTemplateRef != nil {
		unsupported(spec.Child("workflowTemplateRef"), "workflowTemplateRef")
	}
	if len(s.VolumeClaimTemplates) > 0 {
		unsupported(spec.Child("volumeClaimTemplates"), "volumeClaimTemplates (persistent volumes)")
	}
	for i, v := range s.Volumes {
		if v.EmptyDir == nil {
			unsupported(spec.Child("volumes").Index(i), "a non-emptyDir volume")
		}
	}
	if s.Synchronization != nil {
		unsupported(spec.Child("synchronization"), "synchronization (semaphores and mutexes)")
	}
	if s.Metrics != nil {
		unsupported(spec.Child("metrics"), "Prometheus metrics")
	}
	if s.Suspend != nil && *s.Suspend {
		unsupported(spec.Child("suspend"), "a suspended workflow")
	}
	if s.PodSpecPatch != "" {
		unsupported(spec.Child("podSpecPatch"), "podSpecPatch")
	}
	for k := range s.Hooks {
		if k != wfv1.ExitLifecycleEvent {
			unsupported(spec.Child("hooks").Key(string(k)), "a lifecycle hook other than exit")
		}
	}
	for i, p := range s.Arguments.Parameters {
		if p.ValueFrom != nil && p.Value == nil {
			unsupported(spec.Child("arguments", "parameters").Index(i).Child("valueFrom"), "valueFrom (ConfigMaps) on workflow arguments")
		}
	}
	for i, a := range s.Arguments.Artifacts {
		errs = append(errs, validateInputArtifact(spec.Child("arguments", "artifacts").Index(i), a)...)
	}
	volumes := map[string]bool{}
	for _, v := range s.Volumes {
		volumes[v.Name] = v.EmptyDir != nil
	}
	for i := range s.Templates {
		errs = append(errs, e.validateTemplate(spec.Child("templates").Index(i), &s.Templates[i], volumes)...)
	}
	return errs
}

func validateInputArtifact(p *field.Path, a wfv1.Artifact) field.ErrorList {
	var errs field.ErrorList
	l := a.ArtifactLocation
	switch {
	case l.S3 != nil:
		errs = append(errs, field.Forbidden(p.Child("s3"), "S3 artifacts are not supported by the local engine"))
	case l.GCS != nil:
		errs = append(errs, field.Forbidden(p.Child("gcs"), "GCS artifacts are not supported by the local engine"))
	case l.OSS != nil:
		errs = append(errs, field.Forbidden(p.Child("oss"), "OSS artifacts are not supported by the local engine"))
	case l.Azure != nil:
		errs = append(errs, field.Forbidden(p.Child("azure"), "Azure artifacts are not supported by the local engine"))
	case l.HDFS != nil:
		errs = append(errs, field.Forbidden(p.Child("hdfs"), "HDFS artifacts are not supported by the local engine"))
	case l.Artifactory != nil:
		errs = append(errs, field.Forbidden(p.Child("artifactory"), "Artifactory artifacts are not supported by the local engine"))
	}
	if a.ArtifactGC != nil && a.ArtifactGC.Strategy != "" && a.ArtifactGC.Strategy != wfv1.ArtifactGCNever {
		errs = append(errs, field.Forbidden(p.Child("artifactGC"), "artifact garbage collection is not supported by the local engine"))
	}
	return errs
}

func (e *Engine) validateTemplate(p *field.Path, t *wfv1.Template, volumes map[string]bool) field.ErrorList {
	var errs field.ErrorList
	unsupported := func(fp *field.Path, what string) {
		errs = append(errs, field.Forbidden(fp, what+" is not supported by the local engine"))
	}
	switch {
	case t.Resource != nil:
		unsupported(p.Child("resource"), "a resource template (it needs a Kubernetes API server)")
	case t.HTTP != nil:
		unsupported(p.Child("http"), "an http template")
	case t.Data != nil:
		unsupported(p.Child("data"), "a data template")
	case t.Plugin != nil:
		unsupported(p.Child("plugin"), "a plugin template")
	case t.ContainerSet != nil:
		unsupported(p.Child("containerSet"), "a containerSet template")
	case t.Suspend != nil && t.Suspend.Duration == "":
		unsupported(p.Child("suspend"), "a suspend template without duration (it waits for a manual resume)")
	}
	if t.Daemon != nil && *t.Daemon {
		unsupported(p.Child("daemon"), "a daemon template")
	}
	if len(t.Sidecars) > 0 {
		unsupported(p.Child("sidecars"), "sidecars")
	}
	if len(t.InitContainers) > 0 {
		unsupported(p.Child("initContainers"), "initContainers")
	}
	if t.Synchronization != nil {
		unsupported(p.Child("synchronization"), "synchronization (semaphores and mutexes)")
	}
	if t.Metrics != nil {
		unsupported(p.Child("metrics"), "Prometheus metrics")
	}
	if t.PodSpecPatch != "" {
		unsupported(p.Child("podSpecPatch"), "podSpecPatch")
	}
	for i, v := range t.Volumes {
		if v.EmptyDir == nil {
			unsupported(p.Child("volumes").Index(i), "a non-emptyDir volume")
		}
		volumes[v.Name] = v.EmptyDir != nil
	}
	for i, in := range t.Inputs.Parameters {
		if in.ValueFrom != nil && in.ValueFrom.ConfigMapKeyRef != nil {
			unsupported(p.Child("inputs", "parameters").Index(i).Child("valueFrom", "configMapKeyRef"), "configMapKeyRef")
		}
	}
	for i, a := range t.Inputs.Artifacts {
		errs = append(errs, validateInputArtifact(p.Child("inputs", "artifacts").Index(i), a)...)
	}
	for i, out := range t.Outputs.Parameters {
		op := p.Child("outputs", "parameters").Index(i).Child("valueFrom")
		if vf := out.ValueFrom; vf != nil {
			switch {
			case vf.JSONPath != "":
				unsupported(op.Child("jsonPath"), "jsonPath (resource outputs)")
			case vf.JQFilter != "":
				unsupported(op.Child("jqFilter"), "jqFilter (resource outputs)")
			case vf.Event != "":
				unsupported(op.Child("event"), "event")
			case vf.ConfigMapKeyRef != nil:
				unsupported(op.Child("configMapKeyRef"), "configMapKeyRef")
			case vf.Supplied != nil:
				unsupported(op.Child("supplied"), "supplied (manual resume)")
			}
		}
	}
	for i, a := range t.Outputs.Artifacts {
		ap := p.Child("outputs", "artifacts").Index(i)
		l := a.ArtifactLocation
		if l.S3 != nil || l.GCS != nil || l.OSS != nil || l.Azure != nil || l.HDFS != nil || l.Artifactory != nil || l.HTTP != nil || l.Git != nil || l.Raw != nil {
			unsupported(ap, "an output artifact with an explicit repository location")
		}
		if a.ArtifactGC != nil && a.ArtifactGC.Strategy != "" && a.ArtifactGC.Strategy != wfv1.ArtifactGCNever {
			unsupported(ap.Child("artifactGC"), "artifact garbage collection")
		}
	}
	var c *apiv1.Container
	cp := p.Child("container")
	if t.Container != nil {
		c = t.Container
		if len(c.Command) == 0 && len(c.Args) == 0 {
			errs = append(errs, field.Required(cp.Child("command"), "the local engine cannot run an image's default entrypoint; set command"))
		}
	}
	if t.Script != nil {
		c = &t.Script.Container
		cp = p.Child("script")
	}
	if c != nil {
		for i, ev := range c.Env {
			if ev.ValueFrom != nil {
				unsupported(cp.Child("env").Index(i).Child("valueFrom"), "env valueFrom (secrets, ConfigMaps, field refs)")
			}
		}
		if len(c.EnvFrom) > 0 {
			unsupported(cp.Child("envFrom"), "envFrom")
		}
		for i, m := range c.VolumeMounts {
			if empty, ok := volumes[m.Name]; ok && !empty {
				unsupported(cp.Child("volumeMounts").Index(i), "mounting a non-emptyDir volume")
			}
		}
		if _, ok := t.Metadata.Annotations[GoComponentAnnotation]; ok && e.opts.PipelineBinary == "" {
			errs = append(errs, field.Required(cp.Child("command").Index(0), "template is a Kiln Go-function component; set the pipeline binary (Options.PipelineBinary, kiln run --binary)"))
		}
	}
	for i := range t.Steps {
		for j := range t.Steps[i].Steps {
			errs = append(errs, e.validateCall(p.Child("steps").Index(i).Index(j), t.Steps[i].Steps[j].TemplateRef, t.Steps[i].Steps[j].Hooks, t.Steps[i].Steps[j].Inline, volumes)...)
		}
	}
	if t.DAG != nil {
		for i := range t.DAG.Tasks {
			task := &t.DAG.Tasks[i]
			errs = append(errs, e.validateCall(p.Child("dag", "tasks").Index(i), task.TemplateRef, task.Hooks, task.Inline, volumes)...)
		}
	}
	return errs
}

func (e *Engine) validateCall(p *field.Path, ref *wfv1.TemplateRef, hooks wfv1.LifecycleHooks, inline *wfv1.Template, volumes map[string]bool) field.ErrorList {
	var errs field.ErrorList
	if ref != nil {
		errs = append(errs, field.Forbidden(p.Child("templateRef"), "templateRef (WorkflowTemplates) is not supported by the local engine"))
	}
	for k := range hooks {
		if k != wfv1.ExitLifecycleEvent {
			errs = append(errs, field.Forbidden(p.Child("hooks").Key(string(k)), "a lifecycle hook other than exit is not supported by the local engine"))
		}
	}
	if inline != nil {
		errs = append(errs, e.validateTemplate(p.Child("inline"), inline, volumes)...)
	}
	return errs
}

// argoValidateMu serialises Argo's validator, which shares a global
// placeholder generator between calls.
var argoValidateMu sync.Mutex

// noTemplates answers Argo's validator for workflows that reference no
// WorkflowTemplates (references are rejected separately).
type noTemplates struct{}

func (noTemplates) Get(name string) (*wfv1.WorkflowTemplate, error) {
	return nil, fmt.Errorf("workflowtemplate %q: not available locally", name)
}

type noClusterTemplates struct{}

func (noClusterTemplates) Get(name string) (*wfv1.ClusterWorkflowTemplate, error) {
	return nil, fmt.Errorf("clusterworkflowtemplate %q: not available locally", name)
}

var (
	_ templateresolution.WorkflowTemplateNamespacedGetter = noTemplates{}
	_ templateresolution.ClusterWorkflowTemplateGetter    = noClusterTemplates{}
)

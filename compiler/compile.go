package compiler

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/ir"
)

// Kind is the kind of Argo object to produce.
type Kind string

// Output kinds.
const (
	// KindWorkflow is a Workflow: one run of the pipeline.
	KindWorkflow Kind = "workflow"
	// KindTemplate is a WorkflowTemplate: a reusable definition runs are created from.
	KindTemplate Kind = "template"
	// KindCron is a CronWorkflow: runs created on the pipeline's schedule.
	KindCron Kind = "cron"
)

// DefaultBinary is where the pipeline program sits in the image that runs Go-function components.
const DefaultBinary = "/kiln/pipeline"

// Annotations and labels the compiler writes.
const (
	// AnnotationGoComponent marks the template of a Go-function component; its value is the
	// component's name. Engines that run Go components outside an image look for it.
	AnnotationGoComponent = "kiln.dev/go-component"
	// AnnotationDisplayNames holds a JSON object of task name → display name.
	AnnotationDisplayNames = "kiln.dev/display-names"
	// AnnotationInputTypes holds a JSON object of pipeline input name → Kiln type ("int",
	// "list<float>", …), so servers can type-check run parameters.
	AnnotationInputTypes = "kiln.dev/input-types"
	// AnnotationDescription holds the pipeline's description (Argo's UI shows it too).
	AnnotationDescription = "workflows.argoproj.io/description"
	// LabelPipeline holds the pipeline's name on every object the compiler makes.
	LabelPipeline = "kiln.dev/pipeline"
	// CacheConfigMap is the ConfigMap Argo memoizes cached tasks in.
	CacheConfigMap = "kiln-cache"
)

// Options control compilation. The zero value compiles a Workflow.
type Options struct {
	// Kind is the kind of object to produce (default KindWorkflow).
	Kind Kind
	// Image runs Go-function components; it overrides the pipeline's dsl.Image option.
	Image string
	// Binary is the path of the pipeline program inside Image (default DefaultBinary).
	Binary string
	// Params override the defaults of pipeline inputs, by input name, in the encoded form
	// (plain text for scalars, JSON for lists, maps and structs).
	Params map[string]string
	// Namespace is set on the produced object when not empty.
	Namespace string
}

// Result is a compiled pipeline. Exactly one of Workflow, Template and Cron is set, per
// Options.Kind.
type Result struct {
	Workflow *wfv1.Workflow
	Template *wfv1.WorkflowTemplate
	Cron     *wfv1.CronWorkflow
}

// Object returns the compiled object.
func (r *Result) Object() runtime.Object {
	switch {
	case r.Template != nil:
		return r.Template
	case r.Cron != nil:
		return r.Cron
	}
	return r.Workflow
}

// Spec returns the workflow spec of the compiled object.
func (r *Result) Spec() *wfv1.WorkflowSpec {
	switch {
	case r.Template != nil:
		return &r.Template.Spec
	case r.Cron != nil:
		return &r.Cron.Spec.WorkflowSpec
	}
	return &r.Workflow.Spec
}

// Error lists every problem found in a pipeline, each with its DSL-level path.
type Error struct {
	Pipeline string
	Errs     field.ErrorList
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "pipeline %q has %d problem", e.Pipeline, len(e.Errs))
	if len(e.Errs) != 1 {
		b.WriteString("s")
	}
	b.WriteString(":")
	for _, x := range e.Errs {
		b.WriteString("\n  ")
		b.WriteString(x.Error())
	}
	return b.String()
}

// Compile lowers a pipeline to an Argo Workflow, WorkflowTemplate or CronWorkflow.
//
// It checks the pipeline first — names, wiring, types, cycles, required inputs, conditions —
// in time linear in its size, and returns an *Error listing every problem found.
func Compile(p *dsl.Pipeline, opts Options) (*Result, error) {
	return compileIR(p.Graph(), opts)
}

func compileIR(p *ir.Pipeline, opts Options) (*Result, error) {
	if opts.Kind == "" {
		opts.Kind = KindWorkflow
	}
	if opts.Binary == "" {
		opts.Binary = DefaultBinary
	}
	c := newCompilation(p, opts)
	switch opts.Kind {
	case KindWorkflow, KindTemplate, KindCron:
	default:
		c.errs = append(c.errs, field.NotSupported(field.NewPath("kind"), opts.Kind, []string{string(KindWorkflow), string(KindTemplate), string(KindCron)}))
	}
	c.checkPipeline(p, true)
	// Lowering runs even after problems were found, so that problems of wiring (which only
	// show when references are resolved) are reported together with the rest.
	spec := c.workflowSpec()
	if len(c.errs) > 0 {
		return nil, &Error{Pipeline: p.Name, Errs: c.errs}
	}
	meta := c.objectMeta()
	res := &Result{}
	switch opts.Kind {
	case KindWorkflow:
		meta.GenerateName = p.Name + "-"
		res.Workflow = &wfv1.Workflow{TypeMeta: typeMeta("Workflow"), ObjectMeta: meta, Spec: *spec}
	case KindTemplate:
		meta.Name = p.Name
		res.Template = &wfv1.WorkflowTemplate{TypeMeta: typeMeta("WorkflowTemplate"), ObjectMeta: meta, Spec: *spec}
	case KindCron:
		s := p.Settings.Schedule
		if s == nil {
			return nil, &Error{Pipeline: p.Name, Errs: field.ErrorList{field.Required(field.NewPath(ir.PipelinePath(p).Child("schedule", "").String()), "compiling a cron workflow needs a dsl.Schedule option")}}
		}
		meta.Name = p.Name
		res.Cron = &wfv1.CronWorkflow{TypeMeta: typeMeta("CronWorkflow"), ObjectMeta: meta, Spec: wfv1.CronWorkflowSpec{
			WorkflowSpec:      *spec,
			Schedules:         s.Cron,
			Timezone:          s.Timezone,
			ConcurrencyPolicy: wfv1.ConcurrencyPolicy(s.ConcurrencyPolicy),
			Suspend:           s.Suspend,
		}}
	}
	return res, nil
}

func typeMeta(kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: kind}
}

func (c *compilation) objectMeta() metav1.ObjectMeta {
	p := c.top
	meta := metav1.ObjectMeta{Namespace: c.opts.Namespace, Labels: map[string]string{LabelPipeline: p.Name}}
	for k, v := range p.Settings.Labels {
		meta.Labels[k] = v
	}
	meta.Annotations = map[string]string{}
	if len(p.Inputs) > 0 {
		types := make(map[string]string, len(p.Inputs))
		for _, in := range p.Inputs {
			types[in.Name] = in.Type.String()
		}
		b, _ := json.Marshal(types) // a map of strings always marshals
		meta.Annotations[AnnotationInputTypes] = string(b)
	}
	if len(p.Settings.Annotations) > 0 || p.Description != "" {
		for k, v := range p.Settings.Annotations {
			meta.Annotations[k] = v
		}
		if p.Description != "" {
			meta.Annotations[AnnotationDescription] = p.Description
		}
	}
	return meta
}

// workflowSpec builds the spec: arguments, templates and pipeline-level settings.
func (c *compilation) workflowSpec() *wfv1.WorkflowSpec {
	p := c.top
	s := p.Settings
	spec := &wfv1.WorkflowSpec{Entrypoint: p.Name, ServiceAccountName: s.ServiceAccount}
	spec.Arguments.Parameters = c.arguments()
	root := c.pipelineDAG(p, true)
	if s.Exit != nil {
		name := p.Name + "-exit"
		c.claimTemplate(name, "exit handler of pipeline "+strconv.Quote(p.Name))
		d := c.newDAG(p, s.Exit, nil, name, true)
		d.build()
		spec.OnExit = name
	}
	_ = root
	if s.Parallelism > 0 {
		n := int64(s.Parallelism)
		spec.Parallelism = &n
	}
	if s.ActiveDeadline != nil {
		n := int64(s.ActiveDeadline.Seconds())
		spec.ActiveDeadlineSeconds = &n
	}
	if s.TTLAfterCompletion != nil || s.TTLAfterSuccess != nil || s.TTLAfterFailure != nil {
		spec.TTLStrategy = &wfv1.TTLStrategy{
			SecondsAfterCompletion: seconds32(s.TTLAfterCompletion),
			SecondsAfterSuccess:    seconds32(s.TTLAfterSuccess),
			SecondsAfterFailure:    seconds32(s.TTLAfterFailure),
		}
	}
	if s.PodGC != "" {
		spec.PodGC = &wfv1.PodGC{Strategy: wfv1.PodGCStrategy(s.PodGC)}
	}
	if r := s.ArtifactRepository; r != nil {
		spec.ArtifactRepositoryRef = &wfv1.ArtifactRepositoryRef{ConfigMap: r.ConfigMap, Key: r.Key}
	}
	if len(c.displayNames) > 0 || len(s.Labels) > 0 {
		spec.WorkflowMetadata = &wfv1.WorkflowMetadata{}
		if len(s.Labels) > 0 {
			spec.WorkflowMetadata.Labels = map[string]string{}
			for k, v := range s.Labels {
				spec.WorkflowMetadata.Labels[k] = v
			}
		}
		if len(c.displayNames) > 0 {
			spec.WorkflowMetadata.Annotations = map[string]string{AnnotationDisplayNames: displayNamesJSON(c.displayNames)}
		}
	}
	c.finishLimits()
	spec.Templates = make([]wfv1.Template, len(c.templates))
	for i, t := range c.templates {
		spec.Templates[i] = *t
	}
	return spec
}

// arguments returns the workflow's parameters: each pipeline input with its override or default.
func (c *compilation) arguments() []wfv1.Parameter {
	p := c.top
	path := ir.PipelinePath(p)
	known := map[string]bool{}
	var params []wfv1.Parameter
	for _, in := range p.Inputs {
		known[in.Name] = true
		if in.Type.IsArtifact() {
			c.errs = append(c.errs, field.Forbidden(field.NewPath(path.Child("input", in.Name).String()), "pipeline inputs cannot be artifacts: import data with a component"))
			continue
		}
		prm := wfv1.Parameter{Name: in.Name}
		if in.Description != "" {
			prm.Description = wfv1.AnyStringPtr(in.Description)
		}
		if v, ok := c.opts.Params[in.Name]; ok {
			if err := checkEncoded(v, in.Type); err != nil {
				c.errs = append(c.errs, field.Invalid(field.NewPath(path.Child("input", in.Name).String()), v, err.Error()))
			}
			prm.Value = wfv1.AnyStringPtr(v)
		} else if in.Default != nil {
			prm.Value = wfv1.AnyStringPtr(*in.Default)
		} else if in.Optional {
			prm.Value = wfv1.AnyStringPtr("")
		} else if c.opts.Kind == KindWorkflow || c.opts.Kind == KindCron {
			c.errs = append(c.errs, field.Required(field.NewPath(path.Child("input", in.Name).String()), "no default: pass a value with -p "+in.Name+"=VALUE"))
		}
		params = append(params, prm)
	}
	names := make([]string, 0, len(c.opts.Params))
	for k := range c.opts.Params {
		if !known[k] {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, k := range names {
		c.errs = append(c.errs, field.NotFound(field.NewPath(path.Child("input", k).String()), k))
	}
	return params
}

func seconds32(d *time.Duration) *int32 {
	if d == nil {
		return nil
	}
	n := int32(d.Seconds())
	return &n
}

func displayNamesJSON(m map[string]string) string {
	b, _ := json.Marshal(m) // a map of strings always marshals; keys come out sorted
	return string(b)
}

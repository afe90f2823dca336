package compiler

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	apiv1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/dsl"
	"github.com/kilnml/kiln/internal/ir"
)

// Where components find their inputs and leave their outputs inside the container. The paths
// are flat under /tmp so that any image can write them without creating directories.
const (
	inputPathPrefix  = "/tmp/kiln-in-"
	outputPathPrefix = "/tmp/kiln-out-"
)

// InputPath is where an input artifact of a component is placed.
func InputPath(port string) string { return inputPathPrefix + port }

// OutputPath is where a component writes an output parameter or artifact.
func OutputPath(port string) string { return outputPathPrefix + port }

// templateConfig is the part of a task's configuration that shapes its template. Tasks of a
// component share a template when these settings are equal.
func templateConfig(cfg ir.Config) ir.Config {
	cfg.DisplayName = ""
	return cfg
}

func emptyConfig(cfg ir.Config) bool {
	return cfg.Retry == nil && cfg.Timeout == nil && cfg.Cache == nil && cfg.CacheKey == "" &&
		cfg.CacheMaxAge == nil && cfg.Resources == (ir.Resources{}) && len(cfg.NodeSelector) == 0 &&
		len(cfg.Tolerations) == 0 && len(cfg.Env) == 0 && len(cfg.Volumes) == 0 && cfg.Image == ""
}

// componentTemplate returns the name of the template task t runs, emitting it on first use.
// Tasks whose options change the template get a variant named after the first such task.
func (c *compilation) componentTemplate(t *ir.Task, cfg ir.Config) string {
	comp := t.Component
	if comp.Impl == ir.ImplPipeline {
		if !emptyConfig(templateConfig(t.Config)) {
			c.errorf(ir.TaskPath(t), field.ErrorTypeForbidden, "a nested pipeline's tasks take no options other than Name, DisplayName and After; set options on the tasks inside it")
		}
		return c.pipelineDAG(comp.Pipeline, false)
	}
	key := ""
	if !emptyConfig(templateConfig(t.Config)) {
		b, _ := json.Marshal(templateConfig(cfg)) // plain data: always marshals, maps sorted
		key = string(b)
	}
	vs := c.variants[comp]
	if vs == nil {
		vs = map[string]string{}
		c.variants[comp] = vs
	}
	if name, ok := vs[key]; ok {
		return name
	}
	name := comp.Name
	owner := "component " + strconv.Quote(comp.Name)
	if key != "" {
		name = comp.Name + "-" + t.Name
		owner = "options of task " + strconv.Quote(t.Name)
	}
	vs[key] = name
	if !c.claimTemplate(name, owner) {
		return name
	}
	c.templates = append(c.templates, c.leafTemplate(t, name, cfg))
	return name
}

// leafTemplate builds the container template of a Go-function or container component.
func (c *compilation) leafTemplate(t *ir.Task, name string, cfg ir.Config) *wfv1.Template {
	comp := t.Component
	path := ir.TaskPath(t)
	tmpl := &wfv1.Template{Name: name}
	for _, in := range comp.Inputs {
		if in.Type.IsArtifact() {
			tmpl.Inputs.Artifacts = append(tmpl.Inputs.Artifacts, wfv1.Artifact{Name: in.Name, Path: InputPath(in.Name), Optional: in.Optional})
			continue
		}
		prm := wfv1.Parameter{Name: in.Name}
		if in.Default != nil {
			prm.Default = wfv1.AnyStringPtr(*in.Default)
		} else if in.Optional {
			prm.Default = wfv1.AnyStringPtr("")
		}
		tmpl.Inputs.Parameters = append(tmpl.Inputs.Parameters, prm)
	}
	for _, out := range comp.Outputs {
		if out.Type.IsArtifact() {
			tmpl.Outputs.Artifacts = append(tmpl.Outputs.Artifacts, wfv1.Artifact{Name: out.Name, Path: OutputPath(out.Name)})
			continue
		}
		tmpl.Outputs.Parameters = append(tmpl.Outputs.Parameters, wfv1.Parameter{Name: out.Name, ValueFrom: &wfv1.ValueFrom{Path: OutputPath(out.Name), Default: wfv1.AnyStringPtr(zeroValue(out.Type))}})
	}
	ctr := &apiv1.Container{}
	switch comp.Impl {
	case ir.ImplGo:
		image := cfg.Image
		if image == "" {
			image = c.opts.Image
		}
		if image == "" {
			image = c.top.Settings.Image
		}
		if image == "" {
			c.errorf(path, field.ErrorTypeRequired, "no image to run Go component "+strconv.Quote(comp.Name)+": set compiler.Options.Image (--image) or dsl.Image on the pipeline")
		}
		tmpl.Metadata.Annotations = map[string]string{AnnotationGoComponent: comp.Name}
		ctr.Image = image
		ctr.Command = []string{c.opts.Binary}
		ctr.Args = goArgs(comp)
	case ir.ImplContainer:
		ctr.Image = comp.Container.Image
		if cfg.Image != "" {
			ctr.Image = cfg.Image
		}
		ctr.Command = substitute(comp, comp.Container.Command)
		ctr.Args = substitute(comp, comp.Container.Args)
		ctr.WorkingDir = comp.Container.WorkingDir
	}
	c.applyConfig(tmpl, ctr, cfg, comp, path)
	tmpl.Container = ctr
	return tmpl
}

// goArgs are the arguments of the pipeline program's component entrypoint.
func goArgs(comp *ir.Component) []string {
	args := []string{"component", comp.Name}
	for _, in := range comp.Inputs {
		if in.Type.IsArtifact() {
			args = append(args, "--input", in.Name+"="+InputPath(in.Name))
		} else {
			args = append(args, "--param", in.Name+"={{inputs.parameters."+in.Name+"}}")
		}
	}
	for _, out := range comp.Outputs {
		args = append(args, "--output", out.Name+"="+OutputPath(out.Name))
	}
	return args
}

// substitute replaces Kiln placeholders in a container component's command or args.
func substitute(comp *ir.Component, in []string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, len(in))
	for i, s := range in {
		phs := dsl.Placeholders(s)
		if len(phs) == 0 {
			out[i] = s
			continue
		}
		var b strings.Builder
		last := 0
		for _, ph := range phs {
			b.WriteString(s[last:ph.Start])
			switch {
			case ph.Output:
				b.WriteString(OutputPath(ph.Name))
			case ph.Path:
				b.WriteString(InputPath(ph.Name))
			default:
				b.WriteString("{{inputs.parameters." + ph.Name + "}}")
			}
			last = ph.End
		}
		b.WriteString(s[last:])
		out[i] = b.String()
	}
	return out
}

// applyConfig sets retries, timeout, caching, resources, scheduling, env and volumes.
func (c *compilation) applyConfig(tmpl *wfv1.Template, ctr *apiv1.Container, cfg ir.Config, comp *ir.Component, path *ir.Path) {
	if r := cfg.Retry; r != nil {
		limit := intstr.FromInt(r.Limit)
		rs := &wfv1.RetryStrategy{Limit: &limit, RetryPolicy: wfv1.RetryPolicy(r.Policy)}
		if r.Backoff > 0 {
			factor := intstr.FromInt(r.Factor)
			rs.Backoff = &wfv1.Backoff{Duration: r.Backoff.String(), Factor: &factor}
			if r.MaxDuration > 0 {
				rs.Backoff.MaxDuration = r.MaxDuration.String()
			}
		}
		tmpl.RetryStrategy = rs
	}
	if cfg.Timeout != nil {
		secs := int(cfg.Timeout.Seconds())
		if secs < 1 {
			secs = 1
		}
		v := intstr.FromInt(secs)
		tmpl.ActiveDeadlineSeconds = &v
	}
	if cfg.Cache != nil && *cfg.Cache {
		key := cfg.CacheKey
		if key == "" {
			key = c.defaultCacheKey(comp, path)
		}
		tmpl.Memoize = &wfv1.Memoize{Key: key, Cache: &wfv1.Cache{ConfigMap: &apiv1.ConfigMapKeySelector{LocalObjectReference: apiv1.LocalObjectReference{Name: CacheConfigMap}}}}
		if cfg.CacheMaxAge != nil {
			tmpl.Memoize.MaxAge = cfg.CacheMaxAge.String()
		}
	}
	res := cfg.Resources
	req, lim := apiv1.ResourceList{}, apiv1.ResourceList{}
	setQ := func(l apiv1.ResourceList, name apiv1.ResourceName, q string) {
		if v, err := resource.ParseQuantity(q); q != "" && err == nil { // checked by the option
			l[name] = v
		}
	}
	setQ(req, apiv1.ResourceCPU, res.CPURequest)
	setQ(lim, apiv1.ResourceCPU, res.CPULimit)
	setQ(req, apiv1.ResourceMemory, res.MemoryRequest)
	setQ(lim, apiv1.ResourceMemory, res.MemoryLimit)
	if res.GPU > 0 {
		lim[apiv1.ResourceName(res.GPUResource)] = *resource.NewQuantity(int64(res.GPU), resource.DecimalSI)
	}
	if len(req) > 0 {
		ctr.Resources.Requests = req
	}
	if len(lim) > 0 {
		ctr.Resources.Limits = lim
	}
	if len(cfg.NodeSelector) > 0 {
		tmpl.NodeSelector = cfg.NodeSelector
	}
	for _, t := range cfg.Tolerations {
		tmpl.Tolerations = append(tmpl.Tolerations, apiv1.Toleration{Key: t.Key, Operator: apiv1.TolerationOperator(t.Operator), Value: t.Value, Effect: apiv1.TaintEffect(t.Effect)})
	}
	for _, e := range cfg.Env {
		ev := apiv1.EnvVar{Name: e.Name, Value: e.Value}
		if e.SecretName != "" {
			ev.Value = ""
			ev.ValueFrom = &apiv1.EnvVarSource{SecretKeyRef: &apiv1.SecretKeySelector{LocalObjectReference: apiv1.LocalObjectReference{Name: e.SecretName}, Key: e.SecretKey}}
		}
		ctr.Env = append(ctr.Env, ev)
	}
	for _, v := range cfg.Volumes {
		vol := apiv1.Volume{Name: v.Name}
		switch {
		case v.PVC != "":
			vol.PersistentVolumeClaim = &apiv1.PersistentVolumeClaimVolumeSource{ClaimName: v.PVC, ReadOnly: v.ReadOnly}
		case v.Secret != "":
			vol.Secret = &apiv1.SecretVolumeSource{SecretName: v.Secret}
		default:
			vol.EmptyDir = &apiv1.EmptyDirVolumeSource{}
		}
		tmpl.Volumes = append(tmpl.Volumes, vol)
		ctr.VolumeMounts = append(ctr.VolumeMounts, apiv1.VolumeMount{Name: v.Name, MountPath: v.MountPath, ReadOnly: v.ReadOnly})
	}
}

// defaultCacheKey keys a cached task by a digest of the component's definition and its
// parameter inputs. Artifacts are not part of Argo's key, so caching a component with input
// artifacts needs an explicit key.
func (c *compilation) defaultCacheKey(comp *ir.Component, path *ir.Path) string {
	var params []string
	for _, in := range comp.Inputs {
		if in.Type.IsArtifact() {
			c.errorf(path, field.ErrorTypeRequired, "caching a component with input artifacts (\""+in.Name+"\") needs an explicit dsl.CacheKey: Argo's cache key cannot see artifact contents")
			return "invalid"
		}
		params = append(params, "inputs.parameters."+in.Name)
	}
	h := sha256.New()
	def, _ := json.Marshal(struct {
		Name      string
		Container *ir.Container
		In, Out   []ir.Port
		Image     string
	}{comp.Name, comp.Container, stripPorts(comp.Inputs), stripPorts(comp.Outputs), c.opts.Image + c.top.Settings.Image})
	h.Write(def)
	prefix := comp.Name + "-" + hex.EncodeToString(h.Sum(nil))[:12]
	if len(params) == 0 {
		return prefix
	}
	return prefix + "-{{=sprig.sha256sum(toJson([" + strings.Join(params, ", ") + "]))}}"
}

// stripPorts drops Go type information, which does not marshal usefully.
func stripPorts(ps []ir.Port) []ir.Port {
	out := make([]ir.Port, len(ps))
	for i, p := range ps {
		p.Type = ir.Type{Kind: p.Type.Kind, Artifact: p.Type.Artifact}
		p.Field = nil
		out[i] = p
	}
	return out
}

// zeroValue is the encoded zero value of a type: an output's default when it was not produced.
func zeroValue(t ir.Type) string {
	switch t.Kind {
	case ir.KindInt, ir.KindFloat:
		return "0"
	case ir.KindBool:
		return "false"
	case ir.KindList:
		return "[]"
	case ir.KindMap:
		return "{}"
	case ir.KindStruct:
		return "null"
	}
	return ""
}

package dsl

import (
	"context"
	"fmt"
	"reflect"
	"strings"

	"github.com/kilnml/kiln/internal/ir"
)

// Component is a reusable step with typed inputs In and outputs Out: a Go function (Func), a
// container image (Container), a spec file (see the componentspec package) or a nested pipeline
// (NewSubPipeline). In and Out are structs whose exported fields are all Value[T].
//
// A component is defined once and called from pipelines with Task; the compiler emits one Argo
// template per component, shared by all its tasks.
type Component[In, Out any] struct {
	c   *ir.Component
	err error
}

// Func defines a Go-function component. The function runs inside the pipeline's own binary: in a
// pod on a cluster, or as a process with the local engine.
//
// The In struct's fields are the inputs; their tags give names, defaults and descriptions:
//
//	type TrainIn struct {
//		Data dsl.Value[dsl.Dataset] `description:"training data"`
//		LR   dsl.Value[float64]     `kiln:"lr" default:"0.1"`
//	}
func Func[In, Out any](name string, fn func(context.Context, In) (Out, error), opts ...Option) *Component[In, Out] {
	c := newComponent[In, Out](name, ir.ImplGo, opts)
	if c.err != nil {
		return c
	}
	if fn == nil {
		c.err = fmt.Errorf("component %q: function is nil", name)
		return c
	}
	c.c.InType, c.c.OutType = reflect.TypeFor[In](), reflect.TypeFor[Out]()
	inPorts, outPorts := c.c.Inputs, c.c.Outputs
	c.c.Invoke = func(ctx context.Context, args map[string]any) (map[string]any, error) {
		var in In
		iv := reflect.ValueOf(&in).Elem()
		for _, p := range inPorts {
			if v, ok := args[p.Name]; ok {
				fieldPort(iv, p.Field).setConcrete(v)
			}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return nil, err
		}
		ov := reflect.ValueOf(&out).Elem()
		res := make(map[string]any, len(outPorts))
		for _, p := range outPorts {
			if v, ok := fieldPort(ov, p.Field).concrete(); ok {
				res[p.Name] = v
			}
		}
		return res, nil
	}
	return c
}

// ContainerSpec is the implementation of a container component.
//
// Command and Args may contain placeholders, replaced when the task runs:
//
//	{{inputs.NAME}}        the value of parameter input NAME
//	{{inputs.NAME.path}}   the local path of artifact input NAME
//	{{outputs.NAME.path}}  the path where the container must write output NAME (parameter or artifact)
type ContainerSpec struct {
	Image      string
	Command    []string
	Args       []string
	WorkingDir string
}

// Container defines a component that runs a container image with the typed interface In → Out.
func Container[In, Out any](name string, spec ContainerSpec, opts ...Option) *Component[In, Out] {
	c := newComponent[In, Out](name, ir.ImplContainer, opts)
	if c.err != nil {
		return c
	}
	if err := checkContainer(c.c, spec); err != nil {
		c.err = err
		return c
	}
	c.c.Container = &ir.Container{
		Image:      spec.Image,
		Command:    append([]string(nil), spec.Command...),
		Args:       append([]string(nil), spec.Args...),
		WorkingDir: spec.WorkingDir,
	}
	return c
}

// checkContainer checks the image and that every placeholder names a port of the right kind.
func checkContainer(c *ir.Component, spec ContainerSpec) error {
	var problems []string
	if spec.Image == "" {
		problems = append(problems, "image is empty")
	}
	if len(spec.Command) == 0 && len(spec.Args) == 0 {
		problems = append(problems, "command and args are both empty")
	}
	for _, s := range append(append([]string(nil), spec.Command...), spec.Args...) {
		for _, ph := range Placeholders(s) {
			if err := checkPlaceholder(c, ph); err != nil {
				problems = append(problems, err.Error())
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("component %q: %s", c.Name, strings.Join(problems, "; "))
	}
	return nil
}

func checkPlaceholder(c *ir.Component, ph Placeholder) error {
	switch {
	case ph.Output:
		if c.Output(ph.Name) == nil {
			return fmt.Errorf("placeholder %s: no output named %q", ph.Text, ph.Name)
		}
		if !ph.Path {
			return fmt.Errorf("placeholder %s: outputs are only available as paths ({{outputs.%s.path}})", ph.Text, ph.Name)
		}
	default:
		in := c.Input(ph.Name)
		if in == nil {
			return fmt.Errorf("placeholder %s: no input named %q", ph.Text, ph.Name)
		}
		if in.Type.IsArtifact() != ph.Path {
			if ph.Path {
				return fmt.Errorf("placeholder %s: input %q is a parameter; use {{inputs.%s}}", ph.Text, ph.Name, ph.Name)
			}
			return fmt.Errorf("placeholder %s: input %q is an artifact; use {{inputs.%s.path}}", ph.Text, ph.Name, ph.Name)
		}
	}
	return nil
}

// Placeholder is a {{inputs.NAME}}, {{inputs.NAME.path}} or {{outputs.NAME.path}} reference in a
// container command or argument.
type Placeholder struct {
	Text   string // the placeholder as written, braces included
	Output bool
	Name   string
	Path   bool
	// Start and End are the byte offsets of Text in the string.
	Start, End int
}

// Placeholders returns the Kiln placeholders in s, in order. Other {{...}} text (Argo's own
// variables) is left alone.
func Placeholders(s string) []Placeholder {
	var out []Placeholder
	for i := 0; ; {
		j := strings.Index(s[i:], "{{")
		if j < 0 {
			return out
		}
		start := i + j
		k := strings.Index(s[start:], "}}")
		if k < 0 {
			return out
		}
		end := start + k + 2
		body := strings.TrimSpace(s[start+2 : end-2])
		parts := strings.Split(body, ".")
		ph := Placeholder{Text: s[start:end], Start: start, End: end}
		ok := false
		switch {
		case len(parts) == 2 && parts[0] == "inputs":
			ph.Name, ok = parts[1], true
		case len(parts) == 3 && parts[0] == "inputs" && parts[2] == "path":
			ph.Name, ph.Path, ok = parts[1], true, true
		case len(parts) >= 2 && parts[0] == "outputs":
			ph.Output, ph.Name, ok = true, parts[1], true
			ph.Path = len(parts) == 3 && parts[2] == "path"
		}
		if ok && portNameRE.MatchString(ph.Name) {
			out = append(out, ph)
		}
		i = end
	}
}

func newComponent[In, Out any](name string, impl ir.ImplKind, opts []Option) *Component[In, Out] {
	c := &Component[In, Out]{c: &ir.Component{Name: name, Impl: impl}}
	if errs := validateName(name); len(errs) > 0 {
		c.err = fmt.Errorf("component name %q: %s", name, strings.Join(errs, "; "))
		return c
	}
	var err error
	if c.c.Inputs, err = portsOf(reflect.TypeFor[In]()); err != nil {
		c.err = fmt.Errorf("component %q: inputs: %w", name, err)
		return c
	}
	if c.c.Outputs, err = portsOf(reflect.TypeFor[Out]()); err != nil {
		c.err = fmt.Errorf("component %q: outputs: %w", name, err)
		return c
	}
	for _, p := range c.c.Outputs {
		if p.Default != nil || p.Optional {
			c.err = fmt.Errorf("component %q: output %q: outputs cannot have defaults or be optional", name, p.Name)
			return c
		}
	}
	var os optionSet
	for _, o := range opts {
		o.applyOption(&os)
	}
	if len(os.taskOnly) > 0 {
		os.errorf("%s can only be used on a task", strings.Join(os.taskOnly, ", "))
	}
	if len(os.errs) > 0 {
		c.err = fmt.Errorf("component %q: %s", name, strings.Join(os.errs, "; "))
		return c
	}
	c.c.Config, c.c.Description = os.cfg, os.description
	return c
}

// Name returns the component's name.
func (c *Component[In, Out]) Name() string { return c.c.Name }

// Err returns the problem found when the component was defined, if any. Tasks of a component with
// an error make the pipeline fail to compile with this error.
func (c *Component[In, Out]) Err() error { return c.err }

// Task adds a call of the component to the scope s (a pipeline or a block inside one) with the
// given inputs, and returns the task, whose Out field holds typed references to its outputs.
func (c *Component[In, Out]) Task(s Scope, in In, opts ...Option) *Task[Out] {
	t := &Task[Out]{}
	b := s.scope()
	it := addTask(b, c.c, c.err, opts)
	t.t = it
	iv := reflect.ValueOf(&in).Elem()
	path := ir.TaskPath(it)
	for _, p := range c.c.Inputs {
		sym, err := fieldPort(iv, p.Field).symbol()
		if err != nil {
			addError(b.Pipeline, path.Child("input", p.Name), err.Error())
			continue
		}
		if sym != nil {
			it.Args[p.Name] = sym
		}
	}
	ov := reflect.ValueOf(&t.Out).Elem()
	for _, p := range c.c.Outputs {
		fieldPort(ov, p.Field).setRef(&ir.Value{Kind: ir.ValueOutput, Type: p.Type, Task: it, Output: p.Name})
	}
	return t
}

// Task is a call of a component in a pipeline. Out holds typed references to its outputs, to be
// passed to other tasks' inputs.
type Task[Out any] struct {
	Out Out
	t   *ir.Task
}

// Name returns the task's name, unique in its pipeline.
func (t *Task[Out]) Name() string { return t.t.Name }

func (t *Task[Out]) irTask() *ir.Task { return t.t }

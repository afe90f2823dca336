package dsl

import (
	"fmt"
	"strings"

	"github.com/kilnml/kiln/internal/ir"
	"github.com/kilnml/kiln/internal/paramcodec"
)

// PortSpec declares a port of a component whose interface is only known at run time of the
// pipeline program, such as one loaded from a spec file.
type PortSpec struct {
	Name        string
	Description string
	// Type is one of string, int, float, bool, list, list<T>, map, map<string,T>, struct, or an
	// artifact type: Dataset, Model, Metrics, Artifact.
	Type     string
	Default  *string
	Optional bool
}

// UntypedComponent is a container component whose ports are declared at run time, typically
// loaded from a spec file. Its wiring is type-checked when the pipeline is compiled rather than
// by the Go compiler.
type UntypedComponent struct {
	c *ir.Component
}

// Args are the inputs of an untyped component's task, by port name.
type Args map[string]Ref

// NewUntyped defines a container component from port declarations.
func NewUntyped(name, description string, inputs, outputs []PortSpec, spec ContainerSpec, opts ...Option) (*UntypedComponent, error) {
	c := newComponent[struct{}, struct{}](name, ir.ImplContainer, opts)
	if c.err != nil {
		return nil, c.err
	}
	c.c.Description = description
	var problems []string
	seen := map[string]bool{}
	conv := func(kind string, ps []PortSpec) []ir.Port {
		var out []ir.Port
		for _, p := range ps {
			if !portNameRE.MatchString(p.Name) {
				problems = append(problems, fmt.Sprintf("%s %q: name must match %s", kind, p.Name, portNameRE))
				continue
			}
			if seen[p.Name] {
				problems = append(problems, fmt.Sprintf("%s %q: name used twice", kind, p.Name))
				continue
			}
			seen[p.Name] = true
			t, err := ParseType(p.Type)
			if err != nil {
				problems = append(problems, fmt.Sprintf("%s %q: %v", kind, p.Name, err))
				continue
			}
			port := ir.Port{Name: p.Name, Description: p.Description, Type: t, Optional: p.Optional, Default: p.Default}
			if p.Default != nil && t.IsArtifact() {
				problems = append(problems, fmt.Sprintf("%s %q: artifacts cannot have a default", kind, p.Name))
			}
			out = append(out, port)
		}
		return out
	}
	c.c.Inputs = conv("input", inputs)
	c.c.Outputs = conv("output", outputs)
	if len(problems) == 0 {
		if err := checkContainer(c.c, spec); err != nil {
			return nil, err
		}
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("component %q: %s", name, strings.Join(problems, "; "))
	}
	c.c.Container = &ir.Container{Image: spec.Image, Command: spec.Command, Args: spec.Args, WorkingDir: spec.WorkingDir}
	return &UntypedComponent{c: c.c}, nil
}

// Name returns the component's name.
func (c *UntypedComponent) Name() string { return c.c.Name }

// Task adds a call of the component to s. Argument types are checked when the pipeline is
// compiled.
func (c *UntypedComponent) Task(s Scope, args Args, opts ...Option) *UntypedTask {
	b := s.scope()
	t := addTask(b, c.c, nil, opts)
	path := ir.TaskPath(t)
	for name, r := range args {
		if c.c.Input(name) == nil {
			addError(b.Pipeline, path.Child("input", name), "component has no such input")
			continue
		}
		if r == nil {
			addError(b.Pipeline, path.Child("input", name), "value is nil")
			continue
		}
		sym, err := r.anyRef()
		if err != nil {
			addError(b.Pipeline, path.Child("input", name), err.Error())
			continue
		}
		if sym != nil {
			t.Args[name] = sym
		}
	}
	return &UntypedTask{t: t}
}

// UntypedTask is a task of an UntypedComponent.
type UntypedTask struct{ t *ir.Task }

// Name returns the task's name.
func (t *UntypedTask) Name() string { return t.t.Name }

func (t *UntypedTask) irTask() *ir.Task { return t.t }

// Output returns a reference to the named output; convert it with As to pass it to a typed input.
func (t *UntypedTask) Output(name string) Ref {
	p := t.t.Component.Output(name)
	if p == nil {
		addError(t.t.Block.Pipeline, ir.TaskPath(t.t).Child("output", name), "component has no such output")
		return untypedRef{err: fmt.Errorf("task %q has no output %q", t.t.Name, name)}
	}
	return untypedRef{v: &ir.Value{Kind: ir.ValueOutput, Type: p.Type, Task: t.t, Output: name}}
}

type untypedRef struct {
	v   *ir.Value
	err error
}

func (r untypedRef) anyRef() (*ir.Value, error) { return r.v, r.err }

// Literal returns a Ref to a literal parameter value, for Args.
func Literal(v any) Ref {
	s, err := paramcodec.Encode(v)
	if err != nil {
		return untypedRef{err: err}
	}
	t, err := typeOfValue(v)
	if err != nil {
		return untypedRef{err: err}
	}
	return untypedRef{v: &ir.Value{Kind: ir.ValueLiteral, Type: t, Literal: s}}
}

// ParseType parses a type name as written in spec files.
func ParseType(s string) (ir.Type, error) {
	s = strings.TrimSpace(s)
	switch s {
	case "string", "str", "String":
		return ir.Type{Kind: ir.KindString}, nil
	case "int", "integer", "Integer":
		return ir.Type{Kind: ir.KindInt}, nil
	case "float", "double", "Float":
		return ir.Type{Kind: ir.KindFloat}, nil
	case "bool", "boolean", "Boolean":
		return ir.Type{Kind: ir.KindBool}, nil
	case "list", "List":
		return ir.Type{Kind: ir.KindList}, nil
	case "map", "dict", "Dict":
		return ir.Type{Kind: ir.KindMap}, nil
	case "struct", "json", "JSON":
		return ir.Type{Kind: ir.KindStruct}, nil
	case "Dataset", "Model", "Metrics", "Artifact":
		return ir.Type{Kind: ir.KindArtifact, Artifact: s}, nil
	}
	if inner, ok := strings.CutPrefix(s, "list<"); ok && strings.HasSuffix(inner, ">") {
		e, err := ParseType(strings.TrimSuffix(inner, ">"))
		if err != nil || e.IsArtifact() {
			return ir.Type{}, fmt.Errorf("type %q: bad element type", s)
		}
		return ir.Type{Kind: ir.KindList, Elem: &e}, nil
	}
	if inner, ok := strings.CutPrefix(s, "map<string,"); ok && strings.HasSuffix(inner, ">") {
		e, err := ParseType(strings.TrimSuffix(inner, ">"))
		if err != nil || e.IsArtifact() {
			return ir.Type{}, fmt.Errorf("type %q: bad value type", s)
		}
		return ir.Type{Kind: ir.KindMap, Elem: &e}, nil
	}
	return ir.Type{}, fmt.Errorf("unknown type %q (want string, int, float, bool, list, list<T>, map, map<string,T>, struct, Dataset, Model, Metrics or Artifact)", s)
}

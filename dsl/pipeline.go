package dsl

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/kilnml/kiln/internal/ir"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Scope is where tasks are added: a pipeline, or a block inside one (a branch of If, the body of
// ParallelFor, an exit handler).
type Scope interface {
	scope() *ir.Block
}

// Pipeline is a graph of tasks with typed inputs, built by NewPipeline. Compile it with the
// compiler package or run it with kiln.Main.
type Pipeline struct {
	p *ir.Pipeline
}

func (p *Pipeline) scope() *ir.Block { return p.p.Root }

// Name returns the pipeline's name.
func (p *Pipeline) Name() string { return p.p.Name }

// Graph returns the pipeline's graph for the compiler and runtime. Its type is internal to Kiln.
func (p *Pipeline) Graph() *ir.Pipeline { return p.p }

// NewPipeline builds a pipeline named name by calling body once with references to the
// pipeline's inputs. In is a struct of Value[T] fields (use struct{} for none); their tags give
// input names, defaults and descriptions, as for components. Inputs without a default are
// required when the pipeline runs.
//
// Mistakes that the Go compiler cannot see (a missing required input, a bad option value) are
// recorded and reported, all together, when the pipeline is compiled.
func NewPipeline[In any](name string, body func(s Scope, in In), opts ...PipelineOption) *Pipeline {
	p := newPipelineIR(name)
	for _, o := range opts {
		if err := o.applyPipeline(p); err != nil {
			addError(p, ir.PipelinePath(p), err.Error())
		}
	}
	in, ok := inputsOf[In](p)
	if ok && body != nil {
		body(&block{b: p.Root}, in)
	}
	return &Pipeline{p: p}
}

// NewSubPipeline defines a pipeline that other pipelines call as a component: In are its inputs,
// Out its outputs, which body returns (each field a value produced inside the body). It compiles
// to one Argo DAG template, shared by every call.
func NewSubPipeline[In, Out any](name string, body func(s Scope, in In) Out, opts ...Option) *Component[In, Out] {
	c := newComponent[In, Out](name, ir.ImplPipeline, opts)
	p := newPipelineIR(name)
	c.c.Pipeline = p
	if c.err != nil {
		return c
	}
	in, ok := inputsOf[In](p)
	if !ok {
		return c
	}
	out := body(&block{b: p.Root}, in)
	ov := reflect.ValueOf(&out).Elem()
	p.Outputs = c.c.Outputs
	p.Results = map[string]*ir.Value{}
	for _, port := range c.c.Outputs {
		sym, err := fieldPort(ov, port.Field).symbol()
		switch {
		case err != nil:
			addError(p, ir.PipelinePath(p).Child("output", port.Name), err.Error())
		case sym == nil:
			addError(p, ir.PipelinePath(p).Child("output", port.Name), "not set: the body must return a value for every output")
		default:
			p.Results[port.Name] = sym
		}
	}
	return c
}

func newPipelineIR(name string) *ir.Pipeline {
	p := &ir.Pipeline{Name: name}
	p.Root = &ir.Block{Kind: ir.BlockRoot, Pipeline: p}
	p.Blocks = []*ir.Block{p.Root}
	if errs := validateName(name); len(errs) > 0 {
		addError(p, ir.PipelinePath(p), "name: "+strings.Join(errs, "; "))
	}
	return p
}

// inputsOf declares the pipeline's inputs from In and returns an In whose fields reference them.
func inputsOf[In any](p *ir.Pipeline) (In, bool) {
	var in In
	ports, err := portsOf(reflect.TypeFor[In]())
	if err != nil {
		addError(p, ir.PipelinePath(p), "inputs: "+err.Error())
		return in, false
	}
	p.Inputs = ports
	iv := reflect.ValueOf(&in).Elem()
	for _, port := range ports {
		fieldPort(iv, port.Field).setRef(&ir.Value{Kind: ir.ValueInput, Type: port.Type, Pipeline: p, Input: port.Name})
	}
	return in, true
}

// block is a Scope for a nested block.
type block struct{ b *ir.Block }

func (b *block) scope() *ir.Block { return b.b }

func newBlock(parent *ir.Block, kind ir.BlockKind) *ir.Block {
	p := parent.Pipeline
	b := &ir.Block{Kind: kind, Parent: parent, Pipeline: p, Index: len(p.Blocks)}
	parent.Blocks = append(parent.Blocks, b)
	p.Blocks = append(p.Blocks, b)
	return b
}

func addError(p *ir.Pipeline, path *ir.Path, detail string) {
	p.Errors = append(p.Errors, ir.Error{Path: path, Detail: detail})
}

// addTask creates a task in block b for component c, applying opts. compErr is a problem with
// the component's definition, reported against the task.
func addTask(b *ir.Block, c *ir.Component, compErr error, opts []Option) *ir.Task {
	p := b.Pipeline
	var os optionSet
	for _, o := range opts {
		o.applyOption(&os)
	}
	name := os.name
	if name == "" {
		name = uniqueTaskName(p, c.Name)
	}
	t := &ir.Task{Name: name, Component: c, Block: b, Args: map[string]*ir.Value{}, After: os.after, Config: os.cfg, Index: len(p.Tasks)}
	if os.description != "" {
		os.errorf("Description can only be used on a component or pipeline")
	}
	p.Tasks = append(p.Tasks, t)
	b.Tasks = append(b.Tasks, t)
	if p.TaskNames == nil {
		p.TaskNames = map[string]int{}
	}
	p.TaskNames[name]++
	if os.name == "" && name != c.Name {
		p.TaskNames[c.Name]++
	}
	path := ir.TaskPath(t)
	if compErr != nil {
		addError(p, path, compErr.Error())
	}
	for _, e := range os.errs {
		addError(p, path, e)
	}
	return t
}

func uniqueTaskName(p *ir.Pipeline, base string) string {
	if p.TaskNames == nil {
		p.TaskNames = map[string]int{}
	}
	name := base
	for n := p.TaskNames[base]; p.TaskNames[name] > 0; n++ {
		name = base + "-" + strconv.Itoa(n+1)
	}
	return name
}

// validateName checks a component, pipeline or task name: names become Argo template and task
// names and Kubernetes object names, so they must be DNS-1123 labels.
func validateName(name string) []string {
	if name == "" {
		return []string{"must not be empty"}
	}
	return validation.IsDNS1123Label(name)
}

// String describes the pipeline.
func (p *Pipeline) String() string {
	return fmt.Sprintf("pipeline %q (%d tasks)", p.p.Name, len(p.p.Tasks))
}

package dsl

import (
	"fmt"
	"reflect"

	"github.com/kilnml/kiln/internal/ir"
	"github.com/kilnml/kiln/internal/paramcodec"
)

// Condition is a CEL expression over bound values, used by If. Build it with When.
type Condition struct {
	c   *ir.Condition
	err error
}

// Binding gives a CEL variable name to a value; see Bind.
type Binding struct {
	name string
	ref  Ref
}

// Bind names a value for use in a condition.
func Bind(name string, v Ref) Binding { return Binding{name: name, ref: v} }

// When returns the condition expr, a CEL expression over the bound variables, for example
//
//	dsl.When("acc >= threshold && model == 'gbt'",
//		dsl.Bind("acc", eval.Out.Accuracy), dsl.Bind("threshold", in.Threshold), dsl.Bind("model", in.Model))
//
// The expression is type-checked with the variables' types when the pipeline is compiled and
// lowered to an Argo `when` expression with the same meaning.
func When(expr string, vars ...Binding) Condition {
	c := &ir.Condition{Expr: expr}
	for _, b := range vars {
		sym, err := b.ref.anyRef()
		if err != nil {
			return Condition{err: fmt.Errorf("variable %q: %w", b.name, err)}
		}
		if sym == nil {
			return Condition{err: fmt.Errorf("variable %q: value is not set", b.name)}
		}
		c.Vars = append(c.Vars, ir.Var{Name: b.name, Value: sym})
	}
	return Condition{c: c}
}

// IfBlock is the result of If; call Else to add the other branch.
type IfBlock struct {
	parent *ir.Block
	cond   Condition
	used   bool
}

// If adds tasks that run only when cond holds: body is called once to add them.
func If(s Scope, cond Condition, body func(s Scope)) *IfBlock {
	parent := s.scope()
	addCondBlock(parent, cond, false, body)
	return &IfBlock{parent: parent, cond: cond}
}

// Else adds tasks that run only when the If's condition does not hold.
func (b *IfBlock) Else(body func(s Scope)) {
	if b.used {
		addError(b.parent.Pipeline, ir.PipelinePath(b.parent.Pipeline), "Else called twice on the same If")
		return
	}
	b.used = true
	addCondBlock(b.parent, b.cond, true, body)
}

func addCondBlock(parent *ir.Block, cond Condition, negate bool, body func(Scope)) {
	b := newBlock(parent, ir.BlockIf)
	b.Else = negate
	if cond.err != nil {
		addError(parent.Pipeline, ir.PipelinePath(parent.Pipeline).Child("condition", ""), cond.err.Error())
	}
	b.Cond = cond.c
	if b.Cond == nil {
		b.Cond = &ir.Condition{}
	}
	if body != nil {
		body(&block{b: b})
	}
}

// Items is the source of a parallel-for: a literal list (List), a range (Range) or an upstream
// list output (Over).
type Items[T any] struct {
	set  func(*ir.Loop) error
	kind string
}

// List loops over the given literal items.
func List[T any](items ...T) Items[T] {
	return Items[T]{kind: "list", set: func(l *ir.Loop) error {
		if len(items) == 0 {
			return fmt.Errorf("loop over an empty list")
		}
		for i, it := range items {
			s, err := paramcodec.Encode(it)
			if err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
			l.Items = append(l.Items, s)
		}
		return nil
	}}
}

// Range loops over start, start+step, … up to but excluding end. step must be positive.
func Range(start, end, step int) Items[int] {
	return Items[int]{kind: "range", set: func(l *ir.Loop) error {
		if step <= 0 {
			return fmt.Errorf("range step %d must be positive", step)
		}
		if end <= start {
			return fmt.Errorf("range [%d, %d) is empty", start, end)
		}
		l.Range = &ir.Range{Start: start, End: end, Step: step}
		return nil
	}}
}

// Over loops over the items of a list produced upstream (a task output or pipeline input).
func Over[T any](list Value[[]T]) Items[T] {
	return Items[T]{kind: "over", set: func(l *ir.Loop) error {
		sym, err := list.anyRef()
		if err != nil {
			return err
		}
		if sym == nil {
			return fmt.Errorf("loop over an unset list")
		}
		if sym.Kind == ir.ValueLiteral {
			return fmt.Errorf("loop over a literal list: use dsl.List")
		}
		l.Over = sym
		return nil
	}}
}

// LoopOption configures a ParallelFor.
type LoopOption interface {
	applyLoop(*ir.Loop) error
}

// Loop is a parallel-for added by ParallelFor; pass it to Collect to gather outputs.
type Loop struct{ b *ir.Block }

// ParallelFor runs the tasks that body adds once per item, in parallel (bounded by a Parallelism
// option). body is called once, with a reference to the current item.
func ParallelFor[T any](s Scope, items Items[T], body func(s Scope, item Value[T]), opts ...LoopOption) *Loop {
	parent := s.scope()
	b := newBlock(parent, ir.BlockLoop)
	it, err := typeOf(reflect.TypeFor[T]())
	l := &ir.Loop{ItemType: it}
	b.Loop = l
	path := ir.PipelinePath(parent.Pipeline).Child("loop", fmt.Sprint(b.Index))
	if err != nil {
		addError(parent.Pipeline, path, err.Error())
	} else if it.IsArtifact() {
		addError(parent.Pipeline, path, "loops over artifacts are not supported")
	}
	if items.set == nil {
		addError(parent.Pipeline, path, "no items: use dsl.List, dsl.Range or dsl.Over")
	} else if err := items.set(l); err != nil {
		addError(parent.Pipeline, path, err.Error())
	}
	for _, o := range opts {
		if err := o.applyLoop(l); err != nil {
			addError(parent.Pipeline, path, err.Error())
		}
	}
	item := Value[T]{ref: &ir.Value{Kind: ir.ValueItem, Type: it, Loop: b}}
	if body != nil {
		body(&block{b: b}, item)
	}
	return &Loop{b: b}
}

// Collect gathers, after the loop, the output v of a task inside the loop's body from every
// iteration, as a list in item order (fan-in).
func Collect[T any](l *Loop, v Value[T]) Value[[]T] {
	out := Value[[]T]{}
	sym, err := v.anyRef()
	lt, terr := typeOf(reflect.TypeFor[[]T]())
	p := l.b.Pipeline
	switch {
	case err != nil:
		addError(p, ir.PipelinePath(p).Child("collect", ""), err.Error())
	case terr != nil:
		addError(p, ir.PipelinePath(p).Child("collect", ""), terr.Error())
	case sym == nil || sym.Kind != ir.ValueOutput:
		addError(p, ir.PipelinePath(p).Child("collect", ""), "only task outputs can be collected")
	case sym.Type.IsArtifact():
		addError(p, ir.TaskPath(sym.Task).Child("output", sym.Output), "artifacts cannot be collected from a loop; collect a parameter (for example the artifact's key or a metric)")
	case !inside(sym.Task.Block, l.b):
		addError(p, ir.TaskPath(sym.Task).Child("output", sym.Output), "collected value is not produced inside the loop")
	default:
		out.ref = &ir.Value{Kind: ir.ValueCollect, Type: lt, Task: sym.Task, Output: sym.Output, Loop: l.b}
	}
	return out
}

// inside reports whether block b is loop or nested in it.
func inside(b, loop *ir.Block) bool {
	for ; b != nil; b = b.Parent {
		if b == loop {
			return true
		}
	}
	return false
}

// OnExit adds tasks that run after the pipeline finishes, whatever its outcome; RunStatus tells
// them how it went. Only the top-level pipeline has an exit handler.
func OnExit(p *Pipeline, body func(s Scope)) {
	if p.p.Settings.Exit != nil {
		addError(p.p, ir.PipelinePath(p.p), "OnExit called twice")
		return
	}
	b := &ir.Block{Kind: ir.BlockExit, Pipeline: p.p, Index: len(p.p.Blocks)}
	p.p.Blocks = append(p.p.Blocks, b)
	p.p.Settings.Exit = b
	body(&block{b: b})
}

// RunStatus is the run's status as seen by an exit handler: "Succeeded", "Failed" or "Error".
func RunStatus() Value[string] {
	return Value[string]{ref: &ir.Value{Kind: ir.ValueGlobal, Type: ir.Type{Kind: ir.KindString, Go: reflect.TypeFor[string]()}, Global: "status"}}
}

// RunFailures is a JSON list describing the run's failed steps, for exit handlers.
func RunFailures() Value[string] {
	return Value[string]{ref: &ir.Value{Kind: ir.ValueGlobal, Type: ir.Type{Kind: ir.KindString, Go: reflect.TypeFor[string]()}, Global: "failures"}}
}

// RunName is the run's unique name (the Argo workflow name).
func RunName() Value[string] {
	return Value[string]{ref: &ir.Value{Kind: ir.ValueGlobal, Type: ir.Type{Kind: ir.KindString, Go: reflect.TypeFor[string]()}, Global: "name"}}
}

// LoopName names the Argo template and task of a loop whose body compiles to its own DAG
// (default: the first task's name followed by "-loop").
func LoopName(name string) LoopOption { return loopName(name) }

type loopName string

func (n loopName) applyLoop(l *ir.Loop) error {
	if errs := validateName(string(n)); len(errs) > 0 {
		return fmt.Errorf("loop name %q: %s", string(n), errs[0])
	}
	l.Name = string(n)
	return nil
}

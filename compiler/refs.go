package compiler

import (
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/internal/ir"
)

// ownerDAG returns the block whose DAG template holds block b's tasks.
func ownerDAG(b *ir.Block) *ir.Block {
	for ; b != nil; b = b.Parent {
		if b.Kind == ir.BlockRoot || b.Kind == ir.BlockExit || isLoopDAG(b) {
			return b
		}
	}
	return nil
}

// encloses reports whether an enclosing DAG of d is built from block b.
func (d *dag) encloses(b *ir.Block) bool {
	for p := d.parent; p != nil; p = p.parent {
		if p.block == b {
			return true
		}
	}
	return false
}

// nestedLoop returns the outermost loop DAG block strictly inside d's block on b's ancestry, or
// nil when b is not nested inside d through a loop DAG.
func (d *dag) nestedLoop(b *ir.Block) *ir.Block {
	var loop *ir.Block
	for ; b != nil; b = b.Parent {
		if b == d.block {
			return loop
		}
		if isLoopDAG(b) {
			loop = b
		}
	}
	return nil
}

func ioRef(kind, name string, artifact bool) string {
	if artifact {
		return "{{" + kind + ".artifacts." + name + "}}"
	}
	return "{{" + kind + ".parameters." + name + "}}"
}

func taskRef(task, output string, artifact bool) string {
	if artifact {
		return "{{tasks." + task + ".outputs.artifacts." + output + "}}"
	}
	return "{{tasks." + task + ".outputs.parameters." + output + "}}"
}

// resolve returns the Argo expression for value v used in the DAG entry being built, recording
// the dependencies it implies. Problems are reported at path and false returned.
func (d *dag) resolve(v *ir.Value, path *ir.Path) (string, bool) {
	fail := func(typ field.ErrorType, detail string) (string, bool) {
		d.c.errorf(path, typ, detail)
		return "", false
	}
	switch v.Kind {
	case ir.ValueLiteral:
		if strings.Contains(v.Literal, "{{") {
			return fail(field.ErrorTypeInvalid, "literal "+strconv.Quote(v.Literal)+" contains \"{{\", which Argo would read as a variable")
		}
		return v.Literal, true
	case ir.ValueGlobal:
		if (v.Global == "status" || v.Global == "failures") && ownerDAG(d.block).Kind != ir.BlockExit {
			return fail(field.ErrorTypeForbidden, "the run's status is only known in an exit handler (dsl.OnExit)")
		}
		return "{{workflow." + v.Global + "}}", true
	case ir.ValueInput:
		if v.Pipeline != d.pipeline {
			return fail(field.ErrorTypeForbidden, "input "+strconv.Quote(v.Input)+" of pipeline "+strconv.Quote(v.Pipeline.Name)+" used in pipeline "+strconv.Quote(d.pipeline.Name))
		}
		if d.top {
			return "{{workflow.parameters." + v.Input + "}}", true
		}
		if d.block == d.pipeline.Root {
			return ioRef("inputs", v.Input, v.Type.IsArtifact()), true
		}
		return d.importValue(v), true
	case ir.ValueItem:
		if d.cur != nil && d.cur.loop == v.Loop {
			return "{{item}}", true
		}
		if d.block == v.Loop {
			return "{{inputs.parameters.item}}", true
		}
		if d.encloses(v.Loop) {
			return d.importValue(v), true
		}
		return fail(field.ErrorTypeForbidden, "loop item used outside its loop")
	case ir.ValueOutput:
		p := v.Task
		if p.Block.Pipeline != d.pipeline {
			return fail(field.ErrorTypeForbidden, "output of task "+strconv.Quote(p.Name)+" of pipeline "+strconv.Quote(p.Block.Pipeline.Name)+" used in pipeline "+strconv.Quote(d.pipeline.Name))
		}
		owner := ownerDAG(p.Block)
		switch {
		case owner == d.block:
			if p.Block.Kind == ir.BlockLoop && p.Block != d.block {
				return fail(field.ErrorTypeForbidden, "output "+strconv.Quote(v.Output)+" of task "+strconv.Quote(p.Name)+" is produced once per loop item: use dsl.Collect after the loop")
			}
			d.cur.depend(p.Name)
			return taskRef(p.Name, v.Output, v.Type.IsArtifact()), true
		case d.encloses(owner):
			return d.importValue(v), true
		case owner != nil && owner.Kind == ir.BlockExit || ownerDAG(d.block).Kind == ir.BlockExit:
			return fail(field.ErrorTypeForbidden, "output of task "+strconv.Quote(p.Name)+" crosses the boundary of the exit handler; exit handlers can read pipeline inputs and the run status")
		}
		return fail(field.ErrorTypeForbidden, "output "+strconv.Quote(v.Output)+" of task "+strconv.Quote(p.Name)+" is produced once per loop item: use dsl.Collect after the loop")
	case ir.ValueCollect:
		loop, p := v.Loop, v.Task
		owner := ownerDAG(loop.Parent)
		switch {
		case owner == d.block:
			if !isLoopDAG(loop) {
				d.cur.depend(p.Name)
				return taskRef(p.Name, v.Output, false), true
			}
			if ownerDAG(p.Block) != loop {
				return fail(field.ErrorTypeForbidden, "dsl.Collect gathers outputs of tasks directly in the loop body, not in nested loops")
			}
			child := d.c.loopDAGs[loop]
			if child == nil {
				return "", false // the loop failed to build and was reported
			}
			name := child.expose(p, v.Output)
			d.cur.depend(child.tmpl.Name)
			return taskRef(child.tmpl.Name, name, false), true
		case d.encloses(owner):
			return d.importValue(v), true
		}
		return fail(field.ErrorTypeForbidden, "collected outputs of a loop used where the loop is not visible")
	}
	return fail(field.ErrorTypeInternal, "unknown value kind")
}

// expose makes the loop DAG publish task p's output as a DAG output and returns its name.
func (d *dag) expose(p *ir.Task, output string) string {
	key := p.Name + "." + output
	if name, ok := d.exposed[key]; ok {
		return name
	}
	name := p.Name + "-" + output
	d.exposed[key] = name
	d.tmpl.Outputs.Parameters = append(d.tmpl.Outputs.Parameters, wfv1.Parameter{
		Name:      name,
		ValueFrom: &wfv1.ValueFrom{Parameter: taskRef(p.Name, output, false), Default: wfv1.AnyStringPtr("")},
	})
	return name
}

// valueKey identifies a value for de-duplicating imports.
func valueKey(v *ir.Value) string {
	switch v.Kind {
	case ir.ValueInput:
		return "input/" + v.Input
	case ir.ValueItem:
		return "item/" + strconv.Itoa(v.Loop.Index)
	case ir.ValueOutput:
		return "output/" + v.Task.Name + "/" + v.Output
	case ir.ValueCollect:
		return "collect/" + v.Task.Name + "/" + v.Output
	}
	return "literal/" + v.Literal
}

// importValue declares v as an input of this loop DAG, to be passed in by its loop task, and
// returns the reference to that input.
func (d *dag) importValue(v *ir.Value) string {
	key := valueKey(v)
	if name, ok := d.importKeys[key]; ok {
		return ioRef("inputs", name, v.Type.IsArtifact())
	}
	var name string
	switch v.Kind {
	case ir.ValueInput:
		name = v.Input
	case ir.ValueItem:
		name = d.c.loopName(v.Loop) + "-item"
	case ir.ValueOutput:
		name = v.Task.Name + "-" + v.Output
	case ir.ValueCollect:
		name = v.Task.Name + "-" + v.Output + "-all"
	}
	for base, i := name, 2; d.importNames[name] || name == "item"; i++ {
		name = base + "-" + strconv.Itoa(i)
	}
	d.importNames[name] = true
	d.importKeys[key] = name
	d.imports = append(d.imports, v)
	if v.Type.IsArtifact() {
		d.tmpl.Inputs.Artifacts = append(d.tmpl.Inputs.Artifacts, wfv1.Artifact{Name: name})
	} else {
		d.tmpl.Inputs.Parameters = append(d.tmpl.Inputs.Parameters, wfv1.Parameter{Name: name})
	}
	return ioRef("inputs", name, v.Type.IsArtifact())
}

// dependOn makes the entry being built wait for task t, wherever t is.
func (d *dag) dependOn(t *ir.Task, path *ir.Path) {
	owner := ownerDAG(t.Block)
	switch {
	case owner == d.block:
		d.cur.depend(t.Name)
	case d.nestedLoop(t.Block) != nil:
		d.cur.depend(d.c.loopName(d.nestedLoop(t.Block)))
	case d.encloses(owner):
		for _, x := range d.outerDeps {
			if x == t {
				return
			}
		}
		d.outerDeps = append(d.outerDeps, t)
	default:
		d.c.errorf(path, field.ErrorTypeForbidden, "cannot wait for task "+strconv.Quote(t.Name)+": it is in another pipeline or across the exit handler boundary")
	}
}

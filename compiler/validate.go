package compiler

import (
	"encoding/json"
	"fmt"
	"strconv"

	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/internal/ir"
	"github.com/kilnml/kiln/internal/paramcodec"
)

// checkPipeline reports the problems of pipeline p and the pipelines it calls: what the DSL
// recorded while building, names, wiring, types, required inputs and cycles. Every check is
// linear in the size of the pipeline.
func (c *compilation) checkPipeline(p *ir.Pipeline, top bool) {
	seenPipelines := map[*ir.Pipeline]bool{}
	components := map[string]*ir.Component{}
	var check func(p *ir.Pipeline)
	check = func(p *ir.Pipeline) {
		if seenPipelines[p] {
			return
		}
		seenPipelines[p] = true
		for _, e := range p.Errors {
			c.errorf(e.Path, field.ErrorTypeInvalid, e.Detail)
		}
		if len(p.Tasks) == 0 {
			c.errorf(ir.PipelinePath(p), field.ErrorTypeRequired, "the pipeline has no tasks")
		}
		for _, b := range p.Blocks {
			if b.Kind == ir.BlockLoop && firstTaskIndex(b) == int(^uint(0)>>1) {
				c.errorf(ir.PipelinePath(p).Child("loop", c.loopName(b)), field.ErrorTypeRequired, "the loop body adds no tasks")
			}
		}
		names := make(map[string]*ir.Task, len(p.Tasks))
		for _, t := range p.Tasks {
			path := ir.TaskPath(t)
			if prev := names[t.Name]; prev != nil {
				c.errorf(path, field.ErrorTypeDuplicate, "task name used twice in the pipeline (use dsl.Name to tell them apart)")
			}
			names[t.Name] = t
			if !isDNSLabel(t.Name) {
				if msgs := validation.IsDNS1123Label(t.Name); len(msgs) > 0 {
					c.errorf(path, field.ErrorTypeInvalid, "task name: "+msgs[0])
				}
			}
			comp := t.Component
			if prev, ok := components[comp.Name]; ok && prev != comp {
				c.errorf(path, field.ErrorTypeDuplicate, "component name "+strconv.Quote(comp.Name)+" is used by two different components")
			}
			components[comp.Name] = comp
			c.checkArgs(t, path)
			for _, a := range t.After {
				if a.Block.Pipeline != p {
					c.errorf(path.Child("after", a.Name), field.ErrorTypeNotFound, "task is not in this pipeline")
				}
			}
			if comp.Impl == ir.ImplPipeline {
				check(comp.Pipeline)
			}
		}
		c.checkCycles(p)
	}
	check(p)
	if top && p.Name != "" {
		if comp, ok := components[p.Name]; ok {
			c.errorf(ir.PipelinePath(p), field.ErrorTypeDuplicate, "component "+strconv.Quote(comp.Name)+" has the pipeline's name; rename one of them")
		}
	}
}

// checkArgs checks that every input of t has a value of the right type, a default or is optional.
func (c *compilation) checkArgs(t *ir.Task, path *ir.Path) {
	for _, in := range t.Component.Inputs {
		v := t.Args[in.Name]
		ip := path.Child("input", in.Name)
		if v == nil {
			if in.Default == nil && !in.Optional {
				c.errorf(ip, field.ErrorTypeRequired, "no value given and the input has no default")
			}
			continue
		}
		if !v.Type.AssignableTo(in.Type) {
			c.errorf(ip, field.ErrorTypeInvalid, fmt.Sprintf("type mismatch: got %s, want %s", v.Type, in.Type))
			continue
		}
		if v.Kind == ir.ValueLiteral {
			if err := checkEncoded(v.Literal, in.Type); err != nil {
				c.errorf(ip, field.ErrorTypeInvalid, err.Error())
			}
		}
	}
}

// checkCycles reports dependency cycles among p's tasks (Kahn's algorithm). The DSL's Go API
// cannot build one, but graphs assembled by other front ends could.
func (c *compilation) checkCycles(p *ir.Pipeline) {
	indeg := make(map[*ir.Task]int, len(p.Tasks))
	next := make(map[*ir.Task][]*ir.Task, len(p.Tasks))
	edge := func(from, to *ir.Task) {
		if from == nil || from.Block.Pipeline != p {
			return
		}
		next[from] = append(next[from], to)
		indeg[to]++
	}
	for _, t := range p.Tasks {
		for _, v := range t.Args {
			if v.Kind == ir.ValueOutput || v.Kind == ir.ValueCollect {
				edge(v.Task, t)
			}
		}
		for _, a := range t.After {
			edge(a, t)
		}
	}
	queue := make([]*ir.Task, 0, len(p.Tasks))
	for _, t := range p.Tasks {
		if indeg[t] == 0 {
			queue = append(queue, t)
		}
	}
	for i := 0; i < len(queue); i++ {
		for _, n := range next[queue[i]] {
			if indeg[n]--; indeg[n] == 0 {
				queue = append(queue, n)
			}
		}
	}
	if len(queue) == len(p.Tasks) {
		return
	}
	for _, t := range p.Tasks {
		if indeg[t] > 0 {
			c.errorf(ir.TaskPath(t), field.ErrorTypeInvalid, "task is part of a dependency cycle")
		}
	}
}

// checkEncoded checks that s is a valid encoding of a value of type t.
func checkEncoded(s string, t ir.Type) error {
	if t.Go != nil {
		_, err := paramcodec.Decode(s, t.Go)
		return err
	}
	var err error
	switch t.Kind {
	case ir.KindInt:
		_, err = strconv.ParseInt(s, 10, 64)
	case ir.KindFloat:
		_, err = strconv.ParseFloat(s, 64)
	case ir.KindBool:
		_, err = strconv.ParseBool(s)
	case ir.KindList, ir.KindMap, ir.KindStruct:
		if !json.Valid([]byte(s)) {
			err = fmt.Errorf("not valid JSON")
		}
	}
	if err != nil {
		return fmt.Errorf("%q is not a valid %s", s, t)
	}
	return nil
}

// isDNSLabel is a fast check for an RFC 1123 label; the compiler asks apimachinery for the
// message only when it fails.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > validation.DNS1123LabelMaxLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0 && i < len(s)-1:
		default:
			return false
		}
	}
	return true
}

package compiler

import (
	"sort"
	"strconv"
	"strings"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/internal/ir"
)

// compilation holds the state of one Compile call.
type compilation struct {
	opts Options
	top  *ir.Pipeline
	errs field.ErrorList

	templates []*wfv1.Template
	// owners maps each template name to what claimed it, to report clashes.
	owners map[string]string
	// variants maps a component to its templates by configuration key.
	variants map[*ir.Component]map[string]string
	// subDAGs maps a nested pipeline to its DAG template's name.
	subDAGs      map[*ir.Pipeline]string
	displayNames map[string]string
	// loopDAG records which loop blocks compile to their own DAG template.
	loopDAGs map[*ir.Block]*dag
	// limits are the templates that bound a loop's parallelism, completed by finishLimits.
	limits []limitedLoop
}

func newCompilation(p *ir.Pipeline, opts Options) *compilation {
	return &compilation{
		opts:     opts,
		top:      p,
		owners:   map[string]string{},
		variants: map[*ir.Component]map[string]string{},
		subDAGs:  map[*ir.Pipeline]string{},
		loopDAGs: map[*ir.Block]*dag{},
	}
}

func (c *compilation) errorf(path *ir.Path, typ field.ErrorType, detail string) {
	c.errs = append(c.errs, &field.Error{Type: typ, Field: path.String(), Detail: detail, BadValue: field.OmitValueType{}})
}

// claimTemplate reserves a template name, reporting a clash with an earlier owner.
func (c *compilation) claimTemplate(name, owner string) bool {
	if prev, ok := c.owners[name]; ok {
		// Two components of one name were reported by checkPipeline already.
		if prev != owner {
			c.errorf(ir.PipelinePath(c.top).Child("template", name), field.ErrorTypeDuplicate, "name used by "+prev+" and "+owner)
		}
		return false
	}
	c.owners[name] = owner
	return true
}

// isLoopDAG reports whether loop block b compiles to a DAG template of its own. A loop whose body
// is a single task without nested blocks or parallelism limit compiles to that task, looped.
func isLoopDAG(b *ir.Block) bool {
	return b.Kind == ir.BlockLoop && !(len(b.Tasks) == 1 && len(b.Blocks) == 0 && b.Loop.Parallelism == 0)
}

// pipelineDAG compiles pipeline p's body into a DAG template named after it and returns the name.
func (c *compilation) pipelineDAG(p *ir.Pipeline, top bool) string {
	if name, ok := c.subDAGs[p]; ok {
		return name
	}
	c.subDAGs[p] = p.Name
	if !c.claimTemplate(p.Name, "pipeline "+strconv.Quote(p.Name)) {
		return p.Name
	}
	d := c.newDAG(p, p.Root, nil, p.Name, top)
	if !top {
		d.declarePipelineIO()
	}
	d.build()
	return p.Name
}

// dag builds one DAG template: a pipeline's body, its exit handler, or a loop body.
type dag struct {
	c        *compilation
	pipeline *ir.Pipeline
	block    *ir.Block
	parent   *dag
	tmpl     *wfv1.Template
	// top is set for the DAGs of the top-level pipeline, whose inputs are workflow parameters.
	top bool
	// imports are values from enclosing DAGs this loop DAG receives as inputs.
	imports     []*ir.Value
	importNames map[string]bool
	importKeys  map[string]string
	// outerDeps are tasks outside this loop DAG it must wait for (through its loop task).
	outerDeps []*ir.Task
	// exposed maps "task.output" of collected values to output names of this loop DAG.
	exposed map[string]string
	// cur is the entry being built; references record their dependencies in it.
	cur *entry
}

// entry is one task of a DAG template under construction.
type entry struct {
	name string
	deps []string
	seen map[string]bool
	// loop is the loop whose item the entry iterates over, if any.
	loop *ir.Block
}

func (e *entry) depend(name string) {
	if name == e.name || e.seen[name] {
		return
	}
	if e.seen == nil {
		e.seen = map[string]bool{}
	}
	e.seen[name] = true
	e.deps = append(e.deps, name)
}

func (c *compilation) newDAG(p *ir.Pipeline, b *ir.Block, parent *dag, name string, top bool) *dag {
	t := &wfv1.Template{Name: name, DAG: &wfv1.DAGTemplate{}}
	c.templates = append(c.templates, t)
	return &dag{c: c, pipeline: p, block: b, parent: parent, tmpl: t, top: top,
		importNames: map[string]bool{}, importKeys: map[string]string{}, exposed: map[string]string{}}
}

// declarePipelineIO declares a nested pipeline's inputs and outputs on its DAG template.
func (d *dag) declarePipelineIO() {
	p := d.pipeline
	for _, in := range p.Inputs {
		if in.Type.IsArtifact() {
			d.tmpl.Inputs.Artifacts = append(d.tmpl.Inputs.Artifacts, wfv1.Artifact{Name: in.Name, Optional: in.Optional})
			continue
		}
		prm := wfv1.Parameter{Name: in.Name}
		if in.Default != nil {
			prm.Default = wfv1.AnyStringPtr(*in.Default)
		} else if in.Optional {
			prm.Default = wfv1.AnyStringPtr("")
		}
		d.tmpl.Inputs.Parameters = append(d.tmpl.Inputs.Parameters, prm)
	}
	d.cur = &entry{}
	for _, out := range p.Outputs {
		v := p.Results[out.Name]
		if v == nil {
			continue
		}
		ref, ok := d.resolve(v, ir.PipelinePath(p).Child("output", out.Name))
		if !ok {
			continue
		}
		if out.Type.IsArtifact() {
			d.tmpl.Outputs.Artifacts = append(d.tmpl.Outputs.Artifacts, wfv1.Artifact{Name: out.Name, From: ref})
		} else {
			d.tmpl.Outputs.Parameters = append(d.tmpl.Outputs.Parameters, wfv1.Parameter{Name: out.Name, ValueFrom: &wfv1.ValueFrom{Parameter: ref, Default: wfv1.AnyStringPtr(zeroValue(out.Type))}})
		}
	}
	d.cur = nil
}

// item is a task or a loop DAG in the template being built, in creation order.
type item struct {
	task  *ir.Task
	loop  *ir.Block
	order int
}

// items lists the entries of block b that belong to this DAG: its tasks and those of nested
// condition blocks and single-task loops, and nested loop DAGs as one entry each.
func (d *dag) items(b *ir.Block, out []item) []item {
	for _, t := range b.Tasks {
		out = append(out, item{task: t, order: t.Index})
	}
	for _, nb := range b.Blocks {
		if isLoopDAG(nb) {
			out = append(out, item{loop: nb, order: firstTaskIndex(nb)})
			continue
		}
		out = d.items(nb, out)
	}
	return out
}

func firstTaskIndex(b *ir.Block) int {
	m := int(^uint(0) >> 1)
	for _, t := range b.Tasks {
		if t.Index < m {
			m = t.Index
		}
	}
	for _, nb := range b.Blocks {
		if i := firstTaskIndex(nb); i < m {
			m = i
		}
	}
	return m
}

// loopName names the DAG template and task of a loop that compiles to its own DAG.
func (c *compilation) loopName(b *ir.Block) string {
	if b.Loop.Name != "" {
		return b.Loop.Name
	}
	first := -1
	var name string
	var walk func(*ir.Block)
	walk = func(x *ir.Block) {
		for _, t := range x.Tasks {
			if first < 0 || t.Index < first {
				first, name = t.Index, t.Name
			}
		}
		for _, nb := range x.Blocks {
			walk(nb)
		}
	}
	walk(b)
	if name == "" {
		return "loop-" + strconv.Itoa(b.Index)
	}
	return name + "-loop"
}

// build fills the DAG template.
func (d *dag) build() {
	its := d.items(d.block, nil)
	sort.Slice(its, func(i, j int) bool { return its[i].order < its[j].order })
	// Loop DAGs are built first so that their imports are known when their tasks are emitted.
	children := map[*ir.Block]*dag{}
	for _, it := range its {
		if it.loop != nil {
			name := d.c.loopName(it.loop)
			if !d.c.claimTemplate(name, "loop "+strconv.Quote(name)) {
				continue
			}
			child := d.c.newDAG(d.pipeline, it.loop, d, name, d.top)
			child.tmpl.Inputs.Parameters = append(child.tmpl.Inputs.Parameters, wfv1.Parameter{Name: "item"})
			d.c.loopDAGs[it.loop] = child
			child.build()
			children[it.loop] = child
		}
	}
	tasks := make([]wfv1.DAGTask, 0, len(its))
	for _, it := range its {
		if it.task != nil {
			if t, ok := d.task(it.task); ok {
				tasks = append(tasks, t)
			}
			continue
		}
		if child := children[it.loop]; child != nil {
			t := d.loopTask(child)
			if n := it.loop.Loop.Parallelism; n > 0 {
				t = d.limitLoop(t, child, n)
			}
			tasks = append(tasks, t)
		}
	}
	d.tmpl.DAG.Tasks = tasks
}

// task emits the DAG task of t.
func (d *dag) task(t *ir.Task) (wfv1.DAGTask, bool) {
	path := ir.TaskPath(t)
	e := &entry{name: t.Name}
	if t.Block.Kind == ir.BlockLoop && t.Block != d.block {
		e.loop = t.Block
	}
	d.cur = e
	defer func() { d.cur = nil }()
	cfg := t.Component.Config.With(t.Config)
	if cfg.DisplayName != "" {
		if d.c.displayNames == nil {
			d.c.displayNames = map[string]string{}
		}
		d.c.displayNames[t.Name] = cfg.DisplayName
	}
	tmpl := d.c.componentTemplate(t, cfg)
	out := wfv1.DAGTask{Name: t.Name, Template: tmpl}
	ok := true
	for _, in := range t.Component.Inputs {
		v := t.Args[in.Name]
		if v == nil {
			continue // checked earlier: a default or optional input
		}
		ref, good := d.resolve(v, path.Child("input", in.Name))
		if !good {
			ok = false
			continue
		}
		if in.Type.IsArtifact() {
			out.Arguments.Artifacts = append(out.Arguments.Artifacts, wfv1.Artifact{Name: in.Name, From: ref})
		} else {
			out.Arguments.Parameters = append(out.Arguments.Parameters, wfv1.Parameter{Name: in.Name, Value: wfv1.AnyStringPtr(ref)})
		}
	}
	for _, a := range t.After {
		d.dependOn(a, path)
	}
	if e.loop != nil {
		d.setLoop(&out, e.loop, path)
	}
	out.When = d.when(t.Block, path)
	out.Depends = strings.Join(e.deps, " && ")
	return out, ok
}

// loopTask emits the DAG task that runs a loop DAG once per item.
func (d *dag) loopTask(child *dag) wfv1.DAGTask {
	b := child.block
	name := child.tmpl.Name
	path := ir.PipelinePath(d.pipeline).Child("loop", name)
	e := &entry{name: name, loop: b}
	d.cur = e
	defer func() { d.cur = nil }()
	out := wfv1.DAGTask{Name: name, Template: name}
	out.Arguments.Parameters = append(out.Arguments.Parameters, wfv1.Parameter{Name: "item", Value: wfv1.AnyStringPtr("{{item}}")})
	for _, v := range child.imports {
		key := child.importKeys[valueKey(v)]
		ref, ok := d.resolve(v, path.Child("input", key))
		if !ok {
			continue
		}
		if v.Type.IsArtifact() {
			out.Arguments.Artifacts = append(out.Arguments.Artifacts, wfv1.Artifact{Name: key, From: ref})
		} else {
			out.Arguments.Parameters = append(out.Arguments.Parameters, wfv1.Parameter{Name: key, Value: wfv1.AnyStringPtr(ref)})
		}
	}
	for _, t := range child.outerDeps {
		d.dependOn(t, path)
	}
	d.setLoop(&out, b, path)
	out.When = d.when(b.Parent, path)
	out.Depends = strings.Join(e.deps, " && ")
	return out
}

// setLoop sets the loop source of a DAG task.
func (d *dag) setLoop(t *wfv1.DAGTask, b *ir.Block, path *ir.Path) {
	l := b.Loop
	switch {
	case l.Range != nil && l.Range.Step == 1:
		start, end := intstr.FromInt(l.Range.Start), intstr.FromInt(l.Range.End-1)
		t.WithSequence = &wfv1.Sequence{Start: &start, End: &end}
	case l.Range != nil:
		for i := l.Range.Start; i < l.Range.End; i += l.Range.Step {
			t.WithItems = append(t.WithItems, wfv1.Item{Value: []byte(strconv.Itoa(i))})
		}
	case l.Over != nil:
		// The list is resolved outside the loop: the task's own iteration is not in scope yet.
		saved := d.cur.loop
		d.cur.loop = nil
		if ref, ok := d.resolve(l.Over, path.Child("items", "")); ok {
			t.WithParam = ref
		}
		d.cur.loop = saved
	default:
		for _, s := range l.Items {
			t.WithItems = append(t.WithItems, itemOf(s, l.ItemType))
		}
	}
}

// itemOf turns an encoded loop item into an Argo item: JSON for structured types and numbers,
// a JSON string otherwise.
func itemOf(s string, t ir.Type) wfv1.Item {
	switch t.Kind {
	case ir.KindInt, ir.KindFloat, ir.KindBool, ir.KindList, ir.KindMap, ir.KindStruct:
		return wfv1.Item{Value: []byte(s)}
	}
	return wfv1.Item{Value: []byte(strconv.Quote(s))}
}

// when lowers the conditions of the If blocks from b up to this DAG's block.
func (d *dag) when(b *ir.Block, path *ir.Path) string {
	var parts []string
	for ; b != nil && b != d.block; b = b.Parent {
		if b.Kind != ir.BlockIf || b.Cond == nil {
			continue
		}
		expr, err := lowerCondition(b.Cond, func(v ir.Var) (string, error) {
			ref, ok := d.resolve(v.Value, path.Child("condition variable", v.Name))
			if !ok {
				return "", errResolved
			}
			if v.Value.Type.Kind == ir.KindString {
				return quoteRef(ref)
			}
			return ref, nil
		})
		if err == errResolved {
			continue
		}
		if err != nil {
			d.c.errorf(path.Child("condition", ""), field.ErrorTypeInvalid, err.Error())
			continue
		}
		if b.Else {
			expr = "!" + expr
		}
		parts = append(parts, expr)
	}
	// Outer conditions first, as written.
	for i, j := 0, len(parts)-1; i < j; i, j = i+1, j-1 {
		parts[i], parts[j] = parts[j], parts[i]
	}
	return strings.Join(parts, " && ")
}

// quoteRef quotes a string-valued reference for a govaluate expression. The referenced value is
// substituted before evaluation, so it must not contain the quote character chosen.
func quoteRef(ref string) (string, error) { return "'" + ref + "'", nil }

type resolvedError struct{}

func (resolvedError) Error() string { return "reference already reported" }

var errResolved error = resolvedError{}

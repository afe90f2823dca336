package compiler

import (
	"strconv"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
)

// limitedLoop is a loop whose parallelism is bounded by a template of its own.
type limitedLoop struct {
	limit *wfv1.Template // the bounding DAG template, called once by the enclosing DAG
	body  *dag           // the loop's body DAG, called once per item by limit's only task
}

// limitLoop bounds how many iterations of loop task t run at once, n. Argo applies a template's
// parallelism to the children of one invocation of that template, and the body DAG is invoked
// once per item, so the bound goes on a DAG template of its own, "<loop>-limit", whose only task
// is the loop. The enclosing DAG calls it in t's place, with t's name, condition and
// dependencies, passing t's arguments and loop source through as inputs; its outputs (added by
// finishLimits) re-export the body's collected outputs, so references to the loop are unchanged.
func (d *dag) limitLoop(t wfv1.DAGTask, body *dag, n int) wfv1.DAGTask {
	name := body.tmpl.Name + "-limit"
	if !d.c.claimTemplate(name, "loop "+strconv.Quote(body.tmpl.Name)) {
		return t
	}
	bound := int64(n)
	limit := &wfv1.Template{Name: name, Parallelism: &bound, DAG: &wfv1.DAGTemplate{}}
	inner := wfv1.DAGTask{Name: t.Name, Template: t.Template, WithItems: t.WithItems, WithSequence: t.WithSequence}
	outer := wfv1.DAGTask{Name: t.Name, Template: name, When: t.When, Depends: t.Depends}
	taken := map[string]bool{}
	for _, p := range t.Arguments.Parameters {
		taken[p.Name] = true
		if p.Name == "item" {
			inner.Arguments.Parameters = append(inner.Arguments.Parameters, p)
			continue
		}
		limit.Inputs.Parameters = append(limit.Inputs.Parameters, wfv1.Parameter{Name: p.Name})
		inner.Arguments.Parameters = append(inner.Arguments.Parameters, wfv1.Parameter{Name: p.Name, Value: wfv1.AnyStringPtr("{{inputs.parameters." + p.Name + "}}")})
		outer.Arguments.Parameters = append(outer.Arguments.Parameters, p)
	}
	for _, a := range t.Arguments.Artifacts {
		limit.Inputs.Artifacts = append(limit.Inputs.Artifacts, wfv1.Artifact{Name: a.Name})
		inner.Arguments.Artifacts = append(inner.Arguments.Artifacts, wfv1.Artifact{Name: a.Name, From: "{{inputs.artifacts." + a.Name + "}}"})
		outer.Arguments.Artifacts = append(outer.Arguments.Artifacts, a)
	}
	if t.WithParam != "" {
		items := "items"
		for taken[items] {
			items = "loop-" + items
		}
		limit.Inputs.Parameters = append(limit.Inputs.Parameters, wfv1.Parameter{Name: items})
		outer.Arguments.Parameters = append(outer.Arguments.Parameters, wfv1.Parameter{Name: items, Value: wfv1.AnyStringPtr(t.WithParam)})
		inner.WithParam = "{{inputs.parameters." + items + "}}"
	}
	limit.DAG.Tasks = []wfv1.DAGTask{inner}
	d.c.templates = append(d.c.templates, limit)
	d.c.limits = append(d.c.limits, limitedLoop{limit: limit, body: body})
	return outer
}

// finishLimits gives each bounding template the outputs of its loop body, gathered over the
// iterations, once every reference to them has been compiled (references add body outputs).
func (c *compilation) finishLimits() {
	for _, l := range c.limits {
		loop := l.limit.DAG.Tasks[0].Name
		l.limit.Outputs.Parameters = l.limit.Outputs.Parameters[:0]
		for _, p := range l.body.tmpl.Outputs.Parameters {
			l.limit.Outputs.Parameters = append(l.limit.Outputs.Parameters, wfv1.Parameter{
				Name:      p.Name,
				ValueFrom: &wfv1.ValueFrom{Parameter: taskRef(loop, p.Name, false), Default: wfv1.AnyStringPtr("[]")},
			})
		}
	}
}

package compiler_test

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
)

type badIn struct {
	Plain int // not a dsl.Value
}

var badComponent = dsl.Func("bad", func(ctx context.Context, in badIn) (noOut, error) { return noOut{}, nil })

// otherSquare has the same name as square but is a different component.
var otherSquare = dsl.Func("square", square8)

type artifactParams struct {
	Data dsl.Value[dsl.Dataset]
}

type requiredParams struct {
	Rows dsl.Value[int]
}

// TestErrors checks that each kind of user mistake is reported with its DSL path and message,
// and that all problems of a pipeline are reported together.
func TestErrors(t *testing.T) {
	tests := []struct {
		name  string
		opts  compiler.Options
		build func() *dsl.Pipeline
		want  []string
	}{{
		name: "missing required input",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				train.Task(s, trainIn{})
			}, image)
		},
		want: []string{`pipeline "p" › task "train" › input "data": Required value: no value given and the input has no default`},
	}, {
		name: "type mismatch through an untyped reference",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				p := prep.Task(s, prepIn{})
				train.Task(s, trainIn{Data: p.Out.Train, LR: dsl.As[float64](p.Out.Train)})
			}, image)
		},
		want: []string{`pipeline "p" › task "train" › input "lr": Invalid value: type mismatch: got Dataset, want float`},
	}, {
		name: "duplicate and invalid task names",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				square.Task(s, scoreIn{X: dsl.Of(1.0)}, dsl.Name("same"))
				square.Task(s, scoreIn{X: dsl.Of(2.0)}, dsl.Name("same"))
				square.Task(s, scoreIn{X: dsl.Of(3.0)}, dsl.Name("Not_DNS"))
			}, image)
		},
		want: []string{
			`pipeline "p" › task "same": Duplicate value: task name used twice in the pipeline (use dsl.Name to tell them apart)`,
			`pipeline "p" › task "Not_DNS": Invalid value: task name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
		},
	}, {
		name: "bad component definition",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				badComponent.Task(s, badIn{})
			}, image)
		},
		want: []string{`pipeline "p" › task "bad": Invalid value: component "bad": inputs: field badIn.Plain has type int: fields of component inputs and outputs must be dsl.Value[T]`},
	}, {
		name: "condition compares a string with a number",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				e := evaluate.Task(s, evalIn{Model: train.Task(s, trainIn{Data: prep.Task(s, prepIn{}).Out.Train}).Out.Model, Data: prep.Task(s, prepIn{}, dsl.Name("prep-test")).Out.Test})
				dsl.If(s, dsl.When("verdict > 0.5", dsl.Bind("verdict", e.Out.Verdict)), func(s dsl.Scope) {
					notify.Task(s, msgIn{Text: e.Out.Verdict}, dsl.Name("deploy"))
				})
			}, image)
		},
		want: []string{`pipeline "p" › task "deploy" › condition: Invalid value: condition "verdict > 0.5": found no matching overload for '_>_' applied to '(string, double)' (column 9)`},
	}, {
		name: "condition that cannot be lowered",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, in sweepParams) {
				dsl.If(s, dsl.When("size(model) > 2", dsl.Bind("model", in.Model)), func(s dsl.Scope) {
					notify.Task(s, msgIn{Text: in.Model})
				})
			}, image)
		},
		want: []string{`pipeline "p" › task "notify" › condition: Invalid value: condition "size(model) > 2": function size cannot be lowered to an Argo condition`},
	}, {
		name: "loop output used outside the loop",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				var y dsl.Value[float64]
				dsl.ParallelFor(s, dsl.List(1.0, 2.0), func(s dsl.Scope, x dsl.Value[float64]) {
					y = square.Task(s, scoreIn{X: x}).Out.Y
				})
				square.Task(s, scoreIn{X: y}, dsl.Name("after-loop"))
			}, image)
		},
		want: []string{`pipeline "p" › task "after-loop" › input "x": Forbidden: output "y" of task "square" is produced once per loop item: use dsl.Collect after the loop`},
	}, {
		name: "loop item used outside the loop",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				var item dsl.Value[float64]
				dsl.ParallelFor(s, dsl.List(1.0, 2.0), func(s dsl.Scope, x dsl.Value[float64]) {
					item = x
					square.Task(s, scoreIn{X: x})
				})
				square.Task(s, scoreIn{X: item}, dsl.Name("outside"))
			}, image)
		},
		want: []string{`pipeline "p" › task "outside" › input "x": Forbidden: loop item used outside its loop`},
	}, {
		name: "run status outside an exit handler",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				notify.Task(s, msgIn{Text: dsl.RunStatus()})
			}, image)
		},
		want: []string{`pipeline "p" › task "notify" › input "text": Forbidden: the run's status is only known in an exit handler (dsl.OnExit)`},
	}, {
		name: "exit handler reads a task output",
		build: func() *dsl.Pipeline {
			var y dsl.Value[float64]
			p := dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				y = square.Task(s, scoreIn{X: dsl.Of(1.0)}).Out.Y
			}, image)
			dsl.OnExit(p, func(s dsl.Scope) { square.Task(s, scoreIn{X: y}, dsl.Name("cleanup")) })
			return p
		},
		want: []string{`pipeline "p" › task "cleanup" › input "x": Forbidden: output of task "square" crosses the boundary of the exit handler; exit handlers can read pipeline inputs and the run status`},
	}, {
		name: "required pipeline input without a value",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, in requiredParams) { prep.Task(s, prepIn{Rows: in.Rows}) }, image)
		},
		want: []string{`pipeline "p" › input "rows": Required value: no default: pass a value with -p rows=VALUE`},
	}, {
		name: "unknown and badly typed parameters",
		opts: compiler.Options{Params: map[string]string{"rows": "many", "colour": "red"}},
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, in requiredParams) { prep.Task(s, prepIn{Rows: in.Rows}) }, image)
		},
		want: []string{
			`pipeline "p" › input "rows": Invalid value: "many": "many" is not an integer`,
			`pipeline "p" › input "colour": Not found: "colour"`,
		},
	}, {
		name: "pipeline input artifact",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, in artifactParams) { wc.Task(s, wcIn{Data: in.Data}) }, image)
		},
		want: []string{`pipeline "p" › input "data": Forbidden: pipeline inputs cannot be artifacts: import data with a component`},
	}, {
		name: "cron without schedule",
		opts: compiler.Options{Kind: compiler.KindCron},
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) { square.Task(s, scoreIn{X: dsl.Of(1.0)}) }, image)
		},
		want: []string{`pipeline "p" › schedule: Required value: compiling a cron workflow needs a dsl.Schedule option`},
	}, {
		name: "caching input artifacts without a key",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				train.Task(s, trainIn{Data: prep.Task(s, prepIn{}).Out.Train}, dsl.Cache(true))
			}, image)
		},
		want: []string{`pipeline "p" › task "train": Required value: caching a component with input artifacts ("data") needs an explicit dsl.CacheKey: Argo's cache key cannot see artifact contents`},
	}, {
		name: "no image for Go components",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) { square.Task(s, scoreIn{X: dsl.Of(1.0)}) })
		},
		want: []string{`pipeline "p" › task "square": Required value: no image to run Go component "square": set compiler.Options.Image (--image) or dsl.Image on the pipeline`},
	}, {
		name: "two components with one name",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				square.Task(s, scoreIn{X: dsl.Of(1.0)})
				otherSquare.Task(s, scoreIn{X: dsl.Of(1.0)})
			}, image)
		},
		want: []string{`pipeline "p" › task "square-2": Duplicate value: component name "square" is used by two different components`},
	}, {
		name: "bad option values",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				square.Task(s, scoreIn{X: dsl.Of(1.0)}, dsl.Retries(-1), dsl.CPU("lots", ""), dsl.Toleration("k", "Sometimes", "", ""))
			}, image, dsl.PodGC("Never"))
		},
		want: []string{
			`pipeline "p": Invalid value: pod GC strategy "Never" is not one of OnPodCompletion, OnPodSuccess, OnWorkflowCompletion, OnWorkflowSuccess`,
			`pipeline "p" › task "square": Invalid value: retries: limit -1 must not be negative`,
			`pipeline "p" › task "square": Invalid value: cpu request "lots" is not a Kubernetes quantity`,
			`pipeline "p" › task "square": Invalid value: toleration "k": operator "Sometimes" is not Equal or Exists`,
		},
	}, {
		name: "empty pipeline and loop",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("p", func(s dsl.Scope, _ noParams) {
				dsl.ParallelFor(s, dsl.List(1, 2), func(s dsl.Scope, _ dsl.Value[int]) {})
			}, image)
		},
		want: []string{
			`pipeline "p": Required value: the pipeline has no tasks`,
			`pipeline "p" › loop "loop-1": Required value: the loop body adds no tasks`,
		},
	}, {
		name: "every problem is reported",
		build: func() *dsl.Pipeline {
			return dsl.NewPipeline("Bad Name", func(s dsl.Scope, _ noParams) {
				train.Task(s, trainIn{})
				evaluate.Task(s, evalIn{})
			}, image)
		},
		want: []string{
			`pipeline "Bad Name": Invalid value: name: a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')`,
			`pipeline "Bad Name" › task "train" › input "data": Required value: no value given and the input has no default`,
			`pipeline "Bad Name" › task "evaluate" › input "model": Required value: no value given and the input has no default`,
			`pipeline "Bad Name" › task "evaluate" › input "data": Required value: no value given and the input has no default`,
		},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := compiler.Compile(tc.build(), tc.opts)
			if err == nil {
				t.Fatal("compile succeeded, want errors")
			}
			cerr, ok := err.(*compiler.Error)
			if !ok {
				t.Fatalf("error is %T, want *compiler.Error: %v", err, err)
			}
			var got []string
			for _, e := range cerr.Errs {
				got = append(got, strings.ReplaceAll(e.Error(), "\n", " | "))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("errors (-want +got):\n%s", diff)
			}
		})
	}
}

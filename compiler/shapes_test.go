package compiler_test

import (
	"context"
	"time"

	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
)

// shape is a pipeline exercising some DSL features, compiled to a golden file.
type shape struct {
	name   string
	kind   compiler.Kind
	params map[string]string
	build  func() *dsl.Pipeline
}

type noParams struct{}

type sweepParams struct {
	Threshold dsl.Value[float64]   `default:"0.9" description:"accuracy needed to ship"`
	Model     dsl.Value[string]    `default:"gbt"`
	Rates     dsl.Value[[]float64] `default:"[0.01,0.1]"`
}

var image = dsl.Image("example.com/kiln/tests:v1")

var shapes = []shape{
	{name: "hello", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("hello", func(s dsl.Scope, _ noParams) {
			sq := square.Task(s, scoreIn{X: dsl.Of(3.0)})
			square.Task(s, scoreIn{X: sq.Out.Y})
		}, image)
	}},
	{name: "container", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("container", func(s dsl.Scope, _ noParams) {
			e := echo.Task(s, echoIn{Text: dsl.Of("hello world")})
			notify.Task(s, msgIn{Text: e.Out.Said})
		}, image)
	}},
	{name: "container-artifacts", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("container-artifacts", func(s dsl.Scope, _ noParams) {
			p := prep.Task(s, prepIn{})
			w := wc.Task(s, wcIn{Data: p.Out.Train})
			wc.Task(s, wcIn{Data: w.Out.Copy}, dsl.Name("wc-again"))
		}, image)
	}},
	{name: "defaults-optional", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("defaults-optional", func(s dsl.Scope, _ noParams) {
			prep.Task(s, prepIn{})
			prep.Task(s, prepIn{Rows: dsl.Of(5), Name: dsl.Of("small")})
		}, image)
	}},
	{name: "typed-params", build: func() *dsl.Pipeline {
		type in struct {
			Layers dsl.Value[[]int]             `default:"[8,4]"`
			Extra  dsl.Value[map[string]string] `default:"{\"optimizer\":\"adam\"}"`
			Flag   dsl.Value[bool]              `default:"true"`
			Word   dsl.Value[string]            `default:"yes"`
		}
		return dsl.NewPipeline("typed-params", func(s dsl.Scope, in in) {
			p := prep.Task(s, prepIn{})
			train.Task(s, trainIn{Data: p.Out.Train, Layers: in.Layers, Extra: in.Extra})
			configure.Task(s, configIn{Config: dsl.Of(hyper{Depth: 5, Rate: 0.25})})
			configure.Task(s, configIn{})
			echo.Task(s, echoIn{Text: in.Word})
		}, image)
	}},
	{name: "artifacts-chain", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("artifacts-chain", func(s dsl.Scope, _ noParams) {
			p := prep.Task(s, prepIn{Rows: dsl.Of(1000)})
			t := train.Task(s, trainIn{Data: p.Out.Train, LR: dsl.Of(0.05)})
			evaluate.Task(s, evalIn{Model: t.Out.Model, Data: p.Out.Test})
		}, image)
	}},
	{name: "after", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("after", func(s dsl.Scope, _ noParams) {
			a := notify.Task(s, msgIn{Text: dsl.Of("first")}, dsl.Name("first"))
			b := notify.Task(s, msgIn{Text: dsl.Of("second")}, dsl.Name("second"), dsl.After(a))
			notify.Task(s, msgIn{Text: dsl.Of("third")}, dsl.Name("third"), dsl.After(a, b))
		}, image)
	}},
	{name: "retries-timeout", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("retries-timeout", func(s dsl.Scope, _ noParams) {
			square.Task(s, scoreIn{X: dsl.Of(1.0)}, dsl.Retries(4), dsl.RetryBackoff(5*time.Second, 2, time.Minute), dsl.RetryOn(dsl.RetryOnFailure), dsl.Name("retried"))
			square.Task(s, scoreIn{X: dsl.Of(2.0)}, dsl.Timeout(90*time.Second), dsl.Name("bounded"))
			square.Task(s, scoreIn{X: dsl.Of(3.0)}, dsl.Name("plain"))
			flaky.Task(s, scoreIn{X: dsl.Of(4.0)})
		}, image)
	}},
	{name: "caching", build: func() *dsl.Pipeline {
		type in struct {
			Version dsl.Value[string] `default:"v1"`
		}
		return dsl.NewPipeline("caching", func(s dsl.Scope, _ in) {
			p := prep.Task(s, prepIn{}, dsl.Cache(true), dsl.CacheMaxAge(24*time.Hour))
			train.Task(s, trainIn{Data: p.Out.Train}, dsl.CacheKey("train-{{inputs.parameters.lr}}-{{workflow.parameters.version}}"))
			square.Task(s, scoreIn{X: dsl.Of(2.0)}, dsl.Cache(false))
		}, image)
	}},
	{name: "resources", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("resources", func(s dsl.Scope, _ noParams) {
			p := prep.Task(s, prepIn{}, dsl.CPU("500m", "2"), dsl.Memory("1Gi", "4Gi"))
			train.Task(s, trainIn{Data: p.Out.Train}, dsl.GPU(2, ""), dsl.NodeSelector(map[string]string{"accelerator": "a100"}),
				dsl.Toleration("nvidia.com/gpu", "Exists", "", "NoSchedule"), dsl.Memory("16Gi", "16Gi"))
			heavy.Task(s, scoreIn{X: dsl.Of(1.0)})
		}, image)
	}},
	{name: "env-secrets-volumes", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("env-secrets-volumes", func(s dsl.Scope, _ noParams) {
			square.Task(s, scoreIn{X: dsl.Of(1.0)},
				dsl.Env("LOG_LEVEL", "debug"), dsl.SecretEnv("API_TOKEN", "tokens", "api"),
				dsl.SecretVolume("gcp-key", "/var/secrets/gcp"), dsl.PVC("shared-data", "/data", true),
				dsl.ScratchVolume("scratch", "/scratch"))
		}, image)
	}},
	{name: "display-image", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("display-image", func(s dsl.Scope, _ noParams) {
			square.Task(s, scoreIn{X: dsl.Of(1.0)}, dsl.DisplayName("Square one"))
			square.Task(s, scoreIn{X: dsl.Of(2.0)}, dsl.Image("example.com/kiln/gpu:v2"))
			echo.Task(s, echoIn{}, dsl.Image("alpine:3.20"), dsl.DisplayName("Echo on Alpine"))
		}, image)
	}},
	{name: "if-else", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("if-else", func(s dsl.Scope, in sweepParams) {
			p := prep.Task(s, prepIn{})
			t := train.Task(s, trainIn{Data: p.Out.Train})
			dsl.If(s, dsl.When("acc >= threshold", dsl.Bind("acc", t.Out.Accuracy), dsl.Bind("threshold", in.Threshold)), func(s dsl.Scope) {
				notify.Task(s, msgIn{Text: dsl.Of("ship it")}, dsl.Name("ship"))
			}).Else(func(s dsl.Scope) {
				notify.Task(s, msgIn{Text: dsl.Of("retrain")}, dsl.Name("retrain"))
			})
		}, image)
	}},
	{name: "nested-if", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("nested-if", func(s dsl.Scope, in sweepParams) {
			p := prep.Task(s, prepIn{})
			dsl.If(s, dsl.When("n > 10 && n % 2 == 0", dsl.Bind("n", p.Out.Count)), func(s dsl.Scope) {
				t := train.Task(s, trainIn{Data: p.Out.Train})
				e := evaluate.Task(s, evalIn{Model: t.Out.Model, Data: p.Out.Test})
				dsl.If(s, dsl.When(`verdict == "good" || acc > 0.95`, dsl.Bind("verdict", e.Out.Verdict), dsl.Bind("acc", e.Out.Accuracy)), func(s dsl.Scope) {
					notify.Task(s, msgIn{Text: e.Out.Verdict})
				})
			})
		}, image)
	}},
	{name: "condition-input", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("condition-input", func(s dsl.Scope, in sweepParams) {
			dsl.If(s, dsl.When(`model in ["gbt", "forest"] && model.startsWith("g") && !(threshold < 0.5)`, dsl.Bind("model", in.Model), dsl.Bind("threshold", in.Threshold)), func(s dsl.Scope) {
				notify.Task(s, msgIn{Text: in.Model})
			})
		}, image)
	}},
	{name: "loop-list", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("loop-list", func(s dsl.Scope, _ noParams) {
			dsl.ParallelFor(s, dsl.List(1.0, 2.5, 4.0), func(s dsl.Scope, x dsl.Value[float64]) {
				square.Task(s, scoreIn{X: x})
			})
			dsl.ParallelFor(s, dsl.List("a", "b"), func(s dsl.Scope, w dsl.Value[string]) {
				echo.Task(s, echoIn{Text: w})
			})
		}, image)
	}},
	{name: "loop-range", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("loop-range", func(s dsl.Scope, _ noParams) {
			dsl.ParallelFor(s, dsl.Range(0, 5, 1), func(s dsl.Scope, i dsl.Value[int]) {
				prep.Task(s, prepIn{Rows: i})
			})
			dsl.ParallelFor(s, dsl.Range(10, 50, 10), func(s dsl.Scope, i dsl.Value[int]) {
				prep.Task(s, prepIn{Rows: i}, dsl.Name("prep-by-ten"))
			})
		}, image)
	}},
	{name: "loop-over-output", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("loop-over-output", func(s dsl.Scope, _ noParams) {
			l := lister.Task(s, struct{}{})
			dsl.ParallelFor(s, dsl.Over(l.Out.Items), func(s dsl.Scope, it dsl.Value[string]) {
				e := echo.Task(s, echoIn{Text: it})
				notify.Task(s, msgIn{Text: e.Out.Said})
			}, dsl.Parallelism(2))
		}, image)
	}},
	{name: "fan-in", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("fan-in", func(s dsl.Scope, _ noParams) {
			var y dsl.Value[float64]
			loop := dsl.ParallelFor(s, dsl.List(1.0, 2.0, 3.0), func(s dsl.Scope, x dsl.Value[float64]) {
				y = square.Task(s, scoreIn{X: x}).Out.Y
			})
			sum.Task(s, sumIn{Values: dsl.Collect(loop, y)})
		}, image)
	}},
	{name: "fan-in-structs", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("fan-in-structs", func(s dsl.Scope, _ noParams) {
			var h dsl.Value[hyper]
			loop := dsl.ParallelFor(s, dsl.List(1, 2, 3), func(s dsl.Scope, d dsl.Value[int]) {
				h = makeHyper.Task(s, depthIn{Depth: d}).Out.H
			})
			var h2 dsl.Value[hyper]
			loop2 := dsl.ParallelFor(s, dsl.List(1, 2, 3), func(s dsl.Scope, d dsl.Value[int]) {
				first := makeHyper.Task(s, depthIn{Depth: d}, dsl.Name("first"))
				h2 = makeHyper.Task(s, depthIn{Depth: d}, dsl.Name("second"), dsl.After(first)).Out.H
			})
			sumRates.Task(s, hypersIn{All: dsl.Collect(loop2, h2)}, dsl.Name("sum-dag"))
			sumRates.Task(s, hypersIn{All: dsl.Collect(loop, h)})
		}, image)
	}},
	{name: "sweep", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("sweep", func(s dsl.Scope, in sweepParams) {
			p := prep.Task(s, prepIn{})
			var acc dsl.Value[float64]
			loop := dsl.ParallelFor(s, dsl.Over(in.Rates), func(s dsl.Scope, lr dsl.Value[float64]) {
				t := train.Task(s, trainIn{Data: p.Out.Train, LR: lr})
				e := evaluate.Task(s, evalIn{Model: t.Out.Model, Data: p.Out.Test})
				acc = e.Out.Accuracy
			}, dsl.Parallelism(4))
			best := sum.Task(s, sumIn{Values: dsl.Collect(loop, acc)})
			dsl.If(s, dsl.When("total > threshold", dsl.Bind("total", best.Out.Total), dsl.Bind("threshold", in.Threshold)), func(s dsl.Scope) {
				notify.Task(s, msgIn{Text: in.Model})
			})
		}, image)
	}},
	{name: "exit-handler", build: func() *dsl.Pipeline {
		p := dsl.NewPipeline("exit-handler", func(s dsl.Scope, in sweepParams) {
			square.Task(s, scoreIn{X: dsl.Of(2.0)})
		}, image)
		dsl.OnExit(p, func(s dsl.Scope) {
			notify.Task(s, msgIn{Text: dsl.RunStatus()}, dsl.Name("report"))
			notify.Task(s, msgIn{Text: dsl.RunFailures()}, dsl.Name("failures"))
		})
		return p
	}},
	{name: "nested-pipeline", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("nested-pipeline", func(s dsl.Scope, in sweepParams) {
			p := prep.Task(s, prepIn{})
			a := trainEval.Task(s, trainEvalIn{Data: p.Out.Train, Test: p.Out.Test, LR: dsl.Of(0.1)}, dsl.Name("small-lr"))
			b := trainEval.Task(s, trainEvalIn{Data: p.Out.Train, Test: p.Out.Test, LR: dsl.Of(0.5)}, dsl.Name("big-lr"))
			sum.Task(s, sumIn{Values: dsl.Of([]float64{1, 2})}, dsl.After(a, b))
			notify.Task(s, msgIn{Text: a.Out.Verdict})
		}, image)
	}},
	{name: "nested-loop-imports", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("nested-loop-imports", func(s dsl.Scope, in sweepParams) {
			p := prep.Task(s, prepIn{})
			sweepSub.Task(s, sweepSubIn{Data: p.Out.Train, Rates: in.Rates})
		}, image)
	}},
	{name: "settings", build: func() *dsl.Pipeline {
		return dsl.NewPipeline("settings", func(s dsl.Scope, _ noParams) {
			square.Task(s, scoreIn{X: dsl.Of(1.0)})
		}, image, dsl.Description("All pipeline-level settings."), dsl.ServiceAccount("kiln-runner"),
			dsl.TTL(time.Hour, 0, 24*time.Hour), dsl.PodGC("OnPodSuccess"), dsl.ActiveDeadline(2*time.Hour),
			dsl.ArtifactRepository("artifact-repositories", "minio"), dsl.Labels(map[string]string{"team": "ml"}),
			dsl.Annotations(map[string]string{"owner": "ada"}), dsl.Parallelism(8))
	}},
	{name: "cron", kind: compiler.KindCron, build: func() *dsl.Pipeline {
		return dsl.NewPipeline("nightly", func(s dsl.Scope, in sweepParams) {
			square.Task(s, scoreIn{X: dsl.Of(1.0)})
		}, image, dsl.Schedule([]string{"0 2 * * *"}, "Europe/Paris", dsl.ForbidConcurrent))
	}},
	{name: "template", kind: compiler.KindTemplate, build: func() *dsl.Pipeline {
		type in struct {
			Rows dsl.Value[int] `description:"required: no default"`
		}
		return dsl.NewPipeline("reusable", func(s dsl.Scope, in in) {
			prep.Task(s, prepIn{Rows: in.Rows})
		}, image)
	}},
	{name: "params-override", params: map[string]string{"threshold": "0.75", "rates": "[0.5]"}, build: func() *dsl.Pipeline {
		return dsl.NewPipeline("params-override", func(s dsl.Scope, in sweepParams) {
			notify.Task(s, msgIn{Text: in.Model})
		}, image)
	}},
}

var flaky = dsl.Func("flaky", square8, dsl.Retries(2), dsl.RetryOn(dsl.RetryOnError))

var heavy = dsl.Func("heavy", square8, dsl.CPU("4", "8"), dsl.Memory("8Gi", ""))

func square8(ctx context.Context, in scoreIn) (scoreOut, error) {
	return scoreOut{Y: dsl.Of(in.X.Get() * 8)}, nil
}

type trainEvalIn struct {
	Data dsl.Value[dsl.Dataset]
	Test dsl.Value[dsl.Dataset]
	LR   dsl.Value[float64] `kiln:"lr" default:"0.1"`
}

type trainEvalOut struct {
	Model   dsl.Value[dsl.Model]
	Verdict dsl.Value[string]
}

var trainEval = dsl.NewSubPipeline("train-eval", func(s dsl.Scope, in trainEvalIn) trainEvalOut {
	t := train.Task(s, trainIn{Data: in.Data, LR: in.LR})
	e := evaluate.Task(s, evalIn{Model: t.Out.Model, Data: in.Test})
	return trainEvalOut{Model: t.Out.Model, Verdict: e.Out.Verdict}
})

type sweepSubIn struct {
	Data  dsl.Value[dsl.Dataset]
	Rates dsl.Value[[]float64]
}

type sweepSubOut struct {
	Best dsl.Value[float64]
}

var sweepSub = dsl.NewSubPipeline("sweep-sub", func(s dsl.Scope, in sweepSubIn) sweepSubOut {
	var acc dsl.Value[float64]
	loop := dsl.ParallelFor(s, dsl.Over(in.Rates), func(s dsl.Scope, lr dsl.Value[float64]) {
		t := train.Task(s, trainIn{Data: in.Data, LR: lr})
		acc = t.Out.Accuracy
		notify.Task(s, msgIn{Text: dsl.Of("trained")}, dsl.After(t))
	})
	total := sum.Task(s, sumIn{Values: dsl.Collect(loop, acc)})
	return sweepSubOut{Best: total.Out.Total}
})

type depthIn struct{ Depth dsl.Value[int] }

type hyperOut struct{ H dsl.Value[hyper] }

var makeHyper = dsl.Func("make-hyper", func(ctx context.Context, in depthIn) (hyperOut, error) {
	return hyperOut{H: dsl.Of(hyper{Depth: in.Depth.Get(), Rate: float64(in.Depth.Get()) / 10})}, nil
})

type hypersIn struct{ All dsl.Value[[]hyper] }

var sumRates = dsl.Func("sum-rates", func(ctx context.Context, in hypersIn) (scoreOut, error) {
	t := 0.0
	for _, h := range in.All.Get() {
		t += h.Rate * float64(h.Depth)
	}
	return scoreOut{Y: dsl.Of(t)}, nil
})

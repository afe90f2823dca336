// Command sklearn is the flagship lifecycle written as Python scikit-learn scripts in container
// components: split (stratified, seeded) → a parallel sweep over the regularisation strength,
// one pod per value, scored on validation rows → retrain the best → evaluate on the held-out
// test split. The scripts are in scripts/; the image must hold them at the path given by the
// scripts input and have python3 with scikit-learn and pandas.
//
// The local engine runs containers as host processes, so locally pass this directory and an
// interpreter that has scikit-learn (Debian: apt-get install python3-sklearn python3-pandas):
//
//	go run ./examples/sklearn run -p scripts=$PWD/examples/sklearn/scripts \
//	    -p data=$PWD/datasets/breast-cancer/data.csv -p python=/usr/bin/python3
//	go run ./examples/sklearn compile
//
// On a cluster every component runs in Image, built from the repository root with
//
//	docker build -f examples/sklearn/Dockerfile -t ghcr.io/kilnml/sklearn:latest .
package main

import (
	"context"
	"fmt"
	"slices"

	"github.com/kilnml/kiln"
	"github.com/kilnml/kiln/components/data"
	"github.com/kilnml/kiln/dsl"
)

// Image is the image every component runs in (Dockerfile in this directory): python3,
// scikit-learn, pandas and the scripts at /kiln/examples/sklearn/scripts for the container
// components, and this program at /kiln/pipeline for the Go-function ones.
const Image = "ghcr.io/kilnml/sklearn:latest"

// SplitIn is the input of split.
type SplitIn struct {
	Python  dsl.Value[string]
	Scripts dsl.Value[string]
	Data    dsl.Value[dsl.Dataset]
	Target  dsl.Value[string]
	Seed    dsl.Value[int]
}

// SplitOut is the output of split.
type SplitOut struct {
	Train      dsl.Value[dsl.Dataset]
	Validation dsl.Value[dsl.Dataset]
	Test       dsl.Value[dsl.Dataset]
}

var split = dsl.Container[SplitIn, SplitOut]("sk-split", dsl.ContainerSpec{
	Image: Image,
	Command: []string{"{{inputs.python}}", "{{inputs.scripts}}/split.py", "--data", "{{inputs.data.path}}",
		"--target", "{{inputs.target}}", "--seed", "{{inputs.seed}}", "--train", "{{outputs.train.path}}",
		"--validation", "{{outputs.validation.path}}", "--test", "{{outputs.test.path}}"},
})

// TrainIn is the input of train.
type TrainIn struct {
	Python  dsl.Value[string]
	Scripts dsl.Value[string]
	Train   dsl.Value[dsl.Dataset]
	Target  dsl.Value[string]
	C       dsl.Value[float64] `kiln:"c" description:"inverse regularisation strength"`
}

// TrainOut is the output of train.
type TrainOut struct {
	Model dsl.Value[dsl.Model] `description:"pickled scikit-learn pipeline"`
}

var train = dsl.Container[TrainIn, TrainOut]("sk-train", dsl.ContainerSpec{
	Image: Image,
	Command: []string{"{{inputs.python}}", "{{inputs.scripts}}/train.py", "--train", "{{inputs.train.path}}",
		"--target", "{{inputs.target}}", "--c", "{{inputs.c}}", "--model", "{{outputs.model.path}}"},
}, dsl.CPU("500m", "1"))

// EvalIn is the input of evaluate.
type EvalIn struct {
	Python   dsl.Value[string]
	Scripts  dsl.Value[string]
	Model    dsl.Value[dsl.Model]
	Data     dsl.Value[dsl.Dataset]
	Target   dsl.Value[string]
	Positive dsl.Value[string]
}

// EvalOut is the output of evaluate.
type EvalOut struct {
	Metrics  dsl.Value[dsl.Metrics]
	Accuracy dsl.Value[float64]
}

var evaluate = dsl.Container[EvalIn, EvalOut]("sk-evaluate", dsl.ContainerSpec{
	Image: Image,
	Command: []string{"{{inputs.python}}", "{{inputs.scripts}}/evaluate.py", "--model", "{{inputs.model.path}}",
		"--data", "{{inputs.data.path}}", "--target", "{{inputs.target}}", "--positive", "{{inputs.positive}}",
		"--metrics", "{{outputs.metrics.path}}", "--accuracy", "{{outputs.accuracy.path}}"},
})

// BestIn is the input of best.
type BestIn struct {
	Cs     dsl.Value[[]float64] `kiln:"cs"`
	Scores dsl.Value[[]float64]
}

// BestOut is the output of best.
type BestOut struct {
	C     dsl.Value[float64] `kiln:"c"`
	Score dsl.Value[float64]
}

// best picks the value with the highest validation score (the first among ties).
var best = dsl.Func("sk-best", func(ctx context.Context, in BestIn) (BestOut, error) {
	cs, scores := in.Cs.Get(), in.Scores.Get()
	if len(cs) != len(scores) || len(cs) == 0 {
		return BestOut{}, fmt.Errorf("best: %d values but %d scores", len(cs), len(scores))
	}
	i := slices.Index(scores, slices.Max(scores))
	return BestOut{C: dsl.Of(cs[i]), Score: dsl.Of(scores[i])}, nil
})

// Params are the pipeline's inputs.
type Params struct {
	Data     dsl.Value[string]    `default:"/kiln/datasets/breast-cancer/data.csv" description:"absolute path or URL of the CSV"`
	Python   dsl.Value[string]    `default:"python3"`
	Scripts  dsl.Value[string]    `default:"/kiln/examples/sklearn/scripts"`
	Target   dsl.Value[string]    `default:"diagnosis"`
	Positive dsl.Value[string]    `default:"malignant"`
	Seed     dsl.Value[int]       `default:"7"`
	Cs       dsl.Value[[]float64] `kiln:"cs" default:"[0.001,0.01,0.1,1,10,100]" description:"values of C to try"`
}

var pipeline = dsl.NewPipeline("sklearn", func(s dsl.Scope, in Params) {
	imp := data.Import.Task(s, data.ImportIn{Source: in.Data}, dsl.Name("import"))
	sp := split.Task(s, SplitIn{Python: in.Python, Scripts: in.Scripts, Data: imp.Out.Data, Target: in.Target, Seed: in.Seed}, dsl.Name("split"))
	var score dsl.Value[float64]
	loop := dsl.ParallelFor(s, dsl.Over(in.Cs), func(s dsl.Scope, c dsl.Value[float64]) {
		m := train.Task(s, TrainIn{Python: in.Python, Scripts: in.Scripts, Train: sp.Out.Train, Target: in.Target, C: c}, dsl.Name("trial"))
		score = evaluate.Task(s, EvalIn{Python: in.Python, Scripts: in.Scripts, Model: m.Out.Model, Data: sp.Out.Validation,
			Target: in.Target, Positive: in.Positive}, dsl.Name("trial-eval")).Out.Accuracy
	}, dsl.Parallelism(3))
	b := best.Task(s, BestIn{Cs: in.Cs, Scores: dsl.Collect(loop, score)}, dsl.Name("best"))
	final := train.Task(s, TrainIn{Python: in.Python, Scripts: in.Scripts, Train: sp.Out.Train, Target: in.Target, C: b.Out.C}, dsl.Name("train"))
	evaluate.Task(s, EvalIn{Python: in.Python, Scripts: in.Scripts, Model: final.Out.Model, Data: sp.Out.Test,
		Target: in.Target, Positive: in.Positive}, dsl.Name("evaluate"))
}, dsl.Description("The flagship lifecycle in scikit-learn container components."), dsl.Image(Image))

func main() { kiln.Main(pipeline) }

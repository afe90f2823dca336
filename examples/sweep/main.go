// Command sweep is a hyperparameter sweep: a parallel-for over learning rates trains one model
// per rate (one pod each), a fan-in collects their scores, and a CEL condition decides whether
// the best one is good enough to publish.
//
//	go run ./examples/sweep compile
//	go run ./examples/sweep run -p target=0.99
package main

import (
	"context"
	"fmt"
	"math"
	"slices"

	"github.com/kilnml/kiln"
	"github.com/kilnml/kiln/dsl"
)

// TrainIn is the input of one trial.
type TrainIn struct {
	LR    dsl.Value[float64] `kiln:"lr" description:"learning rate"`
	Steps dsl.Value[int]     `default:"200"`
}

// TrainOut is the output of one trial.
type TrainOut struct {
	Score dsl.Value[float64] `description:"1 - final loss"`
}

// train minimises f(x) = (x-3)² by gradient descent; the score is how close it gets.
var train = dsl.Func("train", func(ctx context.Context, in TrainIn) (TrainOut, error) {
	x := 0.0
	for range in.Steps.Get() {
		x -= in.LR.Get() * 2 * (x - 3)
		if math.IsInf(x, 0) || math.IsNaN(x) {
			return TrainOut{Score: dsl.Of(0.0)}, nil
		}
	}
	loss := (x - 3) * (x - 3)
	return TrainOut{Score: dsl.Of(1 / (1 + loss))}, nil
}, dsl.CPU("250m", "1"))

// BestIn is the input of the best component.
type BestIn struct {
	Rates  dsl.Value[[]float64]
	Scores dsl.Value[[]float64]
}

// BestOut is the output of the best component.
type BestOut struct {
	LR    dsl.Value[float64] `kiln:"lr"`
	Score dsl.Value[float64]
}

var best = dsl.Func("best", func(ctx context.Context, in BestIn) (BestOut, error) {
	rates, scores := in.Rates.Get(), in.Scores.Get()
	if len(rates) != len(scores) || len(scores) == 0 {
		return BestOut{}, fmt.Errorf("%d rates but %d scores", len(rates), len(scores))
	}
	i := slices.Index(scores, slices.Max(scores))
	return BestOut{LR: dsl.Of(rates[i]), Score: dsl.Of(scores[i])}, nil
})

// PublishIn is the input of the publish component.
type PublishIn struct {
	LR    dsl.Value[float64] `kiln:"lr"`
	Score dsl.Value[float64]
}

var publish = dsl.Func("publish", func(ctx context.Context, in PublishIn) (struct{}, error) {
	fmt.Printf("publishing lr=%g (score %.4f)\n", in.LR.Get(), in.Score.Get())
	return struct{}{}, nil
})

// Params are the sweep's inputs.
type Params struct {
	Rates  dsl.Value[[]float64] `default:"[0.001,0.01,0.05,0.1,0.5,1.2]" description:"learning rates to try"`
	Target dsl.Value[float64]   `default:"0.9" description:"score needed to publish"`
}

var pipeline = dsl.NewPipeline("sweep", func(s dsl.Scope, in Params) {
	var score dsl.Value[float64]
	trials := dsl.ParallelFor(s, dsl.Over(in.Rates), func(s dsl.Scope, lr dsl.Value[float64]) {
		score = train.Task(s, TrainIn{LR: lr}).Out.Score
	})
	b := best.Task(s, BestIn{Rates: in.Rates, Scores: dsl.Collect(trials, score)})
	dsl.If(s, dsl.When("score >= target", dsl.Bind("score", b.Out.Score), dsl.Bind("target", in.Target)), func(s dsl.Scope) {
		publish.Task(s, PublishIn{LR: b.Out.LR, Score: b.Out.Score})
	})
}, dsl.Description("Sweeps learning rates and publishes the best."), dsl.Image("ghcr.io/kilnml/examples:latest"))

func main() { kiln.Main(pipeline) }

package sweep_test

import (
	"context"
	"math"
	"testing"

	"github.com/kilnml/kiln/components/ml/sweep"
)

// branin is the Branin–Hoo function on x1 ∈ [-5, 10], x2 ∈ [0, 15]; its global minimum is
// 10/(8π)·... ≈ 0.397887 at three points.
func branin(x1, x2 float64) float64 {
	a, b, c := 1.0, 5.1/(4*math.Pi*math.Pi), 5/math.Pi
	r, s, t := 6.0, 10.0, 1/(8*math.Pi)
	return a*math.Pow(x2-b*x1*x1+c*x1-r, 2) + s*(1-t)*math.Cos(x1) + s
}

const braninMin = 0.397887

func braninExperiment(algo sweep.AlgorithmName, trials int) *sweep.Experiment {
	return &sweep.Experiment{
		Space: sweep.Space{
			{Name: "x1", Type: sweep.Double, Min: -5, Max: 10},
			{Name: "x2", Type: sweep.Double, Min: 0, Max: 15},
		},
		Objective: sweep.Objective{Metric: "loss", Direction: sweep.Minimize},
		Algorithm: sweep.Algorithm{Name: algo},
		MaxTrials: trials,
	}
}

func braninTrial(_ context.Context, a sweep.Assignment, _ sweep.Reporter) (map[string]float64, error) {
	x1, err := a.Float("x1")
	if err != nil {
		return nil, err
	}
	x2, err := a.Float("x2")
	if err != nil {
		return nil, err
	}
	return map[string]float64{"loss": branin(x1, x2)}, nil
}

func bestLoss(t *testing.T, res *sweep.Result) float64 {
	t.Helper()
	if res.Best == nil {
		t.Fatal("no best trial")
	}
	return res.Best.Metrics["loss"]
}

func TestTPEBeatsRandomOnBranin(t *testing.T) {
	const seeds, trials = 20, 60
	var sum = map[sweep.AlgorithmName]float64{}
	wins := 0
	for seed := range uint64(seeds) {
		regret := map[sweep.AlgorithmName]float64{}
		for _, algo := range []sweep.AlgorithmName{sweep.Random, sweep.TPE} {
			res, err := sweep.Run(context.Background(), braninExperiment(algo, trials), braninTrial, sweep.Options{Seed: seed})
			if err != nil {
				t.Fatal(err)
			}
			regret[algo] = bestLoss(t, res) - braninMin
			sum[algo] += regret[algo] / seeds
		}
		if regret[sweep.TPE] < regret[sweep.Random] {
			wins++
		}
	}
	t.Logf("mean regret after %d trials over %d seeds: random %.4f, tpe %.4f; tpe better on %d seeds", trials, seeds, sum[sweep.Random], sum[sweep.TPE], wins)
	if sum[sweep.TPE] >= sum[sweep.Random] {
		t.Errorf("TPE mean regret %.4f is not below random's %.4f", sum[sweep.TPE], sum[sweep.Random])
	}
}

package sweep_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"

	"github.com/kilnml/kiln/components/ml/sweep"
)

// Example runs a small TPE search in process.
func Example() {
	e := &sweep.Experiment{
		Space: sweep.Space{
			{Name: "lr", Type: sweep.Double, Min: 1e-4, Max: 1, Distribution: sweep.LogUniform},
			{Name: "depth", Type: sweep.Int, Min: 1, Max: 8},
		},
		Objective:      sweep.Objective{Metric: "loss", Direction: sweep.Minimize},
		Algorithm:      sweep.Algorithm{Name: sweep.TPE},
		MaxTrials:      40,
		ParallelTrials: 1,
	}
	trial := func(_ context.Context, a sweep.Assignment, _ sweep.Reporter) (map[string]float64, error) {
		lr, _ := a.Float("lr")
		depth, _ := a.Int("depth")
		// A made-up loss, best at lr = 0.01 and depth = 4.
		l := math.Pow(math.Log10(lr)+2, 2) + math.Pow(float64(depth-4), 2)/4
		return map[string]float64{"loss": l}, nil
	}
	res, err := sweep.Run(context.Background(), e, trial, sweep.Options{Seed: 1})
	if err != nil {
		panic(err)
	}
	depth, _ := res.Best.Int("depth")
	fmt.Println(len(res.Trials), res.StopReason, depth >= 3 && depth <= 5, res.Best.Metrics["loss"] < 0.5)
	// Output: 40 max_trials true true
}

// ExampleSuggest is what a pipeline's "suggest" step does: read the experiment and the trials
// so far, write the next batch of assignments as a JSON list for a parallel loop.
func ExampleSuggest() {
	e := &sweep.Experiment{
		Space: sweep.Space{
			{Name: "kind", Type: sweep.Categorical, Categories: []string{"logistic_regression", "gbt"}},
			{Name: "l2", Type: sweep.Discrete, Values: []float64{0.001, 0.01}},
		},
		Objective: sweep.Objective{Metric: "roc_auc", Direction: sweep.Maximize},
		Algorithm: sweep.Algorithm{Name: sweep.Grid},
		MaxTrials: 10,
	}
	batch, _ := sweep.Suggest(e, nil, 3, 0)
	out, _ := json.Marshal(batch)
	fmt.Println(string(out))
	// Output: [{"id":0,"values":{"kind":"logistic_regression","l2":0.001}},{"id":1,"values":{"kind":"logistic_regression","l2":0.01}},{"id":2,"values":{"kind":"gbt","l2":0.001}}]
}

package sweep_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/components/ml/sweep"
)

func TestValidate(t *testing.T) {
	valid := func() *sweep.Experiment {
		return &sweep.Experiment{
			Space:     sweep.Space{{Name: "lr", Type: sweep.Double, Min: 1e-4, Max: 1, Distribution: sweep.LogUniform}},
			Objective: sweep.Objective{Metric: "acc", Direction: sweep.Maximize},
			Algorithm: sweep.Algorithm{Name: sweep.TPE},
			MaxTrials: 10,
		}
	}
	tests := []struct {
		name   string
		mutate func(e *sweep.Experiment)
		want   []string // field paths of the errors
	}{
		{"valid", func(*sweep.Experiment) {}, nil},
		{"everything wrong", func(e *sweep.Experiment) {
			e.Space = sweep.Space{
				{Name: "a", Type: sweep.Double, Min: 0, Max: 1, Distribution: sweep.LogUniform},
				{Name: "a", Type: sweep.Categorical},
				{Name: "b", Type: sweep.Int, Min: 0.5, Max: 3},
				{Name: "c", Type: "vector"},
			}
			e.Objective = sweep.Objective{Direction: "up"}
			e.Algorithm.Name = "bayes"
			e.MaxTrials = 0
		}, []string{
			"space[0].min", "space[1].name", "space[1].categories", "space[2].min", "space[3].type",
			"objective.metric", "objective.direction", "algorithm.name", "max_trials",
		}},
		{"max below min", func(e *sweep.Experiment) { e.Space[0].Max = 1e-5 }, []string{"space[0].max"}},
		{"empty space", func(e *sweep.Experiment) { e.Space = nil }, []string{"space"}},
		{"negative early stopping settings", func(e *sweep.Experiment) {
			e.EarlyStopping = &sweep.MedianStop{MinTrials: -1, StartStep: -1, ReportEvery: -10}
		}, []string{"early_stopping.min_trials", "early_stopping.start_step", "early_stopping.report_every"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := valid()
			tt.mutate(e)
			var got []string
			for _, err := range e.Validate() {
				got = append(got, err.Field)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("error fields (-want +got):\n%s", diff)
			}
		})
	}
}

func TestAssignmentJSON(t *testing.T) {
	in := sweep.Assignment{ID: 3, Values: map[string]sweep.Value{
		"lr": sweep.Number(0.01), "depth": sweep.Number(4), "kind": sweep.Category("gbt"),
	}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"id":3,"values":{"depth":4,"kind":"gbt","lr":0.01}}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out sweep.Assignment
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	depth, err := out.Int("depth")
	if err != nil || depth != 4 {
		t.Errorf("Int(depth) = %v, %v", depth, err)
	}
	kind, err := out.Category("kind")
	if err != nil || kind != "gbt" {
		t.Errorf("Category(kind) = %v, %v", kind, err)
	}
	if _, err := out.Float("kind"); err == nil {
		t.Error("Float of a category: no error")
	}
	if _, err := out.Int("lr"); err == nil {
		t.Error("Int of 0.01: no error")
	}
	if _, err := out.Float("missing"); err == nil {
		t.Error("Float of a missing parameter: no error")
	}
	if diff := cmp.Diff(map[string]string{"lr": "0.01", "depth": "4", "kind": "gbt"}, out.Strings()); diff != "" {
		t.Errorf("Strings (-want +got):\n%s", diff)
	}
}

func TestGridFindsExactOptimum(t *testing.T) {
	e := &sweep.Experiment{
		Space: sweep.Space{
			{Name: "x", Type: sweep.Int, Min: -5, Max: 5},
			{Name: "y", Type: sweep.Double, Min: -2, Max: 2, Step: 0.5},
			{Name: "opt", Type: sweep.Categorical, Categories: []string{"sgd", "adam"}},
		},
		Objective: sweep.Objective{Metric: "loss", Direction: sweep.Minimize},
		Algorithm: sweep.Algorithm{Name: sweep.Grid},
		MaxTrials: 1000,
	}
	if got := sweep.GridSize(e); got != 11*9*2 {
		t.Fatalf("GridSize = %d, want %d", got, 11*9*2)
	}
	fn := func(_ context.Context, a sweep.Assignment, _ sweep.Reporter) (map[string]float64, error) {
		x, _ := a.Float("x")
		y, _ := a.Float("y")
		opt, _ := a.Category("opt")
		loss := (x-2)*(x-2) + (y+1.5)*(y+1.5)
		if opt == "sgd" {
			loss++
		}
		return map[string]float64{"loss": loss}, nil
	}
	res, err := sweep.Run(context.Background(), e, fn, sweep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != "grid_exhausted" || len(res.Trials) != 198 {
		t.Errorf("stop %q after %d trials, want grid_exhausted after 198", res.StopReason, len(res.Trials))
	}
	want := map[string]string{"x": "2", "y": "-1.5", "opt": "adam"}
	if diff := cmp.Diff(want, res.Best.Strings()); diff != "" {
		t.Errorf("best (-want +got):\n%s", diff)
	}
	seen := map[string]bool{}
	for _, tr := range res.Trials {
		k := fmt.Sprint(tr.Strings())
		if seen[k] {
			t.Fatalf("grid point %s proposed twice", k)
		}
		seen[k] = true
	}
}

// sphere is a shifted sphere with minimum 0 at (1.5, -2.5, 0.7).
func sphere(a sweep.Assignment) float64 {
	shift := map[string]float64{"x": 1.5, "y": -2.5, "z": 0.7}
	var s float64
	for k, c := range shift {
		v, _ := a.Float(k)
		s += (v - c) * (v - c)
	}
	return s
}

func TestTPEFindsSphereOptimum(t *testing.T) {
	e := &sweep.Experiment{
		Space: sweep.Space{
			{Name: "x", Type: sweep.Double, Min: -5, Max: 5},
			{Name: "y", Type: sweep.Double, Min: -5, Max: 5},
			{Name: "z", Type: sweep.Double, Min: -5, Max: 5},
		},
		Objective: sweep.Objective{Metric: "loss", Direction: sweep.Minimize},
		Algorithm: sweep.Algorithm{Name: sweep.TPE},
		MaxTrials: 100,
	}
	fn := func(_ context.Context, a sweep.Assignment, _ sweep.Reporter) (map[string]float64, error) {
		return map[string]float64{"loss": sphere(a)}, nil
	}
	// Over 30 seeds, measured: random search's mean best loss is 1.69 after 100 trials and
	// TPE's is 0.20 (worst 1.19).
	const seeds = 10
	var mean float64
	for seed := range uint64(seeds) {
		res, err := sweep.Run(context.Background(), e, fn, sweep.Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		got := res.Best.Metrics["loss"]
		mean += got / seeds
		if got > 1.5 {
			t.Errorf("seed %d: best loss %.4f at %v after 100 trials, want <= 1.5", seed, got, res.Best.Strings())
		}
	}
	t.Logf("mean best loss over %d seeds: %.4f", seeds, mean)
	if mean > 0.5 {
		t.Errorf("mean best loss %.4f, want <= 0.5", mean)
	}
}

func TestSuggestIsDeterministicAndNumbered(t *testing.T) {
	for _, algo := range []sweep.AlgorithmName{sweep.Random, sweep.TPE, sweep.Grid} {
		t.Run(string(algo), func(t *testing.T) {
			e := braninExperiment(algo, 30)
			var history []sweep.Trial
			for len(history) < 30 {
				a1, err := sweep.Suggest(e, history, 4, 7)
				if err != nil {
					t.Fatal(err)
				}
				a2, _ := sweep.Suggest(e, history, 4, 7)
				if diff := cmp.Diff(a1, a2, cmp.Comparer(func(a, b sweep.Value) bool { return a.String() == b.String() })); diff != "" {
					t.Fatalf("same input, different suggestions:\n%s", diff)
				}
				if len(a1) == 0 {
					break
				}
				for i, a := range a1 {
					if a.ID != len(history)+i {
						t.Fatalf("assignment %d has id %d, want %d", i, a.ID, len(history)+i)
					}
				}
				for _, a := range a1 {
					m, _ := braninTrial(context.Background(), a, nil)
					history = append(history, sweep.Trial{Assignment: a, Status: sweep.Succeeded, Metrics: m})
				}
			}
			want := 30
			if algo == sweep.Grid {
				want = sweep.GridSize(e) // 5×5 < 30
			}
			if len(history) != want {
				t.Errorf("ran %d trials, want %d", len(history), want)
			}
			more, err := sweep.Suggest(e, history, 5, 7)
			if err != nil || len(more) != 0 {
				t.Errorf("after MaxTrials: %d suggestions, err %v; want none", len(more), err)
			}
		})
	}
}

func TestSuggestStaysInSpace(t *testing.T) {
	e := &sweep.Experiment{
		Space: sweep.Space{
			{Name: "lr", Type: sweep.Double, Min: 1e-5, Max: 1e-1, Distribution: sweep.LogUniform},
			{Name: "depth", Type: sweep.Int, Min: 2, Max: 8},
			{Name: "trees", Type: sweep.Int, Min: 10, Max: 1000, Distribution: sweep.LogUniform},
			{Name: "subsample", Type: sweep.Discrete, Values: []float64{0.5, 0.8, 1}},
			{Name: "booster", Type: sweep.Categorical, Categories: []string{"gbt", "dart"}},
		},
		Objective: sweep.Objective{Metric: "auc", Direction: sweep.Maximize},
		Algorithm: sweep.Algorithm{Name: sweep.TPE, StartupTrials: 5},
		MaxTrials: 60,
	}
	fn := func(_ context.Context, a sweep.Assignment, _ sweep.Reporter) (map[string]float64, error) {
		lr, _ := a.Float("lr")
		depth, err := a.Int("depth")
		if err != nil {
			return nil, err
		}
		trees, err := a.Int("trees")
		if err != nil {
			return nil, err
		}
		sub, _ := a.Float("subsample")
		b, _ := a.Category("booster")
		if lr < 1e-5 || lr > 1e-1 || depth < 2 || depth > 8 || trees < 10 || trees > 1000 || !slices.Contains([]float64{0.5, 0.8, 1}, sub) || (b != "gbt" && b != "dart") {
			return nil, fmt.Errorf("out of space: %v", a.Strings())
		}
		auc := 1 - math.Abs(math.Log10(lr)+2)/10 - math.Abs(float64(depth)-5)/20 - math.Abs(sub-0.8)
		if b == "dart" {
			auc -= 0.1
		}
		return map[string]float64{"auc": auc}, nil
	}
	res, err := sweep.Run(context.Background(), e, fn, sweep.Options{Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Trials) != 60 {
		t.Errorf("%d trials, want 60", len(res.Trials))
	}
	b := res.Best.Strings()
	if b["subsample"] != "0.8" || res.Best.Metrics["auc"] < 0.8 {
		t.Errorf("best %v with %v, want subsample 0.8 and auc >= 0.8", b, res.Best.Metrics)
	}
}

func TestRunGoalStopsEarly(t *testing.T) {
	goal := 0.5
	e := braninExperiment(sweep.Random, 500)
	e.Objective.Goal = &goal
	res, err := sweep.Run(context.Background(), e, braninTrial, sweep.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.StopReason != "goal" || len(res.Trials) >= 500 || res.Best.Metrics["loss"] > goal {
		t.Errorf("stop %q after %d trials with best %v; want goal reached early", res.StopReason, len(res.Trials), res.Best.Metrics)
	}
}

func TestRunFailureBudget(t *testing.T) {
	e := braninExperiment(sweep.Random, 50)
	e.ParallelTrials = 3
	e.MaxFailedTrials = 2
	var calls atomic.Int32
	fn := func(ctx context.Context, a sweep.Assignment, r sweep.Reporter) (map[string]float64, error) {
		calls.Add(1)
		if a.ID%4 == 1 {
			return nil, errors.New("out of memory")
		}
		return braninTrial(ctx, a, r)
	}
	res, err := sweep.Run(context.Background(), e, fn, sweep.Options{Seed: 1})
	if !errors.Is(err, sweep.ErrTooManyFailures) {
		t.Fatalf("err = %v, want ErrTooManyFailures", err)
	}
	failed := 0
	for _, tr := range res.Trials {
		if tr.Status == sweep.Failed {
			failed++
			if tr.Error != "out of memory" {
				t.Errorf("trial %d error %q", tr.ID, tr.Error)
			}
		}
	}
	// Trials run three at a time and a failure counts once its goroutine records it, which on a
	// loaded machine may lag behind later trials; what must hold is that the run stops early.
	if failed < 3 || len(res.Trials) >= 50 || res.StopReason != "max_failed_trials" {
		t.Errorf("%d failed of %d trials, stop %q; want the run to stop at the 3rd failure", failed, len(res.Trials), res.StopReason)
	}
	if res.Best == nil {
		t.Error("no best trial among the successes")
	}

	// A trial that does not report the objective metric fails too.
	e2 := braninExperiment(sweep.Random, 3)
	e2.MaxFailedTrials = -1
	res, err = sweep.Run(context.Background(), e2, func(context.Context, sweep.Assignment, sweep.Reporter) (map[string]float64, error) {
		return map[string]float64{"other": 1}, nil
	}, sweep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range res.Trials {
		if tr.Status != sweep.Failed || !strings.Contains(tr.Error, `"loss" not reported`) {
			t.Errorf("trial %d: %s %q", tr.ID, tr.Status, tr.Error)
		}
	}
}

func TestMedianStop(t *testing.T) {
	obj := sweep.Objective{Metric: "loss", Direction: sweep.Minimize}
	done := []sweep.Trial{
		{Status: sweep.Succeeded, Intermediate: []float64{1.0, 0.8, 0.6}},
		{Status: sweep.Succeeded, Intermediate: []float64{1.2, 0.9, 0.7}},
		{Status: sweep.Succeeded, Intermediate: []float64{0.9, 0.7, 0.5}},
		{Status: sweep.Failed, Intermediate: []float64{0, 0, 0}},
		{Status: sweep.Running, Intermediate: []float64{0, 0}},
	}
	rule := sweep.MedianStop{MinTrials: 3, StartStep: 2}
	tests := []struct {
		name    string
		trials  []sweep.Trial
		current []float64
		want    bool
	}{
		// Step-2 running averages: 0.9, 1.05, 0.8 → median 0.9.
		{"worse than median", done, []float64{1.5, 1.0}, true},
		{"better than median", done, []float64{1.5, 0.85}, false},
		{"before start step", done, []float64{5}, false},
		{"too few completed", done[:2], []float64{5, 5}, false},
		// Step-3 averages: 0.8, 0.9333, 0.7 → median 0.8.
		{"step 3 worse", done, []float64{2, 2, 0.81}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := rule.ShouldStop(obj, tt.trials, tt.current); got != tt.want {
				t.Errorf("ShouldStop = %v, want %v", got, tt.want)
			}
		})
	}
	maxObj := sweep.Objective{Metric: "acc", Direction: sweep.Maximize}
	if !rule.ShouldStop(maxObj, done, []float64{0.1, 0.2}) {
		t.Error("maximize: 0.2 below median 0.9 should stop")
	}
}

func TestRunMedianStopping(t *testing.T) {
	// Each trial reports a learning curve that levels off at its final loss; bad trials are
	// visibly bad from the first steps and should be cut short.
	e := &sweep.Experiment{
		Space:         sweep.Space{{Name: "q", Type: sweep.Discrete, Values: []float64{0.1, 0.2, 0.3, 5, 6, 7}}},
		Objective:     sweep.Objective{Metric: "loss", Direction: sweep.Minimize},
		Algorithm:     sweep.Algorithm{Name: sweep.Grid},
		MaxTrials:     6,
		EarlyStopping: &sweep.MedianStop{MinTrials: 3, StartStep: 2},
	}
	var steps atomic.Int32
	fn := func(_ context.Context, a sweep.Assignment, report sweep.Reporter) (map[string]float64, error) {
		q, _ := a.Float("q")
		var loss float64
		for s := 1; s <= 10; s++ {
			steps.Add(1)
			loss = q + 1/float64(s)
			if report(loss) {
				break
			}
		}
		return map[string]float64{"loss": loss}, nil
	}
	res, err := sweep.Run(context.Background(), e, fn, sweep.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var statuses []sweep.Status
	for _, tr := range res.Trials {
		statuses = append(statuses, tr.Status)
	}
	want := []sweep.Status{sweep.Succeeded, sweep.Succeeded, sweep.Succeeded, sweep.EarlyStopped, sweep.EarlyStopped, sweep.EarlyStopped}
	if diff := cmp.Diff(want, statuses); diff != "" {
		t.Errorf("statuses (-want +got):\n%s", diff)
	}
	if got := steps.Load(); got != 3*10+3*2 {
		t.Errorf("%d steps run, want %d", got, 3*10+3*2)
	}
	if res.Best.ID != 0 {
		t.Errorf("best trial %d, want 0", res.Best.ID)
	}
}

// TestPipelineRounds runs the experiment the way a pipeline does: suggest a batch, run each
// assignment as if in its own pod (through JSON), collect trials, repeat, then pick the best.
func TestPipelineRounds(t *testing.T) {
	e := braninExperiment(sweep.TPE, 40)
	var history []sweep.Trial
	for round := 0; ; round++ {
		batch, err := sweep.Suggest(roundTrip(t, e), roundTrip(t, history), 8, 11)
		if err != nil {
			t.Fatal(err)
		}
		if len(batch) == 0 {
			break
		}
		for _, a := range roundTrip(t, batch) {
			m, err := braninTrial(context.Background(), a, nil)
			if err != nil {
				t.Fatal(err)
			}
			history = append(history, sweep.Trial{Assignment: a, Status: sweep.Succeeded, Metrics: m})
		}
	}
	if len(history) != 40 {
		t.Fatalf("%d trials, want 40", len(history))
	}
	best, ok := sweep.Best(e.Objective, roundTrip(t, history))
	if !ok || best.Metrics["loss"] > 2 {
		t.Errorf("best %+v, want a loss below 2", best)
	}
}

func roundTrip[T any](t *testing.T, v T) T {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out T
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestRunCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	e := braninExperiment(sweep.Random, 100)
	e.ParallelTrials = 2
	var n atomic.Int32
	fn := func(ctx context.Context, a sweep.Assignment, r sweep.Reporter) (map[string]float64, error) {
		if n.Add(1) == 5 {
			cancel()
		}
		return braninTrial(ctx, a, r)
	}
	res, err := sweep.Run(ctx, e, fn, sweep.Options{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if res.StopReason != "canceled" || len(res.Trials) > 7 {
		t.Errorf("stop %q after %d trials", res.StopReason, len(res.Trials))
	}
	for _, tr := range res.Trials {
		if tr.Status == sweep.Running {
			t.Errorf("trial %d still running after Run returned", tr.ID)
		}
	}
}

func TestSuggestRejectsBadHistory(t *testing.T) {
	e := braninExperiment(sweep.TPE, 10)
	_, err := sweep.Suggest(e, []sweep.Trial{{Assignment: sweep.Assignment{ID: 3}}}, 1, 0)
	if err == nil || !strings.Contains(err.Error(), "history[0] has id 3") {
		t.Errorf("err = %v", err)
	}
	e.MaxTrials = 0
	if _, err := sweep.Suggest(e, nil, 1, 0); err == nil || !strings.Contains(err.Error(), "max_trials") {
		t.Errorf("invalid experiment: err = %v", err)
	}
}

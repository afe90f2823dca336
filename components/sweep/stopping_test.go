package sweep

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	mlsweep "github.com/kilnml/kiln/components/ml/sweep"
	"github.com/kilnml/kiln/dsl"
)

// fakeSiblings is a fixed list of completed sibling trials (pure-logic tests only).
type fakeSiblings struct {
	trials []mlsweep.Trial
	err    error
	calls  int
}

func (f *fakeSiblings) Completed(context.Context) ([]mlsweep.Trial, error) {
	f.calls++
	return f.trials, f.err
}

func sibling(status mlsweep.Status, values ...float64) mlsweep.Trial {
	return mlsweep.Trial{Status: status, Intermediate: values}
}

// The decisions below are worked by hand. Siblings' running averages for log loss
// (minimise), per step s:
//
//	a: 0.6 0.4 0.2  → averages 0.6, 0.5, 0.4
//	b: 0.5 0.3 0.2  → averages 0.5, 0.4, 0.333
//	c: 0.7 0.5 0.4  → averages 0.7, 0.6, 0.533
//	d: 0.65 (early stopped after one report) → average 0.65 at step 1 only
//
// Medians: step 1 over {0.5,0.6,0.65,0.7} = 0.625; step 2 over {0.4,0.5,0.6} = 0.5;
// step 3 over {0.333,0.4,0.533} = 0.4. A trial stops when its best value so far is worse
// (higher) than the median.
func TestStopperDecisions(t *testing.T) {
	logLoss := mlsweep.Objective{Metric: "log_loss", Direction: mlsweep.Minimize}
	sibs := []mlsweep.Trial{
		sibling(mlsweep.Succeeded, 0.6, 0.4, 0.2),
		sibling(mlsweep.Succeeded, 0.5, 0.3, 0.2),
		sibling(mlsweep.Succeeded, 0.7, 0.5, 0.4),
		sibling(mlsweep.EarlyStopped, 0.65),
		sibling(mlsweep.Failed, 9, 9, 9),   // failures never count
		sibling(mlsweep.Running, 0.1, 0.1), // nor do running trials
	}
	tests := []struct {
		name   string
		rule   mlsweep.MedianStop
		obj    mlsweep.Objective
		sibs   []mlsweep.Trial
		values []float64
		want   []bool
	}{
		{"good trial runs to the end", mlsweep.MedianStop{}, logLoss, sibs, []float64{0.55, 0.35, 0.25}, []bool{false, false, false}},
		{"bad trial stops at the first report", mlsweep.MedianStop{}, logLoss, sibs, []float64{0.69}, []bool{true}},
		{"start step delays the rule", mlsweep.MedianStop{StartStep: 2}, logLoss, sibs, []float64{0.69, 0.68}, []bool{false, true}},
		{"best so far counts, not the last value", mlsweep.MedianStop{}, logLoss, sibs, []float64{0.6, 0.35, 0.45}, []bool{false, false, false}},
		{"stops once worse than the median", mlsweep.MedianStop{}, logLoss, sibs, []float64{0.6, 0.55}, []bool{false, true}},
		{"median at step 2 is 0.5: equal is not worse", mlsweep.MedianStop{}, logLoss, sibs, []float64{0.62, 0.5}, []bool{false, false}},
		{"too few completed trials", mlsweep.MedianStop{MinTrials: 5}, logLoss, sibs, []float64{0.9}, []bool{false}},
		{"no siblings", mlsweep.MedianStop{}, logLoss, nil, []float64{0.9, 0.9}, []bool{false, false}},
		{"maximise: low accuracy stops", mlsweep.MedianStop{MinTrials: 2},
			mlsweep.Objective{Metric: "accuracy", Direction: mlsweep.Maximize},
			[]mlsweep.Trial{sibling(mlsweep.Succeeded, 0.9, 0.95), sibling(mlsweep.Succeeded, 0.8, 0.9)},
			[]float64{0.86, 0.87}, []bool{false, true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := &fakeSiblings{trials: tc.sibs}
			s := &Stopper{Rule: tc.rule, Objective: tc.obj, Siblings: f}
			var got []bool
			for _, v := range tc.values {
				got = append(got, s.Check(context.Background(), v))
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("decisions (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tc.values, s.Values()); diff != "" {
				t.Errorf("values (-want +got):\n%s", diff)
			}
		})
	}
}

// A server that cannot be read never stops a trial.
func TestStopperSiblingError(t *testing.T) {
	f := &fakeSiblings{trials: []mlsweep.Trial{sibling(mlsweep.Succeeded, 0.1), sibling(mlsweep.Succeeded, 0.1), sibling(mlsweep.Succeeded, 0.1)}, err: errors.New("connection refused")}
	s := &Stopper{Objective: mlsweep.Objective{Metric: "log_loss", Direction: mlsweep.Minimize}, Siblings: f}
	if s.Check(context.Background(), 5) {
		t.Error("stopped on an error reading the siblings")
	}
}

func TestIntermediateFromSteps(t *testing.T) {
	got := IntermediateFromSteps(map[int64]float64{30: 0.3, 10: 0.1, 20: 0.2})
	if diff := cmp.Diff([]float64{0.1, 0.2, 0.3}, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// RunTrialReporting scores the partial model every Every boosting rounds and stops training
// when Report says so; the trial is then EarlyStopped with the rounds done as iterations.
func TestRunTrialReporting(t *testing.T) {
	d := dsl.Dataset{Path: filepath.Join("..", "..", "datasets", "breast-cancer", "data.csv")}
	base := model.TrainConfig{Kind: model.GBT, Target: "diagnosis", GBT: gbt.Config{NEstimators: 40}}
	obj := mlsweep.Objective{Metric: "log_loss", Direction: mlsweep.Minimize}
	a := mlsweep.Assignment{ID: 1, Values: map[string]mlsweep.Value{"learning_rate": mlsweep.Number(0.3)}}
	tests := []struct {
		name       string
		stopAt     int // iteration at which Report says stop; 0 never
		wantStatus mlsweep.Status
		wantIters  []int
	}{
		{"runs to the end", 0, mlsweep.Succeeded, []int{10, 20, 30, 40}},
		{"stopped at the second report", 20, mlsweep.EarlyStopped, []int{10, 20}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var iters []int
			var values []float64
			rep := Reporting{Every: 10, Report: func(it int, v float64) bool {
				iters, values = append(iters, it), append(values, v)
				return it == tc.stopAt
			}}
			tr, err := RunTrialReporting(context.Background(), a, d, d, base, obj, rep)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Status != tc.wantStatus {
				t.Fatalf("status %s (%s), want %s", tr.Status, tr.Error, tc.wantStatus)
			}
			if diff := cmp.Diff(tc.wantIters, iters); diff != "" {
				t.Errorf("report iterations (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(values, tr.Intermediate); diff != "" {
				t.Errorf("intermediate (-reported +recorded):\n%s", diff)
			}
			if got, want := tr.Metrics[MetricIterations], float64(tc.wantIters[len(tc.wantIters)-1]); got != want {
				t.Errorf("iterations metric %v, want %v", got, want)
			}
			// Training loss on the training data falls with every round at this rate.
			for i := 1; i < len(values); i++ {
				if values[i] >= values[i-1] {
					t.Errorf("log loss did not fall: %v", values)
				}
			}
			if last := values[len(values)-1]; tr.Metrics["log_loss"] != last {
				t.Errorf("final log loss %v, last report %v", tr.Metrics["log_loss"], last)
			}
			// An early-stopped trial is neither a failure nor the best.
			if _, ok := mlsweep.Best(obj, []mlsweep.Trial{tr}); ok != (tc.wantStatus == mlsweep.Succeeded) {
				t.Errorf("Best found %v for a %s trial", ok, tr.Status)
			}
		})
	}
}

// Without a Kiln server there are no siblings to compare with: no reports, and the log says
// early stopping is off.
func TestReportingWithoutServer(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	e := mlsweep.Experiment{Objective: mlsweep.Objective{Metric: "log_loss", Direction: mlsweep.Minimize}, EarlyStopping: &mlsweep.MedianStop{}}
	rep := reporting(context.Background(), log, e, mlsweep.Assignment{ID: 2}, nil)
	if rep.Report != nil {
		t.Error("reports without a server")
	}
	if !strings.Contains(buf.String(), "early stopping is off") {
		t.Errorf("log %q does not say early stopping is off", buf.String())
	}
	buf.Reset()
	e.EarlyStopping = nil
	reporting(context.Background(), log, e, mlsweep.Assignment{ID: 2}, nil)
	if buf.Len() != 0 {
		t.Errorf("logged %q for a sweep without early stopping", buf.String())
	}
}

package sweep

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/components/ml/model"
	mlsweep "github.com/kilnml/kiln/components/ml/sweep"
	"github.com/kilnml/kiln/dsl"
)

var objective = mlsweep.Objective{Metric: "accuracy", Direction: mlsweep.Maximize}

func trialOf(id int, status mlsweep.Status, acc float64) mlsweep.Trial {
	return mlsweep.Trial{Assignment: mlsweep.Assignment{ID: id, Values: map[string]mlsweep.Value{"l2": mlsweep.Number(float64(id))}},
		Status: status, Metrics: map[string]float64{"accuracy": acc}}
}

func TestChoose(t *testing.T) {
	trials := []mlsweep.Trial{
		trialOf(0, mlsweep.Succeeded, 0.9), trialOf(1, mlsweep.Failed, 0),
		trialOf(2, mlsweep.Succeeded, 0.95), trialOf(3, mlsweep.Succeeded, 0.95), trialOf(4, mlsweep.Failed, 0),
	}
	tests := []struct {
		name      string
		maxFailed int
		trials    []mlsweep.Trial
		wantID    int
		wantErr   error
	}{
		{"best, lowest id among ties", 2, trials, 2, nil},
		{"no failure limit", -1, trials, 2, nil},
		{"too many failures", 1, trials, 0, mlsweep.ErrTooManyFailures},
		{"none succeeded", -1, trials[1:2], 0, ErrNoTrial},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b, ok, failed, err := Choose(mlsweep.Experiment{Objective: objective, MaxFailedTrials: tc.maxFailed}, tc.trials)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if b.ID != tc.wantID || ok != 3 || failed != 2 {
				t.Errorf("best %d (%d ok, %d failed), want %d (3, 2)", b.ID, ok, failed, tc.wantID)
			}
		})
	}
}

func TestEncodeTrials(t *testing.T) {
	in := []mlsweep.Trial{trialOf(0, mlsweep.Succeeded, 0.5), {Assignment: mlsweep.Assignment{ID: 1, Values: map[string]mlsweep.Value{"kind": mlsweep.Category("gbt")}}, Status: mlsweep.Failed, Error: `bad "quote"`}}
	var enc []string
	for _, tr := range in {
		e, err := EncodeTrial(tr)
		if err != nil {
			t.Fatal(err)
		}
		enc = append(enc, e)
	}
	got, err := DecodeTrials(enc)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, got, cmp.Comparer(func(a, b mlsweep.Value) bool { return a.String() == b.String() && a.IsCategory() == b.IsCategory() })); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := DecodeTrials([]string{"not base64!"}); err == nil {
		t.Error("bad input decoded")
	}
}

func TestRunTrial(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "d.csv")
	if err := os.WriteFile(p, []byte("x,y\n1,lo\n2,lo\n3,lo\n4,lo\n6,hi\n7,hi\n8,hi\n9,hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	d := dsl.Dataset{Path: p}
	base := model.TrainConfig{Kind: model.LogisticRegression, Target: "y"}
	tests := []struct {
		name   string
		values map[string]mlsweep.Value
		status mlsweep.Status
		acc    float64
	}{
		{"fits", map[string]mlsweep.Value{"l2": mlsweep.Number(0.01)}, mlsweep.Succeeded, 1},
		{"unknown parameter fails the trial", map[string]mlsweep.Value{"momentum": mlsweep.Number(1)}, mlsweep.Failed, 0},
		{"bad kind fails the trial", map[string]mlsweep.Value{"kind": mlsweep.Category("svm")}, mlsweep.Failed, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr, err := RunTrial(context.Background(), mlsweep.Assignment{ID: 3, Values: tc.values}, d, d, base, objective)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Status != tc.status || tr.ID != 3 {
				t.Fatalf("trial %+v, want status %s", tr, tc.status)
			}
			if tc.status == mlsweep.Succeeded && tr.Metrics["accuracy"] != tc.acc {
				t.Errorf("accuracy %v, want %v", tr.Metrics["accuracy"], tc.acc)
			}
			if tc.status == mlsweep.Failed && tr.Error == "" {
				t.Error("failed trial without an error")
			}
		})
	}
	if _, err := RunTrial(context.Background(), mlsweep.Assignment{}, dsl.Dataset{Path: filepath.Join(dir, "none.csv")}, d, base, objective); err == nil {
		t.Error("unreadable data did not fail the pod (no retry possible)")
	}
}

func TestSuggest(t *testing.T) {
	exp := mlsweep.Experiment{
		Space:     mlsweep.Space{{Name: "l2", Type: mlsweep.Discrete, Values: []float64{0.1, 1, 10}}},
		Objective: objective, Algorithm: mlsweep.Algorithm{Name: mlsweep.Grid}, MaxTrials: 5,
	}
	out, err := suggest(context.Background(), SuggestIn{Experiment: dsl.Of(exp), History: dsl.Of([]string{}), Count: dsl.Of(0), Seed: dsl.Of(1)})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, a := range out.Assignments.Get() {
		got = append(got, a.Name()+"="+a.Values["l2"].String())
	}
	if diff := cmp.Diff([]string{"trial-0000=0.1", "trial-0001=1", "trial-0002=10"}, got); diff != "" {
		t.Errorf("grid (-want +got):\n%s", diff)
	}
	// A goal already reached stops the search.
	goal := 0.9
	exp.Objective.Goal = &goal
	first, _ := EncodeTrial(trialOf(0, mlsweep.Succeeded, 0.95))
	out, err = suggest(context.Background(), SuggestIn{Experiment: dsl.Of(exp), History: dsl.Of([]string{first}), Count: dsl.Of(2), Seed: dsl.Of(1)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Count.Get() != 0 {
		t.Errorf("%d suggestions after the goal was reached", out.Count.Get())
	}
}

package evaluate

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/dsl"
)

// writeModel writes a logistic model predicting "hi" when x > 5: P(lo) = σ(5 - x).
func writeModel(t *testing.T) string {
	t.Helper()
	m := &model.Model{Format: model.FormatV1, Kind: model.LogisticRegression, Target: "y", Features: []string{"x"},
		Classes: []string{"hi", "lo"}, Linear: &linear.Params{Coef: [][]float64{{-1}}, Intercept: []float64{5}}}
	p := filepath.Join(t.TempDir(), "model.json")
	if err := m.SaveFile(context.Background(), p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEvaluate(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "d.csv")
	// Rows at x=4.9 and x=5.1 are labelled against the model: accuracy 4/6.
	if err := os.WriteFile(data, []byte("x,y\n1,lo\n2,lo\n4.9,hi\n5.1,lo\n8,hi\n9,hi\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	mp := writeModel(t)
	tests := []struct {
		metric  string
		want    float64
		wantErr bool
	}{
		{"", 4.0 / 6, false},
		{"accuracy", 4.0 / 6, false},
		{"r2", 0, true},
	}
	for _, tc := range tests {
		t.Run("metric="+tc.metric, func(t *testing.T) {
			out, err := evaluate(context.Background(), In{Model: dsl.Of(dsl.Model{Path: mp}), Data: dsl.Of(dsl.Dataset{Path: data}), Metric: dsl.Of(tc.metric)})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := out.Score.Get(); got != tc.want {
				t.Errorf("score %v, want %v", got, tc.want)
			}
			if got := out.Metrics.Get().Values["accuracy"]; got != 4.0/6 {
				t.Errorf("metrics accuracy %v", got)
			}
			b, err := os.ReadFile(out.Report.Get().Path)
			if err != nil {
				t.Fatal(err)
			}
			var ev model.Evaluation
			if err := json.Unmarshal(b, &ev); err != nil || ev.Classification == nil {
				t.Fatalf("report %s: %v", b, err)
			}
			// Classes are [hi lo]; the positive class is class 1 ("lo"): 2 of 3 lo rows found.
			if ev.Classification.Recall != 2.0/3 {
				t.Errorf("recall %v, want 2/3", ev.Classification.Recall)
			}
		})
	}
}

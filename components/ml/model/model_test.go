package model_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/ml/model/gbt"
	"github.com/kilnml/kiln/components/ml/model/linear"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

var update = flag.Bool("update", false, "rewrite golden files")

const tiny = `x,colour,y,label
1,red,3,no
2,blue,5,no
3,red,7,yes
4,blue,9,yes
5,red,11,yes
0,blue,1,no
`

func readTiny(t *testing.T) *dataset.Table {
	t.Helper()
	tab, err := dataset.ReadCSV(strings.NewReader(tiny), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

// TestGolden pins the artifact format: a change to the JSON a model is saved as shows up as a
// diff of testdata/*.golden.json (refresh with go test ./components/ml/model -update).
func TestGolden(t *testing.T) {
	tab := readTiny(t)
	tests := []struct {
		name string
		cfg  model.TrainConfig
	}{
		{"linear_regression", model.TrainConfig{Kind: model.LinearRegression, Target: "y", Features: []string{"x"}}},
		{"logistic_regression", model.TrainConfig{Kind: model.LogisticRegression, Target: "label", Features: []string{"x", "colour"},
			Preprocess: preprocess.Config{Scaling: preprocess.ScaleStandard}, Linear: linear.Config{L2: 0.1}}},
		{"gbt", model.TrainConfig{Kind: model.GBT, Target: "label", Features: []string{"x"}, GBT: gbt.Config{NEstimators: 2, MaxDepth: 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := model.Train(tab, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			// Round weights so the golden file does not depend on the last bits of L-BFGS.
			if m.Linear != nil {
				for _, row := range m.Linear.Coef {
					for j := range row {
						row[j] = math.Round(row[j]*1e6)/1e6 + 0 // + 0 turns -0 into 0
					}
				}
				for j := range m.Linear.Intercept {
					m.Linear.Intercept[j] = math.Round(m.Linear.Intercept[j]*1e6)/1e6 + 0
				}
			}
			var buf bytes.Buffer
			if err := m.Save(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("testdata", tt.name+".golden.json")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(string(want), buf.String()); diff != "" {
				t.Errorf("%s (-want +got):\n%s", path, diff)
			}
			if _, err := model.Load(bytes.NewReader(want)); err != nil {
				t.Errorf("golden file does not load: %v", err)
			}
		})
	}
}

func TestLinearRegressionExact(t *testing.T) {
	// y = 2x + 1 exactly; standardisation must not change the predictions.
	tab := readTiny(t)
	for _, sc := range []preprocess.Scaling{preprocess.ScaleNone, preprocess.ScaleStandard, preprocess.ScaleMinMax} {
		m, err := model.Train(tab, model.TrainConfig{Kind: model.LinearRegression, Target: "y", Features: []string{"x"}, Preprocess: preprocess.Config{Scaling: sc}})
		if err != nil {
			t.Fatal(err)
		}
		p, err := m.Predict([][]float64{{10}, {-1}})
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(p.Values[0]-21) > 1e-9 || math.Abs(p.Values[1]+1) > 1e-9 {
			t.Errorf("scaling %s: predictions %v, want [21 -1]", sc, p.Values)
		}
		ev, err := model.Evaluate(m, tab)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Regression.RMSE > 1e-9 || math.Abs(ev.Regression.R2-1) > 1e-12 {
			t.Errorf("scaling %s: %+v, want a perfect fit", sc, ev.Regression)
		}
	}
}

func TestPredictRecordsMatchesTable(t *testing.T) {
	tab := readTiny(t)
	m, err := model.Train(tab, model.TrainConfig{Kind: model.Softmax, Target: "label", Features: []string{"x", "colour"},
		Preprocess: preprocess.Config{Scaling: preprocess.ScaleStandard}, Linear: linear.Config{L2: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"no", "yes"}, m.Classes); diff != "" {
		t.Errorf("classes (-want +got):\n%s", diff)
	}
	if len(m.Linear.Coef) != 2 {
		t.Errorf("softmax has %d weight rows, want one per class", len(m.Linear.Coef))
	}
	fromTable, err := m.PredictTable(tab)
	if err != nil {
		t.Fatal(err)
	}
	var recs []map[string]any
	// Records as a JSON request would decode them.
	if err := json.Unmarshal([]byte(`[{"x":1,"colour":"red"},{"x":2,"colour":"blue"},{"x":3,"colour":"red"},
		{"x":4,"colour":"blue"},{"x":5,"colour":"red"},{"x":0,"colour":"blue"}]`), &recs); err != nil {
		t.Fatal(err)
	}
	fromRecs, err := m.PredictRecords(recs)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(fromTable, fromRecs); diff != "" {
		t.Errorf("records vs table (-table +records):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"no", "no", "yes", "yes", "yes", "no"}, fromTable.Labels); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if _, err := m.Predict([][]float64{{1, 2}}); err == nil {
		t.Error("Predict rows with a categorical feature: no error")
	}
}

func TestGBTRegressionAndMissing(t *testing.T) {
	tab := readTiny(t)
	m, err := model.Train(tab, model.TrainConfig{Kind: model.GBT, Target: "y", Features: []string{"x"},
		Preprocess: preprocess.Config{Impute: preprocess.ImputeNone}, GBT: gbt.Config{NEstimators: 200, Lambda: 1e-9}})
	if err != nil {
		t.Fatal(err)
	}
	if m.IsClassifier() || m.GBT.Objective != gbt.SquaredError {
		t.Fatalf("numeric target gave objective %s", m.GBT.Objective)
	}
	p, err := m.Predict([][]float64{{3}, {math.NaN()}})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(p.Values[0]-7) > 1e-3 || math.IsNaN(p.Values[1]) {
		t.Errorf("predictions %v, want ~7 and a finite value for a missing x", p.Values)
	}
}

func TestTrainErrors(t *testing.T) {
	tab := readTiny(t)
	tests := []struct {
		name string
		cfg  model.TrainConfig
		want string
	}{
		{"no target", model.TrainConfig{Kind: model.LinearRegression, Target: "nope"}, `column "nope"`},
		{"string target for regression", model.TrainConfig{Kind: model.LinearRegression, Target: "label", Features: []string{"x"}}, "want a numeric column"},
		{"logistic with many classes", model.TrainConfig{Kind: model.LogisticRegression, Target: "y", Features: []string{"x"}}, "use softmax"},
		{"unknown kind", model.TrainConfig{Kind: "svm", Target: "y", Features: []string{"x"}}, `unknown kind "svm"`},
		{"target as feature", model.TrainConfig{Kind: model.LinearRegression, Target: "y", Features: []string{"x", "y"}}, "also a feature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := model.Train(tab, tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestLoadReportsFieldPaths(t *testing.T) {
	golden, err := os.ReadFile(filepath.Join("testdata", "logistic_regression.golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		mutate func(m map[string]any)
		want   []string
	}{
		{"wrong format", func(m map[string]any) { m["format"] = "kiln.model/v2" }, []string{`format: Unsupported value: "kiln.model/v2"`}},
		{"unknown kind and no features", func(m map[string]any) { m["kind"] = "svm"; m["features"] = []any{} }, []string{
			`kind: Unsupported value: "svm"`, "features: Required value"}},
		{"short weights", func(m map[string]any) {
			m["linear"].(map[string]any)["coef"] = []any{[]any{1.0}}
		}, []string{"linear.coef[0]: Invalid value: 1: want 3 weights"}},
		{"three classes for logistic", func(m map[string]any) { m["classes"] = []any{"a", "b", "c"} }, []string{"classes: Invalid value"}},
		{"preprocess mismatch", func(m map[string]any) { m["features"] = []any{"x", "shade"} }, []string{"preprocess.columns: Invalid value", "input columns must equal features"}},
		{"bad transform", func(m map[string]any) {
			m["preprocess"].(map[string]any)["columns"].([]any)[0].(map[string]any)["scale"] = 0.0
		}, []string{"preprocess.columns[0].scale: Invalid value: 0"}},
		{"unknown field", func(m map[string]any) { m["weights"] = 1 }, []string{`unknown field "weights"`}},
		{"gbt without trees", func(m map[string]any) { m["kind"] = "gbt" }, []string{"gbt: Required value", "linear: Forbidden"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var doc map[string]any
			if err := json.Unmarshal(golden, &doc); err != nil {
				t.Fatal(err)
			}
			tt.mutate(doc)
			b, _ := json.Marshal(doc)
			_, err := model.Load(bytes.NewReader(b))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestSaveLoadFile(t *testing.T) {
	ctx := context.Background()
	m, err := model.Train(readTiny(t), model.TrainConfig{Kind: model.LogisticRegression, Target: "label", Features: []string{"x"}, Linear: linear.Config{L2: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.json")
	if err := m.SaveFile(ctx, path); err != nil {
		t.Fatal(err)
	}
	back, err := model.LoadFile(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(m, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, err := model.LoadFile(ctx, filepath.Join(t.TempDir(), "none.json")); err == nil {
		t.Error("missing file: no error")
	}
}

func FuzzLoad(f *testing.F) {
	for _, name := range []string{"linear_regression", "logistic_regression", "gbt"} {
		b, err := os.ReadFile(filepath.Join("testdata", name+".golden.json"))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := model.Load(bytes.NewReader(b))
		if err != nil {
			return
		}
		// Whatever loads must predict without panicking.
		row := make([]float64, len(m.Features))
		if _, err := m.Predict([][]float64{row}); err != nil && m.Preprocess == nil {
			t.Fatalf("valid model without preprocess failed to predict: %v", err)
		}
		recs := []map[string]any{{}}
		_, _ = m.PredictRecords(recs)
	})
}

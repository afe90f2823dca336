package metrics_test

import (
	"math"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kilnml/kiln/components/ml/metrics"
)

var approx = cmpopts.EquateApprox(0, 1e-12)

func ptr(v float64) *float64 { return &v }

func TestClassifyBinaryHandChecked(t *testing.T) {
	// Confusion matrix [[3 1] [1 5]]: 3 TN, 1 FP, 1 FN, 5 TP.
	yTrue := []int{0, 0, 0, 0, 1, 1, 1, 1, 1, 1}
	yPred := []int{0, 0, 1, 0, 1, 1, 0, 1, 1, 1}
	got, err := metrics.Classify(yTrue, yPred, nil, []string{"benign", "malignant"})
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.Classification{
		N: 10, Accuracy: 0.8,
		Precision: 5.0 / 6, Recall: 5.0 / 6, F1: 5.0 / 6,
		MacroF1:    (0.75 + 5.0/6) / 2,
		WeightedF1: (4*0.75 + 6*5.0/6) / 10,
		PerClass: []metrics.ClassReport{
			{Class: "benign", Precision: 0.75, Recall: 0.75, F1: 0.75, Support: 4},
			{Class: "malignant", Precision: 5.0 / 6, Recall: 5.0 / 6, F1: 5.0 / 6, Support: 6},
		},
		Confusion: metrics.ConfusionMatrix{Classes: []string{"benign", "malignant"}, Counts: [][]int{{3, 1}, {1, 5}}},
	}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("Classify (-want +got):\n%s", diff)
	}
}

func TestClassifyMulticlassHandChecked(t *testing.T) {
	// true\pred  a  b  c
	//    a       2  1  0
	//    b       0  2  0
	//    c       1  0  1
	yTrue := []int{0, 0, 0, 1, 1, 2, 2}
	yPred := []int{0, 0, 1, 1, 1, 0, 2}
	proba := [][]float64{
		{0.7, 0.2, 0.1}, {0.6, 0.3, 0.1}, {0.3, 0.6, 0.1},
		{0.1, 0.8, 0.1}, {0.2, 0.7, 0.1},
		{0.5, 0.1, 0.4}, {0.2, 0.1, 0.7},
	}
	got, err := metrics.Classify(yTrue, yPred, proba, []string{"a", "b", "c"})
	if err != nil {
		t.Fatal(err)
	}
	pa, ra := 2.0/3, 2.0/3
	pb, rb := 2.0/3, 1.0
	pc, rc := 1.0, 0.5
	f := func(p, r float64) float64 { return 2 * p * r / (p + r) }
	if diff := cmp.Diff([][]int{{2, 1, 0}, {0, 2, 0}, {1, 0, 1}}, got.Confusion.Counts); diff != "" {
		t.Errorf("confusion (-want +got):\n%s", diff)
	}
	checks := map[string][2]float64{
		"accuracy":  {5.0 / 7, got.Accuracy},
		"precision": {(pa + pb + pc) / 3, got.Precision},
		"recall":    {(ra + rb + rc) / 3, got.Recall},
		"macro_f1":  {(f(pa, ra) + f(pb, rb) + f(pc, rc)) / 3, got.MacroF1},
		"weighted":  {(3*f(pa, ra) + 2*f(pb, rb) + 2*f(pc, rc)) / 7, got.WeightedF1},
		// -mean log p(true): 0.7, 0.6, 0.3, 0.8, 0.7, 0.4, 0.7.
		"log_loss": {-(math.Log(0.7) + math.Log(0.6) + math.Log(0.3) + math.Log(0.8) + math.Log(0.7) + math.Log(0.4) + math.Log(0.7)) / 7, *got.LogLoss},
		// One-vs-rest AUCs by counting pairs: a: 11/12 (only the c row scored 0.5 beats a's
		// 0.3), b: 10/10, c: 10/10 (0.4 and 0.7 above every 0.1).
		"roc_auc": {(11.0/12 + 1 + 1) / 3, *got.ROCAUC},
	}
	for name, c := range checks {
		if math.Abs(c[0]-c[1]) > 1e-12 {
			t.Errorf("%s = %v, want %v", name, c[1], c[0])
		}
	}
}

func TestROCAUC(t *testing.T) {
	tests := []struct {
		name   string
		pos    []bool
		scores []float64
		want   float64
		ok     bool
	}{
		{"scikit-learn example", []bool{false, false, true, true}, []float64{0.1, 0.4, 0.35, 0.8}, 0.75, true},
		{"perfect", []bool{false, true, true}, []float64{0.1, 0.5, 0.9}, 1, true},
		{"inverted", []bool{true, false}, []float64{0.1, 0.9}, 0, true},
		{"all tied", []bool{false, true, false, true}, []float64{0.5, 0.5, 0.5, 0.5}, 0.5, true},
		{"one tie across classes", []bool{false, true, true}, []float64{0.5, 0.5, 0.9}, 0.75, true},
		{"no negatives", []bool{true, true}, []float64{0.1, 0.2}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := metrics.ROCAUC(tt.pos, tt.scores)
			if ok != tt.ok || math.Abs(got-tt.want) > 1e-12 {
				t.Errorf("ROCAUC = %v, %v; want %v, %v", got, ok, tt.want, tt.ok)
			}
		})
	}
}

func TestLogLoss(t *testing.T) {
	got, err := metrics.LogLoss([]int{1, 0}, [][]float64{{0.1, 0.9}, {0.8, 0.2}})
	if err != nil {
		t.Fatal(err)
	}
	if want := -(math.Log(0.9) + math.Log(0.8)) / 2; math.Abs(got-want) > 1e-12 {
		t.Errorf("LogLoss = %v, want %v", got, want)
	}
	// A confident wrong answer is clipped, not infinite.
	got, _ = metrics.LogLoss([]int{1}, [][]float64{{1, 0}})
	if want := -math.Log(1e-15); math.Abs(got-want) > 1e-9 {
		t.Errorf("clipped LogLoss = %v, want %v", got, want)
	}
}

func TestRegressScikitExample(t *testing.T) {
	got, err := metrics.Regress([]float64{3, -0.5, 2, 7}, []float64{2.5, 0, 2, 8})
	if err != nil {
		t.Fatal(err)
	}
	want := metrics.Regression{N: 4, MSE: 0.375, RMSE: math.Sqrt(0.375), MAE: 0.5, R2: 0.9486081370449679}
	if diff := cmp.Diff(want, got, approx); diff != "" {
		t.Errorf("Regress (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]float64{"mse": 0.375, "rmse": math.Sqrt(0.375), "mae": 0.5, "r2": 0.9486081370449679}, got.Scalars(), approx); diff != "" {
		t.Errorf("Scalars (-want +got):\n%s", diff)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
	}{
		{"length mismatch", func() error { _, err := metrics.Classify([]int{0, 1}, []int{0}, nil, []string{"a", "b"}); return err }()},
		{"class out of range", func() error {
			_, err := metrics.Classify([]int{0, 2}, []int{0, 1}, nil, []string{"a", "b"})
			return err
		}()},
		{"one class", func() error { _, err := metrics.Classify([]int{0}, []int{0}, nil, []string{"a"}); return err }()},
		{"short probability row", func() error {
			_, err := metrics.Classify([]int{0, 1}, []int{0, 1}, [][]float64{{1, 0}, {1}}, []string{"a", "b"})
			return err
		}()},
		{"empty regression", func() error { _, err := metrics.Regress(nil, nil); return err }()},
	}
	for _, tt := range tests {
		if tt.err == nil {
			t.Errorf("%s: no error", tt.name)
		}
	}
}

func TestScalarsIncludeOptional(t *testing.T) {
	r := metrics.Classification{Accuracy: 1, ROCAUC: ptr(0.9), LogLoss: ptr(0.1)}
	s := r.Scalars()
	if s["roc_auc"] != 0.9 || s["log_loss"] != 0.1 || s["accuracy"] != 1 {
		t.Errorf("Scalars = %v", s)
	}
}

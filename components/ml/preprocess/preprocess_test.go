package preprocess_test

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/preprocess"
)

func TestSplitIndicesStratified(t *testing.T) {
	// 60 "a", 40 "b"; 70/15/15 gives a: 42/9/9 and b: 28/6/6.
	labels := make([]string, 100)
	for i := range labels {
		labels[i] = "a"
		if i%5 < 2 {
			labels[i] = "b"
		}
	}
	cfg := preprocess.SplitConfig{Train: 0.7, Validation: 0.15, Test: 0.15, Seed: 1}
	idx, err := preprocess.SplitIndices(100, labels, cfg)
	if err != nil {
		t.Fatal(err)
	}
	count := func(rows []int) map[string]int {
		m := map[string]int{}
		for _, r := range rows {
			m[labels[r]]++
		}
		return m
	}
	if diff := cmp.Diff(map[string]int{"a": 42, "b": 28}, count(idx.Train)); diff != "" {
		t.Errorf("train (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"a": 9, "b": 6}, count(idx.Validation)); diff != "" {
		t.Errorf("validation (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"a": 9, "b": 6}, count(idx.Test)); diff != "" {
		t.Errorf("test (-want +got):\n%s", diff)
	}
	all := slices.Concat(idx.Train, idx.Validation, idx.Test)
	slices.Sort(all)
	for i, r := range all {
		if r != i {
			t.Fatalf("rows are not a partition of 0..99: %v", all)
		}
	}
	again, _ := preprocess.SplitIndices(100, labels, cfg)
	if diff := cmp.Diff(idx, again); diff != "" {
		t.Errorf("same seed, different split (-first +second):\n%s", diff)
	}
	cfg.Seed = 2
	other, _ := preprocess.SplitIndices(100, labels, cfg)
	if cmp.Equal(idx, other) {
		t.Error("different seeds gave the same split")
	}
}

func TestSplitIndicesRoundingAndErrors(t *testing.T) {
	idx, err := preprocess.SplitIndices(10, nil, preprocess.SplitConfig{Train: 0.7, Validation: 0.15, Test: 0.15})
	if err != nil {
		t.Fatal(err)
	}
	// 7 / 1.5 / 1.5: the largest-remainder tie goes to validation.
	if got := []int{len(idx.Train), len(idx.Validation), len(idx.Test)}; !slices.Equal(got, []int{7, 2, 1}) {
		t.Errorf("sizes %v, want [7 2 1]", got)
	}
	bad := []preprocess.SplitConfig{
		{Train: 0.5, Validation: 0.2},
		{Train: 1.2, Test: -0.2},
	}
	for _, c := range bad {
		if _, err := preprocess.SplitIndices(10, nil, c); err == nil {
			t.Errorf("%+v: no error", c)
		}
	}
	if _, err := preprocess.SplitIndices(3, []string{"a"}, preprocess.SplitConfig{Train: 1}); err == nil {
		t.Error("label count mismatch: no error")
	}
}

const people = `age,income,city,label
20,10,paris,x
30,,rome,y
40,30,paris,x
,50,,y
`

func readPeople(t *testing.T) *dataset.Table {
	t.Helper()
	tab, err := dataset.ReadCSV(strings.NewReader(people), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tab
}

func TestFitApplyStandard(t *testing.T) {
	tab := readPeople(t)
	tr, err := preprocess.Fit(tab, preprocess.Config{Exclude: []string{"label"}, Scaling: preprocess.ScaleStandard})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"age", "income", "city=paris", "city=rome"}, tr.OutputNames()); diff != "" {
		t.Errorf("outputs (-want +got):\n%s", diff)
	}
	x, err := tr.Apply(tab)
	if err != nil {
		t.Fatal(err)
	}
	// age: mean 30, population sd sqrt(200/3); income: mean 30, sd sqrt(800/3).
	sa, si := math.Sqrt(200.0/3), math.Sqrt(800.0/3)
	want := [][]float64{
		{-10 / sa, -20 / si, 1, 0},
		{0, 0, 0, 1},
		{10 / sa, 0, 1, 0},
		{0, 20 / si, 1, 0}, // missing age → mean; missing city → most frequent (paris)
	}
	if diff := cmp.Diff(want, x, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("Apply (-want +got):\n%s", diff)
	}
	// Serving path: a record by name, with an unseen city (all zeros) and a numeric string.
	row, err := tr.ApplyRecord(map[string]any{"age": "40", "income": 30.0, "city": "oslo"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]float64{10 / sa, 0, 0, 0}, row, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("ApplyRecord (-want +got):\n%s", diff)
	}
	if _, err := tr.ApplyRow([]float64{1, 2, 3}); err == nil {
		t.Error("ApplyRow with a categorical column: no error")
	}
}

func TestFitVariants(t *testing.T) {
	tab := readPeople(t)
	tests := []struct {
		name string
		cfg  preprocess.Config
		want [][]float64
	}{
		{"minmax median", preprocess.Config{Columns: []string{"age", "income"}, Impute: preprocess.ImputeMedian, Scaling: preprocess.ScaleMinMax},
			[][]float64{{0, 0}, {0.5, 0.5}, {1, 0.5}, {0.5, 1}}},
		{"zero fill no scaling", preprocess.Config{Columns: []string{"income"}, Impute: preprocess.ImputeZero},
			[][]float64{{10}, {0}, {30}, {50}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr, err := preprocess.Fit(tab, tt.cfg)
			if err != nil {
				t.Fatal(err)
			}
			x, err := tr.Apply(tab)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, x, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	tr, err := preprocess.Fit(tab, preprocess.Config{Columns: []string{"income"}, Impute: preprocess.ImputeNone})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := tr.Apply(tab)
	if !math.IsNaN(x[1][0]) {
		t.Errorf("impute none: %v, want NaN", x[1][0])
	}
	if _, err := preprocess.Fit(tab, preprocess.Config{Scaling: "robust"}); err == nil {
		t.Error("unknown scaling: no error")
	}
	strict, _ := preprocess.Fit(tab, preprocess.Config{Columns: []string{"city"}, ErrorOnUnknown: true})
	if _, err := strict.ApplyRecord(map[string]any{"city": "oslo"}); err == nil || !strings.Contains(err.Error(), `unknown category "oslo"`) {
		t.Errorf("unknown category: err %v", err)
	}
}

func TestTransformSaveLoad(t *testing.T) {
	tab := readPeople(t)
	tr, err := preprocess.Fit(tab, preprocess.Config{Exclude: []string{"label"}, Scaling: preprocess.ScaleStandard})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := tr.Save(&buf); err != nil {
		t.Fatal(err)
	}
	back, err := preprocess.Load(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tr, back); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestTransformValidate(t *testing.T) {
	tr := &preprocess.Transform{Format: "kiln.transform/v0", Columns: []preprocess.ColumnTransform{
		{Name: "a", Kind: preprocess.Numeric, Scale: 0},
		{Name: "a", Kind: preprocess.Categorical, Categories: []string{"z", "b"}},
		{Name: "c", Kind: "text", Scale: 1},
	}}
	var got []string
	for _, e := range tr.Validate(field.NewPath("preprocess")) {
		got = append(got, e.Field)
	}
	want := []string{"preprocess.format", "preprocess.columns[0].scale", "preprocess.columns[1].name", "preprocess.columns[1].categories", "preprocess.columns[2].kind"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("error fields (-want +got):\n%s", diff)
	}
	if _, err := preprocess.Load(strings.NewReader(`{"format":"kiln.transform/v1","columns":[],"extra":1}`)); err == nil {
		t.Error("unknown field: no error")
	}
}

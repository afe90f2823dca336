package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/kilnml/kiln/components/ml/dataset"
	mlpre "github.com/kilnml/kiln/components/ml/preprocess"
	"github.com/kilnml/kiln/serving"
)

// TestSplit recomputes the flagship's held-out test split of the data file at path (the
// split is seeded: 60/20/20, stratified on target).
func TestSplit(ctx context.Context, path, target string, seed uint64) (*dataset.Table, error) {
	full, err := dataset.ReadFile(ctx, path, "", dataset.CSVOptions{})
	if err != nil {
		return nil, err
	}
	_, _, test, err := mlpre.Split(full, mlpre.SplitConfig{Train: 0.6, Validation: 0.2, Test: 0.2, Seed: seed, Stratify: target})
	return test, err
}

// writeRequest writes an OIP infer request for n rows of the test split (alternating between
// the classes while both last), one tensor per feature, and returns their labels.
func writeRequest(ctx context.Context, w io.Writer, path string, n int) ([]string, error) {
	test, err := TestSplit(ctx, path, "diagnosis", 7)
	if err != nil {
		return nil, err
	}
	labels, err := test.Strings("diagnosis")
	if err != nil {
		return nil, err
	}
	rows := pickRows(labels, n)
	req := serving.InferRequest{ID: "flagship-test-rows"}
	for _, name := range test.Names() {
		if name == "diagnosis" {
			continue
		}
		vals, err := test.Floats(name)
		if err != nil {
			return nil, err
		}
		data := make([]any, len(rows))
		for i, r := range rows {
			data[i] = vals[r]
		}
		req.Inputs = append(req.Inputs, serving.Tensor{Name: name, Shape: []int{len(rows)}, Datatype: "FP64", Data: data})
	}
	picked := make([]string, len(rows))
	for i, r := range rows {
		picked[i] = labels[r]
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	if _, err := fmt.Fprintf(w, "%s\n", b); err != nil {
		return nil, err
	}
	return picked, nil
}

// pickRows returns up to n row numbers taking, in turn, the next row of each label.
func pickRows(labels []string, n int) []int {
	byLabel := map[string][]int{}
	var order []string
	for i, l := range labels {
		if _, ok := byLabel[l]; !ok {
			order = append(order, l)
		}
		byLabel[l] = append(byLabel[l], i)
	}
	var rows []int
	for k := 0; len(rows) < n; k++ {
		added := false
		for _, l := range order {
			if k < len(byLabel[l]) && len(rows) < n {
				rows = append(rows, byLabel[l][k])
				added = true
			}
		}
		if !added {
			break
		}
	}
	return rows
}

package gbt_test

import (
	"fmt"

	"github.com/kilnml/kiln/components/ml/model/gbt"
)

func ExampleFit() {
	x := [][]float64{{1}, {2}, {3}, {10}, {11}, {12}}
	y := []float64{0, 0, 0, 1, 1, 1}
	e, err := gbt.Fit(x, y, gbt.Config{Objective: gbt.BinaryLogistic, NEstimators: 20, MaxDepth: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(len(e.Trees), e.Trees[0].Nodes[0].Threshold, e.Raw([]float64{0}) < 0, e.Raw([]float64{20}) > 0)
	// Output: 20 6.5 true true
}

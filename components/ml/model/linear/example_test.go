package linear_test

import (
	"fmt"

	"github.com/kilnml/kiln/components/ml/model/linear"
)

func ExampleFitLeastSquares() {
	x := [][]float64{{0}, {1}, {2}, {3}}
	y := []float64{1, 3, 5, 7} // y = 2x + 1
	p, err := linear.FitLeastSquares(x, y, linear.Config{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("w=%.3f b=%.3f\n", p.Coef[0][0], p.Intercept[0])
	// Output: w=2.000 b=1.000
}

func ExampleFitLogistic() {
	x := [][]float64{{-2}, {-1}, {-0.5}, {0.5}, {1}, {2}}
	y := []int{0, 0, 1, 0, 1, 1}
	p, err := linear.FitLogistic(x, y, 2, linear.Config{L2: 0.01})
	if err != nil {
		panic(err)
	}
	prob := linear.Probabilities(p.Decision([]float64{3}))
	fmt.Printf("P(class 1 | x=3) > 0.9: %v\n", prob[1] > 0.9)
	// Output: P(class 1 | x=3) > 0.9: true
}

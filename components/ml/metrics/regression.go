package metrics

import (
	"fmt"
	"math"
)

// Regression is the evaluation report of a regressor.
type Regression struct {
	// N is the number of rows evaluated.
	N int `json:"n"`
	// RMSE is the root mean squared error.
	RMSE float64 `json:"rmse"`
	// MSE is the mean squared error.
	MSE float64 `json:"mse"`
	// MAE is the mean absolute error.
	MAE float64 `json:"mae"`
	// R2 is the coefficient of determination 1 - SS_res/SS_tot; when the targets are constant it
	// is 1 for a perfect fit and 0 otherwise.
	R2 float64 `json:"r2"`
}

// Regress evaluates predictions yPred against targets yTrue.
func Regress(yTrue, yPred []float64) (Regression, error) {
	if len(yTrue) != len(yPred) {
		return Regression{}, fmt.Errorf("regress: %d targets and %d predictions", len(yTrue), len(yPred))
	}
	if len(yTrue) == 0 {
		return Regression{}, fmt.Errorf("regress: no rows")
	}
	n := float64(len(yTrue))
	var mean float64
	for _, y := range yTrue {
		mean += y
	}
	mean /= n
	var ssRes, ssTot, abs float64
	for i, y := range yTrue {
		e := y - yPred[i]
		ssRes += e * e
		abs += math.Abs(e)
		ssTot += (y - mean) * (y - mean)
	}
	r := Regression{N: len(yTrue), MSE: ssRes / n, MAE: abs / n}
	r.RMSE = math.Sqrt(r.MSE)
	switch {
	case ssTot > 0:
		r.R2 = 1 - ssRes/ssTot
	case ssRes == 0:
		r.R2 = 1
	}
	return r, nil
}

// Scalars flattens r into metric names and values: rmse, mse, mae and r2.
func (r Regression) Scalars() map[string]float64 {
	return map[string]float64{"rmse": r.RMSE, "mse": r.MSE, "mae": r.MAE, "r2": r.R2}
}

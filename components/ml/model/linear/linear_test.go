package linear

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestFitLeastSquaresExact(t *testing.T) {
	// y = 5 + 2·x0 - 3·x1 + 0.5·x2 exactly, so least squares must recover the weights.
	rng := rand.New(rand.NewPCG(1, 2))
	var x [][]float64
	var y []float64
	for range 50 {
		r := []float64{rng.NormFloat64(), rng.NormFloat64() * 10, rng.Float64()}
		x = append(x, r)
		y = append(y, 5+2*r[0]-3*r[1]+0.5*r[2])
	}
	p, err := FitLeastSquares(x, y, Config{})
	if err != nil {
		t.Fatal(err)
	}
	want := []float64{2, -3, 0.5}
	for j, w := range want {
		if math.Abs(p.Coef[0][j]-w) > 1e-9 {
			t.Errorf("coef[%d] = %v, want %v", j, p.Coef[0][j], w)
		}
	}
	if math.Abs(p.Intercept[0]-5) > 1e-9 {
		t.Errorf("intercept = %v, want 5", p.Intercept[0])
	}
}

func TestFitLeastSquaresRidgeClosedForm(t *testing.T) {
	// One centred feature: w = (Σxy/n) / (Σx²/n + λ).
	x := [][]float64{{-2}, {-1}, {0}, {1}, {2}}
	y := []float64{-3, -1, 1, 2, 6} // mean 1
	// Σxy = 6+1+0+2+12 = 21, Σx² = 10, n = 5.
	lambda := 0.5
	p, err := FitLeastSquares(x, y, Config{L2: lambda})
	if err != nil {
		t.Fatal(err)
	}
	want := (21.0 / 5) / (10.0/5 + lambda)
	if math.Abs(p.Coef[0][0]-want) > 1e-12 || math.Abs(p.Intercept[0]-1) > 1e-12 {
		t.Errorf("got w=%v b=%v, want w=%v b=1", p.Coef[0][0], p.Intercept[0], want)
	}
}

func TestFitLeastSquaresErrors(t *testing.T) {
	if _, err := FitLeastSquares([][]float64{{1, 2}}, []float64{1}, Config{}); err == nil {
		t.Error("underdetermined: no error")
	}
	if _, err := FitLeastSquares([][]float64{{1}, {math.NaN()}}, []float64{1, 2}, Config{}); err == nil {
		t.Error("NaN feature: no error")
	}
	if _, err := FitLeastSquares([][]float64{{1}, {2, 3}}, []float64{1, 2}, Config{}); err == nil {
		t.Error("ragged rows: no error")
	}
}

// numGrad checks the analytic gradient of the logistic objective against central
// differences.
func TestLogisticGradient(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, outs := range []int{1, 3} {
		k := max(outs, 2)
		var x [][]float64
		var y []int
		for range 20 {
			x = append(x, []float64{rng.NormFloat64(), rng.NormFloat64()})
			y = append(y, rng.IntN(k))
		}
		o := &logObjective{x: x, y: y, outs: outs, d: 2, l2: 0.3}
		theta := make([]float64, outs*3)
		for i := range theta {
			theta[i] = rng.NormFloat64()
		}
		grad := make([]float64, len(theta))
		o.eval(theta, grad)
		for i := range theta {
			h := 1e-6
			tp, tm := append([]float64(nil), theta...), append([]float64(nil), theta...)
			tp[i] += h
			tm[i] -= h
			num := (o.eval(tp, nil) - o.eval(tm, nil)) / (2 * h)
			if math.Abs(num-grad[i]) > 1e-6 {
				t.Errorf("outs=%d: grad[%d] = %v, numeric %v", outs, i, grad[i], num)
			}
		}
	}
}

func TestFitLogisticReachesOptimum(t *testing.T) {
	// Overlapping classes: the penalised optimum is finite and its gradient is zero.
	rng := rand.New(rand.NewPCG(5, 6))
	var x [][]float64
	var y []int
	for i := range 200 {
		c := i % 3
		x = append(x, []float64{float64(c) + rng.NormFloat64(), float64(c*c)/2 + rng.NormFloat64()})
		y = append(y, c)
	}
	for _, k := range []int{2, 3} {
		yk := make([]int, len(y))
		for i, c := range y {
			yk[i] = min(c, k-1)
		}
		p, err := FitLogistic(x, yk, k, Config{L2: 0.01})
		if err != nil {
			t.Fatal(err)
		}
		outs := p.Outputs()
		o := &logObjective{x: x, y: yk, outs: outs, d: 2, l2: 0.01}
		var theta []float64
		for j := range outs {
			theta = append(theta, p.Coef[j]...)
			theta = append(theta, p.Intercept[j])
		}
		grad := make([]float64, len(theta))
		o.eval(theta, grad)
		for i, g := range grad {
			if math.Abs(g) > 1e-5 {
				t.Errorf("k=%d: gradient[%d] = %v at the fitted weights, want ~0", k, i, g)
			}
		}
		// Class 0 (low x0) must be predicted for a point deep in its region.
		prob := Probabilities(p.Decision([]float64{-3, -1}))
		if prob[0] < 0.9 {
			t.Errorf("k=%d: P(class 0 | far left) = %v, want > 0.9", k, prob[0])
		}
		var sum float64
		for _, v := range prob {
			sum += v
		}
		if math.Abs(sum-1) > 1e-12 || len(prob) != k {
			t.Errorf("k=%d: probabilities %v do not sum to 1 over %d classes", k, prob, k)
		}
	}
}

func TestFitLogisticErrors(t *testing.T) {
	x := [][]float64{{1}, {2}}
	if _, err := FitLogistic(x, []int{0, 1}, 1, Config{}); err == nil {
		t.Error("one class: no error")
	}
	if _, err := FitLogistic(x, []int{0, 2}, 2, Config{}); err == nil {
		t.Error("label out of range: no error")
	}
}

package linear

import (
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
)

// Params are the weights of a fitted linear model: output k is Intercept[k] + Coef[k]·x.
// A regression or binary logistic model has one output; a softmax model has one per class.
type Params struct {
	// Coef holds one weight vector per output.
	Coef [][]float64 `json:"coef"`
	// Intercept holds one bias per output.
	Intercept []float64 `json:"intercept"`
}

// Config controls fitting.
type Config struct {
	// L2 is the ridge penalty λ in mean-loss + λ/2·‖W‖² (the intercept is not penalised).
	// Zero means no penalty; perfectly separable classes then need a penalty to stay finite.
	L2 float64 `json:"l2"`
	// MaxIterations caps L-BFGS iterations for logistic and softmax fits; 0 means 500.
	MaxIterations int `json:"max_iterations,omitempty"`
	// GradientTolerance stops L-BFGS when the gradient's infinity norm falls below it;
	// 0 means 1e-6.
	GradientTolerance float64 `json:"gradient_tolerance,omitempty"`
}

// Outputs returns the number of outputs of p.
func (p *Params) Outputs() int { return len(p.Intercept) }

// Validate checks that p is well formed for d features.
func (p *Params) Validate(d int) error {
	if len(p.Coef) == 0 || len(p.Coef) != len(p.Intercept) {
		return fmt.Errorf("linear: %d coefficient rows and %d intercepts", len(p.Coef), len(p.Intercept))
	}
	for k, row := range p.Coef {
		if len(row) != d {
			return fmt.Errorf("linear: coef[%d] has %d weights, want %d", k, len(row), d)
		}
	}
	return nil
}

// Decision returns the raw outputs Intercept[k] + Coef[k]·x.
func (p *Params) Decision(x []float64) []float64 {
	out := make([]float64, len(p.Coef))
	for k, w := range p.Coef {
		out[k] = p.Intercept[k] + dot(w, x)
	}
	return out
}

func dot(a, b []float64) float64 {
	var s float64
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

func checkX(x [][]float64, n int) (int, error) {
	if len(x) == 0 {
		return 0, errors.New("linear: no rows")
	}
	if len(x) != n {
		return 0, fmt.Errorf("linear: %d rows and %d targets", len(x), n)
	}
	d := len(x[0])
	for i, r := range x {
		if len(r) != d {
			return 0, fmt.Errorf("linear: row %d has %d features, want %d", i, len(r), d)
		}
		for j, v := range r {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return 0, fmt.Errorf("linear: row %d feature %d is %v; impute missing values first", i, j, v)
			}
		}
	}
	return d, nil
}

// FitLeastSquares fits y ≈ Xw + b by minimising 1/(2n)‖y - Xw - b‖² + λ/2‖w‖², in closed
// form on centred data (QR least squares when λ is 0, a Cholesky solve otherwise).
func FitLeastSquares(x [][]float64, y []float64, cfg Config) (*Params, error) {
	d, err := checkX(x, len(y))
	if err != nil {
		return nil, err
	}
	n := len(x)
	xMean := make([]float64, d)
	var yMean float64
	for i, r := range x {
		for j, v := range r {
			xMean[j] += v / float64(n)
		}
		yMean += y[i] / float64(n)
	}
	xc := mat.NewDense(n, d, nil)
	yc := mat.NewVecDense(n, nil)
	for i, r := range x {
		for j, v := range r {
			xc.Set(i, j, v-xMean[j])
		}
		yc.SetVec(i, y[i]-yMean)
	}
	w := mat.NewVecDense(d, nil)
	if cfg.L2 == 0 {
		if n < d {
			return nil, fmt.Errorf("linear: %d rows cannot determine %d weights without an L2 penalty", n, d)
		}
		var qr mat.QR
		qr.Factorize(xc)
		if err := qr.SolveVecTo(w, false, yc); err != nil {
			return nil, fmt.Errorf("linear: least squares: %w", err)
		}
	} else {
		var a mat.SymDense
		a.SymOuterK(1/float64(n), xc.T())
		for j := range d {
			a.SetSym(j, j, a.At(j, j)+cfg.L2)
		}
		var b mat.VecDense
		b.MulVec(xc.T(), yc)
		b.ScaleVec(1/float64(n), &b)
		var ch mat.Cholesky
		if !ch.Factorize(&a) {
			return nil, errors.New("linear: ridge system is not positive definite")
		}
		if err := ch.SolveVecTo(w, &b); err != nil {
			return nil, fmt.Errorf("linear: ridge solve: %w", err)
		}
	}
	coef := make([]float64, d)
	b := yMean
	for j := range d {
		coef[j] = w.AtVec(j)
		b -= coef[j] * xMean[j]
	}
	for _, v := range coef {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, errors.New("linear: least squares produced non-finite weights; the features may be collinear, try an L2 penalty")
		}
	}
	return &Params{Coef: [][]float64{coef}, Intercept: []float64{b}}, nil
}

// FitLogistic fits a classifier for classes 0..k-1 given in y. Two classes give a binary
// logistic regression with one output (the log-odds of class 1); more give a softmax
// regression with k outputs. The objective is the mean negative log-likelihood plus
// λ/2‖W‖², minimised with L-BFGS from zero weights.
func FitLogistic(x [][]float64, y []int, k int, cfg Config) (*Params, error) {
	d, err := checkX(x, len(y))
	if err != nil {
		return nil, err
	}
	if k < 2 {
		return nil, fmt.Errorf("linear: %d classes, want at least 2", k)
	}
	for i, c := range y {
		if c < 0 || c >= k {
			return nil, fmt.Errorf("linear: row %d: class %d out of range [0,%d)", i, c, k)
		}
	}
	outs := k
	if k == 2 {
		outs = 1
	}
	obj := &logObjective{x: x, y: y, outs: outs, d: d, l2: cfg.L2}
	maxIter := cfg.MaxIterations
	if maxIter == 0 {
		maxIter = 500
	}
	tol := cfg.GradientTolerance
	if tol == 0 {
		tol = 1e-6
	}
	prob := optimize.Problem{
		Func: func(theta []float64) float64 { return obj.eval(theta, nil) },
		Grad: func(grad, theta []float64) { obj.eval(theta, grad) },
	}
	settings := &optimize.Settings{GradientThreshold: tol, MajorIterations: maxIter}
	res, err := optimize.Minimize(prob, make([]float64, outs*(d+1)), settings, &optimize.LBFGS{})
	if err != nil && res == nil {
		return nil, fmt.Errorf("linear: l-bfgs: %w", err)
	}
	// Hitting the iteration cap still leaves the best point found, which is what we keep.
	theta := res.X
	p := &Params{Coef: make([][]float64, outs), Intercept: make([]float64, outs)}
	for o := range outs {
		base := o * (d + 1)
		p.Coef[o] = append([]float64(nil), theta[base:base+d]...)
		p.Intercept[o] = theta[base+d]
	}
	return p, nil
}

type logObjective struct {
	x    [][]float64
	y    []int
	outs int
	d    int
	l2   float64
}

// eval returns the objective at theta (outs blocks of d weights then one bias) and, if grad is
// not nil, writes its gradient there.
func (o *logObjective) eval(theta, grad []float64) float64 {
	d, n := o.d, float64(len(o.x))
	if grad != nil {
		clear(grad)
	}
	z := make([]float64, o.outs)
	var loss float64
	for i, xi := range o.x {
		for k := range o.outs {
			base := k * (d + 1)
			z[k] = theta[base+d] + dot(theta[base:base+d], xi)
		}
		if o.outs == 1 {
			// Binary: loss = log(1+e^z) - y z, computed stably.
			yi := float64(o.y[i])
			loss += softplus(z[0]) - yi*z[0]
			z[0] = sigmoid(z[0]) - yi
		} else {
			lse := logSumExp(z)
			loss += lse - z[o.y[i]]
			for k := range z {
				z[k] = math.Exp(z[k] - lse)
			}
			z[o.y[i]]--
		}
		if grad != nil {
			for k, g := range z {
				base := k * (d + 1)
				for j, v := range xi {
					grad[base+j] += g * v / n
				}
				grad[base+d] += g / n
			}
		}
	}
	loss /= n
	for k := range o.outs {
		base := k * (d + 1)
		for j := range d {
			w := theta[base+j]
			loss += o.l2 / 2 * w * w
			if grad != nil {
				grad[base+j] += o.l2 * w
			}
		}
	}
	return loss
}

func softplus(z float64) float64 {
	if z > 0 {
		return z + math.Log1p(math.Exp(-z))
	}
	return math.Log1p(math.Exp(z))
}

func sigmoid(z float64) float64 {
	if z >= 0 {
		return 1 / (1 + math.Exp(-z))
	}
	e := math.Exp(z)
	return e / (1 + e)
}

func logSumExp(z []float64) float64 {
	m := math.Inf(-1)
	for _, v := range z {
		m = max(m, v)
	}
	var s float64
	for _, v := range z {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

// Probabilities converts raw outputs of a classifier into class probabilities: a sigmoid for
// one output (giving [1-p, p]) and a softmax for more.
func Probabilities(z []float64) []float64 {
	if len(z) == 1 {
		p := sigmoid(z[0])
		return []float64{1 - p, p}
	}
	lse := logSumExp(z)
	out := make([]float64, len(z))
	for k, v := range z {
		out[k] = math.Exp(v - lse)
	}
	return out
}

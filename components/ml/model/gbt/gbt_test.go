package gbt

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
)

func TestStumpFindsStep(t *testing.T) {
	// y = 10 for x > 3, 0 otherwise: one depth-1 tree with λ≈0 and learning rate 1 fits exactly,
	// splitting halfway between 3 and 4.
	var x [][]float64
	var y []float64
	for i := range 8 {
		x = append(x, []float64{float64(i), float64(7 - i%3)})
		if i > 3 {
			y = append(y, 10)
		} else {
			y = append(y, 0)
		}
	}
	e, err := Fit(x, y, Config{Objective: SquaredError, NEstimators: 1, MaxDepth: 1, LearningRate: 1, Lambda: 1e-12})
	if err != nil {
		t.Fatal(err)
	}
	root := e.Trees[0].Nodes[0]
	if root.Feature != 0 || root.Threshold != 3.5 {
		t.Errorf("root split feature %d at %v, want feature 0 at 3.5", root.Feature, root.Threshold)
	}
	for i, r := range x {
		if got := e.Raw(r); math.Abs(got-y[i]) > 1e-9 {
			t.Errorf("row %d: predicted %v, want %v", i, got, y[i])
		}
	}
}

func TestXORNeedsDepthTwo(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	var x [][]float64
	var y []float64
	for range 400 {
		a, b := rng.Float64()*2-1, rng.Float64()*2-1
		x = append(x, []float64{a, b, rng.Float64()})
		if (a > 0) != (b > 0) {
			y = append(y, 1)
		} else {
			y = append(y, 0)
		}
	}
	acc := func(e *Ensemble) float64 {
		ok := 0
		for i, r := range x {
			if (e.Raw(r) > 0) == (y[i] == 1) {
				ok++
			}
		}
		return float64(ok) / float64(len(x))
	}
	stumps, err := Fit(x, y, Config{Objective: BinaryLogistic, NEstimators: 50, MaxDepth: 1})
	if err != nil {
		t.Fatal(err)
	}
	deep, err := Fit(x, y, Config{Objective: BinaryLogistic, NEstimators: 50, MaxDepth: 2, Subsample: 0.8, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	if a := acc(stumps); a > 0.75 {
		t.Errorf("additive stumps reach %.3f on XOR, want near chance (<= 0.75)", a)
	}
	if a := acc(deep); a < 0.97 {
		t.Errorf("depth-2 trees reach %.3f on XOR, want >= 0.97", a)
	}
}

func TestSquaredErrorLearnsSmoothFunction(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	var x [][]float64
	var y []float64
	for range 500 {
		v := rng.Float64()*6 - 3
		x = append(x, []float64{v})
		y = append(y, math.Sin(v))
	}
	e, err := Fit(x, y, Config{Objective: SquaredError, NEstimators: 200, MaxDepth: 3, MaxBins: 64})
	if err != nil {
		t.Fatal(err)
	}
	var mse float64
	for i, r := range x {
		d := e.Raw(r) - y[i]
		mse += d * d / float64(len(x))
	}
	if mse > 1e-3 {
		t.Errorf("training MSE %v on sin(x), want <= 1e-3", mse)
	}
}

func TestMissingGoesLeftAndSeedReproduces(t *testing.T) {
	x := [][]float64{{1}, {2}, {math.NaN()}, {10}, {11}, {12}}
	y := []float64{0, 0, 0, 1, 1, 1}
	cfg := Config{Objective: BinaryLogistic, NEstimators: 20, Subsample: 0.7, Seed: 9}
	e1, err := Fit(x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	e2, _ := Fit(x, y, cfg)
	b1, _ := json.Marshal(e1)
	b2, _ := json.Marshal(e2)
	if string(b1) != string(b2) {
		t.Error("same seed, different ensembles")
	}
	if e1.Raw([]float64{math.NaN()}) >= 0 || e1.Raw([]float64{11}) <= 0 {
		t.Errorf("NaN scored %v (want < 0, as the low side), 11 scored %v (want > 0)", e1.Raw([]float64{math.NaN()}), e1.Raw([]float64{11}))
	}
	if err := e1.Validate(); err != nil {
		t.Error(err)
	}
}

func TestConfigAndEnsembleErrors(t *testing.T) {
	x := [][]float64{{1}, {2}}
	bad := []Config{
		{Objective: "hinge"},
		{Objective: SquaredError, Subsample: 1.5},
		{Objective: SquaredError, MaxDepth: -1},
		{Objective: SquaredError, LearningRate: -1},
	}
	for _, c := range bad {
		if _, err := Fit(x, []float64{0, 1}, c); err == nil {
			t.Errorf("config %+v: no error", c)
		}
	}
	if _, err := Fit(x, []float64{0, 2}, Config{Objective: BinaryLogistic}); err == nil {
		t.Error("label 2 for binary_logistic: no error")
	}
	loop := &Ensemble{Objective: SquaredError, NumFeatures: 1, Trees: []Tree{{Nodes: []Node{{Feature: 0, Left: 0, Right: 0}}}}}
	if err := loop.Validate(); err == nil {
		t.Error("self-referencing node: no error")
	}
}

// FitEach sees every round and, stopped after round 3, returns exactly the first three trees
// of the full fit.
func TestFitEachStops(t *testing.T) {
	var x [][]float64
	var y []float64
	for i := range 40 {
		x = append(x, []float64{float64(i), float64(i % 7)})
		y = append(y, math.Sin(float64(i)/5))
	}
	cfg := Config{Objective: SquaredError, NEstimators: 10, MaxDepth: 2}
	full, err := Fit(x, y, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var rounds []int
	part, err := FitEach(x, y, cfg, func(e *Ensemble) bool {
		rounds = append(rounds, len(e.Trees))
		return len(e.Trees) < 3
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(rounds) != 3 || rounds[0] != 1 || rounds[2] != 3 {
		t.Errorf("rounds seen %v, want [1 2 3]", rounds)
	}
	a, _ := json.Marshal(part.Trees)
	b, _ := json.Marshal(full.Trees[:3])
	if len(part.Trees) != 3 || string(a) != string(b) {
		t.Errorf("stopped fit has %d trees, not the full fit's first 3", len(part.Trees))
	}
}

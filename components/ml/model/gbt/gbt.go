package gbt

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// Objective is the loss a model minimises.
type Objective string

// Objectives.
const (
	// BinaryLogistic fits log-odds of class 1 for labels 0/1.
	BinaryLogistic Objective = "binary_logistic"
	// SquaredError fits a real target.
	SquaredError Objective = "squared_error"
)

// Config holds the hyperparameters. Zero fields take the defaults given on each.
type Config struct {
	// Objective is required.
	Objective Objective `json:"objective"`
	// NEstimators is the number of trees; 0 means 100.
	NEstimators int `json:"n_estimators,omitempty"`
	// LearningRate shrinks every tree's output; 0 means 0.1.
	LearningRate float64 `json:"learning_rate,omitempty"`
	// MaxDepth bounds the depth of each tree; 0 means 3.
	MaxDepth int `json:"max_depth,omitempty"`
	// MinSamplesLeaf is the least number of rows in a leaf; 0 means 1.
	MinSamplesLeaf int `json:"min_samples_leaf,omitempty"`
	// Subsample is the fraction of rows drawn (without replacement) for each tree; 0 means 1.
	Subsample float64 `json:"subsample,omitempty"`
	// Lambda is the L2 penalty on leaf values; 0 means 1. Use a tiny positive value for none.
	Lambda float64 `json:"lambda,omitempty"`
	// MaxBins is the number of histogram bins per feature; 0 means 255.
	MaxBins int `json:"max_bins,omitempty"`
	// Seed makes subsampling reproducible.
	Seed uint64 `json:"seed,omitempty"`
}

func (c Config) withDefaults() Config {
	if c.NEstimators == 0 {
		c.NEstimators = 100
	}
	if c.LearningRate == 0 {
		c.LearningRate = 0.1
	}
	if c.MaxDepth == 0 {
		c.MaxDepth = 3
	}
	if c.MinSamplesLeaf == 0 {
		c.MinSamplesLeaf = 1
	}
	if c.Subsample == 0 {
		c.Subsample = 1
	}
	if c.Lambda == 0 {
		c.Lambda = 1
	}
	if c.MaxBins == 0 {
		c.MaxBins = 255
	}
	return c
}

func (c Config) validate() error {
	var errs []error
	if c.Objective != BinaryLogistic && c.Objective != SquaredError {
		errs = append(errs, fmt.Errorf("objective %q: want %s or %s", c.Objective, BinaryLogistic, SquaredError))
	}
	if c.NEstimators < 1 {
		errs = append(errs, fmt.Errorf("n_estimators %d: want >= 1", c.NEstimators))
	}
	if !(c.LearningRate > 0) {
		errs = append(errs, fmt.Errorf("learning_rate %v: want > 0", c.LearningRate))
	}
	if c.MaxDepth < 1 || c.MaxDepth > 30 {
		errs = append(errs, fmt.Errorf("max_depth %d: want 1..30", c.MaxDepth))
	}
	if c.MinSamplesLeaf < 1 {
		errs = append(errs, fmt.Errorf("min_samples_leaf %d: want >= 1", c.MinSamplesLeaf))
	}
	if !(c.Subsample > 0 && c.Subsample <= 1) {
		errs = append(errs, fmt.Errorf("subsample %v: want (0, 1]", c.Subsample))
	}
	if !(c.Lambda >= 0) {
		errs = append(errs, fmt.Errorf("lambda %v: want >= 0", c.Lambda))
	}
	if c.MaxBins < 2 || c.MaxBins > 65535 {
		errs = append(errs, fmt.Errorf("max_bins %d: want 2..65535", c.MaxBins))
	}
	if len(errs) > 0 {
		return fmt.Errorf("gbt: invalid config: %w", errors.Join(errs...))
	}
	return nil
}

// Node is one node of a tree. A leaf has Feature -1 and a Value; an inner node sends x to
// Left when x[Feature] <= Threshold or x[Feature] is NaN, and to Right otherwise.
type Node struct {
	// Feature is the split feature index, or -1 for a leaf.
	Feature int `json:"feature"`
	// Threshold is the split value.
	Threshold float64 `json:"threshold,omitempty"`
	// Left and Right index the children in Tree.Nodes.
	Left int `json:"left,omitempty"`
	// Right: see Left.
	Right int `json:"right,omitempty"`
	// Value is a leaf's contribution (already multiplied by the learning rate).
	Value float64 `json:"value,omitempty"`
}

// Tree is a regression tree; Nodes[0] is the root.
type Tree struct {
	// Nodes of the tree.
	Nodes []Node `json:"nodes"`
}

// Ensemble is a fitted model: raw(x) = BaseScore + Σ tree(x).
type Ensemble struct {
	// Objective the ensemble was fitted with.
	Objective Objective `json:"objective"`
	// NumFeatures is the width of x.
	NumFeatures int `json:"num_features"`
	// BaseScore is the initial prediction (log-odds of the class-1 rate, or the target mean).
	BaseScore float64 `json:"base_score"`
	// Trees in boosting order.
	Trees []Tree `json:"trees"`
}

// Raw returns the ensemble's raw score for x: the prediction for squared error and the
// log-odds of class 1 for binary logistic.
func (e *Ensemble) Raw(x []float64) float64 {
	s := e.BaseScore
	for i := range e.Trees {
		s += e.Trees[i].eval(x)
	}
	return s
}

func (t *Tree) eval(x []float64) float64 {
	n := &t.Nodes[0]
	for n.Feature >= 0 {
		v := x[n.Feature]
		if v <= n.Threshold || math.IsNaN(v) {
			n = &t.Nodes[n.Left]
		} else {
			n = &t.Nodes[n.Right]
		}
	}
	return n.Value
}

// Validate checks that e is well formed: known objective, child indices in range and pointing
// forward (so evaluation terminates), and split features below NumFeatures.
func (e *Ensemble) Validate() error {
	if e.Objective != BinaryLogistic && e.Objective != SquaredError {
		return fmt.Errorf("gbt: objective %q: want %s or %s", e.Objective, BinaryLogistic, SquaredError)
	}
	if e.NumFeatures < 1 {
		return fmt.Errorf("gbt: num_features %d: want >= 1", e.NumFeatures)
	}
	for ti, t := range e.Trees {
		if len(t.Nodes) == 0 {
			return fmt.Errorf("gbt: trees[%d]: no nodes", ti)
		}
		for ni, n := range t.Nodes {
			if n.Feature < 0 {
				continue
			}
			if n.Feature >= e.NumFeatures {
				return fmt.Errorf("gbt: trees[%d].nodes[%d]: feature %d out of range [0,%d)", ti, ni, n.Feature, e.NumFeatures)
			}
			if n.Left <= ni || n.Right <= ni || n.Left >= len(t.Nodes) || n.Right >= len(t.Nodes) {
				return fmt.Errorf("gbt: trees[%d].nodes[%d]: children %d,%d must be after the node and within %d nodes", ti, ni, n.Left, n.Right, len(t.Nodes))
			}
		}
	}
	return nil
}

// Fit boosts trees on rows x with targets y (0/1 for BinaryLogistic).
func Fit(x [][]float64, y []float64, cfg Config) (*Ensemble, error) {
	return FitEach(x, y, cfg, nil)
}

// FitEach is Fit calling each after every boosting round with the ensemble grown so far
// (len(e.Trees) is the round). When each returns false boosting stops there and the ensemble
// of the rounds done is returned; this is how a sweep trial reports intermediate objective
// values and honours early stopping. each must not keep e past the call or modify it.
func FitEach(x [][]float64, y []float64, cfg Config, each func(e *Ensemble) bool) (*Ensemble, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if len(x) == 0 || len(x) != len(y) {
		return nil, fmt.Errorf("gbt: %d rows and %d targets", len(x), len(y))
	}
	d := len(x[0])
	for i, r := range x {
		if len(r) != d {
			return nil, fmt.Errorf("gbt: row %d has %d features, want %d", i, len(r), d)
		}
	}
	n := len(x)
	var mean float64
	for i, v := range y {
		if cfg.Objective == BinaryLogistic && v != 0 && v != 1 {
			return nil, fmt.Errorf("gbt: row %d: label %v, want 0 or 1", i, v)
		}
		mean += v / float64(n)
	}
	e := &Ensemble{Objective: cfg.Objective, NumFeatures: d, BaseScore: mean}
	if cfg.Objective == BinaryLogistic {
		p := min(max(mean, 1e-6), 1-1e-6)
		e.BaseScore = math.Log(p / (1 - p))
	}
	b := newBinned(x, cfg.MaxBins)
	raw := make([]float64, n)
	for i := range raw {
		raw[i] = e.BaseScore
	}
	grad, hess := make([]float64, n), make([]float64, n)
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x676274))
	all := make([]int, n)
	for i := range all {
		all[i] = i
	}
	g := &grower{b: b, cfg: cfg, grad: grad, hess: hess}
	for range cfg.NEstimators {
		for i := range n {
			if cfg.Objective == BinaryLogistic {
				p := 1 / (1 + math.Exp(-raw[i]))
				grad[i], hess[i] = p-y[i], max(p*(1-p), 1e-16)
			} else {
				grad[i], hess[i] = raw[i]-y[i], 1
			}
		}
		rows := all
		if cfg.Subsample < 1 {
			rows = slices.Clone(all)
			rng.Shuffle(n, func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
			rows = rows[:max(1, int(math.Round(cfg.Subsample*float64(n))))]
			slices.Sort(rows)
		}
		t := g.grow(rows)
		for i := range n {
			raw[i] += t.evalBinned(b, i)
		}
		e.Trees = append(e.Trees, t)
		if each != nil && !each(e) {
			break
		}
	}
	return e, nil
}

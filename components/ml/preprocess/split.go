package preprocess

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/kilnml/kiln/components/ml/dataset"
)

// SplitConfig configures Split. Fractions must be non-negative and sum to 1 (within 1e-9).
type SplitConfig struct {
	// Train, Validation and Test are the fractions of rows in each part.
	Train float64 `json:"train"`
	// Validation: see Train.
	Validation float64 `json:"validation"`
	// Test: see Train.
	Test float64 `json:"test"`
	// Seed makes the shuffle reproducible.
	Seed uint64 `json:"seed"`
	// Stratify, when set, names the label column whose class proportions every part keeps.
	Stratify string `json:"stratify,omitempty"`
}

// Indices holds the row numbers of each part of a split, each in ascending order.
type Indices struct {
	// Train rows.
	Train []int `json:"train"`
	// Validation rows.
	Validation []int `json:"validation"`
	// Test rows.
	Test []int `json:"test"`
}

func (c SplitConfig) validate() error {
	for _, f := range []float64{c.Train, c.Validation, c.Test} {
		if f < 0 || math.IsNaN(f) {
			return fmt.Errorf("split: fractions must be non-negative, got train=%v validation=%v test=%v", c.Train, c.Validation, c.Test)
		}
	}
	if s := c.Train + c.Validation + c.Test; math.Abs(s-1) > 1e-9 {
		return fmt.Errorf("split: fractions sum to %v, want 1", s)
	}
	return nil
}

// SplitIndices splits rows 0..n-1. With labels (one per row) the split is stratified: each
// class is shuffled and divided on its own, so every part keeps the class proportions
// (rounding per class by largest remainder). Without labels (nil) rows are shuffled as one
// group. The same config and input always give the same split.
func SplitIndices(n int, labels []string, cfg SplitConfig) (Indices, error) {
	if err := cfg.validate(); err != nil {
		return Indices{}, err
	}
	if labels != nil && len(labels) != n {
		return Indices{}, fmt.Errorf("split: %d labels for %d rows", len(labels), n)
	}
	groups := [][]int{}
	if labels == nil {
		all := make([]int, n)
		for i := range all {
			all[i] = i
		}
		groups = append(groups, all)
	} else {
		byClass := map[string][]int{}
		var order []string
		for i, l := range labels {
			if _, ok := byClass[l]; !ok {
				order = append(order, l)
			}
			byClass[l] = append(byClass[l], i)
		}
		slices.Sort(order)
		for _, l := range order {
			groups = append(groups, byClass[l])
		}
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x6b696c6e))
	var out Indices
	for _, g := range groups {
		g = slices.Clone(g)
		rng.Shuffle(len(g), func(i, j int) { g[i], g[j] = g[j], g[i] })
		sizes := apportion(len(g), []float64{cfg.Train, cfg.Validation, cfg.Test})
		out.Train = append(out.Train, g[:sizes[0]]...)
		out.Validation = append(out.Validation, g[sizes[0]:sizes[0]+sizes[1]]...)
		out.Test = append(out.Test, g[sizes[0]+sizes[1]:]...)
	}
	slices.Sort(out.Train)
	slices.Sort(out.Validation)
	slices.Sort(out.Test)
	return out, nil
}

// apportion divides n items by fractions with the largest-remainder method, ties going to
// the earlier part.
func apportion(n int, fr []float64) []int {
	sizes := make([]int, len(fr))
	rem := make([]float64, len(fr))
	total := 0
	for i, f := range fr {
		exact := f * float64(n)
		sizes[i] = int(math.Floor(exact + 1e-9))
		rem[i] = exact - float64(sizes[i])
		total += sizes[i]
	}
	for total < n {
		best := -1
		for i := range fr {
			if fr[i] > 0 && (best < 0 || rem[i] > rem[best]+1e-12) {
				best = i
			}
		}
		sizes[best]++
		rem[best] = -1
		total++
	}
	return sizes
}

// Split divides t into train, validation and test tables according to cfg.
func Split(t *dataset.Table, cfg SplitConfig) (train, validation, test *dataset.Table, err error) {
	var labels []string
	if cfg.Stratify != "" {
		labels, err = t.Strings(cfg.Stratify)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("split: stratify: %w", err)
		}
	}
	idx, err := SplitIndices(t.NumRows(), labels, cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return t.Take(idx.Train), t.Take(idx.Validation), t.Take(idx.Test), nil
}

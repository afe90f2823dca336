package sweep

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// Suggest proposes up to n new assignments for e given every trial so far (running, failed
// and finished; a trial's ID must be its position in history). It never proposes beyond
// e.MaxTrials, and grid search proposes fewer (possibly none) once the grid is exhausted. New
// assignments are numbered from len(history). The result depends only on its arguments, so a
// pipeline step that re-runs gives the same suggestions.
func Suggest(e *Experiment, history []Trial, n int, seed uint64) ([]Assignment, error) {
	if errs := e.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("suggest: %w", errs.ToAggregate())
	}
	for i, t := range history {
		if t.ID != i {
			return nil, fmt.Errorf("suggest: history[%d] has id %d, want %d", i, t.ID, i)
		}
	}
	if n < 0 {
		return nil, errors.New("suggest: negative count")
	}
	n = min(n, e.MaxTrials-len(history))
	if n <= 0 {
		return nil, nil
	}
	algo := e.Algorithm.withDefaults()
	start := len(history)
	switch algo.Name {
	case Grid:
		return suggestGrid(e.Space, algo, start, n), nil
	case Random:
		rng := rand.New(rand.NewPCG(seed, uint64(start)))
		out := make([]Assignment, n)
		for i := range out {
			out[i] = sampleAssignment(e.Space, rng, start+i)
		}
		return out, nil
	default:
		return suggestTPE(e, algo, history, n, seed), nil
	}
}

// GridSize returns the number of points in the grid of e's space (math.MaxInt if larger).
// The space must be valid for the grid algorithm.
func GridSize(e *Experiment) int {
	algo := e.Algorithm.withDefaults()
	size := 1
	for _, p := range e.Space {
		n := len(p.gridValues(algo.GridPoints))
		if n > 0 && size > math.MaxInt/n {
			return math.MaxInt
		}
		size *= n
	}
	return size
}

func suggestGrid(s Space, algo Algorithm, start, n int) []Assignment {
	axes := make([][]Value, len(s))
	total := 1
	for i, p := range s {
		axes[i] = p.gridValues(algo.GridPoints)
		if n := len(axes[i]); n > 0 && total > math.MaxInt/n {
			total = math.MaxInt
		} else {
			total *= n
		}
	}
	var out []Assignment
	for idx := start; idx < start+n && idx < total; idx++ {
		a := Assignment{ID: idx, Values: map[string]Value{}}
		rem := idx
		for i := len(s) - 1; i >= 0; i-- {
			a.Values[s[i].Name] = axes[i][rem%len(axes[i])]
			rem /= len(axes[i])
		}
		out = append(out, a)
	}
	return out
}

func sampleAssignment(s Space, rng *rand.Rand, id int) Assignment {
	a := Assignment{ID: id, Values: make(map[string]Value, len(s))}
	for _, p := range s {
		a.Values[p.Name] = p.sample(rng)
	}
	return a
}

// sample draws one value from p's prior.
func (p Parameter) sample(rng *rand.Rand) Value {
	switch p.Type {
	case Categorical:
		return Category(p.Categories[rng.IntN(len(p.Categories))])
	case Discrete:
		return Number(p.Values[rng.IntN(len(p.Values))])
	}
	lo, hi := p.bounds()
	return p.fromInternal(lo + rng.Float64()*(hi-lo))
}

// bounds returns the numeric range in the internal space: log for log_uniform, widened by
// half a unit for int so that every integer is equally likely.
func (p Parameter) bounds() (float64, float64) {
	lo, hi := p.Min, p.Max
	if p.Type == Int {
		lo, hi = lo-0.5, hi+0.5
		if p.Distribution == LogUniform {
			lo = math.Max(lo, p.Min*0.5+1e-12)
		}
	}
	if p.Distribution == LogUniform {
		return math.Log(lo), math.Log(hi)
	}
	return lo, hi
}

// fromInternal maps an internal-space number back to a parameter value.
func (p Parameter) fromInternal(u float64) Value {
	x := u
	if p.Distribution == LogUniform {
		x = math.Exp(u)
	}
	if p.Type == Int {
		x = math.Round(x)
	}
	return Number(min(max(x, p.Min), p.Max))
}

// toInternal maps a numeric parameter value into the internal space.
func (p Parameter) toInternal(x float64) float64 {
	if p.Distribution == LogUniform {
		return math.Log(x)
	}
	return x
}

package sweep

import (
	"cmp"
	"math"
	"math/rand/v2"
	"slices"
)

// observation is a finished trial's assignment and loss (lower is better).
type observation struct {
	values map[string]Value
	loss   float64
}

func suggestTPE(e *Experiment, algo Algorithm, history []Trial, n int, seed uint64) []Assignment {
	var obs []observation
	for _, t := range history {
		if v, ok := e.Objective.Value(t); ok {
			obs = append(obs, observation{values: t.Values, loss: e.Objective.loss(v)})
		}
	}
	start := len(history)
	rng := rand.New(rand.NewPCG(seed, uint64(start)))
	out := make([]Assignment, n)
	if len(obs) < max(algo.StartupTrials, 2) {
		for i := range out {
			out[i] = sampleAssignment(e.Space, rng, start+i)
		}
		return out
	}
	// Stable sort keeps the earlier trial first among equal losses.
	slices.SortStableFunc(obs, func(a, b observation) int { return cmp.Compare(a.loss, b.loss) })
	nGood := min(max(1, int(math.Ceil(algo.Gamma*float64(len(obs))))), 25, len(obs)-1)
	good, bad := obs[:nGood], obs[nGood:]
	for i := range out {
		a := Assignment{ID: start + i, Values: make(map[string]Value, len(e.Space))}
		for _, p := range e.Space {
			a.Values[p.Name] = tpeParameter(p, good, bad, algo.Candidates, rng)
		}
		out[i] = a
	}
	return out
}

// tpeParameter picks, among candidates drawn from the good-trial density l, the one that
// maximises l(x)/g(x).
func tpeParameter(p Parameter, good, bad []observation, candidates int, rng *rand.Rand) Value {
	if p.Type == Categorical || p.Type == Discrete {
		k := len(p.Categories)
		if p.Type == Discrete {
			k = len(p.Values)
		}
		l, g := choiceDensity(p, good, k), choiceDensity(p, bad, k)
		best, bestScore := 0, math.Inf(-1)
		for range candidates {
			c := drawIndex(l, rng)
			if s := math.Log(l[c]) - math.Log(g[c]); s > bestScore {
				best, bestScore = c, s
			}
		}
		if p.Type == Discrete {
			return Number(p.Values[best])
		}
		return Category(p.Categories[best])
	}
	lo, hi := p.bounds()
	if lo == hi {
		return p.fromInternal(lo)
	}
	l, g := newParzen(p, good, lo, hi), newParzen(p, bad, lo, hi)
	best, bestScore := lo, math.Inf(-1)
	for range candidates {
		u := l.sample(rng)
		if s := l.logPDF(u) - g.logPDF(u); s > bestScore {
			best, bestScore = u, s
		}
	}
	return p.fromInternal(best)
}

// choiceDensity is the smoothed frequency of each choice among obs: (count+1)/(n+k).
func choiceDensity(p Parameter, obs []observation, k int) []float64 {
	w := make([]float64, k)
	for i := range w {
		w[i] = 1
	}
	for _, o := range obs {
		v := o.values[p.Name]
		var idx int
		if p.Type == Discrete {
			idx = slices.Index(p.Values, v.Float())
		} else {
			idx = slices.Index(p.Categories, v.String())
		}
		if idx >= 0 {
			w[idx]++
		}
	}
	total := float64(len(obs) + k)
	for i := range w {
		w[i] /= total
	}
	return w
}

func drawIndex(w []float64, rng *rand.Rand) int {
	u := rng.Float64()
	for i, x := range w {
		if u < x {
			return i
		}
		u -= x
	}
	return len(w) - 1
}

// parzen is a mixture of equally weighted Gaussians truncated to [lo, hi]: one per observation
// plus a broad prior centred on the range.
type parzen struct {
	lo, hi float64
	mu     []float64
	sigma  []float64
}

// newParzen places a Gaussian on each observed value with a bandwidth equal to the larger
// gap to its neighbours (as in hyperopt), clipped to [range/min(100, n+1), range].
func newParzen(p Parameter, obs []observation, lo, hi float64) parzen {
	width := hi - lo
	pts := make([]float64, 0, len(obs)+1)
	for _, o := range obs {
		pts = append(pts, min(max(p.toInternal(o.values[p.Name].Float()), lo), hi))
	}
	pts = append(pts, (lo+hi)/2)
	slices.Sort(pts)
	z := parzen{lo: lo, hi: hi, mu: pts, sigma: make([]float64, len(pts))}
	minSigma := width / math.Min(100, float64(len(pts)))
	for i, m := range pts {
		left, right := m-lo, hi-m
		if i > 0 {
			left = m - pts[i-1]
		}
		if i+1 < len(pts) {
			right = pts[i+1] - m
		}
		z.sigma[i] = min(max(left, right, minSigma), width)
	}
	// The prior component keeps the full width so no region gets zero density.
	for i, m := range pts {
		if m == (lo+hi)/2 {
			z.sigma[i] = width
			break
		}
	}
	return z
}

func (z parzen) sample(rng *rand.Rand) float64 {
	i := rng.IntN(len(z.mu))
	for range 100 {
		x := z.mu[i] + z.sigma[i]*rng.NormFloat64()
		if x >= z.lo && x <= z.hi {
			return x
		}
	}
	return min(max(z.mu[i], z.lo), z.hi)
}

func (z parzen) logPDF(x float64) float64 {
	var s float64
	for i, m := range z.mu {
		sg := z.sigma[i]
		mass := normCDF((z.hi-m)/sg) - normCDF((z.lo-m)/sg)
		if mass <= 0 {
			continue
		}
		d := (x - m) / sg
		s += math.Exp(-d*d/2) / (sg * math.Sqrt(2*math.Pi) * mass)
	}
	return math.Log(s/float64(len(z.mu)) + 1e-300)
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

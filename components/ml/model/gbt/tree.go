package gbt

import (
	"math"
	"slices"
)

// binned holds every feature value as a bin number; bin 0 is reserved for NaN and bin b ≥ 1
// covers values in (thresholds[b-2], thresholds[b-1]].
type binned struct {
	n, d       int
	bins       [][]uint16 // [feature][row]
	thresholds [][]float64
}

func newBinned(x [][]float64, maxBins int) *binned {
	n, d := len(x), len(x[0])
	b := &binned{n: n, d: d, bins: make([][]uint16, d), thresholds: make([][]float64, d)}
	col := make([]float64, 0, n)
	for j := range d {
		col = col[:0]
		for i := range n {
			if v := x[i][j]; !math.IsNaN(v) {
				col = append(col, v)
			}
		}
		slices.Sort(col)
		uniq := slices.Compact(slices.Clone(col))
		var th []float64
		if len(uniq) <= maxBins {
			// Split halfway between consecutive distinct values.
			for k := 0; k+1 < len(uniq); k++ {
				th = append(th, (uniq[k]+uniq[k+1])/2)
			}
		} else {
			for q := 1; q < maxBins; q++ {
				v := col[q*len(col)/maxBins]
				if len(th) == 0 || v > th[len(th)-1] {
					th = append(th, v)
				}
			}
		}
		b.thresholds[j] = th
		bj := make([]uint16, n)
		for i := range n {
			v := x[i][j]
			if math.IsNaN(v) {
				continue
			}
			k, _ := slices.BinarySearch(th, v) // first threshold >= v
			bj[i] = uint16(k + 1)
		}
		b.bins[j] = bj
	}
	return b
}

type grower struct {
	b          *binned
	cfg        Config
	grad, hess []float64
	nodes      []Node
	histG      []float64
	histH      []float64
	histN      []int
}

func (g *grower) grow(rows []int) Tree {
	g.nodes = nil
	g.split(rows, 0)
	return Tree{Nodes: g.nodes}
}

func (t *Tree) evalBinned(b *binned, i int) float64 {
	n := &t.Nodes[0]
	for n.Feature >= 0 {
		bin := b.bins[n.Feature][i]
		// A split at threshold index k sends bins 0..k+1 left (NaN and values <= thresholds[k]).
		th := b.thresholds[n.Feature]
		if bin == 0 || (int(bin) <= len(th) && th[int(bin)-1] <= n.Threshold) {
			n = &t.Nodes[n.Left]
		} else {
			n = &t.Nodes[n.Right]
		}
	}
	return n.Value
}

func (g *grower) leafValue(rows []int) float64 {
	var sg, sh float64
	for _, i := range rows {
		sg += g.grad[i]
		sh += g.hess[i]
	}
	return -g.cfg.LearningRate * sg / (sh + g.cfg.Lambda)
}

// split appends the node for rows (and its subtree) and returns its index.
func (g *grower) split(rows []int, depth int) int {
	idx := len(g.nodes)
	g.nodes = append(g.nodes, Node{Feature: -1})
	if depth >= g.cfg.MaxDepth || len(rows) < 2*g.cfg.MinSamplesLeaf {
		g.nodes[idx].Value = g.leafValue(rows)
		return idx
	}
	var sg, sh float64
	for _, i := range rows {
		sg += g.grad[i]
		sh += g.hess[i]
	}
	lambda := g.cfg.Lambda
	parent := sg * sg / (sh + lambda)
	bestGain, bestF, bestBin := 1e-12, -1, -1
	for f := range g.b.d {
		nb := len(g.b.thresholds[f]) + 2
		if nb <= 2 {
			continue
		}
		g.histG = resize(g.histG, nb)
		g.histH = resize(g.histH, nb)
		g.histN = resizeInt(g.histN, nb)
		bins := g.b.bins[f]
		for _, i := range rows {
			k := bins[i]
			g.histG[k] += g.grad[i]
			g.histH[k] += g.hess[i]
			g.histN[k]++
		}
		var lg, lh float64
		ln := 0
		// Left takes bins 0..k (NaN plus values up to thresholds[k-1]).
		for k := 0; k < nb-1; k++ {
			lg += g.histG[k]
			lh += g.histH[k]
			ln += g.histN[k]
			if k == 0 || ln < g.cfg.MinSamplesLeaf {
				continue
			}
			rn := len(rows) - ln
			if rn < g.cfg.MinSamplesLeaf {
				break
			}
			rg, rh := sg-lg, sh-lh
			gain := lg*lg/(lh+lambda) + rg*rg/(rh+lambda) - parent
			if gain > bestGain {
				bestGain, bestF, bestBin = gain, f, k
			}
		}
	}
	if bestF < 0 {
		g.nodes[idx].Value = g.leafValue(rows)
		return idx
	}
	th := g.b.thresholds[bestF][bestBin-1]
	var left, right []int
	bins := g.b.bins[bestF]
	for _, i := range rows {
		if int(bins[i]) <= bestBin {
			left = append(left, i)
		} else {
			right = append(right, i)
		}
	}
	l := g.split(left, depth+1)
	r := g.split(right, depth+1)
	g.nodes[idx] = Node{Feature: bestF, Threshold: th, Left: l, Right: r}
	return idx
}

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	s = s[:n]
	clear(s)
	return s
}

func resizeInt(s []int, n int) []int {
	if cap(s) < n {
		return make([]int, n)
	}
	s = s[:n]
	clear(s)
	return s
}

package sweep

import (
	"slices"
)

// ShouldStop applies the median stopping rule to a running trial whose intermediate objective
// values so far are current, given the other trials of the experiment. Only succeeded and
// early-stopped trials with at least len(current) reports count as completed.
func (r MedianStop) ShouldStop(obj Objective, trials []Trial, current []float64) bool {
	minTrials, startStep := r.MinTrials, r.StartStep
	if minTrials == 0 {
		minTrials = 3
	}
	if startStep == 0 {
		startStep = 1
	}
	step := len(current)
	if step < startStep || step == 0 {
		return false
	}
	var avgs []float64
	for _, t := range trials {
		if (t.Status != Succeeded && t.Status != EarlyStopped) || len(t.Intermediate) < step {
			continue
		}
		var s float64
		for _, v := range t.Intermediate[:step] {
			s += v
		}
		avgs = append(avgs, s/float64(step))
	}
	if len(avgs) < minTrials {
		return false
	}
	slices.Sort(avgs)
	median := avgs[len(avgs)/2]
	if len(avgs)%2 == 0 {
		median = (avgs[len(avgs)/2-1] + avgs[len(avgs)/2]) / 2
	}
	best := current[0]
	for _, v := range current[1:] {
		if obj.better(v, best) {
			best = v
		}
	}
	return obj.better(median, best)
}

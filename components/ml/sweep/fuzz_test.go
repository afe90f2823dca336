package sweep_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/kilnml/kiln/components/ml/sweep"
)

func FuzzSuggest(f *testing.F) {
	f.Add([]byte(`{"space":[{"name":"x","type":"double","min":-1,"max":1},{"name":"k","type":"int","min":1,"max":1000,"distribution":"log_uniform"}],"objective":{"metric":"m","direction":"minimize"},"algorithm":{"name":"tpe","startup_trials":2},"max_trials":20}`), uint64(1))
	f.Add([]byte(`{"space":[{"name":"c","type":"categorical","categories":["a","b"]},{"name":"d","type":"discrete","values":[1,2.5]},{"name":"s","type":"double","min":0,"max":1,"step":0.25}],"objective":{"metric":"m","direction":"maximize"},"algorithm":{"name":"grid"},"max_trials":100}`), uint64(2))
	f.Add([]byte(`{"space":[{"name":"i","type":"int","min":-1e18,"max":1e18}],"objective":{"metric":"m","direction":"minimize"},"algorithm":{"name":"grid"},"max_trials":5}`), uint64(3))
	f.Fuzz(func(t *testing.T, doc []byte, seed uint64) {
		var e sweep.Experiment
		if err := json.Unmarshal(doc, &e); err != nil || len(e.Validate()) > 0 || e.MaxTrials > 200 {
			return
		}
		var history []sweep.Trial
		for round := 0; round < 4; round++ {
			batch, err := sweep.Suggest(&e, history, 3, seed)
			if err != nil {
				t.Fatalf("Suggest on a valid experiment: %v", err)
			}
			for _, a := range batch {
				checkInSpace(t, e.Space, a)
				metric := float64(len(history) % 7)
				history = append(history, sweep.Trial{Assignment: a, Status: sweep.Succeeded, Metrics: map[string]float64{e.Objective.Metric: metric}})
			}
		}
	})
}

func checkInSpace(t *testing.T, s sweep.Space, a sweep.Assignment) {
	t.Helper()
	for _, p := range s {
		v, ok := a.Values[p.Name]
		if !ok {
			t.Fatalf("%s: no value for %q", a.Name(), p.Name)
		}
		switch p.Type {
		case sweep.Categorical:
			if !v.IsCategory() || !slices.Contains(p.Categories, v.String()) {
				t.Fatalf("%s: %q = %v not among %v", a.Name(), p.Name, v, p.Categories)
			}
		case sweep.Discrete:
			if v.IsCategory() || !slices.Contains(p.Values, v.Float()) {
				t.Fatalf("%s: %q = %v not among %v", a.Name(), p.Name, v, p.Values)
			}
		default:
			x := v.Float()
			if v.IsCategory() || x < p.Min || x > p.Max || (p.Type == sweep.Int && x != float64(int64(x))) {
				t.Fatalf("%s: %q = %v outside [%v, %v]", a.Name(), p.Name, v, p.Min, p.Max)
			}
		}
	}
}

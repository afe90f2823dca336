package storetest

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// metricRun is one run of testListRunsByMetricPages and what decides its place in a page.
type metricRun struct {
	name     string
	value    float64 // latest "loss"; NaN sorts with the runs that have none
	has      bool    // the run logged "loss"
	lr       string  // param lr, "" for none
	archived bool
}

// testListRunsByMetricPages walks every page of metric orderings — both directions, ties,
// runs without the metric or whose latest value is NaN, archived runs, filters — at page sizes
// that put page boundaries inside ties and between the runs with and without the metric, and
// compares the order with a model of the documented one.
func testListRunsByMetricPages(t *testing.T, s store.Store) {
	c := ctx(t)
	runs := []metricRun{
		{name: "a", value: 0.5, has: true, lr: "0.1"},
		{name: "b", value: 0.9, has: true, lr: "0.3"},
		{name: "c", value: 0.5, has: true},
		{name: "d", value: -2, has: true, lr: "0.1"},
		{name: "e", value: 0.9, has: true},
		{name: "f", value: math.NaN(), has: true, lr: "0.1"},
		{name: "g", lr: "0.1"},
		{name: "h"},
		{name: "i", value: 0.1, has: true, archived: true},
		{name: "j", value: 0.5, has: true, lr: "0.2"},
		{name: "k", archived: true},
		// The extreme doubles must not be mistaken for the end of the runs with the metric.
		{name: "l", value: math.MaxFloat64, has: true},
		{name: "m", value: -math.MaxFloat64, has: true},
	}
	ids := map[string]string{} // run ID → name
	idOf := map[string]string{}
	for _, m := range runs {
		r := newRun(t, s, store.Run{Namespace: "ns", Name: m.name})
		ids[r.ID], idOf[m.name] = m.name, r.ID
		var params []store.Param
		if m.lr != "" {
			params = []store.Param{{Key: "lr", Value: m.lr}}
		}
		metrics := []store.Metric{{Key: "other", Value: 1, Timestamp: ms(0)}}
		if m.has {
			// An earlier point with another value: the order follows the latest point.
			metrics = append(metrics, store.Metric{Key: "loss", Value: 100, Step: 0, Timestamp: ms(0)},
				store.Metric{Key: "loss", Value: m.value, Step: 1, Timestamp: ms(1)})
		}
		must(t, s.LogBatch(c, r.ID, params, metrics, nil), "log "+m.name)
		if m.archived {
			must(t, s.SetRunArchived(c, "ns", r.ID, true), "archive "+m.name)
		}
	}
	// Another namespace's runs with the metric never show.
	other := newRun(t, s, store.Run{Namespace: "other", Name: "x"})
	must(t, s.LogBatch(c, other.ID, nil, []store.Metric{{Key: "loss", Value: 0.7, Timestamp: ms(0)}}, nil), "log other ns")

	model := func(desc bool, view store.ArchiveView, keep func(metricRun) bool) []string {
		var sel []metricRun
		for _, m := range runs {
			if (view == store.ActiveOnly && m.archived) || (view == store.ArchivedOnly && !m.archived) || !keep(m) {
				continue
			}
			sel = append(sel, m)
		}
		present := func(m metricRun) bool { return m.has && !math.IsNaN(m.value) }
		sort.Slice(sel, func(i, j int) bool {
			a, b := sel[i], sel[j]
			if present(a) != present(b) {
				return present(a) // runs without the metric last in both directions
			}
			if present(a) && a.value != b.value {
				return a.value < b.value != desc
			}
			return idOf[a.name] < idOf[b.name] != desc
		})
		out := []string{}
		for _, m := range sel {
			out = append(out, m.name)
		}
		return out
	}
	all := func(metricRun) bool { return true }
	tests := []struct {
		name   string
		desc   bool
		view   store.ArchiveView
		filter string
		keep   func(metricRun) bool
	}{
		{name: "ascending", keep: all},
		{name: "descending", desc: true, keep: all},
		{name: "all runs ascending", view: store.AllRuns, keep: all},
		{name: "archived descending", desc: true, view: store.ArchivedOnly, keep: all},
		{name: "param filter", filter: `double(params.lr) < 0.25`, keep: func(m metricRun) bool { return m.lr != "" && m.lr < "0.25" }},
		{name: "param filter descending", desc: true, filter: `double(params.lr) < 0.25`,
			keep: func(m metricRun) bool { return m.lr != "" && m.lr < "0.25" }},
		{name: "filter on the ordering metric", desc: true, filter: `metrics.loss >= 0.5`,
			keep: func(m metricRun) bool { return m.has && m.value >= 0.5 }},
		{name: "name filter all runs", view: store.AllRuns, filter: `name != "b" && name != "h"`,
			keep: func(m metricRun) bool { return m.name != "b" && m.name != "h" }},
		{name: "filter matching only runs without the metric", desc: true, filter: `name == "g" || name == "h"`,
			keep: func(m metricRun) bool { return m.name == "g" || m.name == "h" }},
		{name: "filter matching nothing", filter: `name == "zz"`, keep: func(metricRun) bool { return false }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f *filter.Filter
			if tt.filter != "" {
				var err error
				f, err = filter.Parse(tt.filter)
				must(t, err, "parse filter")
			}
			order := "metrics.loss asc"
			if tt.desc {
				order = "metrics.loss desc"
			}
			want := model(tt.desc, tt.view, tt.keep)
			for _, size := range []int{1, 2, 3, 4, 50} {
				got := []string{}
				for _, id := range listAll(t, s, store.ListRunsOptions{View: tt.view, ListOptions: store.ListOptions{
					Namespace: "ns", OrderBy: order, PageSize: size, Filter: f}}) {
					got = append(got, ids[id])
				}
				diff(t, fmt.Sprintf("%s, page size %d", order, size), want, got)
			}
		})
	}
}

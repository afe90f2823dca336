package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp/cmpopts"
	"github.com/kilnml/kiln/backend/store"
)

// testConcurrentFailingBatches logs batches from many goroutines at once, a third of which
// fail (a param that would change, a run that does not exist). A store that writes concurrent
// batches in shared transactions must fail exactly those, store none of their points, and store
// every point of the others.
func testConcurrentFailingBatches(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	must(t, s.LogBatch(c, r.ID, []store.Param{{Key: "fixed", Value: "1"}}, nil, nil), "log fixed param")
	const writers, batches, per = 6, 8, 200
	type outcome struct {
		key  string
		kind string // "ok", "conflict", "missing run"
		err  error
	}
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		out []outcome
	)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				key := fmt.Sprintf("w%d-b%d", w, b)
				var m []store.Metric
				for i := range per {
					m = append(m, store.Metric{Key: key, Value: float64(i), Step: int64(i), Timestamp: ms(int64(i))})
				}
				// "a-…" sorts before "fixed": a conflicting batch has written a param before it fails.
				runID, params, kind := r.ID, []store.Param{{Key: "a-" + key, Value: "x"}, {Key: "fixed", Value: "1"}}, "ok"
				switch (w + b) % 3 {
				case 1:
					params, kind = []store.Param{{Key: "a-" + key, Value: "x"}, {Key: "fixed", Value: "2"}}, "conflict"
				case 2:
					runID, kind = "0123456789abcdef0123456789abcdef", "missing run"
				}
				err := s.LogBatch(c, runID, params, m, []store.Tag{{Key: key, Value: kind}})
				mu.Lock()
				out = append(out, outcome{key, kind, err})
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	tags, err := s.ListTags(c, r.ID)
	must(t, err, "list tags")
	tagged := map[string]bool{}
	for _, tg := range tags {
		tagged[tg.Key] = true
	}
	for _, o := range out {
		var want error
		switch o.kind {
		case "conflict":
			want = store.ErrConflict
		case "missing run":
			want = store.ErrNotFound
		}
		if (want == nil) != (o.err == nil) || (want != nil && !errors.Is(o.err, want)) {
			t.Errorf("batch %s (%s): error %v, want %v", o.key, o.kind, o.err, want)
		}
		hist, _, err := s.MetricHistory(c, r.ID, o.key, store.MetricHistoryOptions{})
		must(t, err, "history "+o.key)
		wantPoints := 0
		if o.kind == "ok" {
			wantPoints = per
		}
		if len(hist) != wantPoints || tagged[o.key] != (o.kind == "ok") {
			t.Errorf("batch %s (%s): %d points stored and tagged %v, want %d and %v", o.key, o.kind, len(hist), tagged[o.key], wantPoints, o.kind == "ok")
		}
	}
	params, err := s.ListParams(c, r.ID)
	must(t, err, "list params")
	want := []store.Param{{Key: "fixed", Value: "1"}}
	for _, o := range out {
		if o.kind == "ok" {
			want = append(want, store.Param{Key: "a-" + o.key, Value: "x"})
		}
	}
	diff(t, "params", want, params, cmpopts.SortSlices(func(a, b store.Param) bool { return a.Key < b.Key }))
}

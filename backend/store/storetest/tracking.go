package storetest

import (
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

var ms = func(i int64) time.Time { return time.UnixMilli(1_780_000_000_000 + i).UTC() }

func testParamsWriteOnce(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	must(t, s.LogBatch(c, r.ID, []store.Param{{Key: "lr", Value: "0.1"}, {Key: "opt", Value: "adam"}}, nil, nil), "log params")
	must(t, s.LogBatch(c, r.ID, []store.Param{{Key: "lr", Value: "0.1"}}, nil, nil), "re-log the same value")
	err := s.LogBatch(c, r.ID, []store.Param{{Key: "batch", Value: "32"}, {Key: "lr", Value: "0.2"}},
		[]store.Metric{{Key: "loss", Value: 1, Timestamp: ms(0)}}, []store.Tag{{Key: "k", Value: "v"}})
	wantErr(t, err, store.ErrConflict, "change a param")
	got, err := s.ListParams(c, r.ID)
	must(t, err, "list params")
	diff(t, "params (failed batch wrote nothing)", []store.Param{{Key: "lr", Value: "0.1"}, {Key: "opt", Value: "adam"}}, got)
	latest, err := s.LatestMetrics(c, r.ID)
	must(t, err, "latest metrics")
	if len(latest) != 0 {
		t.Errorf("failed batch left metrics %v", latest)
	}
	wantErr(t, s.LogBatch(c, r.ID, []store.Param{{Key: "x", Value: "1"}, {Key: "x", Value: "2"}}, nil, nil), store.ErrConflict,
		"one batch with two values of a param")
	wantErr(t, s.LogBatch(c, "missing", []store.Param{{Key: "x", Value: "1"}}, nil, nil), store.ErrNotFound, "log to a missing run")
	wantErr(t, s.LogBatch(c, r.ID, []store.Param{{Key: "", Value: "1"}}, nil, nil), store.ErrInvalidArgument, "empty key")
}

func testMetricsAppendAndLatest(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	first := []store.Metric{
		{Key: "loss", Value: 0.9, Step: 1, Timestamp: ms(10)},
		{Key: "loss", Value: 0.5, Step: 3, Timestamp: ms(30)},
		{Key: "loss", Value: 0.7, Step: 2, Timestamp: ms(20)},
		{Key: "acc", Value: 0.5, Step: 0, Timestamp: ms(5)},
	}
	must(t, s.LogBatch(c, r.ID, nil, first, nil), "log metrics")
	// An older step logged later must not replace the latest value; the same step with a later
	// timestamp does.
	must(t, s.LogBatch(c, r.ID, nil, []store.Metric{
		{Key: "loss", Value: 0.95, Step: 0, Timestamp: ms(40)},
		{Key: "acc", Value: 0.6, Step: 0, Timestamp: ms(6)},
		{Key: "nan", Value: math.NaN(), Step: 0, Timestamp: ms(1)},
	}, nil), "log more")
	latest, err := s.LatestMetrics(c, r.ID)
	must(t, err, "latest")
	diff(t, "latest", []store.Metric{
		{Key: "acc", Value: 0.6, Step: 0, Timestamp: ms(6)},
		{Key: "loss", Value: 0.5, Step: 3, Timestamp: ms(30)},
		{Key: "nan", Value: math.NaN(), Step: 0, Timestamp: ms(1)},
	}, latest, cmpopts.EquateNaNs())
	hist, next, err := s.MetricHistory(c, r.ID, "loss", store.MetricHistoryOptions{})
	must(t, err, "history")
	diff(t, "history by step", []store.Metric{
		{Key: "loss", Value: 0.95, Step: 0, Timestamp: ms(40)},
		{Key: "loss", Value: 0.9, Step: 1, Timestamp: ms(10)},
		{Key: "loss", Value: 0.7, Step: 2, Timestamp: ms(20)},
		{Key: "loss", Value: 0.5, Step: 3, Timestamp: ms(30)},
	}, hist)
	if next != "" {
		t.Errorf("single page has next token %q", next)
	}
	hist, _, err = s.MetricHistory(c, r.ID, "missing", store.MetricHistoryOptions{})
	must(t, err, "history of a missing key")
	if len(hist) != 0 {
		t.Errorf("missing key has history %v", hist)
	}
}

func testMetricHistoryPaging(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	var want []store.Metric
	for i := range int64(25) {
		// Two points per step, logged in separate batches: paging must keep insertion order.
		want = append(want, store.Metric{Key: "loss", Value: float64(i), Step: i / 2, Timestamp: ms(100 - i)})
	}
	for _, m := range want {
		must(t, s.LogBatch(c, r.ID, nil, []store.Metric{m}, nil), "log point")
	}
	var got []store.Metric
	opts := store.MetricHistoryOptions{PageSize: 4}
	for pages := 0; ; pages++ {
		page, next, err := s.MetricHistory(c, r.ID, "loss", opts)
		must(t, err, "history page")
		if len(page) > 4 {
			t.Fatalf("page of %d points", len(page))
		}
		got = append(got, page...)
		if next == "" {
			break
		}
		if pages > 100 {
			t.Fatal("paging does not end")
		}
		opts.PageToken = next
	}
	diff(t, "paged history", want, got)
	_, _, err := s.MetricHistory(c, r.ID, "loss", store.MetricHistoryOptions{PageToken: "garbage"})
	wantErr(t, err, store.ErrInvalidArgument, "bad token")
}

func testMetricHistoryDownsampling(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	const n = 1000
	var points []store.Metric
	for i := range int64(n) {
		v := float64(i % 10)
		switch i {
		case 437:
			v = 1000 // a spike that must survive downsampling
		case 733:
			v = -1000
		}
		points = append(points, store.Metric{Key: "loss", Value: v, Step: i, Timestamp: ms(i)})
	}
	must(t, s.LogBatch(c, r.ID, nil, points, nil), "log points")

	got, next, err := s.MetricHistory(c, r.ID, "loss", store.MetricHistoryOptions{MaxPoints: 100})
	must(t, err, "downsample")
	if next != "" {
		t.Errorf("downsampled history has next token %q", next)
	}
	if len(got) > 100 || len(got) < 50 {
		t.Fatalf("downsampled to %d points, want 50..100", len(got))
	}
	// Every returned point is a real point, in step order, and the extremes and both ends are kept.
	seen := map[int64]bool{}
	for i, m := range got {
		if m != points[m.Step] {
			t.Fatalf("point %d = %+v is not the logged point %+v", i, m, points[m.Step])
		}
		if i > 0 && m.Step <= got[i-1].Step {
			t.Fatalf("points out of order at %d: step %d after %d", i, m.Step, got[i-1].Step)
		}
		seen[m.Step] = true
	}
	for _, step := range []int64{0, 437, 733, n - 1} {
		if !seen[step] {
			t.Errorf("downsampling dropped step %d", step)
		}
	}
	all, _, err := s.MetricHistory(c, r.ID, "loss", store.MetricHistoryOptions{MaxPoints: 5000})
	must(t, err, "max points above the series length")
	diff(t, "short series returns whole", points, all)
}

func testTags(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	must(t, s.LogBatch(c, r.ID, nil, nil, []store.Tag{{Key: "mlflow.user", Value: "ada"}, {Key: "stage", Value: "dev"}}), "log tags")
	must(t, s.LogBatch(c, r.ID, nil, nil, []store.Tag{{Key: "stage", Value: "prod"}}), "overwrite tag")
	got, err := s.ListTags(c, r.ID)
	must(t, err, "list tags")
	diff(t, "tags", []store.Tag{{Key: "mlflow.user", Value: "ada"}, {Key: "stage", Value: "prod"}}, got)
	must(t, s.DeleteTag(c, r.ID, "stage"), "delete tag")
	wantErr(t, s.DeleteTag(c, r.ID, "stage"), store.ErrNotFound, "delete tag twice")
	got, err = s.ListTags(c, r.ID)
	must(t, err, "list tags")
	diff(t, "tags after delete", []store.Tag{{Key: "mlflow.user", Value: "ada"}}, got)
}

func testConcurrentLogBatch(t *testing.T, s store.Store) {
	c := ctx(t)
	runs := []*store.Run{newRun(t, s, store.Run{Namespace: "ns"}), newRun(t, s, store.Run{Namespace: "ns"})}
	const writers, batches, per = 8, 10, 50
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := runs[w%2]
			for b := range batches {
				var m []store.Metric
				for i := range per {
					step := int64(b*per + i)
					m = append(m, store.Metric{Key: fmt.Sprintf("w%d", w), Value: float64(step), Step: step, Timestamp: ms(step)})
				}
				p := []store.Param{{Key: "shared", Value: "same"}, {Key: fmt.Sprintf("w%d", w), Value: "x"}}
				if err := s.LogBatch(c, r.ID, p, m, []store.Tag{{Key: "last", Value: fmt.Sprint(w)}}); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("concurrent LogBatch: %v", err)
	}
	for w := range writers {
		hist, _, err := s.MetricHistory(c, runs[w%2].ID, fmt.Sprintf("w%d", w), store.MetricHistoryOptions{})
		must(t, err, "history")
		if len(hist) != batches*per {
			t.Errorf("writer %d: %d points stored, want %d", w, len(hist), batches*per)
		}
	}
	latest, err := s.LatestMetrics(c, runs[0].ID)
	must(t, err, "latest")
	for _, m := range latest {
		if m.Step != batches*per-1 {
			t.Errorf("latest %s at step %d, want %d", m.Key, m.Step, batches*per-1)
		}
	}
}

func testDeleteRunCascades(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	must(t, s.LogBatch(c, r.ID, []store.Param{{Key: "p", Value: "1"}}, []store.Metric{{Key: "m", Value: 1, Timestamp: ms(0)}},
		[]store.Tag{{Key: "t", Value: "v"}}), "log")
	must(t, s.UpsertNodes(c, r.ID, []store.Node{{RunID: r.ID, ID: "n"}}), "nodes")
	a := &store.Artifact{Namespace: "ns", RunID: r.ID, NodeID: "n", URI: "file:///a"}
	must(t, s.CreateArtifact(c, a), "artifact")
	must(t, s.DeleteRun(c, "ns", r.ID), "delete run")
	params, _ := s.ListParams(c, r.ID)
	tags, _ := s.ListTags(c, r.ID)
	latest, _ := s.LatestMetrics(c, r.ID)
	hist, _, _ := s.MetricHistory(c, r.ID, "m", store.MetricHistoryOptions{})
	nodes, _ := s.ListNodes(c, r.ID)
	lineage, _ := s.RunLineage(c, r.ID)
	if len(params)+len(tags)+len(latest)+len(hist)+len(nodes)+len(lineage) != 0 {
		t.Errorf("deleted run left params %v tags %v latest %v history %v nodes %v lineage %v", params, tags, latest, hist, nodes, lineage)
	}
	got, err := s.GetArtifact(c, "ns", a.ID)
	must(t, err, "artifact outlives its run")
	if got.RunID != "" {
		t.Errorf("artifact still points at deleted run %q", got.RunID)
	}
}

// filterCase is one run filter and the names of the runs it matches.
type filterCase struct {
	expr string
	want []string
}

func testFilters(t *testing.T, s store.Store) {
	c := ctx(t)
	e := newExperiment(t, s, "ns", "exp")
	type seed struct {
		name    string
		params  map[string]string
		metrics map[string]float64
		tags    map[string]string
		phase   store.Phase
		exp     bool
		started time.Time
	}
	t0 := time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	seeds := []seed{
		{name: "a", params: map[string]string{"lr": "0.01", "opt": "adam"}, metrics: map[string]float64{"accuracy": 0.95, "val-loss": 0.1},
			tags: map[string]string{"team": "vision"}, phase: store.PhaseSucceeded, exp: true, started: t0},
		{name: "b", params: map[string]string{"lr": "0.5", "opt": "sgd"}, metrics: map[string]float64{"accuracy": 0.80},
			tags: map[string]string{"team": "nlp"}, phase: store.PhaseFailed, started: t0.Add(time.Hour)},
		{name: "c_100%", params: map[string]string{"lr": "fast", "opt": "Adam"}, phase: store.PhaseRunning},
		{name: "d", metrics: map[string]float64{"accuracy": 0.91}, phase: store.PhaseSucceeded, exp: true},
	}
	for _, sd := range seeds {
		r := store.Run{Namespace: "ns", Name: sd.name, Phase: sd.phase, StartedAt: sd.started}
		if sd.exp {
			r.ExperimentID = e.ID
		}
		run := newRun(t, s, r)
		var params []store.Param
		for k, v := range sd.params {
			params = append(params, store.Param{Key: k, Value: v})
		}
		var metrics []store.Metric
		for k, v := range sd.metrics {
			metrics = append(metrics, store.Metric{Key: k, Value: v - 0.5, Step: 0, Timestamp: ms(0)}, store.Metric{Key: k, Value: v, Step: 1, Timestamp: ms(1)})
		}
		var tags []store.Tag
		for k, v := range sd.tags {
			tags = append(tags, store.Tag{Key: k, Value: v})
		}
		must(t, s.LogBatch(c, run.ID, params, metrics, tags), "log "+sd.name)
	}
	cases := []filterCase{
		{`true`, []string{"a", "b", "c_100%", "d"}},
		{`metrics.accuracy > 0.9`, []string{"a", "d"}},
		{`metrics.accuracy > 0.9 && params.opt == "adam"`, []string{"a"}},
		{`metrics.accuracy >= 1`, nil},
		{`0.85 < metrics.accuracy`, []string{"a", "d"}},
		{`!(metrics.accuracy > 0.9)`, []string{"b", "c_100%"}},
		{`metrics["val-loss"] < 0.2`, []string{"a"}},
		{`double(params.lr) < 0.1`, []string{"a"}},
		{`metrics.accuracy > 0.9 && params.lr < 0.1`, []string{"a"}},
		{`params.lr >= 0.1`, []string{"b"}},
		{`double(params.lr) >= 0.1 || phase == "Running"`, []string{"b", "c_100%"}},
		{`params.lr == "fast"`, []string{"c_100%"}},
		{`has(params.lr) && !has(tags.team)`, []string{"c_100%"}},
		{`"team" in tags`, []string{"a", "b"}},
		{`tags.team in ["nlp", "robotics"]`, []string{"b"}},
		{`phase in ["Succeeded", "Failed"]`, []string{"a", "b", "d"}},
		{`phase in []`, nil},
		{`name.startsWith("c_1")`, []string{"c_100%"}},
		{`name.contains("_")`, []string{"c_100%"}},
		{`name.endsWith("0%")`, []string{"c_100%"}},
		{`name.contains("%") && !name.startsWith("%")`, []string{"c_100%"}},
		{`params.opt.startsWith("A")`, []string{"c_100%"}},
		{`params.opt.startsWith("a")`, []string{"a"}},
		{`experiment_id == "` + e.ID + `"`, []string{"a", "d"}},
		{`experiment_id != "` + e.ID + `"`, []string{"b", "c_100%"}},
		{`experiment_id == ""`, []string{"b", "c_100%"}},
		{`started_at > timestamp("2026-05-01T12:30:00Z")`, []string{"b"}},
		{`started_at <= timestamp("2026-05-01T12:00:00Z")`, []string{"a"}},
		{`created_at > timestamp("2000-01-01T00:00:00Z") && archived == false`, []string{"a", "b", "c_100%", "d"}},
		{`metrics.accuracy > double(params.lr)`, []string{"a", "b"}},
		{`(metrics.accuracy > 0.9) == (phase == "Succeeded")`, []string{"a", "b", "c_100%", "d"}},
		{`finished_at > timestamp("2000-01-01T00:00:00Z")`, nil},
	}
	for _, tc := range cases {
		t.Run(tc.expr, func(t *testing.T) {
			f, err := filter.Parse(tc.expr)
			must(t, err, "parse")
			var got []string
			opts := store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", Filter: f, OrderBy: "name", PageSize: 1}}
			for {
				runs, next, err := s.ListRuns(c, opts)
				must(t, err, "list")
				for _, r := range runs {
					got = append(got, r.Name)
				}
				if next == "" {
					break
				}
				opts.PageToken = next
			}
			diff(t, "matching runs", tc.want, got)
		})
	}
}

// testOverlappingBatches logs batches that share params, metric keys and tags, listed in opposite
// orders, to one run from several goroutines: none may fail (no lock-order deadlock) and every
// point must land.
func testOverlappingBatches(t *testing.T, s store.Store) {
	c := ctx(t)
	r := newRun(t, s, store.Run{Namespace: "ns"})
	const writers, batches, keys = 6, 15, 8
	var wg sync.WaitGroup
	errs := make(chan error, writers*batches)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range batches {
				var params []store.Param
				var metrics []store.Metric
				var tags []store.Tag
				for i := range keys {
					k := i
					if w%2 == 1 {
						k = keys - 1 - i
					}
					params = append(params, store.Param{Key: fmt.Sprintf("p%d", k), Value: "v"})
					metrics = append(metrics, store.Metric{Key: fmt.Sprintf("m%d", k), Value: float64(w), Step: int64(b), Timestamp: ms(int64(w))})
					tags = append(tags, store.Tag{Key: fmt.Sprintf("t%d", k), Value: fmt.Sprint(w)})
				}
				if err := s.LogBatch(c, r.ID, params, metrics, tags); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("overlapping LogBatch: %v", err)
	}
	for k := range keys {
		hist, _, err := s.MetricHistory(c, r.ID, fmt.Sprintf("m%d", k), store.MetricHistoryOptions{})
		must(t, err, "history")
		if len(hist) != writers*batches {
			t.Errorf("m%d: %d points, want %d", k, len(hist), writers*batches)
		}
	}
}

package storetest

import (
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// FilterCorpus is a set of valid filters touching every construct the translator supports; fuzz
// targets start from it and FilterRunsOK runs each against a real database.
var FilterCorpus = []string{
	`metrics.accuracy > 0.9 && params.lr == "0.1"`,
	`double(params.lr) < 0.1 || !has(tags.x)`,
	`name.startsWith("a'b") && phase in ["Running", "Pending"]`,
	`name.endsWith("%_") || name.contains("[*?]")`,
	`created_at > timestamp("2026-01-01T00:00:00Z") && started_at < finished_at`,
	`(metrics.a > metrics.b) == archived`,
	`"k" in params && tags["a b"].endsWith("%")`,
	`-1 < metrics.x && 2u > 1u && 1.5 >= 1`,
	`experiment_id == "x'); DROP TABLE runs; --"`,
	`metrics.x in [1, 2.5, -3]`,
	`double(params.x) == double("1e3") && double(1) < metrics.y`,
	`(name == "a") != (phase == "b")`,
	`true == (has(params.x) || false)`,
	`pipeline_id == "" && recurring_run_id != "r" && pipeline_version_id < "v" && created_by >= "a" && description <= "z" && id != ""`,
}

// SeedFilterRuns creates a few runs with params, metrics and tags for filter checks.
func SeedFilterRuns(tb testing.TB, s store.Store) {
	tb.Helper()
	ctx := tb.Context()
	for i, name := range []string{"a'b", "x%_y", "plain"} {
		r := &store.Run{Namespace: "ns", Name: name, StartedAt: time.Unix(int64(1_700_000_000+i), 0)}
		if err := s.CreateRun(ctx, r); err != nil {
			tb.Fatal(err)
		}
		err := s.LogBatch(ctx, r.ID, []store.Param{{Key: "lr", Value: "0.05"}, {Key: "x", Value: "abc"}},
			[]store.Metric{{Key: "accuracy", Value: float64(i) / 2, Timestamp: time.UnixMilli(1)}, {Key: "a", Value: 1, Timestamp: time.UnixMilli(1)}},
			[]store.Tag{{Key: "a b", Value: "100%"}})
		if err != nil {
			tb.Fatal(err)
		}
	}
}

// FilterRunsOK checks that a filter which parses also executes: the translated SQL is valid for
// the store's database.
func FilterRunsOK(t testing.TB, s store.Store, expr string) {
	f, err := filter.Parse(expr)
	if err != nil {
		return
	}
	if _, _, err := s.ListRuns(t.Context(), store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "ns", Filter: f}}); err != nil {
		t.Fatalf("filter %q parses but does not run: %v", expr, err)
	}
}

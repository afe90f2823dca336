// Package storetest is the conformance suite every store.Store implementation runs. It checks
// behaviour through the interface only, so SQLite and PostgreSQL are held to the same contract.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/store"
)

// NewStore returns an empty, migrated store that the test owns; it is closed by the suite.
type NewStore func(t *testing.T) store.Store

// Run runs the conformance suite against stores made by newStore. Each subtest gets a fresh store.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"Pipelines", testPipelines},
		{"PipelineVersions", testPipelineVersions},
		{"Experiments", testExperiments},
		{"RunsCRUD", testRunsCRUD},
		{"RunReferences", testRunReferences},
		{"RunNodes", testRunNodes},
		{"ListRunsPagination", testListRunsPagination},
		{"ListRunsPaginationUnderInserts", testPaginationUnderInserts},
		{"ListRunsOrderings", testListRunsOrderings},
		{"ListRunsByMetric", testListRunsByMetric},
		{"ListRunsByMetricPages", testListRunsByMetricPages},
		{"ListRunsViewsAndExperiments", testListRunsViews},
		{"PageTokenErrors", testPageTokenErrors},
		{"Filters", testFilters},
		{"NamespaceIsolation", testNamespaceIsolation},
		{"ParamsWriteOnce", testParamsWriteOnce},
		{"MetricsAppendAndLatest", testMetricsAppendAndLatest},
		{"MetricHistoryPaging", testMetricHistoryPaging},
		{"MetricHistoryDownsampling", testMetricHistoryDownsampling},
		{"Tags", testTags},
		{"ConcurrentLogBatch", testConcurrentLogBatch},
		{"ConcurrentFailingBatches", testConcurrentFailingBatches},
		{"OverlappingBatches", testOverlappingBatches},
		{"DeleteRunCascades", testDeleteRunCascades},
		{"ArtifactsAndLineage", testArtifactsAndLineage},
		{"RecurringRuns", testRecurringRuns},
		{"ModelRegistry", testModelRegistry},
		{"AliasMovesAtomically", testAliasMovesAtomically},
		{"ConcurrentModelVersions", testConcurrentModelVersions},
		{"Auth", testAuth},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() {
				if err := s.Close(); err != nil {
					t.Errorf("close: %v", err)
				}
			})
			tt.fn(t, s)
		})
	}
}

func wantErr(t *testing.T, err, target error, what string) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("%s: got error %v, want %v", what, err, target)
	}
}

func must(t *testing.T, err error, what string) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func diff(t *testing.T, what string, want, got any, opts ...cmp.Option) {
	t.Helper()
	if d := cmp.Diff(want, got, opts...); d != "" {
		t.Errorf("%s (-want +got):\n%s", what, d)
	}
}

func ctx(t *testing.T) context.Context { return t.Context() }

func newExperiment(t *testing.T, s store.Store, ns, name string) *store.Experiment {
	t.Helper()
	e := &store.Experiment{Namespace: ns, Name: name}
	must(t, s.CreateExperiment(ctx(t), e), "create experiment "+name)
	return e
}

func newRun(t *testing.T, s store.Store, r store.Run) *store.Run {
	t.Helper()
	must(t, s.CreateRun(ctx(t), &r), fmt.Sprintf("create run %q", r.Name))
	return &r
}

package postgres_test

import (
	"github.com/kilnml/kiln/backend/filter"
	"testing"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/postgres"
	"github.com/kilnml/kiln/backend/store/storetest"
	pgtest "github.com/kilnml/kiln/internal/testenv/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newStore(t *testing.T) store.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), postgres.Options{DSN: pgtest.Start(t)})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

func TestFilterCorpusRuns(t *testing.T) {
	s := newStore(t)
	defer s.Close()
	storetest.SeedFilterRuns(t, s)
	for _, expr := range storetest.FilterCorpus {
		if _, err := filter.Parse(expr); err != nil {
			t.Errorf("corpus filter does not parse: %v", err)
		}
		storetest.FilterRunsOK(t, s, expr)
	}
}

package postgres_test

import (
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

package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
	"github.com/kilnml/kiln/backend/store/storetest"
)

func newStore(t *testing.T) store.Store {
	t.Helper()
	s, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, newStore)
}

// TestConformanceFull runs the suite with synchronous=FULL, where concurrent LogBatch calls
// share transactions (group commit).
func TestConformanceFull(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		t.Helper()
		s, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db"), Synchronous: "FULL"})
		if err != nil {
			t.Fatalf("open: %v", err)
		}
		return s
	})
}

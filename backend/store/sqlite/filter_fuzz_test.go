package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/backend/store/sqlite"
	"github.com/kilnml/kiln/backend/store/storetest"
)

// FuzzFilterSQL runs every filter that parses against a real SQLite database.
func FuzzFilterSQL(f *testing.F) {
	for _, expr := range storetest.FilterCorpus {
		f.Add(expr)
	}
	s, err := sqlite.Open(f.Context(), sqlite.Options{Path: filepath.Join(f.TempDir(), "kiln.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { s.Close() })
	storetest.SeedFilterRuns(f, s)
	f.Fuzz(func(t *testing.T, expr string) {
		storetest.FilterRunsOK(t, s, expr)
	})
}

package postgres_test

import (
	"fmt"
	"testing"

	"github.com/kilnml/kiln/backend/store/postgres"
	"github.com/kilnml/kiln/backend/store/storetest"
	pgtest "github.com/kilnml/kiln/internal/testenv/postgres"
)

// The test server runs with fsync off, so these numbers show the store's own cost, not a
// production server's commit latency.

func BenchmarkLogBatch(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch-%d", size), func(b *testing.B) {
			s, err := postgres.Open(b.Context(), postgres.Options{DSN: pgtest.Start(b)})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.BenchmarkLogBatch(b, s, size)
		})
	}
}

// BenchmarkListRuns100k seeds 100,000 runs (several minutes; again for each -count) and
// measures pages.
func BenchmarkListRuns100k(b *testing.B) {
	s, err := postgres.Open(b.Context(), postgres.Options{DSN: pgtest.Start(b)})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	storetest.SeedRuns(b, s, 100_000)
	storetest.BenchmarkListRuns(b, s)
}

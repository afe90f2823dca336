package sqlite_test

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
	"github.com/kilnml/kiln/backend/store/storetest"
)

func BenchmarkLogBatch(b *testing.B) {
	for _, size := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("batch-%d", size), func(b *testing.B) {
			s, err := sqlite.Open(b.Context(), sqlite.Options{Path: filepath.Join(b.TempDir(), "kiln.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			storetest.BenchmarkLogBatch(b, s, size)
		})
	}
}

// BenchmarkLogBatchConcurrent logs MLflow-sized 1,000-point batches from 1, 4 and 8 goroutines
// (each on its own run) with both durability settings: with FULL every commit waits for fsync,
// which concurrent batches share through group commit.
func BenchmarkLogBatchConcurrent(b *testing.B) {
	for _, mode := range []string{"NORMAL", "FULL"} {
		for _, clients := range []int{1, 4, 8} {
			b.Run(fmt.Sprintf("sync-%s/clients-%d", mode, clients), func(b *testing.B) {
				s, err := sqlite.Open(b.Context(), sqlite.Options{Path: filepath.Join(b.TempDir(), "kiln.db"), Synchronous: mode})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				storetest.BenchmarkLogBatchConcurrent(b, s, 1000, clients)
			})
		}
	}
}

var (
	seedOnce sync.Once
	seeded   store.Store
	seedDir  string
)

// BenchmarkListRuns100k seeds 100,000 runs once per process (a minute or so) and measures pages.
func BenchmarkListRuns100k(b *testing.B) {
	seedOnce.Do(func() {
		var err error
		seedDir, err = os.MkdirTemp("", "kiln-bench-")
		if err != nil {
			b.Fatal(err)
		}
		s, err := sqlite.Open(b.Context(), sqlite.Options{Path: filepath.Join(seedDir, "kiln.db")})
		if err != nil {
			b.Fatal(err)
		}
		storetest.SeedRuns(b, s, 100_000)
		seeded = s
	})
	if seeded == nil {
		b.Fatal("seeding failed")
	}
	storetest.BenchmarkListRuns(b, seeded)
}

// closeSeeded releases the store BenchmarkListRuns100k seeded, from TestMain.
func closeSeeded() {
	if seeded != nil {
		seeded.Close()
		os.RemoveAll(seedDir)
	}
}

package storetest

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// BenchmarkLogBatch measures metric ingestion: each operation logs one batch of batchSize points
// (10 keys) to one run, and the "points/s" metric is the sustained ingestion rate.
func BenchmarkLogBatch(b *testing.B, s store.Store, batchSize int) {
	ctx := context.Background()
	r := &store.Run{Namespace: "bench"}
	if err := s.CreateRun(ctx, r); err != nil {
		b.Fatal(err)
	}
	batch := make([]store.Metric, batchSize)
	ts := time.Now()
	cpu0 := cpuTime()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		for j := range batch {
			step := int64(i*batchSize + j)
			batch[j] = store.Metric{Key: fmt.Sprintf("m%d", j%10), Value: float64(step) / 3, Step: step, Timestamp: ts}
		}
		if err := s.LogBatch(ctx, r.ID, nil, batch, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*batchSize)/b.Elapsed().Seconds(), "points/s")
	// Wall time depends on what else the machine runs; the process's own CPU time does not (for
	// an embedded store it is all the work; a database server's CPU is not counted).
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N*batchSize)/cpu.Seconds(), "points/cpu-s")
	}
}

// BenchmarkLogBatchConcurrent measures metric ingestion from clients goroutines, each logging
// batches of batchSize points (one key, steps continuing) to its own run; an operation is one
// batch. It reports points/s and the process's CPU milliseconds per batch.
func BenchmarkLogBatchConcurrent(b *testing.B, s store.Store, batchSize, clients int) {
	ctx := context.Background()
	runs := make([]string, clients)
	for i := range runs {
		r := &store.Run{Namespace: "bench"}
		if err := s.CreateRun(ctx, r); err != nil {
			b.Fatal(err)
		}
		runs[i] = r.ID
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	ts := time.Now()
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	for _, id := range runs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			batch := make([]store.Metric, batchSize)
			for sent := int64(0); next.Add(1) <= int64(b.N); sent++ {
				for j := range batch {
					step := sent*int64(batchSize) + int64(j)
					batch[j] = store.Metric{Key: "loss", Value: float64(step) / 3, Step: step, Timestamp: ts}
				}
				if err := s.LogBatch(ctx, id, nil, batch, nil); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batchSize)/time.Since(start).Seconds(), "points/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
	}
}

// cpuTime returns the user and system CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// SeedRuns fills an empty store with n runs in namespace "bench", every tenth with an accuracy
// metric and an lr param, for BenchmarkListRuns.
func SeedRuns(tb testing.TB, s store.Store, n int) {
	ctx := context.Background()
	for i := range n {
		r := &store.Run{Namespace: "bench", Name: fmt.Sprintf("run-%06d", i), Phase: store.PhaseSucceeded}
		if err := s.CreateRun(ctx, r); err != nil {
			tb.Fatal(err)
		}
		if i%10 == 0 {
			err := s.LogBatch(ctx, r.ID, []store.Param{{Key: "lr", Value: fmt.Sprint(float64(i%7) / 10)}},
				[]store.Metric{{Key: "accuracy", Value: float64(i%100) / 100, Timestamp: time.Now()}}, nil)
			if err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// BenchmarkListRuns measures one page of 50 runs from a store seeded by SeedRuns: the first page,
// a page deep in the list (keyset token), filtered pages and pages ordered by a metric (first,
// deep, among the runs without the metric, filtered). It reports the median latency.
func BenchmarkListRuns(b *testing.B, s store.Store) {
	ctx := context.Background()
	deep := ""
	opts := store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "bench", PageSize: 1000}}
	for range 50 { // 50,000 runs in
		_, next, err := s.ListRuns(ctx, opts)
		if err != nil {
			b.Fatal(err)
		}
		opts.PageToken, deep = next, next
	}
	if deep == "" {
		b.Fatal("store has too few runs for the deep page")
	}
	_, deep50, err := s.ListRuns(ctx, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "bench", PageSize: 50, PageToken: deep}})
	if err != nil {
		b.Fatal(err)
	}
	// Pages ordered by a metric deep among the runs that have it, and among those without it
	// (every tenth run has accuracy: 10,000 have it, so 12,000 runs in is past them).
	metricToken := func(order string, runs int) string {
		opts := store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: "bench", PageSize: 1000, OrderBy: order}}
		for range runs / 1000 {
			_, next, err := s.ListRuns(ctx, opts)
			if err != nil {
				b.Fatal(err)
			}
			opts.PageToken = next
		}
		return opts.PageToken
	}
	metricDeep, metricMissing := metricToken("metrics.accuracy desc", 5000), metricToken("metrics.accuracy asc", 12000)
	mustParse := func(expr string) *filter.Filter {
		f, err := filter.Parse(expr)
		if err != nil {
			b.Fatal(err)
		}
		return f
	}
	cases := []struct {
		name string
		opts store.ListOptions
	}{
		{"first-page", store.ListOptions{Namespace: "bench", PageSize: 50}},
		{"deep-page", store.ListOptions{Namespace: "bench", PageSize: 50, PageToken: deep50}},
		{"by-name", store.ListOptions{Namespace: "bench", PageSize: 50, OrderBy: "name"}},
		{"by-started", store.ListOptions{Namespace: "bench", PageSize: 50, OrderBy: "started_at desc"}},
		{"by-metric", store.ListOptions{Namespace: "bench", PageSize: 50, OrderBy: "metrics.accuracy desc"}},
		{"by-metric-asc", store.ListOptions{Namespace: "bench", PageSize: 50, OrderBy: "metrics.accuracy asc"}},
		{"by-metric-deep", store.ListOptions{Namespace: "bench", PageSize: 50, OrderBy: "metrics.accuracy desc", PageToken: metricDeep}},
		{"by-metric-without", store.ListOptions{Namespace: "bench", PageSize: 50, OrderBy: "metrics.accuracy asc", PageToken: metricMissing}},
		{"by-metric-filtered", store.ListOptions{Namespace: "bench", PageSize: 50, OrderBy: "metrics.accuracy desc",
			Filter: mustParse(`double(params.lr) < 0.3`)}},
		{"filter-metric", store.ListOptions{Namespace: "bench", PageSize: 50, Filter: mustParse(`metrics.accuracy > 0.5`)}},
		{"filter-param-and-name", store.ListOptions{Namespace: "bench", PageSize: 50,
			Filter: mustParse(`double(params.lr) < 0.3 && name.startsWith("run-0")`)}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			var lat []time.Duration
			cpu0 := cpuTime()
			for b.Loop() {
				start := time.Now()
				runs, _, err := s.ListRuns(ctx, store.ListRunsOptions{ListOptions: c.opts})
				if err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
				if len(runs) != 50 {
					b.Fatalf("page of %d runs, want 50", len(runs))
				}
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
			// The process's CPU per page: all of it for SQLite, the client side for PostgreSQL.
			if cpu := cpuTime() - cpu0; cpu > 0 {
				b.ReportMetric(cpu.Seconds()*1000/float64(b.N), "cpu-ms/op")
			}
		})
	}
}

package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
	"github.com/kilnml/kiln/backend/store/storetest"
)

// benchServer starts a server on a fresh SQLite file.
func benchServer(b testing.TB) (*httptest.Server, store.Store) {
	dir, err := os.MkdirTemp("", "kiln-bench-")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { os.RemoveAll(dir) })
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "kiln.db")})
	if err != nil {
		b.Fatal(err)
	}
	srv, err := server.New(context.Background(), server.Config{Store: st, DataDir: dir, SchedulerInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	b.Cleanup(func() {
		ts.Close()
		srv.Close()
		st.Close()
	})
	return ts, st
}

// BenchmarkLogBatchHTTP measures metric ingestion through POST /api/v1/runs/{id}/log-batch:
// MLflow-sized 1,000-point batches (MLflow's log-batch limit) from 1, 4 and 8 concurrent clients,
// each on its own run, and 10,000-point batches from 4. Each client's batches continue its
// series' steps, as a training loop's do. The repeated-steps case sends the same steps every
// time, which spreads each batch's index entries over the whole (series, step) index — a worst
// case, and the shape this benchmark had before. It reports points/s (wall time) and the
// process's CPU milliseconds per batch, which depend less on what else the machine runs (the
// in-process HTTP clients and the encoding of their bodies are counted too).
func BenchmarkLogBatchHTTP(b *testing.B) {
	for _, c := range []struct {
		size, clients int
		repeat        bool
	}{{1000, 1, false}, {1000, 4, false}, {1000, 8, false}, {10000, 4, false}, {1000, 1, true}, {1000, 4, true}} {
		name := fmt.Sprintf("batch-%d/clients-%d", c.size, c.clients)
		if c.repeat {
			name += "/repeated-steps"
		}
		b.Run(name, func(b *testing.B) { benchLogBatchHTTP(b, c.size, c.clients, c.repeat) })
	}
}

// batchBody encodes a log-batch request of n "loss" points from step first on.
func batchBody(buf []byte, first int64, n int) []byte {
	ts := strconv.FormatInt(time.Now().UnixMilli(), 10)
	buf = append(buf[:0], `{"metrics":[`...)
	for j := range int64(n) {
		if j > 0 {
			buf = append(buf, ',')
		}
		buf = append(buf, `{"key":"loss","value":`...)
		buf = strconv.AppendFloat(buf, float64(first+j)/3, 'g', -1, 64)
		buf = append(buf, `,"step":`...)
		buf = strconv.AppendInt(buf, first+j, 10)
		buf = append(buf, `,"timestamp":`...)
		buf = append(buf, ts...)
		buf = append(buf, '}')
	}
	return append(buf, "]}"...)
}

func benchLogBatchHTTP(b *testing.B, batch, clients int, repeat bool) {
	ts, _ := benchServer(b)
	c := client.New(ts.URL, client.Options{})
	ctx := context.Background()
	ids := make([]string, clients)
	for i := range clients {
		r, err := c.CreateRun(ctx, api.CreateRunRequest{Name: fmt.Sprint("bench-", i)})
		if err != nil {
			b.Fatal(err)
		}
		ids[i] = r.ID
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cpuTime()
	var wg sync.WaitGroup
	var mu sync.Mutex
	next := 0
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var body []byte
			for sent := int64(0); ; sent++ {
				mu.Lock()
				if next >= b.N {
					mu.Unlock()
					return
				}
				next++
				mu.Unlock()
				first := sent * int64(batch)
				if repeat {
					first = 0
				}
				body = batchBody(body, first, batch)
				resp, err := http.Post(ts.URL+"/api/v1/runs/"+ids[i]+"/log-batch", "application/json", bytes.NewReader(body))
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusNoContent {
					b.Errorf("status %d", resp.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.ReportMetric(float64(b.N*batch)/time.Since(start).Seconds(), "points/s")
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

// listRunsFixture is one server with 100k runs, shared by the iterations of BenchmarkListRuns.
var listRunsFixture struct {
	once sync.Once
	url  string
}

// BenchmarkListRuns measures GET /api/v1/runs with a page of 50 over 100k stored runs, the first
// page, a filtered page and a page ordered by a metric, and reports the p50 latency.
func BenchmarkListRuns(b *testing.B) {
	listRunsFixture.once.Do(func() {
		// The fixture outlives this benchmark function's iterations: no Cleanup on b.
		dir, _ := os.MkdirTemp("", "kiln-bench-list-")
		st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(dir, "kiln.db")})
		if err != nil {
			b.Fatal(err)
		}
		storetest.SeedRuns(b, st, 100000)
		srv, err := server.New(context.Background(), server.Config{Store: st, DataDir: dir, SchedulerInterval: -1})
		if err != nil {
			b.Fatal(err)
		}
		listRunsFixture.url = httptest.NewServer(srv.Handler()).URL
	})
	for _, tt := range []struct{ name, query string }{
		{"first-page", ""},
		{"filtered", "&filter=" + strings.ReplaceAll("metrics.accuracy > 0.5", " ", "+")},
		{"by-metric", "&orderBy=metrics.accuracy+desc"},
	} {
		b.Run(tt.name, func(b *testing.B) {
			url := listRunsFixture.url + "/api/v1/runs?namespace=bench&pageSize=50" + tt.query
			lat := make([]time.Duration, 0, b.N)
			for b.Loop() {
				t0 := time.Now()
				resp, err := http.Get(url)
				if err != nil {
					b.Fatal(err)
				}
				var out api.ListRunsResponse
				err = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if err != nil || len(out.Runs) != 50 {
					b.Fatalf("decode: %v, %d runs", err, len(out.Runs))
				}
				lat = append(lat, time.Since(t0))
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		})
	}
}

// BenchmarkCreateRun measures POST /api/v1/runs latency (validation, submission to the local
// engine, the store write) for a one-task pipeline.
func BenchmarkCreateRun(b *testing.B) {
	ts, _ := benchServer(b)
	c := client.New(ts.URL, client.Options{})
	ctx := context.Background()
	p, err := c.CreatePipeline(ctx, api.CreatePipelineRequest{Name: "quick", Spec: quickSpec})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(`{"pipelineVersionId":"` + p.Version.ID + `"}`)
	lat := make([]time.Duration, 0, b.N)
	for b.Loop() {
		t0 := time.Now()
		resp, err := http.Post(ts.URL+"/api/v1/runs", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b.Fatalf("status %d", resp.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

// TestIdleRSS starts a real `kiln server`, lets it settle and checks its resident memory.
func TestIdleRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a server process")
	}
	bin, err := buildKiln()
	if err != nil {
		t.Fatal(err)
	}
	data, addr := t.TempDir(), freeAddr(t)
	cmd := startServer(t, bin, data, addr)
	time.Sleep(2 * time.Second)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", cmd.Process.Pid))
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	var kb int
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ = strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
	if kb == 0 {
		t.Fatalf("no VmRSS in /proc status")
	}
	t.Logf("idle RSS of kiln server: %.1f MB", float64(kb)/1024)
	if kb > 150*1024 {
		t.Errorf("idle RSS %d kB exceeds 150 MB", kb)
	}
}

package mlflow_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

// BenchmarkLogBatch posts runs/log-batch requests of 1000 metrics (10 keys) through HTTP to the
// handler over a SQLite file and reports the ingestion rate in points/s. "serial" is one client;
// "clients-4" is four concurrent clients, each logging to its own run, as the components of a
// pipeline do. points/cpu-s divides by the process's CPU time, which includes the in-process
// HTTP clients, and does not depend on what else the machine runs.
func BenchmarkLogBatch(b *testing.B) {
	for _, clients := range []int{1, 4} {
		name := "serial"
		if clients > 1 {
			name = fmt.Sprintf("clients-%d", clients)
		}
		b.Run(name, func(b *testing.B) { benchLogBatch(b, clients) })
	}
}

func benchLogBatch(b *testing.B, clients int) {
	st, err := sqlite.Open(b.Context(), sqlite.Options{Path: filepath.Join(b.TempDir(), "kiln.db")})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	srv := httptest.NewServer(mlflow.NewHandler(st, nil))
	defer srv.Close()
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}}
	post := func(path string, body []byte) []byte {
		resp, err := hc.Post(srv.URL+"/api/2.0/mlflow/"+path, "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			b.Fatalf("%s: %d %s", path, resp.StatusCode, out)
		}
		return out
	}
	const size = 1000
	// Each client has a run and 8 pre-encoded batches with increasing steps.
	bodies := make([][][]byte, clients)
	for c := range bodies {
		var created struct {
			Run struct {
				Info struct {
					RunID string `json:"run_id"`
				} `json:"info"`
			} `json:"run"`
		}
		if err := json.Unmarshal(post("runs/create", []byte(`{"experiment_id":"0"}`)), &created); err != nil {
			b.Fatal(err)
		}
		for i := range 8 {
			ms := make([]map[string]any, size)
			for j := range ms {
				ms[j] = map[string]any{"key": fmt.Sprintf("m%d", j%10), "value": float64(j) / 7, "timestamp": 1700000000000 + j, "step": i*size + j}
			}
			body, _ := json.Marshal(map[string]any{"run_id": created.Run.Info.RunID, "metrics": ms})
			bodies[c] = append(bodies[c], body)
		}
	}
	var next atomic.Int64
	cpu0 := cpuTime()
	b.ResetTimer()
	if clients == 1 {
		for i := 0; b.Loop(); i++ {
			post("runs/log-batch", bodies[0][i%8])
		}
	} else {
		b.SetParallelism((clients + 1) / 2) // GOMAXPROCS is 2 on the reference machine
		b.RunParallel(func(pb *testing.PB) {
			c := int(next.Add(1)-1) % clients
			for i := 0; pb.Next(); i++ {
				post("runs/log-batch", bodies[c][i%8])
			}
		})
	}
	b.ReportMetric(float64(b.N*size)/b.Elapsed().Seconds(), "points/s")
	if cpu := cpuTime() - cpu0; cpu > 0 {
		b.ReportMetric(float64(b.N*size)/cpu.Seconds(), "points/cpu-s")
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

package server_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
	pgenv "github.com/kilnml/kiln/internal/testenv/postgres"
)

func TestMain(m *testing.M) { pgenv.Main(m) }

// buildKiln builds cmd/kiln once per test binary.
var buildKiln = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "kiln-bin-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "kiln")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/kilnml/kiln/cmd/kiln").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build cmd/kiln: %v\n%s", err, out)
	}
	return bin, nil
})

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer runs `kiln server` as a subprocess and waits until it is ready.
func startServer(t *testing.T, bin, data, addr string, extra ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"server", "--data", data, "--addr", addr, "--notebooks=false", "--log-level", "warn"}, extra...)...)
	logf, err := os.OpenFile(filepath.Join(data, "server.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { logf.Close() })
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		resp, err := http.Get("http://" + addr + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return cmd
			}
		}
	}
	b, _ := os.ReadFile(filepath.Join(data, "server.log"))
	t.Fatalf("server on %s not ready:\n%s", addr, b)
	return nil
}

const quickSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: quick-
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      command: [sh]
      source: echo done
`

const slowSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: slow-
spec:
  entrypoint: main
  templates:
  - name: main
    script:
      image: alpine
      command: [sh]
      source: sleep 3
`

// TestCrashRecovery kills a real `kiln server` process with SIGKILL while runs execute and
// clients log metrics, restarts it on the same data directory, and checks that every
// acknowledged write survived and that no run is left in a phase that is not true.
func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and kills a server process")
	}
	bin, err := buildKiln()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("sqlite", func(t *testing.T) { crashRecovery(t, bin) })
	t.Run("postgres", func(t *testing.T) { crashRecovery(t, bin, "--db", pgenv.Start(t)) })
}

func crashRecovery(t *testing.T, bin string, extra ...string) {
	data, addr := t.TempDir(), freeAddr(t)
	srv := startServer(t, bin, data, addr, extra...)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c := client.New("http://"+addr, client.Options{})
	quick, err := c.CreatePipeline(ctx, api.CreatePipelineRequest{Name: "quick", Spec: quickSpec})
	if err != nil {
		t.Fatal(err)
	}
	slow, err := c.CreatePipeline(ctx, api.CreatePipelineRequest{Name: "slow", Spec: slowSpec})
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	ackedRuns := map[string]bool{}
	ackedPoints := map[string]int{} // tracking run ID → acknowledged points of "loss"
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ { // run creators
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				v := quick.Version.ID
				if i%2 == 1 {
					v = slow.Version.ID
				}
				r, err := c.CreateRun(ctx, api.CreateRunRequest{PipelineVersionID: v})
				if err != nil {
					return // the server died
				}
				mu.Lock()
				ackedRuns[r.ID] = true
				mu.Unlock()
			}
		}()
	}
	for w := 0; w < 4; w++ { // metric loggers, each on its own tracking run
		r, err := c.CreateRun(ctx, api.CreateRunRequest{Name: fmt.Sprintf("tracker-%d", w)})
		if err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for step := 0; ; step += 100 {
				select {
				case <-stop:
					return
				default:
				}
				batch := api.LogBatchRequest{}
				for i := range 100 {
					batch.Metrics = append(batch.Metrics, api.Metric{Key: "loss", Value: float64(step + i), Step: int64(step + i)})
				}
				if err := c.LogBatch(ctx, r.ID, batch); err != nil {
					return
				}
				mu.Lock()
				ackedPoints[r.ID] += 100
				mu.Unlock()
			}
		}()
	}
	time.Sleep(1500 * time.Millisecond)
	if err := srv.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = srv.Wait()
	close(stop)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if len(ackedRuns) == 0 || len(ackedPoints) == 0 {
		t.Fatalf("nothing acknowledged before the kill: %d runs, %d trackers", len(ackedRuns), len(ackedPoints))
	}

	startServer(t, bin, data, addr, extra...)
	var all []api.Run
	for tok := ""; ; {
		page, err := c.ListRuns(ctx, client.ListRunsOptions{PageOptions: client.PageOptions{PageSize: 1000, PageToken: tok}})
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, page.Runs...)
		if tok = page.NextPageToken; tok == "" {
			break
		}
	}
	seen := map[string]api.Run{}
	for _, r := range all {
		seen[r.ID] = r
	}
	lost := 0
	for id := range ackedRuns {
		r, ok := seen[id]
		if !ok {
			t.Errorf("acknowledged run %s is gone after the crash", id)
			continue
		}
		switch {
		case r.Phase == "Succeeded":
		case r.Phase == "Error" && r.Message == runs.RestartMessage && r.FinishedAt != nil:
			lost++
		default:
			t.Errorf("run %s is %s (%q) after restart; want Succeeded or Error with the restart message", id, r.Phase, r.Message)
		}
	}
	points := 0
	for id, n := range ackedPoints {
		got, token := 0, ""
		for {
			h, err := c.MetricHistory(ctx, id, "loss", client.MetricHistoryOptions{PageSize: store.DefaultMetricPageSize, PageToken: token})
			if err != nil {
				t.Fatal(err)
			}
			got += len(h.Metrics)
			if token = h.NextPageToken; token == "" {
				break
			}
		}
		if got < n {
			t.Errorf("tracking run %s has %d points after restart, %d were acknowledged", id, got, n)
		}
		points += n
		if r := seen[id]; r.Phase != "Running" {
			t.Errorf("tracking run %s is %s after restart; its client still owns it", id, r.Phase)
		}
	}
	t.Logf("%d acknowledged runs (%d marked lost in the restart), %d acknowledged metric points: all present", len(ackedRuns), lost, points)
}

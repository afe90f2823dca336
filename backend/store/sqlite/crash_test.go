package sqlite_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

const (
	crashEnv   = "KILN_SQLITE_CRASH_CHILD"
	crashRunID = "0123456789abcdef0123456789abcdef"
	perBatch   = 100
)

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		os.Exit(crashChild(path))
	}
	code := m.Run()
	closeSeeded()
	os.Exit(code)
}

// crashChild logs batches forever, printing "ack N" after batch N is acknowledged, until killed.
func crashChild(path string) int {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Options{Path: path})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := s.CreateRun(ctx, &store.Run{ID: crashRunID, Namespace: "ns"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	for i := 0; ; i++ {
		metrics := make([]store.Metric, perBatch)
		for j := range metrics {
			step := int64(i*perBatch + j)
			metrics[j] = store.Metric{Key: "loss", Value: float64(step), Step: step, Timestamp: time.UnixMilli(step)}
		}
		params := []store.Param{{Key: fmt.Sprintf("p%d", i), Value: strconv.Itoa(i)}}
		if err := s.LogBatch(ctx, crashRunID, params, metrics, nil); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Fprintf(os.Stdout, "ack %d\n", i) // unbuffered: printed only after the commit returned
	}
}

// TestAcknowledgedWritesSurviveKill kills a process that is logging batches with SIGKILL and
// checks that every batch it acknowledged is in the database afterwards.
func TestAcknowledgedWritesSurviveKill(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kiln.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	last := -1
	for sc.Scan() {
		n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "ack "))
		if err != nil {
			t.Fatalf("child said %q", sc.Text())
		}
		last = n
		if n == 30 {
			if err := cmd.Process.Kill(); err != nil { // SIGKILL, mid-stream
				t.Fatal(err)
			}
		}
	}
	_ = cmd.Wait()
	if last < 30 {
		t.Fatalf("child acknowledged only %d batches before exiting", last+1)
	}

	s, err := sqlite.Open(t.Context(), sqlite.Options{Path: path})
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	params, err := s.ListParams(t.Context(), crashRunID)
	if err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, p := range params {
		have[p.Key] = true
	}
	for i := 0; i <= last; i++ {
		if !have[fmt.Sprintf("p%d", i)] {
			t.Errorf("acknowledged batch %d lost its param", i)
		}
	}
	hist, _, err := s.MetricHistory(t.Context(), crashRunID, "loss", store.MetricHistoryOptions{PageSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if want := (last + 1) * perBatch; len(hist) < want {
		t.Errorf("%d metric points after kill, want at least the %d acknowledged", len(hist), want)
	}
	for i, m := range hist {
		if m.Step != int64(i) {
			t.Fatalf("point %d has step %d: a batch was partially written", i, m.Step)
		}
	}
	if len(hist)%perBatch != 0 {
		t.Errorf("%d points is not a whole number of batches", len(hist))
	}
}

package tracking_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
	"github.com/kilnml/kiln/tracking"
)

// env is the MLflow API over a real SQLite store behind httptest, with a run to log to. Every
// log-batch request body is recorded, and the first failNext requests answer 503.
type env struct {
	url      string
	st       store.Store
	run      string
	mu       sync.Mutex
	batches  []batch
	failNext atomic.Int32
}

type batch struct {
	Metrics []json.RawMessage `json:"metrics"`
	Params  []json.RawMessage `json:"params"`
	Tags    []json.RawMessage `json:"tags"`
}

func newEnv(t *testing.T) *env {
	t.Helper()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := &env{st: st}
	h := mlflow.NewHandler(st, nil)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if e.failNext.Load() > 0 {
			e.failNext.Add(-1)
			http.Error(w, `{"error_code":"TEMPORARILY_UNAVAILABLE","message":"try later"}`, http.StatusServiceUnavailable)
			return
		}
		if strings.HasSuffix(r.URL.Path, "/runs/log-batch") {
			body, _ := io.ReadAll(r.Body)
			var b batch
			if err := json.Unmarshal(body, &b); err != nil {
				t.Errorf("log-batch body: %v", err)
			}
			e.mu.Lock()
			e.batches = append(e.batches, b)
			e.mu.Unlock()
			r.Body = io.NopCloser(strings.NewReader(string(body)))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	e.url = srv.URL
	r := &store.Run{Namespace: mlflow.DefaultNamespace, Phase: store.PhaseRunning}
	if err := st.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	e.run = r.ID
	return e
}

func (e *env) client(t *testing.T, opts tracking.Options) *tracking.Client {
	t.Helper()
	opts.URL, opts.RunID = e.url, e.run
	if opts.FlushInterval == 0 {
		opts.FlushInterval = -1
	}
	if opts.RetryBackoff == 0 {
		opts.RetryBackoff = time.Millisecond
	}
	c, err := tracking.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	return c
}

func (e *env) history(t *testing.T, key string) []store.Metric {
	t.Helper()
	ms, _, err := e.st.MetricHistory(t.Context(), e.run, key, store.MetricHistoryOptions{PageSize: 100000})
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func (e *env) sizes() [][3]int {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out [][3]int
	for _, b := range e.batches {
		out = append(out, [3]int{len(b.Params), len(b.Tags), len(b.Metrics)})
	}
	return out
}

func TestFlushSendsBatchesWithinMLflowLimits(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, tracking.Options{})
	ctx := t.Context()
	for i := range 250 {
		if err := c.LogParam(ctx, fmt.Sprintf("p%03d", i), "v"); err != nil {
			t.Fatal(err)
		}
		if err := c.SetTag(ctx, fmt.Sprintf("t%03d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 2500 {
		if err := c.LogMetric(ctx, "loss", float64(i), int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Background sends may have taken full requests already; every request is within the
	// limits (the server enforces them too) and nothing is lost or duplicated.
	var params, tags, metrics int
	for _, s := range e.sizes() {
		if s[0] > 100 || s[1] > 100 || s[2] > 1000 || s[0]+s[1]+s[2] > 1000 {
			t.Errorf("request with %d params, %d tags, %d metrics exceeds MLflow's limits", s[0], s[1], s[2])
		}
		params, tags, metrics = params+s[0], tags+s[1], metrics+s[2]
	}
	if params != 250 || tags != 250 || metrics != 2500 {
		t.Errorf("sent %d params, %d tags, %d metrics, want 250, 250, 2500", params, tags, metrics)
	}
	ps, _ := e.st.ListParams(ctx, e.run)
	ts, _ := e.st.ListTags(ctx, e.run)
	if len(ps) != 250 || len(ts) != 250 {
		t.Errorf("stored %d params and %d tags, want 250 each", len(ps), len(ts))
	}
	h := e.history(t, "loss")
	if len(h) != 2500 {
		t.Fatalf("stored %d points, want 2500", len(h))
	}
	for i, m := range h {
		if m.Step != int64(i) || m.Value != float64(i) {
			t.Fatalf("point %d is step %d value %v", i, m.Step, m.Value)
		}
	}
}

func TestFullRequestIsSentWithoutFlush(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, tracking.Options{}) // no periodic flush
	for i := range 1000 {
		if err := c.LogMetric(t.Context(), "m", 1, int64(i)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return len(e.history(t, "m")) == 1000 })
	c.LogMetric(t.Context(), "m", 1, 1000)
	time.Sleep(50 * time.Millisecond)
	if n := len(e.history(t, "m")); n != 1000 {
		t.Errorf("a partial request was sent without a flush: %d points", n)
	}
}

func TestFlushInterval(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, tracking.Options{FlushInterval: 20 * time.Millisecond})
	if err := c.LogMetrics(t.Context(), map[string]float64{"a": 1, "b": math.NaN()}, 3); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return len(e.history(t, "a")) == 1 && len(e.history(t, "b")) == 1 })
	if b := e.history(t, "b")[0]; !math.IsNaN(b.Value) || b.Step != 3 {
		t.Errorf("NaN point stored as %+v", b)
	}
}

func TestRetriesTransientErrors(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, tracking.Options{MaxRetries: 3})
	e.failNext.Store(2)
	c.LogMetric(t.Context(), "m", 1, 0)
	if err := c.Flush(t.Context()); err != nil {
		t.Fatalf("flush with 2 transient failures and 3 retries: %v", err)
	}
	if n := len(e.history(t, "m")); n != 1 {
		t.Errorf("%d points stored, want 1", n)
	}

	// Without retries the failure is reported and the items stay buffered for the next flush.
	c2 := e.client(t, tracking.Options{MaxRetries: -1})
	e.failNext.Store(1)
	c2.LogMetric(t.Context(), "n", 1, 0)
	err := c2.Flush(t.Context())
	var se *tracking.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusServiceUnavailable || !se.Transient() {
		t.Fatalf("flush error %v, want a transient 503", err)
	}
	if err := c2.Flush(t.Context()); err != nil {
		t.Fatalf("second flush: %v", err)
	}
	if n := len(e.history(t, "n")); n != 1 {
		t.Errorf("%d points stored after the second flush, want 1", n)
	}
}

func TestParamsAreWriteOnce(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, tracking.Options{})
	ctx := t.Context()
	if err := c.LogParam(ctx, "lr", "0.1"); err != nil {
		t.Fatal(err)
	}
	if err := c.LogParam(ctx, "lr", "0.1"); err != nil {
		t.Errorf("same value again: %v", err)
	}
	if err := c.LogParam(ctx, "lr", "0.2"); err == nil {
		t.Error("changing a param: no error")
	}
	if err := c.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	// Another writer logged "opt" already: the server rejects the batch, and the client reports
	// it without retrying.
	if err := e.st.LogBatch(ctx, e.run, []store.Param{{Key: "opt", Value: "sgd"}}, nil, nil); err != nil {
		t.Fatal(err)
	}
	c.LogParam(ctx, "opt", "adam")
	err := c.Flush(ctx)
	var se *tracking.StatusError
	if !errors.As(err, &se) || se.ErrorCode != "INVALID_PARAMETER_VALUE" || se.Transient() {
		t.Errorf("flush error %v, want INVALID_PARAMETER_VALUE", err)
	}
	if err := c.Flush(ctx); err != nil {
		t.Errorf("the rejected batch was kept: %v", err)
	}
}

func TestClose(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, tracking.Options{})
	c.SetTag(t.Context(), "k", "v")
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	if ts, _ := e.st.ListTags(t.Context(), e.run); !cmp.Equal(ts, []store.Tag{{Key: "k", Value: "v"}}) {
		t.Errorf("tags after Close: %v", ts)
	}
	if err := c.LogMetric(t.Context(), "m", 1, 0); !errors.Is(err, tracking.ErrClosed) {
		t.Errorf("LogMetric after Close: %v", err)
	}
	if err := c.Close(t.Context()); !errors.Is(err, tracking.ErrClosed) {
		t.Errorf("second Close: %v", err)
	}
}

func TestConcurrentLogging(t *testing.T) {
	e := newEnv(t)
	c := e.client(t, tracking.Options{FlushInterval: 5 * time.Millisecond})
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 1500 {
				if err := c.LogMetric(t.Context(), fmt.Sprintf("g%d", g), float64(i), int64(i)); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := c.Close(t.Context()); err != nil {
		t.Fatal(err)
	}
	for g := range 4 {
		h := e.history(t, fmt.Sprintf("g%d", g))
		if len(h) != 1500 {
			t.Fatalf("series g%d has %d points, want 1500", g, len(h))
		}
		for i, m := range h {
			if m.Step != int64(i) {
				t.Fatalf("series g%d point %d has step %d", g, i, m.Step)
			}
		}
	}
}

func TestFromEnv(t *testing.T) {
	t.Setenv(tracking.EnvAPIURL, "")
	t.Setenv(tracking.EnvRunID, "")
	if _, err := tracking.FromEnv(); !errors.Is(err, tracking.ErrNotConfigured) {
		t.Errorf("FromEnv without environment: %v", err)
	}
	s := newAuthServer(t, "")
	t.Setenv(tracking.EnvAPIURL, s.url)
	t.Setenv(tracking.EnvRunID, s.run)
	t.Setenv(tracking.EnvToken, "s3cret")
	t.Setenv(tracking.EnvNamespace, "team-a")
	c, err := tracking.FromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.RunID() != s.run {
		t.Errorf("RunID %q, want %q", c.RunID(), s.run)
	}
	c.LogParam(t.Context(), "from", "env")
	if err := c.Close(t.Context()); err != nil {
		t.Fatalf("close (token and namespace from the environment): %v", err)
	}
	if ps, _ := s.st.ListParams(t.Context(), s.run); !cmp.Equal(ps, []store.Param{{Key: "from", Value: "env"}}) {
		t.Errorf("params %v", ps)
	}
	// A wrong token is rejected, not retried.
	t.Setenv(tracking.EnvToken, "wrong")
	c, _ = tracking.FromEnv()
	c.LogParam(t.Context(), "x", "y")
	err = c.Close(t.Context())
	var se *tracking.StatusError
	if !errors.As(err, &se) || se.Status != http.StatusUnauthorized {
		t.Errorf("wrong token: %v", err)
	}
}

// authServer is Kiln's real server (REST API and the mounted MLflow API) with a tokens file
// that lets token s3cret edit namespace team-a.
type authServer struct {
	url string
	st  store.Store
	run string
}

// newAuthServer starts the server; with artifactDir set, the MLflow API serves its artifact
// proxy from there.
func newAuthServer(t *testing.T, artifactDir string) *authServer {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(dir, "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := filepath.Join(dir, "tokens.yaml")
	if err := os.WriteFile(tokens, []byte("users:\n- name: alice\n  tokens: [s3cret]\n  namespaces: {team-a: editor}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The MLflow API mounted as the server's command is meant to mount it.
	var mounts []server.Mount
	for _, p := range append(slices.Clone(mlflow.Prefixes), mlflow.ArtifactsPrefixes...) {
		mounts = append(mounts, server.Mount{Pattern: p, Handler: func(st store.Store, log *slog.Logger, auth server.Authorizer) http.Handler {
			opts := []mlflow.Option{mlflow.WithAuthorizer(auth)}
			if artifactDir != "" {
				opts = append(opts, mlflow.WithArtifactDir(artifactDir))
			} else {
				opts = append(opts, mlflow.WithArtifactRoot("s3://bucket/kiln"))
			}
			return mlflow.NewHandler(st, log, opts...)
		}})
	}
	srv, err := server.New(t.Context(), server.Config{Store: st, DataDir: dir, TokensFile: tokens, SchedulerInterval: -1,
		Mounts: mounts})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		srv.Close()
	})
	r := &store.Run{Namespace: "team-a", Phase: store.PhaseRunning}
	if err := st.CreateRun(t.Context(), r); err != nil {
		t.Fatal(err)
	}
	return &authServer{url: ts.URL, st: st, run: r.ID}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

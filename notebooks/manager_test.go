package notebooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// recordingSpawner is a pure-logic stand-in for a spawner: it remembers what runs and points
// Endpoint at a test server that speaks the two Jupyter endpoints the culler reads. The real
// spawners are tested against real Jupyter and a real kube-apiserver in their own packages.
type recordingSpawner struct {
	mu       sync.Mutex
	running  map[string]bool
	calls    []string
	jupyter  *httptest.Server
	startErr error
}

func (s *recordingSpawner) Start(ctx context.Context, nb *Notebook) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "start "+nb.Namespace+"/"+nb.Name)
	if s.startErr != nil {
		return s.startErr
	}
	s.running[nb.Namespace+"/"+nb.Name] = true
	return nil
}

func (s *recordingSpawner) Stop(ctx context.Context, ns, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "stop "+ns+"/"+name)
	delete(s.running, ns+"/"+name)
	return nil
}

func (s *recordingSpawner) Delete(ctx context.Context, ns, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, "delete "+ns+"/"+name)
	delete(s.running, ns+"/"+name)
	return nil
}

func (s *recordingSpawner) Status(ctx context.Context, ns, name string) (Status, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running[ns+"/"+name] {
		return Status{Phase: PhaseRunning}, nil
	}
	return Status{Phase: PhaseStopped}, nil
}

func (s *recordingSpawner) Endpoint(ctx context.Context, ns, name string) (*url.URL, string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.running[ns+"/"+name] {
		return nil, "", ErrNotRunning
	}
	u, _ := url.Parse(s.jupyter.URL)
	return u, "secret", nil
}

func (s *recordingSpawner) Close(ctx context.Context) error { return nil }

func (s *recordingSpawner) Calls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.calls...)
}

// jupyterAPI serves /api/status and /api/kernels like Jupyter, with settable answers, and
// checks the token and the no_track_activity flag.
type jupyterAPI struct {
	mu           sync.Mutex
	lastActivity time.Time
	kernels      []map[string]any
}

func (j *jupyterAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "token secret" || r.URL.Query().Get("no_track_activity") == "" {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	switch {
	case strings.HasSuffix(r.URL.Path, "/api/status"):
		json.NewEncoder(w).Encode(map[string]any{"last_activity": j.lastActivity.Format(time.RFC3339Nano), "kernels": len(j.kernels)})
	case strings.HasSuffix(r.URL.Path, "/api/kernels"):
		json.NewEncoder(w).Encode(j.kernels)
	default:
		http.NotFound(w, r)
	}
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.now = c.now.Add(d) }

func newTestManager(t *testing.T, opts Options) (*Manager, *recordingSpawner, *jupyterAPI, *clock) {
	t.Helper()
	j := &jupyterAPI{}
	srv := httptest.NewServer(j)
	t.Cleanup(srv.Close)
	sp := &recordingSpawner{running: map[string]bool{}, jupyter: srv}
	repo, err := NewFileRepository(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	c := &clock{now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	j.lastActivity = c.now
	opts.Repository, opts.Spawner, opts.Now = repo, sp, c.Now
	m, err := NewManager(opts)
	if err != nil {
		t.Fatal(err)
	}
	return m, sp, j, c
}

func TestCull(t *testing.T) {
	ctx := context.Background()
	m, sp, j, c := newTestManager(t, Options{DefaultIdleTimeout: 10 * time.Minute})
	mustCreate := func(name string, timeout *Duration) {
		t.Helper()
		if _, err := m.Create(ctx, &Notebook{Name: name, Namespace: "ns", Spec: Spec{IdleTimeout: timeout}}); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate("default", nil)
	mustCreate("short", &Duration{Duration: 2 * time.Minute})
	mustCreate("never", &Duration{Duration: 0})
	phases := func() map[string]Phase {
		nbs, err := m.List(ctx, "ns")
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]Phase{}
		for _, nb := range nbs {
			out[nb.Name] = nb.Status.Phase
		}
		return out
	}

	// Three minutes idle: only the short timeout expires.
	c.Add(3 * time.Minute)
	m.Cull(ctx)
	if diff := cmp.Diff(map[string]Phase{"default": PhaseRunning, "short": PhaseStopped, "never": PhaseRunning}, phases()); diff != "" {
		t.Errorf("after 3m (-want +got):\n%s", diff)
	}
	short, _ := m.Get(ctx, "ns", "short")
	last := short.Status.Events[len(short.Status.Events)-1]
	if last.Reason != "Culled" || !strings.Contains(last.Message, "idle timeout 2m0s") {
		t.Errorf("last event = %+v, want Culled with the timeout", last)
	}

	// A busy kernel is activity, whatever its timestamp says.
	j.mu.Lock()
	j.kernels = []map[string]any{{"id": "k1", "execution_state": "busy", "last_activity": j.lastActivity.Format(time.RFC3339Nano)}}
	j.mu.Unlock()
	c.Add(9 * time.Minute)
	m.Cull(ctx)
	if got := phases()["default"]; got != PhaseRunning {
		t.Errorf("busy notebook is %s, want Running", got)
	}
	nb, _ := m.Get(ctx, "ns", "default")
	if !nb.Status.LastActivity.Equal(c.Now()) {
		t.Errorf("last activity = %s, want now %s", nb.Status.LastActivity, c.Now())
	}

	// Idle kernels with recent activity keep it alive; later silence stops it.
	j.mu.Lock()
	j.kernels = []map[string]any{{"id": "k1", "execution_state": "idle", "last_activity": c.Now().Add(-time.Minute).Format(time.RFC3339Nano)}}
	j.mu.Unlock()
	c.Add(9 * time.Minute)
	m.Cull(ctx)
	if got := phases()["default"]; got != PhaseRunning {
		t.Errorf("after 9m idle: %s, want Running", got)
	}
	c.Add(2 * time.Minute)
	m.Cull(ctx)
	if diff := cmp.Diff(map[string]Phase{"default": PhaseStopped, "short": PhaseStopped, "never": PhaseRunning}, phases()); diff != "" {
		t.Errorf("after 11m idle (-want +got):\n%s", diff)
	}

	// A culled notebook starts again and is not culled on the next pass for its old idleness.
	if _, err := m.Start(ctx, "ns", "short"); err != nil {
		t.Fatal(err)
	}
	m.Cull(ctx)
	if got := phases()["short"]; got != PhaseRunning {
		t.Errorf("restarted notebook is %s after a cull pass, want Running", got)
	}
	want := []string{"start ns/default", "start ns/short", "start ns/never", "stop ns/short", "stop ns/default", "start ns/short"}
	if diff := cmp.Diff(want, sp.Calls()); diff != "" {
		t.Errorf("spawner calls (-want +got):\n%s", diff)
	}
}

func TestReconcile(t *testing.T) {
	ctx := context.Background()
	m, sp, _, _ := newTestManager(t, Options{APIURL: "http://kiln:8080"})
	for _, name := range []string{"a", "b"} {
		if _, err := m.Create(ctx, &Notebook{Name: name, Namespace: "ns", Owner: "alice"}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := m.Stop(ctx, "ns", "b"); err != nil {
		t.Fatal(err)
	}
	// A new life of the server: nothing runs; reconcile restarts a and makes sure b is stopped.
	sp.mu.Lock()
	sp.running, sp.calls = map[string]bool{}, nil
	sp.mu.Unlock()
	if nb, _ := m.Get(ctx, "ns", "a"); nb.Status.Phase != PhasePending {
		t.Errorf("before reconcile a is %s, want Pending", nb.Status.Phase)
	}
	if err := m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"start ns/a", "stop ns/b"}, sp.Calls()); diff != "" {
		t.Errorf("calls (-want +got):\n%s", diff)
	}
}

func TestLaunchEnv(t *testing.T) {
	ctx := context.Background()
	m, _, _, _ := newTestManager(t, Options{APIURL: "http://kiln:8080",
		Credentials: func(ctx context.Context, nb *Notebook) ([]EnvVar, error) {
			return []EnvVar{{Name: "KILN_TOKEN", Value: "tok-" + nb.Owner}}, nil
		}})
	nb := &Notebook{Name: "nb", Namespace: "ns", Owner: "alice", Spec: Spec{Env: []EnvVar{{Name: "A", Value: "1"}}}}
	got, err := m.launchSpec(ctx, nb)
	if err != nil {
		t.Fatal(err)
	}
	want := []EnvVar{{Name: "A", Value: "1"}, {Name: EnvAPIURL, Value: "http://kiln:8080"}, {Name: EnvNamespace, Value: "ns"},
		{Name: EnvNotebook, Value: "nb"}, {Name: EnvUser, Value: "alice"}, {Name: "KILN_TOKEN", Value: "tok-alice"}}
	if diff := cmp.Diff(want, got.Spec.Env); diff != "" {
		t.Errorf("env (-want +got):\n%s", diff)
	}
	if len(nb.Spec.Env) != 1 {
		t.Errorf("launchSpec changed the record's env: %v", nb.Spec.Env)
	}
}

func TestStartFailureIsVisible(t *testing.T) {
	ctx := context.Background()
	m, sp, _, _ := newTestManager(t, Options{})
	sp.startErr = errors.New("no jupyter here")
	nb, err := m.Create(ctx, &Notebook{Name: "nb", Namespace: "ns"})
	if err != nil {
		t.Fatal(err)
	}
	if nb.Status.Phase != PhaseFailed || nb.Status.Message != "no jupyter here" {
		t.Errorf("status = %s %q, want Failed with the start error", nb.Status.Phase, nb.Status.Message)
	}
	// Failed notebooks can always be deleted.
	if err := m.Delete(ctx, "ns", "nb"); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Get(ctx, "ns", "nb"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after delete: %v, want ErrNotFound", err)
	}
}

func TestAPIErrors(t *testing.T) {
	m, _, _, _ := newTestManager(t, Options{})
	auth := AuthorizerFunc(func(r *http.Request, ns string) (string, error) {
		switch r.Header.Get("Authorization") {
		case "":
			return "", ErrUnauthenticated
		case "Bearer alice":
			if ns == "team-a" {
				return "alice", nil
			}
		}
		return "", fmt.Errorf("no access to %s", ns)
	})
	srv := httptest.NewServer(m.Handler(auth))
	defer srv.Close()
	do := func(user, method, path, body, origin string) (int, ErrorResponse) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if user != "" {
			req.Header.Set("Authorization", "Bearer "+user)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var e ErrorResponse
		json.NewDecoder(resp.Body).Decode(&e)
		return resp.StatusCode, e
	}
	tests := []struct {
		name, user, method, path, body, origin string
		wantCode                               int
		wantFields                             []string
	}{
		{name: "no credentials", method: "GET", path: "/api/v1/notebooks/team-a", wantCode: 401},
		{name: "other namespace", user: "alice", method: "GET", path: "/api/v1/notebooks/team-b", wantCode: 403},
		{name: "other namespace proxy", user: "alice", method: "GET", path: "/notebook/team-b/nb/api/status", wantCode: 403},
		{name: "bad json", user: "alice", method: "POST", path: "/api/v1/notebooks/team-a", body: `{"name":`, wantCode: 400},
		{name: "unknown field", user: "alice", method: "POST", path: "/api/v1/notebooks/team-a", body: `{"name":"nb","spek":{}}`, wantCode: 400},
		{name: "invalid spec", user: "alice", method: "POST", path: "/api/v1/notebooks/team-a",
			body:     `{"name":"Bad Name","spec":{"resources":{"cpu":"lots"},"idleTimeout":"-1m"}}`,
			wantCode: 400, wantFields: []string{"name", "spec.resources.cpu", "spec.idleTimeout"}},
		{name: "missing notebook", user: "alice", method: "GET", path: "/api/v1/notebooks/team-a/nope", wantCode: 404},
		{name: "missing notebook proxy", user: "alice", method: "GET", path: "/notebook/team-a/nope/api/status", wantCode: 404},
		{name: "create", user: "alice", method: "POST", path: "/api/v1/notebooks/team-a", body: `{"name":"nb"}`, wantCode: 201},
		{name: "create twice", user: "alice", method: "POST", path: "/api/v1/notebooks/team-a", body: `{"name":"nb"}`, wantCode: 409},
		{name: "cross-site post through proxy", user: "alice", method: "POST", path: "/notebook/team-a/nb/api/kernels",
			origin: "https://evil.example", wantCode: 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, e := do(tt.user, tt.method, tt.path, tt.body, tt.origin)
			if code != tt.wantCode || (code >= 400 && e.Error.Code != tt.wantCode) {
				t.Errorf("HTTP %d (body code %d, %q), want %d", code, e.Error.Code, e.Error.Message, tt.wantCode)
			}
			var fields []string
			for _, f := range e.Error.Fields {
				fields = append(fields, f.Field)
			}
			if diff := cmp.Diff(tt.wantFields, fields); diff != "" {
				t.Errorf("fields (-want +got):\n%s", diff)
			}
		})
	}
}

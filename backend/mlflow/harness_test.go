package mlflow_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/postgres"
	"github.com/kilnml/kiln/backend/store/sqlite"
	pgtest "github.com/kilnml/kiln/internal/testenv/postgres"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// backends opens each real store: SQLite always, PostgreSQL when its binaries are installed
// (the subtest skips locally without them and fails under CI=true).
var backends = []struct {
	name string
	open func(t *testing.T) store.Store
}{
	{"sqlite", func(t *testing.T) store.Store {
		s, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
		if err != nil {
			t.Fatalf("open sqlite: %v", err)
		}
		return s
	}},
	{"postgres", func(t *testing.T) store.Store {
		s, err := postgres.Open(t.Context(), postgres.Options{DSN: pgtest.Start(t)})
		if err != nil {
			t.Fatalf("open postgres: %v", err)
		}
		return s
	}},
}

// api is an MLflow REST client for tests.
type api struct {
	t    *testing.T
	base string
	st   store.Store
}

// forEachStore runs f against an httptest server around the handler over each real store.
func forEachStore(t *testing.T, f func(t *testing.T, c *api), opts ...mlflow.Option) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			st := b.open(t)
			t.Cleanup(func() { st.Close() })
			srv := httptest.NewServer(mlflow.NewHandler(st, nil, opts...))
			t.Cleanup(srv.Close)
			f(t, &api{t: t, base: srv.URL, st: st})
		})
	}
}

type obj = map[string]any

// do sends one request: GET parameters in the query, other bodies as JSON. It returns the
// status and the decoded body.
func (c *api) do(method, path string, req obj) (int, obj) {
	c.t.Helper()
	u := c.base + "/api/2.0/mlflow/" + path
	var body io.Reader
	if method == http.MethodGet {
		q := url.Values{}
		for k, v := range req {
			switch v := v.(type) {
			case []string:
				q[k] = v
			default:
				b, _ := json.Marshal(v)
				if s, ok := v.(string); ok {
					q.Set(k, s)
				} else {
					q.Set(k, string(b))
				}
			}
		}
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
	} else {
		b, err := json.Marshal(req)
		if err != nil {
			c.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	r, err := http.NewRequest(method, u, body)
	if err != nil {
		c.t.Fatal(err)
	}
	r.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(r)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out obj
	if err := json.Unmarshal(raw, &out); err != nil {
		c.t.Fatalf("%s %s: %d, body %q is not a JSON object: %v", method, path, resp.StatusCode, raw, err)
	}
	return resp.StatusCode, out
}

// ok sends a request that must succeed.
func (c *api) ok(method, path string, req obj) obj {
	c.t.Helper()
	status, out := c.do(method, path, req)
	if status != http.StatusOK {
		c.t.Fatalf("%s %s %v: status %d, body %v", method, path, req, status, out)
	}
	return out
}

// fails sends a request that must fail with status and MLflow error code.
func (c *api) fails(method, path string, req obj, status int, code string) obj {
	c.t.Helper()
	got, out := c.do(method, path, req)
	if got != status || out["error_code"] != code {
		c.t.Fatalf("%s %s %v: got %d %v, want %d %s", method, path, req, got, out, status, code)
	}
	if msg, _ := out["message"].(string); msg == "" {
		c.t.Errorf("%s %s: error without message: %v", method, path, out)
	}
	return out
}

// get walks a decoded JSON value along keys and indexes.
func get(v any, path ...any) any {
	for _, p := range path {
		switch p := p.(type) {
		case string:
			m, _ := v.(obj)
			v = m[p]
		case int:
			l, _ := v.([]any)
			if p >= len(l) {
				return nil
			}
			v = l[p]
		}
	}
	return v
}

// kv turns MLflow's [{key, value}] lists into a map.
func kv(v any) map[string]any {
	out := map[string]any{}
	l, _ := v.([]any)
	for _, e := range l {
		m := e.(obj)
		out[m["key"].(string)] = m["value"]
	}
	return out
}

func (c *api) createExperiment(name string) string {
	c.t.Helper()
	return c.ok("POST", "experiments/create", obj{"name": name})["experiment_id"].(string)
}

func (c *api) createRun(expID string, extra obj) string {
	c.t.Helper()
	req := obj{"experiment_id": expID, "start_time": 1700000000000}
	for k, v := range extra {
		req[k] = v
	}
	return get(c.ok("POST", "runs/create", req), "run", "info", "run_id").(string)
}

func stringReader(s string) io.Reader { return bytes.NewReader([]byte(s)) }

func decodeBody(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("decode response: %v", err)
	}
}

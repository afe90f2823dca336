package api_test

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/postgres"
	"github.com/kilnml/kiln/backend/store/sqlite"
	pgenv "github.com/kilnml/kiln/internal/testenv/postgres"
)

func TestMain(m *testing.M) { pgenv.Main(m) }

// env is a real server behind httptest with a client of it.
type env struct {
	url string
	c   *client.Client
	srv *server.Server
	dir string
}

// forEachStore runs fn against a server on a SQLite file and on PostgreSQL.
func forEachStore(t *testing.T, fn func(t *testing.T, e *env)) {
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, newEnv(t, st, server.Config{}))
	})
	t.Run("postgres", func(t *testing.T) {
		dsn := pgenv.Start(t)
		st, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		fn(t, newEnv(t, st, server.Config{}))
	})
}

func newEnv(t *testing.T, st store.Store, cfg server.Config) *env {
	t.Helper()
	dir := t.TempDir()
	cfg.Store, cfg.DataDir = st, dir
	cfg.SchedulerInterval = -1
	srv, err := server.New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		if err := srv.Close(); err != nil {
			t.Error(err)
		}
	})
	return &env{url: ts.URL, c: client.New(ts.URL, client.Options{}), srv: srv, dir: dir}
}

// ctx returns a context bounded for one test.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// echoSpec is a one-task workflow whose container echoes its inputs; fail=true makes it exit 1.
const echoSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: echo-
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: message
      value: hello
    - name: count
      value: "3"
  templates:
  - name: main
    dag:
      tasks:
      - name: say
        template: say
        arguments:
          parameters:
          - name: message
            value: "{{workflow.parameters.message}}"
          - name: count
            value: "{{workflow.parameters.count}}"
  - name: say
    inputs:
      parameters:
      - name: message
      - name: count
    script:
      image: alpine
      command: [sh]
      source: |
        echo "said {{inputs.parameters.message}} x{{inputs.parameters.count}} run=$KILN_RUN_ID"
`

// retrySpec fails in task "flaky" until MARKER exists (it creates it), after task "first" appended a
// line to COUNTER: a retry must run flaky again and leave first alone.
func retrySpec(dir string) string {
	s := `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: flaky-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: first
        template: count
      - name: flaky
        template: flaky
        depends: first
  - name: count
    script:
      image: alpine
      command: [sh]
      source: echo ran >> COUNTER
  - name: flaky
    script:
      image: alpine
      command: [sh]
      source: |
        if [ -f MARKER ]; then echo ok; exit 0; fi
        touch MARKER; echo failing; exit 1
`
	s = strings.ReplaceAll(s, "COUNTER", filepath.Join(dir, "counter"))
	return strings.ReplaceAll(s, "MARKER", filepath.Join(dir, "marker"))
}

const sleepSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: sleepy-
spec:
  entrypoint: nap
  templates:
  - name: nap
    script:
      image: alpine
      command: [sh]
      source: sleep 30
`

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Package testserver starts a real embedded Kiln server (SQLite, local engine, the REST API and
// the MLflow-compatible tracking API) on a loopback port for the components' integration
// tests: components then reach it through KILN_API_URL exactly as under `kiln server`.
package testserver

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/compiler"
	"github.com/kilnml/kiln/dsl"
)

// Server is a running embedded server.
type Server struct {
	// URL is the server's base URL (http://127.0.0.1:PORT).
	URL string
	// Client calls its REST API.
	Client *client.Client
}

// Start starts a server whose local engine runs Go-function components with the running test
// binary (so the test's TestMain must be kilntest.Main) and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	var once sync.Once
	var mh http.Handler
	factory := func(st store.Store, log *slog.Logger, auth server.Authorizer) http.Handler {
		once.Do(func() { mh = mlflow.NewHandler(st, log, mlflow.WithAuthorizer(auth)) })
		return mh
	}
	var mounts []server.Mount
	for _, p := range slices.Clone(mlflow.Prefixes) {
		mounts = append(mounts, server.Mount{Pattern: p, Handler: factory})
	}
	srv, err := server.New(context.Background(), server.Config{
		DataDir: t.TempDir(), Addr: ln.Addr().String(), APIURL: url, PipelineBinary: self,
		SchedulerInterval: -1, Mounts: mounts,
	})
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() {
		hs.Close()
		srv.Close()
	})
	return &Server{URL: url, Client: client.New(url, client.Options{})}
}

// Run compiles p with params, uploads it, runs it on the server and waits (up to timeout) for
// the run to finish; it returns the finished run.
func (s *Server) Run(t testing.TB, p *dsl.Pipeline, params map[string]string, timeout time.Duration) *api.Run {
	t.Helper()
	res, err := compiler.Compile(p, compiler.Options{Image: "local", Params: params})
	if err != nil {
		t.Fatalf("compile: %v", err)
	}
	y, err := res.YAML()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	pl, err := s.Client.UploadPipeline(ctx, p.Name()+"-"+time.Now().Format("150405.000000"), "", y)
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	run, err := s.Client.CreateRun(ctx, api.CreateRunRequest{Name: p.Name(), PipelineVersionID: pl.Version.ID})
	if err != nil {
		t.Fatalf("create run: %v", err)
	}
	done, err := s.Client.WaitRun(ctx, run.ID, 200*time.Millisecond)
	if err != nil {
		t.Fatalf("wait for run %s: %v", run.ID, err)
	}
	return done
}

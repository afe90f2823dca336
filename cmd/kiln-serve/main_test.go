package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/components/register"
)

// kiln-serve serving NAME@ALIAS from the file registry tags the server registry's version
// that alias points at with its base URL, and a NAME:VERSION=PATH model with the version given.
func TestEndpointTag(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tab, err := dataset.ReadFile(ctx, filepath.Join("..", "..", "datasets", "breast-cancer", "data.csv"), "", dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Train(tab, model.TrainConfig{Kind: model.LogisticRegression, Target: "diagnosis"})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "model.json")
	if err := m.SaveFile(ctx, path); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	srv := startServer(t)
	reg := register.APIRegistry{URL: srv.URL}
	for _, r := range []register.Registry{register.FileRegistry{Dir: dir}, reg} {
		if _, err := register.RegisterAndPromote(ctx, r, "cancer", path, map[string]float64{"accuracy": 0.9}, nil, "production", "accuracy", "maximize"); err != nil {
			t.Fatal(err)
		}
	}
	// A second server version, not behind the alias, served by path.
	second, err := reg.Register(ctx, "cancer", path, map[string]float64{"accuracy": 0.5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	ready := make(chan string, 1)
	errc := make(chan error, 1)
	cfg := config{addr: "127.0.0.1:0", registry: dir, kilnServer: srv.URL, ready: ready,
		models: []string{"cancer@production", "other:2=" + path}}
	go func() { errc <- run(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	var base string
	select {
	case base = <-ready:
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(time.Minute):
		t.Fatal("kiln-serve did not start")
	}
	resp, err := http.Get(base + "/v2/models/cancer/ready")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("model not ready at %s: %v %v", base, resp, err)
	}
	resp.Body.Close()
	tags := func(v int) map[string]string {
		t.Helper()
		var mv api.ModelVersion
		resp, err := http.Get(srv.URL + "/api/v1/models/cancer/versions/" + itoa(v))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if err := json.NewDecoder(resp.Body).Decode(&mv); err != nil {
			t.Fatal(err)
		}
		return mv.Tags
	}
	if got := tags(1)[api.EndpointTag]; got != base {
		t.Errorf("version 1 (production): %s = %q, want %q", api.EndpointTag, got, base)
	}
	// "other:2" names a model the server registry does not have: logged, not tagged, not fatal.
	if got, ok := tags(second.Version)[api.EndpointTag]; ok {
		t.Errorf("version %d, not served, tagged %q", second.Version, got)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Errorf("shutdown: %v", err)
	}
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }

type kilnServer struct{ URL string }

// startServer runs an embedded Kiln server (SQLite, REST API, MLflow-compatible registry API)
// on a loopback port until the test ends.
func startServer(t *testing.T) kilnServer {
	t.Helper()
	factory := func(st store.Store, log *slog.Logger, auth server.Authorizer) http.Handler {
		return mlflow.NewHandler(st, log, mlflow.WithAuthorizer(auth))
	}
	var mounts []server.Mount
	for _, p := range mlflow.Prefixes {
		mounts = append(mounts, server.Mount{Pattern: p, Handler: factory})
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s, err := server.New(t.Context(), server.Config{DataDir: t.TempDir(), Addr: ln.Addr().String(), SchedulerInterval: -1, Mounts: mounts})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.Handler()}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close(); s.Close() })
	return kilnServer{URL: "http://" + ln.Addr().String()}
}

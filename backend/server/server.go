// Package server assembles Kiln's backend: a store (SQLite file by default, PostgreSQL in
// production), an engine (local by default), the run manager with its scheduler, the REST API,
// health and Prometheus endpoints, and optional extra handlers (the MLflow-compatible API,
// notebooks), into one http.Handler and one process.
//
//	srv, err := server.New(ctx, server.Config{DataDir: dir, Addr: "127.0.0.1:8080"})
//	defer srv.Close()
//	err = srv.ListenAndServe(ctx) // until ctx ends
package server

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/kilnml/kiln/portal"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/kilnml/kiln/artifactstore"
	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/leader"
	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/postgres"
	"github.com/kilnml/kiln/backend/store/sqlite"
	"github.com/kilnml/kiln/engine"
	"github.com/kilnml/kiln/engine/local"
)

// HandlerFactory builds a handler that shares the server's store, logger and authentication,
// such as the MLflow-compatible API (backend/mlflow.NewHandler has this shape apart from the
// Authorizer, which it may ignore).
type HandlerFactory func(st store.Store, log *slog.Logger, auth Authorizer) http.Handler

// Authorizer checks a request's access to a namespace and returns its user; it is the REST
// API's own authentication, offered to extra handlers.
type Authorizer interface {
	Authorize(r *http.Request, namespace string, write bool) (user string, err error)
}

// Mount is an extra handler served under Pattern (a ServeMux pattern such as "/api/2.0/mlflow/").
// When the server has tokens, requests reach the handler only with a valid bearer token; the
// handler checks namespaces itself through the Authorizer it is given.
type Mount struct {
	Pattern string
	Handler HandlerFactory
}

// MountFunc adapts a constructor of the shape NewHandler(store.Store, *slog.Logger) http.Handler
// (the MLflow-compatible API's) to a Mount:
//
//	cfg.Mounts = append(cfg.Mounts, server.MountFunc("/api/2.0/mlflow/", mlflow.NewHandler))
func MountFunc[H http.Handler](pattern string, newHandler func(store.Store, *slog.Logger) H) Mount {
	return Mount{Pattern: pattern, Handler: func(st store.Store, log *slog.Logger, _ Authorizer) http.Handler {
		return newHandler(st, log)
	}}
}

// Config configures a Server. The zero value is the embedded default: SQLite and runs under
// DataDir, local engine, single-user without tokens, listening on 127.0.0.1:8080.
type Config struct {
	// DataDir holds kiln.db (SQLite), runs/ (the local engine's run directories) and
	// notebooks/. Empty means the directory of sqlite.DefaultPath().
	DataDir string
	// Addr is the listen address; empty means DefaultAddr.
	Addr string
	// DatabaseURL, when set, is a PostgreSQL DSN (postgres://…) used instead of SQLite.
	DatabaseURL string
	// Store, when set, is used instead of opening one (tests); the server does not close it.
	Store store.Store
	// Engine, when set, is used instead of a local engine under DataDir/runs.
	Engine engine.Engine
	// Logger receives structured logs; nil discards them.
	Logger *slog.Logger
	// TokensFile configures bearer tokens (see TokensFile). Without it the server is
	// single-user and refuses to listen on a non-loopback address.
	TokensFile string
	// PipelineBinary runs Kiln Go-function components in the local engine.
	PipelineBinary string
	// APIURL is the URL components use to reach this server (KILN_API_URL); empty means
	// http://Addr.
	APIURL string
	// ComponentToken is passed to components as KILN_TOKEN.
	ComponentToken string
	// SchedulerInterval is how often recurring runs are checked; 0 means 10s, negative disables
	// the scheduler.
	SchedulerInterval time.Duration
	// MaxBodyBytes bounds request bodies; 0 means api.DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Mounts are extra handlers, such as the MLflow API.
	Mounts []Mount
	// Notebooks mounts the notebooks API and proxy with the local Jupyter spawner; when
	// Jupyter is not installed the server logs it and runs without notebooks.
	Notebooks bool
	// ArtifactStore is the artifact store's bucket URL (s3://…, gs://…, file:///…) that
	// artifact keys without a bucket (Argo's repository keys) refer to; empty means
	// file://DataDir/artifacts. See package artifactstore.
	ArtifactStore string
	// Leader, when set, elects among replicas sharing the store and cluster the one that
	// follows runs and fires recurring runs (see package leader); every replica serves the
	// API. Nil means this process is the only one and leads from the start.
	Leader *leader.Config
	// LeaderScanInterval is how often the leader looks for runs created through other
	// replicas; 0 means runs.DefaultScanInterval.
	LeaderScanInterval time.Duration
}

// DefaultAddr is the embedded server's listen address.
const DefaultAddr = "127.0.0.1:8080"

// Server is an assembled backend. Create it with New, serve it with ListenAndServe or Handler,
// and Close it.
type Server struct {
	cfg     Config
	log     *slog.Logger
	st      store.Store
	ownSt   bool
	runs    *runs.Manager
	api     *api.Handler
	handler http.Handler
	metrics *metrics
	ready   atomic.Bool
	leading atomic.Bool
	cancel  context.CancelFunc
	bg      chan struct{}
	closers []func() error
}

// New opens the store, reconciles unfinished runs and assembles the handler. Background loops
// (scheduler, notebooks) start here and stop at Close.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = DefaultAddr
	}
	if cfg.TokensFile == "" && !isLoopback(cfg.Addr) {
		return nil, fmt.Errorf("server: without a tokens file the server is single-user and listens on loopback only, not %q", cfg.Addr)
	}
	if cfg.DataDir == "" {
		p, err := sqlite.DefaultPath()
		if err != nil {
			return nil, err
		}
		cfg.DataDir = filepath.Dir(p)
	}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("server: data directory: %w", err)
	}
	if cfg.APIURL == "" {
		cfg.APIURL = "http://" + cfg.Addr
	}
	s := &Server{cfg: cfg, log: cfg.Logger, bg: make(chan struct{})}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if err := s.open(ctx); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func (s *Server) open(ctx context.Context) error {
	cfg := s.cfg
	switch {
	case cfg.Store != nil:
		s.st = cfg.Store
	case cfg.DatabaseURL != "":
		st, err := postgres.Open(ctx, postgres.Options{DSN: cfg.DatabaseURL})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		s.st, s.ownSt = st, true
	default:
		st, err := sqlite.Open(ctx, sqlite.Options{Path: filepath.Join(cfg.DataDir, "kiln.db")})
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		s.st, s.ownSt = st, true
	}
	if cfg.TokensFile != "" {
		tf, err := LoadTokensFile(cfg.TokensFile)
		if err != nil {
			return fmt.Errorf("server: %w", err)
		}
		if err := applyTokens(ctx, s.st, tf); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	runDir := filepath.Join(cfg.DataDir, "runs")
	eng := cfg.Engine
	if eng == nil {
		env := []string{"KILN_API_URL=" + cfg.APIURL}
		if cfg.ComponentToken != "" {
			env = append(env, "KILN_TOKEN="+cfg.ComponentToken)
		}
		eng = local.New(local.Options{WorkDir: runDir, PipelineBinary: cfg.PipelineBinary, Logger: s.log.With("component", "engine"), Env: env})
	}
	mgr, err := runs.New(runs.Options{Store: s.st, Engine: eng, Logger: s.log.With("component", "runs"),
		RunDir: func(id string) string { return filepath.Join(runDir, id) }, Elected: cfg.Leader != nil})
	if err != nil {
		return err
	}
	s.runs = mgr
	s.closers = append(s.closers, mgr.Close)
	if cfg.Leader != nil {
		// Elected replicas reconcile runs when they become the leader (runs.Manager.Lead).
		if err := cfg.Leader.Validate(); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	} else if err := mgr.Reconcile(ctx); err != nil {
		return fmt.Errorf("server: %w", err)
	}
	// Single-user (no tokens), the user may read their own files; with tokens, file:// artifacts
	// are served from the run directories and the default store only.
	fileRoots := []string{runDir}
	if cfg.TokensFile == "" {
		fileRoots = []string{"/"}
	}
	arts, err := artifactstore.New(ctx, artifactstore.Options{FileRoots: fileRoots, MLflowArtifactDir: filepath.Join(cfg.DataDir, "mlflow-artifacts"),
		DefaultBucket: cmp.Or(cfg.ArtifactStore, "file://"+filepath.Join(cfg.DataDir, "artifacts"))})
	if err != nil {
		return fmt.Errorf("server: artifact store: %w", err)
	}
	s.closers = append(s.closers, arts.Close)
	h, err := api.New(api.Options{Store: s.st, Runs: mgr, Logger: s.log.With("component", "api"), MaxBodyBytes: cfg.MaxBodyBytes,
		AuthDisabled: cfg.TokensFile == "", Artifacts: arts})
	if err != nil {
		return err
	}
	s.api = h
	s.metrics = newMetrics(s.st)
	s.metrics.leader(s.leading.Load)
	mux := http.NewServeMux()
	mux.Handle("/api/v1/", h)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", s.metrics.handler())
	// The portal: static pages that read the same /api/v1 as the CLI.
	mux.Handle("/", portal.Handler(portal.Options{Logger: s.log.With("component", "portal")}))
	for _, m := range cfg.Mounts {
		mh := m.Handler(s.st, s.log.With("component", strings.Trim(m.Pattern, "/")), h)
		if cfg.TokensFile != "" {
			mh = requireToken(h, mh)
		}
		mux.Handle(m.Pattern, mh)
	}
	bgCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	s.cancel = cancel
	var loops []func()
	if cfg.Notebooks {
		if run, err := s.mountNotebooks(bgCtx, mux); err != nil {
			s.log.Warn("notebooks disabled", "err", err)
		} else {
			loops = append(loops, run)
		}
	}
	if cfg.Leader != nil {
		loops = append(loops, func() { s.elect(bgCtx, mgr) })
	} else {
		s.leading.Store(true)
		if cfg.SchedulerInterval >= 0 {
			iv := cfg.SchedulerInterval
			if iv == 0 {
				iv = 10 * time.Second
			}
			loops = append(loops, func() { mgr.RunScheduler(bgCtx, iv) })
		}
	}
	go func() {
		defer close(s.bg)
		done := make(chan struct{}, len(loops))
		for _, l := range loops {
			go func() { l(); done <- struct{}{} }()
		}
		for range loops {
			<-done
		}
	}()
	s.handler = s.metrics.middleware(s.log, mux)
	s.ready.Store(true)
	return nil
}

// elect campaigns for leadership until ctx ends; while leading, the run manager follows every
// active run and runs the scheduler.
func (s *Server) elect(ctx context.Context, mgr *runs.Manager) {
	lc := *s.cfg.Leader
	if lc.Logger == nil {
		lc.Logger = s.log.With("component", "leader")
	}
	opts := runs.LeadOptions{ScanInterval: s.cfg.LeaderScanInterval, SchedulerInterval: s.cfg.SchedulerInterval}
	err := leader.Run(ctx, lc, func(ctx context.Context) {
		s.leading.Store(true)
		defer s.leading.Store(false)
		if err := mgr.Lead(ctx, opts); err != nil {
			s.log.Error("lead", "err", err)
		}
	})
	if err != nil {
		s.log.Error("leader election stopped; this replica will not lead", "err", err)
	}
}

// requireToken answers 401 to requests without a valid bearer token.
func requireToken(h *api.Handler, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, err := h.Authenticate(r); err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("WWW-Authenticate", `Bearer realm="kiln"`)
			w.WriteHeader(http.StatusUnauthorized)
			_ = json.NewEncoder(w).Encode(api.ErrorResponse{Error: api.ErrorBody{Code: api.CodeUnauthenticated, Message: err.Error()}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		http.Error(w, "starting", http.StatusServiceUnavailable)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if _, _, err := s.st.ListExperiments(ctx, store.ListOptions{Namespace: api.DefaultNamespace, PageSize: 1}, false); err != nil {
		s.log.Warn("readiness: store", "err", err)
		http.Error(w, "store unavailable", http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ok\n"))
}

// Handler returns the server's HTTP handler (API, health, metrics and mounts).
func (s *Server) Handler() http.Handler { return s.handler }

// Store returns the server's store.
func (s *Server) Store() store.Store { return s.st }

// Runs returns the server's run manager.
func (s *Server) Runs() *runs.Manager { return s.runs }

// Serve serves on ln until ctx ends, then shuts down gracefully.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	hs := &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn)}
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	s.log.Info("serving", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := hs.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// ListenAndServe listens on Config.Addr and serves until ctx ends.
func (s *Server) ListenAndServe(ctx context.Context) error {
	ln, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	return s.Serve(ctx, ln)
}

// Close stops the background loops, the run manager and the store it opened.
func (s *Server) Close() error {
	if s.cancel != nil {
		s.cancel()
		<-s.bg
	}
	var errs []error
	for i := len(s.closers) - 1; i >= 0; i-- {
		errs = append(errs, s.closers[i]())
	}
	if s.ownSt && s.st != nil {
		errs = append(errs, s.st.Close())
	}
	return errors.Join(errs...)
}

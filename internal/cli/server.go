package cli

import (
	"context"
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/spf13/pflag"

	"fmt"
	argoengine "github.com/kilnml/kiln/engine/argo"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
)

func init() { extraCommands = append(extraCommands, serverCommand) }

// serverCommand runs the backend: `kiln server [--data DIR] [--addr ADDR] [--db postgres://…]`.
func serverCommand() *cobra.Command {
	var cfg server.Config
	var logLevel, logFormat string
	var kube kubeFlags
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the Kiln backend (REST API, run manager, scheduler) in this process",
		Long: `Server runs Kiln's backend. By default it is embedded: one process, a SQLite file
and run directories under --data, the local engine, single-user on loopback. With
--db postgres://… it keeps its state in PostgreSQL; with --tokens FILE it requires
bearer tokens mapped to users and namespaces and may listen on any address.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var lvl slog.Level
			if err := lvl.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			hopts := &slog.HandlerOptions{Level: lvl}
			var h slog.Handler = slog.NewJSONHandler(cmd.ErrOrStderr(), hopts)
			if strings.EqualFold(logFormat, "text") {
				h = slog.NewTextHandler(cmd.ErrOrStderr(), hopts)
			}
			cfg.Logger = slog.New(h)
			if cfg.ComponentToken == "" {
				cfg.ComponentToken = os.Getenv("KILN_TOKEN")
			}
			cfg.Mounts = append(cfg.Mounts, mlflowMounts(cfg.DataDir)...)
			ctx := cmd.Context()
			eng, err := kube.newEngine(ctx, cfg.Logger)
			if err != nil {
				return err
			}
			if eng != nil {
				defer eng.Close()
				cfg.Engine = eng
			}
			srv, err := server.New(ctx, cfg)
			if err != nil {
				return err
			}
			defer srv.Close()
			return srv.ListenAndServe(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&cfg.DataDir, "data", "", "data directory (SQLite file, run directories); default ~/.local/share/kiln")
	f.StringVar(&cfg.Addr, "addr", server.DefaultAddr, "listen address")
	f.StringVar(&cfg.DatabaseURL, "db", "", "PostgreSQL DSN (postgres://…) instead of the embedded SQLite file")
	f.StringVar(&cfg.TokensFile, "tokens", "", "YAML file of users, bearer tokens and namespace roles; without it the server is single-user on loopback")
	f.StringVar(&cfg.PipelineBinary, "pipeline-binary", "", "pipeline program that runs Go-function components in the local engine")
	f.StringVar(&cfg.APIURL, "api-url", "", "URL components use to reach this server (default http://ADDR)")
	f.BoolVar(&cfg.Notebooks, "notebooks", true, "serve notebooks with the local Jupyter spawner when Jupyter is installed")
	f.StringVar(&cfg.ArtifactStore, "artifact-store", os.Getenv("KILN_ARTIFACT_STORE"), "bucket URL of the artifact store for keys Argo reports without a bucket: s3://BUCKET?endpoint=…&region=…&use_path_style=true, gs://BUCKET or file:///DIR (default DATA/artifacts)")
	f.DurationVar(&cfg.SchedulerInterval, "scheduler-interval", 0, "how often recurring runs are checked (default 10s; negative disables)")
	kube.register(f)
	f.StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn, error")
	f.StringVar(&logFormat, "log-format", "json", "log format: json or text")
	return cmd
}

// mlflowMounts serves the MLflow-compatible tracking API (and its artifact proxy, storing under
// DATA/mlflow-artifacts) with one handler under every prefix MLflow's server uses.
func mlflowMounts(dataDir string) []server.Mount {
	var once sync.Once
	var h http.Handler
	factory := func(st store.Store, log *slog.Logger, auth server.Authorizer) http.Handler {
		once.Do(func() {
			opts := []mlflow.Option{mlflow.WithAuthorizer(auth)}
			if dataDir != "" {
				opts = append(opts, mlflow.WithArtifactDir(filepath.Join(dataDir, "mlflow-artifacts")))
			}
			h = mlflow.NewHandler(st, log, opts...)
		})
		return h
	}
	var mounts []server.Mount
	for _, p := range append(slices.Clone(mlflow.Prefixes), mlflow.ArtifactsPrefixes...) {
		mounts = append(mounts, server.Mount{Pattern: p, Handler: factory})
	}
	return mounts
}

// kubeFlags choose the engine: the local one (embedded default) or Argo Workflows on Kubernetes.
type kubeFlags struct {
	engine, kubeconfig, kubeContext, namespace, serviceAccount string
}

func (k *kubeFlags) register(f *pflag.FlagSet) {
	f.StringVar(&k.engine, "engine", envOr("KILN_ENGINE", "local"), "where runs execute: local (this machine) or kubernetes (Argo Workflows)")
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file for --engine kubernetes (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	f.StringVar(&k.kubeContext, "kube-context", "", "kubeconfig context for --engine kubernetes")
	f.StringVar(&k.namespace, "kube-namespace", envOr("POD_NAMESPACE", "default"), "namespace that Workflows are created in, for --engine kubernetes")
	f.StringVar(&k.serviceAccount, "run-service-account", os.Getenv("KILN_RUN_SERVICE_ACCOUNT"), "service account of pipeline pods, for --engine kubernetes")
}

// newEngine returns the Kubernetes engine, or nil for the local one (the server builds it).
func (k *kubeFlags) newEngine(ctx context.Context, log *slog.Logger) (*argoengine.Engine, error) {
	switch k.engine {
	case "", "local":
		return nil, nil
	case "kubernetes":
	default:
		return nil, fmt.Errorf("--engine %q: want local or kubernetes", k.engine)
	}
	cfg := argoengine.Config{Kubeconfig: k.kubeconfig, Context: k.kubeContext, Namespace: k.namespace,
		Namespaces: []string{k.namespace}, Log: log.With("component", "engine")}
	if sa := k.serviceAccount; sa != "" {
		cfg.ServiceAccountFor = func(*wfv1.Workflow) string { return sa }
	}
	eng, err := argoengine.New(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes engine: %w", err)
	}
	return eng, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

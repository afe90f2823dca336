package cli

import (
	"cmp"
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
	"time"

	"github.com/spf13/cobra"

	kubeclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/kilnml/kiln/backend/leader"
	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
)

func init() { extraCommands = append(extraCommands, serverCommand) }

// serverCommand runs the backend: `kiln server [--data DIR] [--addr ADDR] [--db postgres://…]`.
func serverCommand() *cobra.Command {
	var cfg server.Config
	var logLevel, logFormat string
	var kube kubeFlags
	var elect leaderFlags
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
			if cfg.Leader, err = elect.config(cmd.Flags(), &kube); err != nil {
				return err
			}
			cfg.LeaderScanInterval = elect.scan
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
	elect.register(f)
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
	engine, kubeconfig, kubeContext, namespace, serviceAccount, serviceAccountPrefix string
}

func (k *kubeFlags) register(f *pflag.FlagSet) {
	f.StringVar(&k.engine, "engine", envOr("KILN_ENGINE", "local"), "where runs execute: local (this machine) or kubernetes (Argo Workflows)")
	f.StringVar(&k.kubeconfig, "kubeconfig", "", "kubeconfig file for --engine kubernetes (default: $KUBECONFIG, ~/.kube/config, then in-cluster)")
	f.StringVar(&k.kubeContext, "kube-context", "", "kubeconfig context for --engine kubernetes")
	f.StringVar(&k.namespace, "kube-namespace", envOr("POD_NAMESPACE", "default"), "namespace that Workflows are created in, for --engine kubernetes")
	f.StringVar(&k.serviceAccount, "run-service-account", os.Getenv("KILN_RUN_SERVICE_ACCOUNT"), "service account of pipeline pods, for --engine kubernetes")
	f.StringVar(&k.serviceAccountPrefix, "run-service-account-prefix", os.Getenv("KILN_RUN_SERVICE_ACCOUNT_PREFIX"),
		"give each pipeline's pods their own service account PREFIX<pipeline>, created with Argo's executor rights when absent, for --engine kubernetes")
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
	switch sa, prefix := k.serviceAccount, k.serviceAccountPrefix; {
	case sa != "" && prefix != "":
		return nil, fmt.Errorf("--run-service-account %q and --run-service-account-prefix %q: give one", sa, prefix)
	case sa != "":
		cfg.ServiceAccountFor = func(*wfv1.Workflow) string { return sa }
	case prefix != "":
		cfg.ServiceAccountFor = argoengine.ServiceAccountPerPipeline(prefix)
		cfg.ManageServiceAccounts = true
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

// leaderFlags configure leader election among replicas (--engine kubernetes).
type leaderFlags struct {
	elect                     bool
	namespace, id             string
	lease, renew, retry, scan time.Duration
}

func (l *leaderFlags) register(f *pflag.FlagSet) {
	f.BoolVar(&l.elect, "leader-elect", false, "elect through a Lease the replica that follows runs and fires recurring runs, so several replicas can share a PostgreSQL store (default true with --engine kubernetes)")
	f.StringVar(&l.namespace, "leader-election-namespace", "", "namespace of the leader election Lease (default $POD_NAMESPACE, else --kube-namespace)")
	f.StringVar(&l.id, "leader-election-id", leader.DefaultName, "name of the leader election Lease")
	f.DurationVar(&l.lease, "leader-election-lease-duration", leader.DefaultLeaseDuration, "how long other replicas wait before taking over a Lease that is not renewed")
	f.DurationVar(&l.renew, "leader-election-renew-deadline", leader.DefaultRenewDeadline, "how long the leader tries to renew before it stops leading (less than the lease duration)")
	f.DurationVar(&l.retry, "leader-election-retry-period", leader.DefaultRetryPeriod, "interval between attempts to acquire or renew the Lease")
	f.DurationVar(&l.scan, "leader-scan-interval", runs.DefaultScanInterval, "how often the leader looks for runs created through other replicas")
}

// config returns the election's configuration, or nil when this process leads alone.
func (l *leaderFlags) config(f *pflag.FlagSet, k *kubeFlags) (*leader.Config, error) {
	kubernetes := k.engine == "kubernetes"
	elect := kubernetes
	if f.Changed("leader-elect") {
		elect = l.elect
	}
	if !elect {
		return nil, nil
	}
	if !kubernetes {
		return nil, fmt.Errorf("--leader-elect needs --engine kubernetes: the local engine's runs live in this process")
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = k.kubeconfig
	rc, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.kubeContext}).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("leader election: kubernetes client config: %w", err)
	}
	cs, err := kubeclient.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("leader election: kubernetes client: %w", err)
	}
	ns := cmp.Or(l.namespace, os.Getenv("POD_NAMESPACE"), k.namespace)
	return &leader.Config{Client: cs.CoordinationV1(), Namespace: ns, Name: l.id,
		LeaseDuration: l.lease, RenewDeadline: l.renew, RetryPeriod: l.retry}, nil
}

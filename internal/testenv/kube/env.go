package kube

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Options configure Start. The zero value is ready to use.
type Options struct {
	// BinDir holds the binaries; empty means BinDir() (KILN_KUBE_BIN or the cache).
	BinDir string
	// Log receives the harness's own messages; nil discards them.
	Log *slog.Logger
	// KeepDir keeps the work directory (certificates, data, server logs) after Stop.
	KeepDir bool
	// ReadyTimeout bounds each wait for a server to become ready; zero means 60s.
	ReadyTimeout time.Duration
}

// Env is a running control plane: etcd and kube-apiserver on loopback.
type Env struct {
	// Config is an admin (system:masters) client configuration for the API server.
	Config *rest.Config
	// Dir is the work directory: certificates, etcd data, server logs.
	Dir string

	opts      Options
	log       *slog.Logger
	bin       string
	pki       *pki
	apiPort   int
	etcd      *process
	apiserver *process

	mu     sync.Mutex
	extras []*process // scheduler, controller-manager, kwok, workflow-controllers
	// cancels stop the in-process helpers (task result reporters).
	cancels []context.CancelFunc
	argo    map[string]bool
}

// Start runs etcd and kube-apiserver on free loopback ports and waits until
// the API server's /readyz answers ok. It returns ErrBinariesMissing (wrapped)
// when the binaries have not been built.
func Start(ctx context.Context, opts Options) (*Env, error) {
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = 60 * time.Second
	}
	bin := opts.BinDir
	if bin == "" {
		var err error
		if bin, err = BinDir("etcd", "kube-apiserver"); err != nil {
			return nil, err
		}
	}
	dir, err := os.MkdirTemp("", "kiln-kube-")
	if err != nil {
		return nil, fmt.Errorf("kube: work dir: %w", err)
	}
	e := &Env{Dir: dir, opts: opts, log: log, bin: bin, argo: map[string]bool{}}
	if err := e.start(ctx); err != nil {
		e.Stop()
		return nil, fmt.Errorf("kube: start: %w", err)
	}
	return e, nil
}

func (e *Env) start(ctx context.Context) error {
	p, err := newPKI(e.Dir)
	if err != nil {
		return err
	}
	e.pki = p
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	clientURL := "http://127.0.0.1:" + itoa(ports[0])
	peerURL := "http://127.0.0.1:" + itoa(ports[1])
	e.apiPort = ports[2]
	e.etcd = &process{
		name: "etcd", path: filepath.Join(e.bin, "etcd"), log: e.log, logPath: logFile(e.Dir, "etcd"),
		args: []string{
			"--name=default",
			"--data-dir=" + filepath.Join(e.Dir, "etcd"),
			"--listen-client-urls=" + clientURL,
			"--advertise-client-urls=" + clientURL,
			"--listen-peer-urls=" + peerURL,
			"--initial-advertise-peer-urls=" + peerURL,
			"--initial-cluster=default=" + peerURL,
			"--unsafe-no-fsync",
			"--log-level=warn",
		},
	}
	if err := e.etcd.start(); err != nil {
		return err
	}
	e.apiserver = &process{
		name: "kube-apiserver", path: filepath.Join(e.bin, "kube-apiserver"), log: e.log,
		logPath: logFile(e.Dir, "kube-apiserver"),
		args: []string{
			"--etcd-servers=" + clientURL,
			"--bind-address=127.0.0.1",
			"--advertise-address=127.0.0.1",
			"--secure-port=" + itoa(e.apiPort),
			"--tls-cert-file=" + p.certFile,
			"--tls-private-key-file=" + p.keyFile,
			"--client-ca-file=" + p.caFile,
			"--token-auth-file=" + p.tokenFile,
			"--authorization-mode=RBAC",
			"--disable-admission-plugins=ServiceAccount",
			"--service-cluster-ip-range=10.96.0.0/24",
			"--service-account-key-file=" + p.saKeyFile,
			"--service-account-signing-key-file=" + p.saKeyFile,
			"--service-account-issuer=https://kubernetes.default.svc",
			"--allow-privileged=true",
			// Pod logs are proxied to kwok's kubelet-like server on loopback,
			// whose certificate the harness's CA signed.
			"--kubelet-preferred-address-types=InternalIP",
			"--kubelet-certificate-authority=" + p.caFile,
			// The kubernetes Service cannot point at a loopback address.
			"--endpoint-reconciler-type=none",
			// Large CRDs (Argo's Workflow CRD is 3 MB) on a busy 2-core machine
			// can exceed the default 60s.
			"--request-timeout=5m",
			"--v=0",
		},
	}
	e.Config = &rest.Config{
		Host:            "https://127.0.0.1:" + itoa(e.apiPort),
		BearerToken:     p.adminToken,
		TLSClientConfig: rest.TLSClientConfig{CAData: p.caCert},
		QPS:             -1, // no client-side rate limit: tests and benchmarks drive load on purpose
	}
	return e.startAPIServer(ctx)
}

// startAPIServer starts kube-apiserver and waits for /readyz.
func (e *Env) startAPIServer(ctx context.Context) error {
	start := time.Now()
	if err := e.apiserver.start(); err != nil {
		return err
	}
	if err := e.waitReady(ctx); err != nil {
		return err
	}
	e.log.Info("kube-apiserver ready", "url", e.Config.Host, "after", time.Since(start).Round(time.Millisecond))
	return nil
}

func (e *Env) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	rt, err := rest.TransportFor(e.Config)
	if err != nil {
		return fmt.Errorf("transport: %w", err)
	}
	client := &http.Client{Transport: rt, Timeout: 5 * time.Second}
	return waitFor(ctx, e.apiserver, 100*time.Millisecond, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.Config.Host+"/readyz", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("readyz: %s: %s", resp.Status, body)
		}
		return nil
	})
}

// Restart stops the API server (etcd keeps its data) and starts it again on
// the same address, returning when it is ready. Watches open against it
// break, as on a real API-server restart.
func (e *Env) Restart(ctx context.Context) error {
	e.apiserver.stop(30 * time.Second)
	if err := e.startAPIServer(ctx); err != nil {
		return fmt.Errorf("kube: restart api server: %w", err)
	}
	return nil
}

// StopAPIServer stops only the API server, for tests of behaviour during an
// outage; StartAPIServer brings it back.
func (e *Env) StopAPIServer() { e.apiserver.stop(30 * time.Second) }

// StartAPIServer starts the API server after StopAPIServer and waits until it is ready.
func (e *Env) StartAPIServer(ctx context.Context) error {
	if !e.apiserver.exited() {
		return nil
	}
	if err := e.startAPIServer(ctx); err != nil {
		return fmt.Errorf("kube: start api server: %w", err)
	}
	return nil
}

// Stop ends every server the environment started and removes its work
// directory unless Options.KeepDir is set. It is safe to call more than once.
func (e *Env) Stop() {
	e.mu.Lock()
	extras, cancels := e.extras, e.cancels
	e.extras, e.cancels = nil, nil
	e.mu.Unlock()
	for _, cancel := range cancels {
		cancel()
	}
	for i := len(extras) - 1; i >= 0; i-- {
		extras[i].stop(10 * time.Second)
	}
	if e.apiserver != nil {
		e.apiserver.stop(30 * time.Second)
	}
	if e.etcd != nil {
		e.etcd.stop(10 * time.Second)
	}
	if !e.opts.KeepDir && e.Dir != "" {
		os.RemoveAll(e.Dir)
	}
}

// Kubeconfig writes a kubeconfig file for the admin user into the work
// directory (for programs that discover clusters the way kubectl does) and
// returns its path.
func (e *Env) Kubeconfig() (string, error) {
	path := filepath.Join(e.Dir, "kubeconfig")
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["kiln-test"] = &clientcmdapi.Cluster{Server: e.Config.Host, CertificateAuthorityData: e.pki.caCert}
	cfg.AuthInfos["kiln-admin"] = &clientcmdapi.AuthInfo{Token: e.pki.adminToken}
	cfg.Contexts["kiln-test"] = &clientcmdapi.Context{Cluster: "kiln-test", AuthInfo: "kiln-admin", Namespace: "default"}
	cfg.CurrentContext = "kiln-test"
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		return "", fmt.Errorf("kube: write kubeconfig: %w", err)
	}
	return path, nil
}

// APIServerLog returns the path of the API server's log file.
func (e *Env) APIServerLog() string { return e.apiserver.logPath }

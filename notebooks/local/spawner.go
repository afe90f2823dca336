package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/notebooks"
)

// ErrJupyterNotFound means no usable Jupyter is installed.
var ErrJupyterNotFound = errors.New("local: jupyter not found (install Debian's jupyter-notebook: apt-get install jupyter-notebook, or JupyterLab)")

// Options configure a Spawner. Dir is required.
type Options struct {
	// Dir holds one directory per notebook, Dir/<namespace>/<name>, with the workspace (the
	// server's root directory), jupyter.log and the server's pid file. Typically <data dir>/notebooks.
	Dir string
	// Jupyter is the jupyter command; empty looks it up on PATH.
	Jupyter string
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// StartTimeout bounds the wait for /api/status to answer after a start; zero means 60s.
	StartTimeout time.Duration
	// StopGrace is how long Jupyter gets to shut its kernels down before it is killed; zero means 5s.
	StopGrace time.Duration
	// MaxRestarts is how many times a crashed server is restarted before the notebook is Failed;
	// zero means 3, negative means never restart.
	MaxRestarts int
}

// Spawner runs each notebook as a Jupyter server process on loopback. It implements
// notebooks.Spawner and notebooks.SpecValidator.
type Spawner struct {
	opts   Options
	log    *slog.Logger
	flavor flavor

	mu      sync.Mutex
	servers map[string]*server
	closed  bool
}

var (
	_ notebooks.Spawner       = (*Spawner)(nil)
	_ notebooks.SpecValidator = (*Spawner)(nil)
	_ notebooks.LogReader     = (*Spawner)(nil)
)

// flavor is the Jupyter application found on the host.
type flavor struct {
	// command starts the server, e.g. ["/usr/bin/jupyter", "notebook"].
	command []string
	// app is the traitlets class that takes the options: NotebookApp (classic notebook < 7) or
	// ServerApp (jupyter_server: JupyterLab, notebook ≥ 7).
	app string
	// version is the reported version, for logs.
	version string
}

// New finds Jupyter (JupyterLab when present, else the notebook server) and returns a Spawner.
// It returns an error wrapping ErrJupyterNotFound when there is none.
func New(ctx context.Context, opts Options) (*Spawner, error) {
	if opts.Dir == "" {
		return nil, errors.New("local: Options.Dir is required")
	}
	if opts.StartTimeout <= 0 {
		opts.StartTimeout = 60 * time.Second
	}
	if opts.StopGrace <= 0 {
		opts.StopGrace = 5 * time.Second
	}
	if opts.MaxRestarts == 0 {
		opts.MaxRestarts = 3
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	fl, err := detect(ctx, opts.Jupyter)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("local: create %s: %w", opts.Dir, err)
	}
	log.Info("local notebook spawner", "jupyter", strings.Join(fl.command, " "), "version", fl.version, "app", fl.app)
	return &Spawner{opts: opts, log: log, flavor: fl, servers: map[string]*server{}}, nil
}

// detect prefers JupyterLab and falls back to the notebook server, reading its version to pick
// the options class (notebook 7 is built on jupyter_server).
func detect(ctx context.Context, jupyter string) (flavor, error) {
	if jupyter == "" {
		p, err := exec.LookPath("jupyter")
		if err != nil {
			return flavor{}, ErrJupyterNotFound
		}
		jupyter = p
	}
	detected.Lock()
	defer detected.Unlock()
	if fl, ok := detected.m[jupyter]; ok {
		return fl, nil
	}
	fl, err := detectUncached(ctx, jupyter)
	if err == nil {
		detected.m[jupyter] = fl
	}
	return fl, err
}

// detected caches detection per jupyter command: each probe starts Python, which takes seconds.
var detected = struct {
	sync.Mutex
	m map[string]flavor
}{m: map[string]flavor{}}

func detectUncached(ctx context.Context, jupyter string) (flavor, error) {
	// jupyter runs subcommands as jupyter-<name> from PATH or its own directory; look before
	// paying for a Python start.
	if hasSubcommand(jupyter, "lab") {
		if out, err := exec.CommandContext(ctx, jupyter, "lab", "--version").Output(); err == nil {
			return flavor{command: []string{jupyter, "lab"}, app: "ServerApp", version: "lab " + strings.TrimSpace(string(out))}, nil
		}
	}
	out, err := exec.CommandContext(ctx, jupyter, "notebook", "--version").Output()
	if err != nil {
		return flavor{}, fmt.Errorf("%w: %s notebook --version: %v", ErrJupyterNotFound, jupyter, err)
	}
	v := strings.TrimSpace(string(out))
	major, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
	app := "NotebookApp"
	if major >= 7 {
		app = "ServerApp"
	}
	return flavor{command: []string{jupyter, "notebook"}, app: app, version: "notebook " + v}, nil
}

func hasSubcommand(jupyter, sub string) bool {
	if _, err := exec.LookPath("jupyter-" + sub); err == nil {
		return true
	}
	_, err := os.Stat(filepath.Join(filepath.Dir(jupyter), "jupyter-"+sub))
	return err == nil
}

// ValidateSpec rejects what a host process cannot honour: images and volume claims.
// CPU, memory and GPU requests are accepted and not enforced on the host.
func (s *Spawner) ValidateSpec(spec *notebooks.Spec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	if spec.Image != "" {
		errs = append(errs, field.Forbidden(fld.Child("image"), "the local spawner runs the host's Jupyter; images need the Kubernetes spawner"))
	}
	for i, v := range spec.DataVolumes {
		p := fld.Child("dataVolumes").Index(i)
		if v.ClaimName != "" {
			errs = append(errs, field.Forbidden(p.Child("claimName"), "volume claims need the Kubernetes spawner; use path for a host directory"))
		}
		if v.Path == "" {
			errs = append(errs, field.Required(p.Child("path"), "the local spawner links a host directory into the workspace"))
		}
		if v.MountPath != "" {
			errs = append(errs, field.Forbidden(p.Child("mountPath"), "the local spawner links data volumes into the workspace as their name"))
		}
	}
	return errs
}

func key(namespace, name string) string { return namespace + "/" + name }

// notebookDir is the state directory of one notebook.
func (s *Spawner) notebookDir(namespace, name string) string {
	return filepath.Join(s.opts.Dir, namespace, name)
}

// WorkspaceDir returns the directory a notebook's server serves: its files live here.
func (s *Spawner) WorkspaceDir(namespace, name string) string {
	return filepath.Join(s.notebookDir(namespace, name), "workspace")
}

// LogFile returns the path of a notebook's Jupyter log, kept across restarts.
func (s *Spawner) LogFile(namespace, name string) string {
	return filepath.Join(s.notebookDir(namespace, name), "jupyter.log")
}

// Start implements notebooks.Spawner. It returns once the process is being supervised;
// the phase becomes Running when /api/status answers.
func (s *Spawner) Start(ctx context.Context, nb *notebooks.Notebook) error {
	k := key(nb.Namespace, nb.Name)
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return errors.New("local: spawner is closed")
		}
		old := s.servers[k]
		if old == nil {
			break
		}
		select {
		case <-old.done: // a failed server: replace it
			delete(s.servers, k)
			s.mu.Unlock()
			continue
		default:
		}
		s.mu.Unlock()
		if !old.stopRequested() {
			return nil // already running or starting
		}
		select {
		case <-old.done:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	defer s.mu.Unlock()
	dir := s.notebookDir(nb.Namespace, nb.Name)
	if err := killLeftover(dir); err != nil {
		return fmt.Errorf("start notebook %s: %w", k, err)
	}
	ws := s.WorkspaceDir(nb.Namespace, nb.Name)
	if err := os.MkdirAll(ws, 0o700); err != nil {
		return fmt.Errorf("start notebook %s: %w", k, err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "runtime"), 0o700); err != nil {
		return fmt.Errorf("start notebook %s: %w", k, err)
	}
	for _, v := range nb.Spec.DataVolumes {
		if err := linkDataVolume(ws, v); err != nil {
			return fmt.Errorf("start notebook %s: %w", k, err)
		}
	}
	token, err := randomToken()
	if err != nil {
		return fmt.Errorf("start notebook %s: %w", k, err)
	}
	srv := &server{
		namespace: nb.Namespace, name: nb.Name, dir: dir, workspace: ws, token: token,
		env: s.environ(nb, token, dir), phase: notebooks.PhasePending,
		stopCh: make(chan struct{}), done: make(chan struct{}),
	}
	s.servers[k] = srv
	go s.supervise(srv)
	return nil
}

// linkDataVolume makes a host directory visible in the workspace as the volume's name.
func linkDataVolume(ws string, v notebooks.DataVolume) error {
	if fi, err := os.Stat(v.Path); err != nil || !fi.IsDir() {
		return fmt.Errorf("data volume %q: %s is not a directory", v.Name, v.Path)
	}
	link := filepath.Join(ws, v.Name)
	if fi, err := os.Lstat(link); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("data volume %q: %s exists in the workspace and is not a link", v.Name, v.Name)
		}
		if err := os.Remove(link); err != nil {
			return fmt.Errorf("data volume %q: %w", v.Name, err)
		}
	}
	if err := os.Symlink(v.Path, link); err != nil {
		return fmt.Errorf("data volume %q: %w", v.Name, err)
	}
	return nil
}

// environ is the server's environment: this process's, without Jupyter and Kiln settings that
// would confuse it, plus the token, the prefix and the notebook's variables.
func (s *Spawner) environ(nb *notebooks.Notebook, token, dir string) []string {
	var env []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(name, "JUPYTER_") || strings.HasPrefix(name, "KILN_") || name == "NB_PREFIX" {
			continue
		}
		env = append(env, kv)
	}
	// The token goes in the environment, not on the command line where ps would show it.
	env = append(env,
		"JUPYTER_TOKEN="+token,
		"JUPYTER_RUNTIME_DIR="+filepath.Join(dir, "runtime"),
		"NB_PREFIX="+notebooks.PathPrefix(nb.Namespace, nb.Name))
	for _, e := range nb.Spec.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	return env
}

// args are the server's command-line options for one start.
func (s *Spawner) args(srv *server, port int) []string {
	app := s.flavor.app
	a := slices.Clone(s.flavor.command[1:])
	a = append(a,
		"--no-browser",
		"--"+app+".ip=127.0.0.1",
		"--"+app+".port="+strconv.Itoa(port),
		"--"+app+".port_retries=0",
		"--"+app+".base_url="+notebooks.PathPrefix(srv.namespace, srv.name),
		// Quitting from the UI would look like a crash; stopping goes through Kiln.
		"--"+app+".quit_button=False",
	)
	if app == "NotebookApp" {
		a = append(a, "--notebook-dir="+srv.workspace)
	} else {
		a = append(a, "--ServerApp.root_dir="+srv.workspace)
	}
	if os.Geteuid() == 0 {
		a = append(a, "--allow-root")
	}
	return a
}

// Logs implements notebooks.LogReader from jupyter.log, which spans restarts (each start is
// marked by a "=== kiln:" line).
func (s *Spawner) Logs(ctx context.Context, namespace, name string, tailLines int) ([]byte, error) {
	f, err := os.Open(s.LogFile(namespace, name))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs of notebook %s: %w", key(namespace, name), err)
	}
	defer f.Close()
	const window = 1 << 20
	if fi, err := f.Stat(); err == nil && fi.Size() > window {
		_, _ = f.Seek(-window, io.SeekEnd)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("logs of notebook %s: %w", key(namespace, name), err)
	}
	return tailOf(b, tailLines), nil
}

// tailOf returns the last n lines of b.
func tailOf(b []byte, n int) []byte {
	end := len(b)
	if end > 0 && b[end-1] == '\n' {
		end--
	}
	for i := end - 1; i >= 0; i-- {
		if b[i] == '\n' {
			n--
			if n == 0 {
				return b[i+1:]
			}
		}
	}
	return b
}

// Stop implements notebooks.Spawner: Jupyter gets StopGrace to shut its kernels down, then the
// process group and every process started below it are killed.
func (s *Spawner) Stop(ctx context.Context, namespace, name string) error {
	k := key(namespace, name)
	s.mu.Lock()
	srv := s.servers[k]
	s.mu.Unlock()
	if srv == nil {
		// Nothing supervised; a server from a previous life of this process may remain.
		return killLeftover(s.notebookDir(namespace, name))
	}
	srv.requestStop()
	select {
	case <-srv.done:
	case <-ctx.Done():
		return fmt.Errorf("stop notebook %s: %w", k, ctx.Err())
	}
	s.mu.Lock()
	if s.servers[k] == srv {
		delete(s.servers, k)
	}
	s.mu.Unlock()
	return nil
}

// Delete implements notebooks.Spawner: it stops the server and removes the notebook's directory,
// workspace and logs included. Data volumes are links and are left alone.
func (s *Spawner) Delete(ctx context.Context, namespace, name string) error {
	if err := s.Stop(ctx, namespace, name); err != nil {
		return err
	}
	if err := os.RemoveAll(s.notebookDir(namespace, name)); err != nil {
		return fmt.Errorf("delete notebook %s: %w", key(namespace, name), err)
	}
	return nil
}

// Status implements notebooks.Spawner.
func (s *Spawner) Status(ctx context.Context, namespace, name string) (notebooks.Status, error) {
	s.mu.Lock()
	srv := s.servers[key(namespace, name)]
	s.mu.Unlock()
	if srv == nil {
		return notebooks.Status{Phase: notebooks.PhaseStopped}, nil
	}
	return srv.status(), nil
}

// Endpoint implements notebooks.Spawner.
func (s *Spawner) Endpoint(ctx context.Context, namespace, name string) (*url.URL, string, error) {
	s.mu.Lock()
	srv := s.servers[key(namespace, name)]
	s.mu.Unlock()
	if srv == nil {
		return nil, "", fmt.Errorf("notebook %s: %w", key(namespace, name), notebooks.ErrNotRunning)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if srv.phase != notebooks.PhaseRunning {
		return nil, "", fmt.Errorf("notebook %s is %s: %w", key(namespace, name), srv.phase, notebooks.ErrNotRunning)
	}
	return &url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(srv.port)}, srv.token, nil
}

// Close implements notebooks.Spawner: it stops every server and waits for their processes to
// be gone. Start fails afterwards.
func (s *Spawner) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	var all []*server
	for _, srv := range s.servers {
		all = append(all, srv)
	}
	s.mu.Unlock()
	for _, srv := range all {
		srv.requestStop()
	}
	for _, srv := range all {
		select {
		case <-srv.done:
		case <-ctx.Done():
			return fmt.Errorf("local: close: %w", ctx.Err())
		}
	}
	s.mu.Lock()
	clear(s.servers)
	s.mu.Unlock()
	return nil
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// pidFile records the running server so that a later life of this process can kill it.
type pidFile struct {
	Server procID `json:"server"`
	Port   int    `json:"port"`
	// Children are the processes seen below the server (kernels, in their own sessions): if the
	// server dies with Kiln, they can no longer be found through it.
	Children []procID `json:"children,omitempty"`
}

func writePidFile(dir string, pf pidFile) error {
	b, err := json.Marshal(pf)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "server.json"), b, 0o600)
}

// killLeftover kills a server recorded in dir by an earlier life of this process, with everything
// it started, and removes the record.
func killLeftover(dir string) error {
	file := filepath.Join(dir, "server.json")
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("read %s: %w", file, err)
	}
	var pf pidFile
	if err := json.Unmarshal(b, &pf); err != nil {
		return os.Remove(file)
	}
	procs := pf.Children
	if pf.Server.PID > 0 && pf.Server.alive() {
		procs = append(mergeProcs(procs, descendants(pf.Server.PID)), pf.Server)
		_ = syscall.Kill(-pf.Server.PID, syscall.SIGKILL)
	}
	killAll(procs)
	if !waitGone(procs, 5*time.Second) {
		return fmt.Errorf("leftover jupyter server %d or its kernels did not exit", pf.Server.PID)
	}
	if err := os.Remove(file); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}

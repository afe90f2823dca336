package local

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/strftime"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/kilnml/kiln/engine"
)

// Options configure a local Engine. The zero value is usable.
type Options struct {
	// WorkDir holds one directory per run (logs, node files, artifacts,
	// status.json). Default: $TMPDIR/kiln-runs.
	WorkDir string
	// PipelineBinary is the host path of the pipeline program that
	// implements Kiln Go-function components (templates annotated with
	// GoComponentAnnotation). Empty means such workflows are rejected.
	PipelineBinary string
	// CacheDir holds memoized outputs. Default: WorkDir/.cache.
	CacheDir string
	// Logger receives engine diagnostics. Default: discard.
	Logger *slog.Logger
	// MaxParallel bounds the processes running at once across all runs.
	// Default 64; negative means unlimited.
	MaxParallel int
	// Env is added to every process's environment (after the engine's own).
	Env []string
}

// Engine runs Argo workflows on this machine. It implements engine.Engine.
type Engine struct {
	opts    Options
	log     *slog.Logger
	cache   *memoCache
	procSem chan struct{}

	mu   sync.Mutex
	runs map[string]*run
}

var _ engine.Engine = (*Engine)(nil)

// New returns a local engine.
func New(opts Options) *Engine {
	if opts.WorkDir == "" {
		opts.WorkDir = filepath.Join(os.TempDir(), "kiln-runs")
	}
	// Processes run in their node directories and artifacts are file://
	// URLs, so every path the engine hands on must be absolute.
	if abs, err := filepath.Abs(opts.WorkDir); err == nil {
		opts.WorkDir = abs
	}
	if opts.CacheDir == "" {
		opts.CacheDir = filepath.Join(opts.WorkDir, ".cache")
	}
	if abs, err := filepath.Abs(opts.CacheDir); err == nil {
		opts.CacheDir = abs
	}
	if strings.ContainsRune(opts.PipelineBinary, filepath.Separator) {
		if abs, err := filepath.Abs(opts.PipelineBinary); err == nil {
			opts.PipelineBinary = abs
		}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.MaxParallel == 0 {
		opts.MaxParallel = 64
	}
	e := &Engine{opts: opts, log: opts.Logger, cache: &memoCache{root: opts.CacheDir}, runs: map[string]*run{}}
	if opts.MaxParallel > 0 {
		e.procSem = make(chan struct{}, opts.MaxParallel)
	}
	return e
}

// Submit validates wf and starts running it in the background. The run
// outlives ctx; use Cancel to stop it.
func (e *Engine) Submit(ctx context.Context, wf *wfv1.Workflow, opts engine.SubmitOptions) (string, error) {
	wf = wf.DeepCopy()
	if wf.Name == "" {
		prefix := wf.GenerateName
		if prefix == "" {
			prefix = "workflow-"
		}
		// Like Kubernetes' generateName: keep the name within 63 characters.
		if len(prefix) > 58 {
			prefix = prefix[:58]
		}
		wf.Name = prefix + randomSuffix()
	}
	if wf.Namespace == "" {
		wf.Namespace = "default"
	}
	if err := applyParameters(wf, opts.Parameters); err != nil {
		return "", err
	}
	if errs := e.Validate(wf); len(errs) > 0 {
		return "", fmt.Errorf("workflow %q cannot run locally: %w", wf.Name, errs.ToAggregate())
	}
	if err := applyTemplateDefaults(wf); err != nil {
		return "", fmt.Errorf("workflow %q: %w", wf.Name, err)
	}
	id := opts.RunID
	if id == "" {
		id = wf.Name
	}
	dir := filepath.Join(e.opts.WorkDir, id)
	e.mu.Lock()
	if _, dup := e.runs[id]; dup {
		e.mu.Unlock()
		return "", fmt.Errorf("submit %q: run already exists", id)
	}
	r := &run{
		id: id, dir: dir, wf: wf, eng: e, log: e.log.With("run", id),
		tmpls:     map[string]*wfv1.Template{},
		nodes:     map[string]*wfv1.NodeStatus{},
		changed:   make(chan struct{}),
		globalArt: map[string]wfv1.Artifact{},
		done:      make(chan struct{}),
		active:    true,
	}
	e.runs[id] = r
	e.mu.Unlock()
	for i := range wf.Spec.Templates {
		r.tmpls[wf.Spec.Templates[i].Name] = &wf.Spec.Templates[i]
	}
	if p := wf.Spec.Parallelism; p != nil && *p > 0 {
		r.podSem = make(chan struct{}, *p)
	}
	if err := os.MkdirAll(filepath.Join(dir, "logs"), 0o755); err != nil {
		e.forget(id)
		return "", fmt.Errorf("submit %q: create run directory: %w", id, err)
	}
	wf.UID = types.UID(randomUUID())
	wf.CreationTimestamp = metav1.Now()
	r.globals = globalsOf(wf)
	r.status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowPending, StartedAt: metav1.Now()}
	r.mu.Lock()
	r.emitLocked(engine.Event{Type: engine.EventRun, Phase: wfv1.WorkflowPending})
	r.mu.Unlock()
	if b, err := json.MarshalIndent(wf, "", "  "); err == nil {
		_ = os.WriteFile(filepath.Join(dir, "workflow.json"), b, 0o644)
	}
	e.log.Info("run submitted", "run", id, "dir", dir)
	go r.execute(context.WithoutCancel(ctx))
	return id, nil
}

func (e *Engine) forget(id string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.runs, id)
}

func (e *Engine) get(id string) (*run, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.runs[id]
	if !ok {
		return nil, fmt.Errorf("run %q: %w", id, engine.ErrRunNotFound)
	}
	return r, nil
}

// applyParameters overrides spec.arguments.parameters and checks enums.
func applyParameters(wf *wfv1.Workflow, params map[string]string) error {
	for name, v := range params {
		found := false
		for i := range wf.Spec.Arguments.Parameters {
			p := &wf.Spec.Arguments.Parameters[i]
			if p.Name == name {
				p.Value = wfv1.AnyStringPtr(v)
				p.ValueFrom = nil
				found = true
			}
		}
		if !found {
			return fmt.Errorf("parameter %q: not declared in spec.arguments.parameters", name)
		}
	}
	for i := range wf.Spec.Arguments.Parameters {
		p := &wf.Spec.Arguments.Parameters[i]
		if p.Value == nil && p.Default != nil {
			p.Value = p.Default
		}
		if len(p.Enum) > 0 && p.Value != nil {
			ok := false
			for _, e := range p.Enum {
				if e.String() == p.Value.String() {
					ok = true
				}
			}
			if !ok {
				return fmt.Errorf("parameter %q: value %q is not one of %v", p.Name, p.Value.String(), p.Enum)
			}
		}
	}
	return nil
}

// globalsOf builds the workflow.* variables Argo offers.
func globalsOf(wf *wfv1.Workflow) map[string]string {
	g := map[string]string{
		"workflow.name":               wf.Name,
		"workflow.namespace":          wf.Namespace,
		"workflow.mainEntrypoint":     wf.Spec.Entrypoint,
		"workflow.uid":                string(wf.UID),
		"workflow.serviceAccountName": wf.Spec.ServiceAccountName,
		"workflow.creationTimestamp":  wf.CreationTimestamp.UTC().Format(time.RFC3339),
		"workflow.status":             string(wfv1.WorkflowRunning),
	}
	if wf.Spec.Priority != nil {
		g["workflow.priority"] = strconv.Itoa(int(*wf.Spec.Priority))
	}
	for c := range strftime.FormatChars {
		g["workflow.creationTimestamp."+string(c)] = strftime.Format("%"+string(c), wf.CreationTimestamp.Time)
	}
	g["workflow.creationTimestamp.s"] = strconv.FormatInt(wf.CreationTimestamp.Unix(), 10)
	g["workflow.creationTimestamp.RFC3339"] = wf.CreationTimestamp.Format(time.RFC3339)
	for _, p := range wf.Spec.Arguments.Parameters {
		if p.Value != nil {
			g["workflow.parameters."+p.Name] = p.Value.String()
		}
	}
	if b, err := json.Marshal(wf.Spec.Arguments.Parameters); err == nil {
		g["workflow.parameters"] = string(b)
		g["workflow.parameters.json"] = string(b)
	}
	for k, v := range wf.Labels {
		g["workflow.labels."+k] = v
	}
	for k, v := range wf.Annotations {
		g["workflow.annotations."+k] = v
	}
	if b, err := json.Marshal(wf.Labels); err == nil {
		g["workflow.labels"] = string(b)
		g["workflow.labels.json"] = string(b)
	}
	if b, err := json.Marshal(wf.Annotations); err == nil {
		g["workflow.annotations"] = string(b)
		g["workflow.annotations.json"] = string(b)
	}
	return g
}

func randomSuffix() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 5)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b)
}

func randomUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// Watch streams the run's events, replaying those already emitted.
func (e *Engine) Watch(ctx context.Context, id string) (<-chan engine.Event, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	ch := make(chan engine.Event, 64)
	go func() {
		defer close(ch)
		next := 0
		for {
			r.mu.Lock()
			batch := append([]engine.Event(nil), r.events[next:]...)
			changed := r.changed
			finished := !r.active
			r.mu.Unlock()
			next += len(batch)
			for _, ev := range batch {
				select {
				case ch <- ev:
				case <-ctx.Done():
					return
				}
			}
			if finished && len(batch) > 0 && batch[len(batch)-1].Finished() {
				return
			}
			if finished && len(batch) == 0 {
				r.mu.Lock()
				last := len(r.events) > 0 && r.events[len(r.events)-1].Finished() && len(r.events) == next
				r.mu.Unlock()
				if last {
					return
				}
			}
			select {
			case <-changed:
			case <-ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

// Status returns a snapshot of the run.
func (e *Engine) Status(_ context.Context, id string) (*engine.RunStatus, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	return r.statusCopy(), nil
}

// Wait blocks until the run (including its exit handler) has finished and
// returns its final status.
func (e *Engine) Wait(ctx context.Context, id string) (*engine.RunStatus, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	for {
		r.mu.Lock()
		done := r.done
		r.mu.Unlock()
		select {
		case <-done:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		r.mu.Lock()
		same := done == r.done
		r.mu.Unlock()
		if same {
			return r.statusCopy(), nil
		}
	}
}

// Cancel stops the run like Argo's "stop": running processes are killed,
// nothing new starts, and exit handlers still run. Cancelling a run whose
// exit handler is already running stops the exit handler too.
func (e *Engine) Cancel(_ context.Context, id string) error {
	r, err := e.get(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.active {
		return nil
	}
	if r.cancelled && r.stopExit != nil {
		r.stopExit(errStopped)
	}
	r.cancelled = true
	if r.stopMain != nil {
		r.stopMain(errStopped)
	}
	return nil
}

// Retry re-runs a finished, unsuccessful run in place: nodes that succeeded
// keep their status and outputs, everything else runs again.
func (e *Engine) Retry(ctx context.Context, id string) error {
	r, err := e.get(id)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.active {
		r.mu.Unlock()
		return fmt.Errorf("retry %q: %w", id, engine.ErrRunActive)
	}
	if r.status.Phase == wfv1.WorkflowSucceeded {
		r.mu.Unlock()
		return fmt.Errorf("retry %q: run already succeeded", id)
	}
	r.prev = map[string]*wfv1.NodeStatus{}
	r.prevAll = r.nodes
	for _, n := range r.nodes {
		if n.Phase == wfv1.NodeSucceeded && n.Name != r.wf.Name && n.Name != r.wf.Name+".onExit" {
			r.prev[n.Name] = n
		}
	}
	r.nodes = map[string]*wfv1.NodeStatus{}
	r.cancelled = false
	r.active = true
	r.stopMain, r.stopExit = nil, nil
	r.done = make(chan struct{})
	r.globals["workflow.status"] = string(wfv1.WorkflowRunning)
	delete(r.globals, "workflow.failures")
	r.status.Outputs = nil
	r.status.FinishedAt = metav1.Time{}
	r.status.Message = ""
	r.mu.Unlock()
	go r.execute(context.WithoutCancel(ctx))
	return nil
}

// Logs returns a node's combined output. node is a node ID or name (or the
// display name of a pod node).
func (e *Engine) Logs(ctx context.Context, id, node string, follow bool) (io.ReadCloser, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	n, ok := r.nodeByRef(node)
	if !ok {
		return nil, fmt.Errorf("logs %q in run %q: %w", node, id, engine.ErrNodeNotFound)
	}
	path := r.logPath(n.ID)
	f, err := os.Open(path)
	if os.IsNotExist(err) && !follow {
		return io.NopCloser(&emptyReader{}), nil
	}
	if err != nil && !os.IsNotExist(err) {
		return nil, fmt.Errorf("logs %q: %w", node, err)
	}
	if !follow {
		return f, nil
	}
	return &followReader{ctx: ctx, r: r, nodeID: n.ID, path: path, f: f}, nil
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// followReader tails a node's log until the node completes.
type followReader struct {
	ctx    context.Context
	r      *run
	nodeID string
	path   string
	f      *os.File
}

func (fr *followReader) Read(p []byte) (int, error) {
	for {
		if fr.f == nil {
			f, err := os.Open(fr.path)
			if err == nil {
				fr.f = f
			}
		}
		if fr.f != nil {
			n, err := fr.f.Read(p)
			if n > 0 || (err != nil && err != io.EOF) {
				return n, err
			}
		}
		fr.r.mu.Lock()
		nd, ok := fr.r.nodes[fr.nodeID]
		done := !fr.r.active || (ok && nd.Phase.Fulfilled(nil))
		fr.r.mu.Unlock()
		if done {
			if fr.f != nil {
				if n, err := fr.f.Read(p); n > 0 {
					return n, err
				}
			}
			return 0, io.EOF
		}
		select {
		case <-fr.ctx.Done():
			return 0, fr.ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (fr *followReader) Close() error {
	if fr.f != nil {
		return fr.f.Close()
	}
	return nil
}

// ArtifactPath returns the local file or directory holding an artifact
// stored by this engine, from the artifact's location.
func ArtifactPath(a wfv1.Artifact) (string, bool) {
	if a.HTTP == nil || len(a.HTTP.URL) < len("file://") || a.HTTP.URL[:7] != "file://" {
		return "", false
	}
	return a.HTTP.URL[7:], true
}

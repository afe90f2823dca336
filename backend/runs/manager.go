package runs

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/engine"
)

// Errors of the run manager, tested with errors.Is.
var (
	// ErrFinished reports an operation, such as cancel, on a run that already ended.
	ErrFinished = errors.New("runs: run already finished")
	// ErrNotRetryable reports a retry of a run that is active or succeeded.
	ErrNotRetryable = errors.New("runs: run cannot be retried")
	// ErrInvalidSpec reports a workflow the engine cannot parse or run.
	ErrInvalidSpec = errors.New("runs: invalid workflow")
)

// Environment variables the manager injects into every container and script template, so
// component code reaches the tracking API (KILN_API_URL and KILN_TOKEN come from the engine's
// own environment, e.g. local.Options.Env).
const (
	EnvRunID     = "KILN_RUN_ID"
	EnvNamespace = "KILN_NAMESPACE"
)

// RestartMessage is the message of runs that were active when the server stopped and whose
// execution did not survive it.
const RestartMessage = "the server restarted while the run was active and its processes were lost; retry the run to execute it again"

// CancelRequestedMessage is the message of a run whose cancellation was asked for through a
// replica (with Options.Elected) until it ends: the leader, which records the end, reads it to
// record the run Cancelled rather than Failed.
const CancelRequestedMessage = "cancel requested by user"

// StopMessage is the message of runs that were active when the server shut down gracefully:
// the manager stops their processes rather than leave them running without a server.
const StopMessage = "the server stopped while the run was active; retry the run to execute it again"

// Options configures a Manager.
type Options struct {
	Store  store.Store
	Engine engine.Engine
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// RunDir, when set, returns the engine's directory of a run; logs of runs the engine no
	// longer knows (after a restart) are read from RunDir(id)/logs/<nodeID>.log.
	RunDir func(runID string) string
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
	// Elected means several replicas share the store and engine and one of them, elected
	// (backend/leader), follows the runs: the manager follows runs only while Lead runs, runs
	// created or retried through it otherwise are picked up by the leader's scan, and Close
	// leaves runs running for the next leader. False is the single-process setup: the
	// manager follows the runs it creates at once and stops them at Close.
	Elected bool
}

// Manager executes runs through an engine and persists their status, node graph and outputs in
// the store as they change. It is safe for concurrent use.
type Manager struct {
	st  store.Store
	eng engine.Engine
	log *slog.Logger
	dir func(string) string
	now func() time.Time

	elected bool

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	lastSeq   map[string]int  // last engine event applied, per run
	cancelled map[string]bool // runs a user cancelled
	watching  map[string]bool
	closing   bool
	// followCtx is the context of new followers and followWG counts them: the manager's own
	// context without election, the leadership's while Lead runs, nil while not leading.
	followCtx context.Context
	followWG  *sync.WaitGroup
}

// New returns a Manager. Call Reconcile once at start-up and Close at shutdown.
func New(opts Options) (*Manager, error) {
	if opts.Store == nil || opts.Engine == nil {
		return nil, errors.New("runs: Options.Store and Options.Engine are required")
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Manager{
		st: opts.Store, eng: opts.Engine, log: opts.Logger, dir: opts.RunDir, now: opts.Now,
		elected: opts.Elected, ctx: ctx, cancel: cancel,
		lastSeq: map[string]int{}, cancelled: map[string]bool{}, watching: map[string]bool{},
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if !m.elected {
		m.followCtx, m.followWG = ctx, &sync.WaitGroup{}
	}
	return m, nil
}

// Close stops the runs the manager follows (their processes would otherwise outlive the server),
// records them as Error with StopMessage, and waits for the followers' last writes (at most
// 15 seconds before it stops following regardless). With Options.Elected the runs keep
// running and Close only stops following them: the next leader follows them.
func (m *Manager) Close() error {
	if m.elected {
		m.mu.Lock()
		m.closing = true
		m.mu.Unlock()
		m.cancel()
		m.wg.Wait()
		return nil
	}
	m.mu.Lock()
	m.closing = true
	active := make([]string, 0, len(m.watching))
	for id := range m.watching {
		active = append(active, id)
	}
	m.mu.Unlock()
	for _, id := range active {
		if err := m.eng.Cancel(context.Background(), id); err != nil {
			m.log.Warn("stop run at shutdown", "run", id, "err", err)
		}
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		m.log.Warn("shutdown: runs did not stop in time")
	}
	m.cancel()
	m.wg.Wait()
	return nil
}

// NewRunID returns a fresh run ID: 32 lowercase hex characters.
func NewRunID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Create submits r.Spec with r.Parameters to the engine and stores r (assigning ID, CreatedAt
// and Phase). A workflow the engine rejects is ErrInvalidSpec and nothing is stored.
func (m *Manager) Create(ctx context.Context, r *store.Run) error {
	wf, err := engine.ParseWorkflow(r.Spec)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if r.ID == "" {
		r.ID = NewRunID()
	}
	if r.Name == "" {
		r.Name = wf.Name
		if r.Name == "" {
			r.Name = wf.GenerateName + r.ID[:8]
		}
	}
	r.Phase = store.PhasePending
	injectEnv(wf, r)
	if _, err := m.eng.Submit(ctx, wf, engine.SubmitOptions{Parameters: r.Parameters, RunID: r.ID}); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidSpec, err)
	}
	if err := m.st.CreateRun(ctx, r); err != nil {
		_ = m.eng.Cancel(context.WithoutCancel(ctx), r.ID)
		return fmt.Errorf("create run: %w", err)
	}
	m.follow(r.Namespace, r.ID)
	return nil
}

// injectEnv adds the run's identity to every container and script template's environment.
func injectEnv(wf *wfv1.Workflow, r *store.Run) {
	add := func(c *corev1.Container) {
		c.Env = append(c.Env, corev1.EnvVar{Name: EnvRunID, Value: r.ID}, corev1.EnvVar{Name: EnvNamespace, Value: r.Namespace})
	}
	for i := range wf.Spec.Templates {
		t := &wf.Spec.Templates[i]
		if t.Container != nil {
			add(t.Container)
		}
		if t.Script != nil {
			add(&t.Script.Container)
		}
	}
}

// Cancel stops an active run; its phase becomes Cancelled when the engine reports the end.
func (m *Manager) Cancel(ctx context.Context, namespace, id string) error {
	r, err := m.st.GetRun(ctx, namespace, id)
	if err != nil {
		return fmt.Errorf("cancel run %q: %w", id, err)
	}
	if r.Phase.Terminal() {
		return fmt.Errorf("cancel run %q in phase %s: %w", id, r.Phase, ErrFinished)
	}
	m.mu.Lock()
	m.cancelled[id] = true
	m.mu.Unlock()
	if m.elected {
		msg := CancelRequestedMessage
		if _, err := m.st.UpdateRun(ctx, namespace, id, store.RunUpdate{Message: &msg}); err != nil {
			return fmt.Errorf("cancel run %q: %w", id, err)
		}
	}
	err = m.eng.Cancel(ctx, id)
	if errors.Is(err, engine.ErrRunNotFound) {
		msg := "cancelled by user"
		_, err = m.st.UpdateRun(ctx, namespace, id, store.RunUpdate{Phase: store.PhaseCancelled, Message: &msg, FinishedAt: m.now()})
	}
	if err != nil {
		if m.elected {
			// The engine did not take the cancel: withdraw the request, so that the run is not
			// recorded Cancelled if it fails on its own.
			empty := ""
			_, _ = m.st.UpdateRun(context.WithoutCancel(ctx), namespace, id, store.RunUpdate{Message: &empty})
		}
		return fmt.Errorf("cancel run %q: %w", id, err)
	}
	return nil
}

// Retry re-runs a failed, errored or cancelled run: nodes that succeeded keep their outputs and
// the others run again. A run the engine no longer knows (the server restarted) is submitted
// again from its stored spec and runs every node.
func (m *Manager) Retry(ctx context.Context, namespace, id string) error {
	r, err := m.st.GetRun(ctx, namespace, id)
	if err != nil {
		return fmt.Errorf("retry run %q: %w", id, err)
	}
	if !r.Phase.Terminal() || r.Phase == store.PhaseSucceeded {
		return fmt.Errorf("retry run %q in phase %s: %w", id, r.Phase, ErrNotRetryable)
	}
	m.mu.Lock()
	delete(m.cancelled, id)
	m.mu.Unlock()
	err = m.eng.Retry(ctx, id)
	if errors.Is(err, engine.ErrRunNotFound) {
		wf, perr := engine.ParseWorkflow(r.Spec)
		if perr != nil {
			return fmt.Errorf("retry run %q: %w: %w", id, ErrInvalidSpec, perr)
		}
		injectEnv(wf, r)
		m.mu.Lock()
		m.lastSeq[id] = 0
		m.mu.Unlock()
		_, err = m.eng.Submit(ctx, wf, engine.SubmitOptions{Parameters: r.Parameters, RunID: id})
	}
	if err != nil {
		return fmt.Errorf("retry run %q: %w: %w", id, ErrNotRetryable, err)
	}
	msg := ""
	if _, err := m.st.UpdateRun(ctx, namespace, id, store.RunUpdate{Phase: store.PhaseRunning, Message: &msg}); err != nil {
		return fmt.Errorf("retry run %q: %w", id, err)
	}
	m.follow(namespace, id)
	return nil
}

// Logs returns the output of one node (ID or name) of a run. With follow the reader streams
// until the node ends. Runs the engine forgot are read from RunDir when configured.
func (m *Manager) Logs(ctx context.Context, namespace, id, node string, follow bool) (io.ReadCloser, error) {
	if _, err := m.st.GetRun(ctx, namespace, id); err != nil {
		return nil, fmt.Errorf("logs of run %q: %w", id, err)
	}
	rc, err := m.eng.Logs(ctx, id, node, follow)
	if !errors.Is(err, engine.ErrRunNotFound) || m.dir == nil {
		return rc, err
	}
	nodes, lerr := m.st.ListNodes(ctx, id)
	if lerr != nil {
		return nil, fmt.Errorf("logs of run %q: %w", id, lerr)
	}
	for _, n := range nodes {
		if n.ID == node || n.Name == node || n.DisplayName == node {
			f, oerr := os.Open(filepath.Join(m.dir(id), "logs", n.ID+".log"))
			if os.IsNotExist(oerr) {
				return io.NopCloser(&emptyReader{}), nil
			}
			return f, oerr
		}
	}
	return nil, fmt.Errorf("logs of node %q in run %q: %w", node, id, engine.ErrNodeNotFound)
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// Reconcile runs once at start-up: every run the store has in a non-terminal phase is either
// followed again (the engine still knows it) or marked Error with RestartMessage. Tracking-only
// runs (no spec) are left to their clients.
func (m *Manager) Reconcile(ctx context.Context) error {
	rs, err := m.st.ListUnfinishedRunRefs(ctx)
	if err != nil {
		return fmt.Errorf("reconcile runs: %w", err)
	}
	for _, r := range rs {
		if !r.HasSpec {
			continue // a tracking-only run: its client, not an engine, finishes it
		}
		if _, err := m.eng.Status(ctx, r.ID); err == nil {
			m.follow(r.Namespace, r.ID)
			continue
		}
		if err := m.markLost(ctx, r); err != nil {
			return fmt.Errorf("reconcile: %w", err)
		}
	}
	return nil
}

// markNodesLost marks the nodes of a lost run that were still active as Error.
func (m *Manager) markNodesLost(ctx context.Context, runID string) error {
	nodes, err := m.st.ListNodes(ctx, runID)
	if err != nil {
		return err
	}
	var changed []store.Node
	for _, n := range nodes {
		if !n.Phase.Terminal() {
			n.Phase, n.Message = store.PhaseError, "lost in a server restart"
			if n.FinishedAt.IsZero() {
				n.FinishedAt = m.now()
			}
			changed = append(changed, n)
		}
	}
	if len(changed) == 0 {
		return nil
	}
	return m.st.UpsertNodes(ctx, runID, changed)
}

// nodeJSON encodes a node's inputs or outputs; nil stays nil.
func nodeJSON(v any, isNil bool) json.RawMessage {
	if isNil {
		return nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return b
}

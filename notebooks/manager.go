package notebooks

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Environment variables Kiln sets in every notebook so that the tracking client and pipeline
// submission reach the same backend without configuration.
const (
	// EnvAPIURL is the backend's base URL (Options.APIURL).
	EnvAPIURL = "KILN_API_URL"
	// EnvNamespace is the notebook's namespace, the default namespace for runs and experiments.
	EnvNamespace = "KILN_NAMESPACE"
	// EnvNotebook is the notebook's name.
	EnvNotebook = "KILN_NOTEBOOK"
	// EnvUser is the notebook's owner.
	EnvUser = "KILN_USER"
)

// Defaults used when the corresponding Options field is zero.
const (
	// DefaultIdleTimeout stops notebooks idle for an hour unless their spec says otherwise.
	DefaultIdleTimeout = time.Hour
	// DefaultCullInterval is how often the culler reads kernel activity.
	DefaultCullInterval = time.Minute
	// maxStoredEvents bounds the events kept on a record.
	maxStoredEvents = 30
)

// Options configure a Manager. Repository and Spawner are required.
type Options struct {
	// Repository keeps the records.
	Repository Repository
	// Spawner runs the servers.
	Spawner Spawner
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// DefaultIdleTimeout applies to notebooks whose spec has no idle timeout. Zero means
	// DefaultIdleTimeout; negative disables culling for them.
	DefaultIdleTimeout time.Duration
	// CullInterval is how often activity is read; zero means DefaultCullInterval.
	CullInterval time.Duration
	// APIURL is put in EnvAPIURL inside notebooks; empty leaves it unset.
	APIURL string
	// PublicURL prefixes Status.URL (e.g. "https://kiln.example.com"); empty gives a path.
	PublicURL string
	// Credentials, when set, returns extra variables for a notebook's environment, typically a
	// token for the owner so the tracking client can authenticate.
	Credentials func(ctx context.Context, nb *Notebook) ([]EnvVar, error)
	// HTTPClient reads Jupyter's activity API; nil means a client with a 10s timeout.
	HTTPClient *http.Client
	// AllowedOrigins are browser origins, besides the request's own host, allowed to send
	// state-changing requests and WebSocket upgrades through the proxy (e.g. a portal on another host).
	AllowedOrigins []string
	// TrustForwardedHost compares origins with X-Forwarded-Host when set by a trusted front proxy.
	TrustForwardedHost bool
	// Now returns the current time; nil means time.Now. Tests of the culler set it.
	Now func() time.Time
}

// Manager owns notebook records, drives a Spawner, culls idle servers and serves the REST API and
// the proxy. It is safe for concurrent use.
type Manager struct {
	opts  Options
	repo  Repository
	spawn Spawner
	log   *slog.Logger
	now   func() time.Time
	http  *http.Client

	mu    sync.Mutex
	locks map[string]*sync.Mutex
}

// NewManager checks opts and returns a Manager. Call Run to reconcile and cull.
func NewManager(opts Options) (*Manager, error) {
	if opts.Repository == nil {
		return nil, errors.New("notebooks: Options.Repository is required")
	}
	if opts.Spawner == nil {
		return nil, errors.New("notebooks: Options.Spawner is required")
	}
	m := &Manager{opts: opts, repo: opts.Repository, spawn: opts.Spawner, log: opts.Logger,
		now: opts.Now, http: opts.HTTPClient, locks: map[string]*sync.Mutex{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.http == nil {
		m.http = &http.Client{Timeout: 10 * time.Second}
	}
	if m.opts.DefaultIdleTimeout == 0 {
		m.opts.DefaultIdleTimeout = DefaultIdleTimeout
	}
	if m.opts.CullInterval <= 0 {
		m.opts.CullInterval = DefaultCullInterval
	}
	return m, nil
}

// lock serializes lifecycle operations on one notebook.
func (m *Manager) lock(namespace, name string) func() {
	key := namespace + "/" + name
	m.mu.Lock()
	l, ok := m.locks[key]
	if !ok {
		l = &sync.Mutex{}
		m.locks[key] = l
	}
	m.mu.Unlock()
	l.Lock()
	return l.Unlock
}

// Create validates nb, stores it and starts its server. Validation problems come back as a
// *ValidationError listing every field; an existing notebook as ErrAlreadyExists. A server that
// fails to start does not fail the create: the returned record's status says what went wrong.
func (m *Manager) Create(ctx context.Context, nb *Notebook) (*Notebook, error) {
	errs := nb.Validate()
	if v, ok := m.spawn.(SpecValidator); ok {
		errs = append(errs, v.ValidateSpec(&nb.Spec, specPath)...)
	}
	if len(errs) > 0 {
		return nil, &ValidationError{Errors: errs}
	}
	defer m.lock(nb.Namespace, nb.Name)()
	rec := *nb
	rec.Stopped = false
	rec.CreatedAt = m.now().UTC()
	rec.Status = Status{LastActivity: rec.CreatedAt}
	if err := m.repo.Create(ctx, &rec); err != nil {
		return nil, err
	}
	m.addEvent(&rec, EventNormal, "Created", "notebook created by "+cmp.Or(rec.Owner, "unknown user"))
	m.startLocked(ctx, &rec)
	return m.observe(ctx, &rec), nil
}

// Get returns a notebook with fresh status.
func (m *Manager) Get(ctx context.Context, namespace, name string) (*Notebook, error) {
	nb, err := m.repo.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	return m.observe(ctx, nb), nil
}

// List returns the notebooks of a namespace ("" for all) with fresh status.
func (m *Manager) List(ctx context.Context, namespace string) ([]*Notebook, error) {
	nbs, err := m.repo.List(ctx, namespace)
	if err != nil {
		return nil, err
	}
	for i, nb := range nbs {
		nbs[i] = m.observe(ctx, nb)
	}
	return nbs, nil
}

// Start resumes a stopped (or culled, or failed) notebook with its workspace intact.
func (m *Manager) Start(ctx context.Context, namespace, name string) (*Notebook, error) {
	defer m.lock(namespace, name)()
	nb, err := m.repo.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	nb.Stopped = false
	// Activity before the stop says nothing about now; without this a culled notebook would be
	// culled again on the next pass.
	nb.Status.LastActivity = m.now().UTC()
	m.addEvent(nb, EventNormal, "Starting", "start requested")
	m.startLocked(ctx, nb)
	return m.observe(ctx, nb), nil
}

// startLocked asks the spawner to start nb and records the outcome on the record.
func (m *Manager) startLocked(ctx context.Context, nb *Notebook) {
	launch, err := m.launchSpec(ctx, nb)
	if err == nil {
		err = m.spawn.Start(ctx, launch)
	}
	if err != nil {
		m.log.Error("start notebook", "namespace", nb.Namespace, "name", nb.Name, "err", err)
		m.addEvent(nb, EventWarning, "StartFailed", err.Error())
	}
	if err := m.repo.Update(ctx, nb); err != nil {
		m.log.Error("save notebook", "namespace", nb.Namespace, "name", nb.Name, "err", err)
	}
}

// Stop stops a notebook's server and keeps its workspace.
func (m *Manager) Stop(ctx context.Context, namespace, name string) (*Notebook, error) {
	defer m.lock(namespace, name)()
	nb, err := m.repo.Get(ctx, namespace, name)
	if err != nil {
		return nil, err
	}
	if err := m.stopLocked(ctx, nb, "Stopped", "stop requested"); err != nil {
		return nil, err
	}
	return m.observe(ctx, nb), nil
}

func (m *Manager) stopLocked(ctx context.Context, nb *Notebook, reason, msg string) error {
	nb.Stopped = true
	m.addEvent(nb, EventNormal, reason, msg)
	if err := m.repo.Update(ctx, nb); err != nil {
		return err
	}
	if err := m.spawn.Stop(ctx, nb.Namespace, nb.Name); err != nil {
		return fmt.Errorf("stop notebook %s/%s: %w", nb.Namespace, nb.Name, err)
	}
	return nil
}

// Delete removes a notebook's server, workspace and record. A notebook in any phase, Failed
// included, can be deleted; if the spawner cannot clean up, the record stays so delete can be
// retried.
func (m *Manager) Delete(ctx context.Context, namespace, name string) error {
	defer m.lock(namespace, name)()
	if _, err := m.repo.Get(ctx, namespace, name); err != nil {
		return err
	}
	if err := m.spawn.Delete(ctx, namespace, name); err != nil {
		return fmt.Errorf("delete notebook %s/%s: %w", namespace, name, err)
	}
	return m.repo.Delete(ctx, namespace, name)
}

// Logs returns the last tailLines lines of a notebook's server log.
func (m *Manager) Logs(ctx context.Context, namespace, name string, tailLines int) ([]byte, error) {
	if _, err := m.repo.Get(ctx, namespace, name); err != nil {
		return nil, err
	}
	lr, ok := m.spawn.(LogReader)
	if !ok {
		return nil, ErrNoLogs
	}
	return lr.Logs(ctx, namespace, name, tailLines)
}

// launchSpec returns a copy of nb whose environment holds the variables Kiln adds.
func (m *Manager) launchSpec(ctx context.Context, nb *Notebook) (*Notebook, error) {
	l := *nb
	l.Spec.Env = slices.Clone(nb.Spec.Env)
	if m.opts.APIURL != "" {
		l.Spec.Env = append(l.Spec.Env, EnvVar{Name: EnvAPIURL, Value: m.opts.APIURL})
	}
	l.Spec.Env = append(l.Spec.Env,
		EnvVar{Name: EnvNamespace, Value: nb.Namespace},
		EnvVar{Name: EnvNotebook, Value: nb.Name})
	if nb.Owner != "" {
		l.Spec.Env = append(l.Spec.Env, EnvVar{Name: EnvUser, Value: nb.Owner})
	}
	if m.opts.Credentials != nil {
		extra, err := m.opts.Credentials(ctx, nb)
		if err != nil {
			return nil, fmt.Errorf("credentials for notebook %s/%s: %w", nb.Namespace, nb.Name, err)
		}
		l.Spec.Env = append(l.Spec.Env, extra...)
	}
	return &l, nil
}

// observe returns nb with the spawner's view merged into its status.
func (m *Manager) observe(ctx context.Context, nb *Notebook) *Notebook {
	out := *nb
	st, err := m.spawn.Status(ctx, nb.Namespace, nb.Name)
	if err != nil {
		st = Status{Phase: PhasePending, Message: "status unavailable: " + err.Error()}
	}
	if nb.Stopped && st.Phase != PhaseStopped && st.Phase != PhaseFailed {
		st.Phase = PhaseStopping
	}
	if !nb.Stopped && st.Phase == PhaseStopped {
		// Desired running but nothing runs: the server has not been (re)started yet, e.g. before
		// Run reconciled after a restart, or the start failed (see events).
		st.Phase = PhasePending
		if last := lastEvent(nb.Status.Events); last != nil && last.Reason == "StartFailed" {
			st.Phase, st.Message = PhaseFailed, last.Message
		}
	}
	st.LastActivity = nb.Status.LastActivity
	st.Events = append(slices.Clone(nb.Status.Events), st.Events...)
	slices.SortStableFunc(st.Events, func(a, b Event) int { return a.Time.Compare(b.Time) })
	if st.Phase == PhaseRunning || st.Phase == PhaseStarting {
		st.URL = m.opts.PublicURL + PathPrefix(nb.Namespace, nb.Name)
	}
	out.Status = st
	return &out
}

func lastEvent(evs []Event) *Event {
	if len(evs) == 0 {
		return nil
	}
	return &evs[len(evs)-1]
}

// addEvent appends a Manager event to the record (the caller saves it).
func (m *Manager) addEvent(nb *Notebook, typ EventType, reason, msg string) {
	nb.Status.Events = append(nb.Status.Events, Event{Time: m.now().UTC(), Type: typ, Reason: reason, Message: msg})
	if n := len(nb.Status.Events); n > maxStoredEvents {
		nb.Status.Events = slices.Clone(nb.Status.Events[n-maxStoredEvents:])
	}
}

// Run reconciles the spawner with the records (servers left over from a previous life of this
// process are replaced by fresh ones, stopped notebooks are made sure to be stopped), then culls
// idle notebooks every CullInterval until ctx is done. On return it closes the spawner, which for
// the local spawner stops every server; records keep their desired state, so the next Run brings
// them back.
func (m *Manager) Run(ctx context.Context) error {
	defer func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if err := m.spawn.Close(cctx); err != nil {
			m.log.Error("close spawner", "err", err)
		}
	}()
	if err := m.Reconcile(ctx); err != nil {
		m.log.Error("reconcile notebooks", "err", err)
	}
	t := time.NewTicker(m.opts.CullInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			m.Cull(ctx)
		}
	}
}

// Reconcile makes the spawner match every record: running notebooks are (re)started, stopped ones
// stopped. Run calls it once at start-up.
func (m *Manager) Reconcile(ctx context.Context) error {
	nbs, err := m.repo.List(ctx, "")
	if err != nil {
		return err
	}
	var errs []error
	for _, nb := range nbs {
		func() {
			defer m.lock(nb.Namespace, nb.Name)()
			if nb.Stopped {
				if err := m.spawn.Stop(ctx, nb.Namespace, nb.Name); err != nil {
					errs = append(errs, fmt.Errorf("stop notebook %s/%s: %w", nb.Namespace, nb.Name, err))
				}
				return
			}
			// Downtime of Kiln is not idleness of the user.
			nb.Status.LastActivity = m.now().UTC()
			m.startLocked(ctx, nb)
		}()
	}
	return errors.Join(errs...)
}

// specPath is the field path of a notebook's spec in API requests.
var specPath = field.NewPath("spec")

package argo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	wfinformers "github.com/argoproj/argo-workflows/v3/pkg/client/informers/externalversions"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"

	"github.com/kilnml/kiln/engine"
)

// LabelRunID labels every Workflow the engine creates with Kiln's run id.
const LabelRunID = "kiln.dev/run-id"

// ErrRejected is returned (wrapped, with the API server's reasons) when the
// API server refuses a workflow, e.g. a field unknown to the installed CRD.
var ErrRejected = errors.New("argo: workflow rejected by the kubernetes api server")

// Engine runs workflows on Kubernetes through Argo's workflow-controller.
// It is safe for concurrent use; Close stops its informers.
type Engine struct {
	cfg   Config
	log   *slog.Logger
	kube  kubernetes.Interface
	wfc   wfclientset.Interface
	watch map[string]bool // watched namespaces; nil means all
	stop  chan struct{}
	once  sync.Once

	mu   sync.Mutex
	runs map[string]*run // by run id
	// forgotten holds the UIDs of recently deleted runs' Workflows, so an
	// update still queued in the informer does not bring a run back.
	forgotten map[types.UID]bool
	forgotQ   []types.UID
	// ensured holds the "namespace/name" of service accounts already
	// ensured (Config.ManageServiceAccounts).
	ensured map[string]bool
}

// maxForgotten bounds the memory of deleted Workflows' UIDs.
const maxForgotten = 4096

var _ engine.Engine = (*Engine)(nil)

// New connects to the cluster, starts informers on the Workflows labelled
// with a run id in the configured namespaces and waits for their first list,
// so runs created before this process started are followed (and reported)
// again.
func New(ctx context.Context, cfg Config) (*Engine, error) {
	rc, err := cfg.restConfig()
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("argo: kubernetes client: %w", err)
	}
	wfc, err := wfclientset.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("argo: workflow client: %w", err)
	}
	return newEngine(ctx, cfg, kube, wfc)
}

func newEngine(ctx context.Context, cfg Config, kube kubernetes.Interface, wfc wfclientset.Interface) (*Engine, error) {
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	e := &Engine{cfg: cfg, log: log, kube: kube, wfc: wfc, stop: make(chan struct{}), runs: map[string]*run{}, forgotten: map[types.UID]bool{}, ensured: map[string]bool{}}
	if e.cfg.Archive == nil {
		e.cfg.Archive = artifactArchive{kube: kube}
	}
	namespaces := []string{metav1.NamespaceAll}
	if len(cfg.Namespaces) > 0 {
		namespaces = slices.Clone(cfg.Namespaces)
		e.watch = map[string]bool{}
		for _, ns := range namespaces {
			e.watch[ns] = true
		}
	}
	var synced []cache.InformerSynced
	for _, ns := range namespaces {
		f := wfinformers.NewSharedInformerFactoryWithOptions(wfc, cfg.Resync,
			wfinformers.WithNamespace(ns),
			wfinformers.WithTweakListOptions(func(o *metav1.ListOptions) { o.LabelSelector = LabelRunID }))
		inf := f.Argoproj().V1alpha1().Workflows().Informer()
		if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			AddFunc:    func(obj any) { e.observe(obj) },
			UpdateFunc: func(_, obj any) { e.observe(obj) },
			DeleteFunc: e.deleted,
		}); err != nil {
			return nil, fmt.Errorf("argo: informer handler: %w", err)
		}
		if err := inf.SetWatchErrorHandlerWithContext(func(_ context.Context, _ *cache.Reflector, err error) {
			e.log.Warn("workflow watch failed; relisting", "namespace", ns, "err", err)
		}); err != nil {
			return nil, fmt.Errorf("argo: informer error handler: %w", err)
		}
		f.Start(e.stop)
		synced = append(synced, inf.HasSynced)
	}
	if !cache.WaitForCacheSync(mergeDone(ctx, e.stop), synced...) {
		e.Close()
		return nil, fmt.Errorf("argo: sync workflow informers: %w", context.Cause(ctx))
	}
	return e, nil
}

// mergeDone returns a channel closed when ctx ends or stop is closed.
func mergeDone(ctx context.Context, stop <-chan struct{}) <-chan struct{} {
	done := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
		case <-stop:
		}
		close(done)
	}()
	return done
}

// Close stops the engine's informers. Runs keep running in the cluster.
func (e *Engine) Close() { e.once.Do(func() { close(e.stop) }) }

// namespaceOf maps a submitted workflow's namespace to the Kubernetes one.
func (e *Engine) namespaceOf(wf *wfv1.Workflow) string {
	ns := wf.Namespace
	if e.cfg.NamespaceFor != nil {
		ns = e.cfg.NamespaceFor(ns)
	}
	if ns == "" {
		ns = e.cfg.Namespace
	}
	if ns == "" {
		ns = metav1.NamespaceDefault
	}
	return ns
}

// Submit creates the workflow in its namespace, labelled with the run id
// (opts.RunID, else the workflow's name). The API server validates it
// against the installed CRD strictly; a rejection wraps ErrRejected.
func (e *Engine) Submit(ctx context.Context, wf *wfv1.Workflow, opts engine.SubmitOptions) (string, error) {
	wf = wf.DeepCopy()
	wf.Namespace = e.namespaceOf(wf)
	if e.watch != nil && !e.watch[wf.Namespace] {
		return "", fmt.Errorf("argo: submit to namespace %q: not among the engine's namespaces %v", wf.Namespace, e.cfg.Namespaces)
	}
	if wf.Name == "" {
		prefix := wf.GenerateName
		if prefix == "" {
			prefix = "kiln-run-"
		}
		wf.Name = prefix + rand.String(5)
	}
	id := opts.RunID
	if id == "" {
		id = wf.Name
	}
	if errs := validation.IsValidLabelValue(id); len(errs) > 0 {
		return "", fmt.Errorf("argo: run id %q is not a valid label value: %v", id, errs)
	}
	if err := applyParameters(wf, opts.Parameters); err != nil {
		return "", fmt.Errorf("argo: submit run %q: %w", id, err)
	}
	if wf.Labels == nil {
		wf.Labels = map[string]string{}
	}
	wf.Labels[LabelRunID] = id
	if wf.Spec.ServiceAccountName == "" && e.cfg.ServiceAccountFor != nil {
		wf.Spec.ServiceAccountName = e.cfg.ServiceAccountFor(wf)
	}
	if sa := wf.Spec.ServiceAccountName; sa != "" && e.cfg.ManageServiceAccounts {
		if err := e.ensureServiceAccount(ctx, wf.Namespace, sa); err != nil {
			return "", fmt.Errorf("argo: submit run %q: %w", id, err)
		}
	}
	if wf.Spec.TTLStrategy == nil && e.cfg.DefaultTTL != nil {
		wf.Spec.TTLStrategy = e.cfg.DefaultTTL.DeepCopy()
	}
	if wf.Spec.PodGC == nil && e.cfg.DefaultPodGC != nil {
		wf.Spec.PodGC = e.cfg.DefaultPodGC.DeepCopy()
	}
	wf.Status = wfv1.WorkflowStatus{}
	wf.ResourceVersion = ""

	r, err := e.register(id, wf.Namespace, wf.Name)
	if err != nil {
		return "", err
	}
	created := &wfv1.Workflow{}
	if err := e.writeStrict(ctx, http.MethodPost, "workflows", wf.Namespace, "", wf, created); err != nil {
		e.forget(id, r)
		return "", rejected(fmt.Sprintf("submit run %q: create workflow %s/%s", id, wf.Namespace, wf.Name), err)
	}
	e.log.Info("run submitted", "run", id, "namespace", created.Namespace, "workflow", created.Name)
	e.observe(created)
	return id, nil
}

// applyParameters overrides workflow arguments by name.
func applyParameters(wf *wfv1.Workflow, params map[string]string) error {
	for name, v := range params {
		found := false
		for i := range wf.Spec.Arguments.Parameters {
			p := &wf.Spec.Arguments.Parameters[i]
			if p.Name == name {
				p.Value = wfv1.AnyStringPtr(v)
				found = true
			}
		}
		if !found {
			return fmt.Errorf("parameter %q is not an argument of the workflow", name)
		}
	}
	return nil
}

// register reserves a run id for a workflow about to be created.
func (e *Engine) register(id, ns, name string) (*run, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, dup := e.runs[id]; dup {
		return nil, fmt.Errorf("argo: submit run %q: run already exists", id)
	}
	r := newRun(id, ns, name)
	e.runs[id] = r
	return r, nil
}

// forget drops the run id if it still maps to r.
func (e *Engine) forget(id string, r *run) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.runs[id] == r {
		delete(e.runs, id)
		e.rememberDeletedLocked(r.uidOf())
	}
}

// rememberDeletedLocked records a deleted Workflow's UID; e.mu must be held.
func (e *Engine) rememberDeletedLocked(uid types.UID) {
	if uid == "" || e.forgotten[uid] {
		return
	}
	e.forgotten[uid] = true
	e.forgotQ = append(e.forgotQ, uid)
	if len(e.forgotQ) > maxForgotten {
		delete(e.forgotten, e.forgotQ[0])
		e.forgotQ = e.forgotQ[1:]
	}
}

// get returns the run with the given id.
func (e *Engine) get(id string) (*run, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.runs[id]
	if !ok {
		return nil, fmt.Errorf("argo: run %q: %w", id, engine.ErrRunNotFound)
	}
	return r, nil
}

// observe records a Workflow as seen by the informer (or returned by a
// write) and emits the events its changes imply.
func (e *Engine) observe(obj any) {
	wf, ok := obj.(*wfv1.Workflow)
	if !ok {
		return
	}
	id := wf.Labels[LabelRunID]
	if id == "" {
		return
	}
	e.mu.Lock()
	r, ok := e.runs[id]
	if !ok && (e.forgotten[wf.UID] || wf.DeletionTimestamp != nil) {
		e.mu.Unlock()
		return
	}
	if !ok {
		// A run submitted before this process started: follow it again.
		r = newRun(id, wf.Namespace, wf.Name)
		e.runs[id] = r
	}
	e.mu.Unlock()
	if r.ns != wf.Namespace || r.name != wf.Name {
		e.log.Warn("workflow carries another run's id; ignored", "run", id, "workflow", wf.Namespace+"/"+wf.Name)
		return
	}
	r.observe(wf)
}

// deleted ends and forgets the run of a deleted Workflow.
func (e *Engine) deleted(obj any) {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = d.Obj
	}
	wf, ok := obj.(*wfv1.Workflow)
	if !ok {
		return
	}
	id := wf.Labels[LabelRunID]
	e.mu.Lock()
	r, ok := e.runs[id]
	if ok && r.ns == wf.Namespace && r.name == wf.Name {
		delete(e.runs, id)
		e.rememberDeletedLocked(wf.UID)
	}
	e.mu.Unlock()
	if ok {
		r.gone(wf)
	}
}

// Status returns the run's latest observed status.
func (e *Engine) Status(ctx context.Context, id string) (*engine.RunStatus, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	wf := r.latest()
	if wf == nil {
		if wf, err = e.wfc.ArgoprojV1alpha1().Workflows(r.ns).Get(ctx, r.name, metav1.GetOptions{}); err != nil {
			return nil, fmt.Errorf("argo: status of run %q: %w", id, err)
		}
	}
	return &engine.RunStatus{RunID: id, Workflow: wf.Name, Status: *wf.Status.DeepCopy()}, nil
}

// Workflow returns the run's Workflow as last observed (a copy), or nil
// before the first observation.
func (e *Engine) Workflow(id string) (*wfv1.Workflow, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	if wf := r.latest(); wf != nil {
		return wf.DeepCopy(), nil
	}
	return nil, nil
}

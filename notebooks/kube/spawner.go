package kube

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation/field"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	"github.com/kilnml/kiln/notebooks"
)

// Options configure a Spawner. Client is required; other zero fields take the defaults named.
type Options struct {
	// Client talks to the cluster.
	Client kubernetes.Interface
	// Logger receives operational logs; nil discards them.
	Logger *slog.Logger
	// DefaultImage runs when a spec names no image; empty means DefaultImage.
	DefaultImage string
	// WorkspaceSize is the workspace claim size when a spec names none; empty means "10Gi".
	WorkspaceSize string
	// MountPath is where the workspace is mounted; empty means "/home/jovyan".
	MountPath string
	// Port is the container port Jupyter listens on; zero means 8888.
	Port int32
	// FSGroup owns mounted volumes so the notebook user can write them; zero means 100 (users).
	FSGroup int64
	// ServiceDomain completes Service host names for Endpoint; empty means "svc.cluster.local".
	ServiceDomain string
}

// DefaultImage is the image run when a spec names none.
const DefaultImage = "quay.io/jupyter/scipy-notebook:2024-12-23"

// Spawner runs each notebook as a one-replica StatefulSet with a Service, a workspace
// PersistentVolumeClaim and a Secret holding its Jupyter token, all in the notebook's namespace.
// Stop scales the StatefulSet to zero and keeps the claim. It implements notebooks.Spawner and
// notebooks.SpecValidator.
type Spawner struct {
	opts Options
	cs   kubernetes.Interface
	log  *slog.Logger

	mu        sync.Mutex
	endpoints map[string]endpoint
}

var (
	_ notebooks.Spawner       = (*Spawner)(nil)
	_ notebooks.SpecValidator = (*Spawner)(nil)
	_ notebooks.LogReader     = (*Spawner)(nil)
)

// New returns a Spawner.
func New(opts Options) (*Spawner, error) {
	if opts.Client == nil {
		return nil, errors.New("kube: Options.Client is required")
	}
	if opts.DefaultImage == "" {
		opts.DefaultImage = DefaultImage
	}
	if opts.WorkspaceSize == "" {
		opts.WorkspaceSize = "10Gi"
	}
	if opts.MountPath == "" {
		opts.MountPath = "/home/jovyan"
	}
	if opts.Port == 0 {
		opts.Port = 8888
	}
	if opts.FSGroup == 0 {
		opts.FSGroup = 100
	}
	if opts.ServiceDomain == "" {
		opts.ServiceDomain = "svc.cluster.local"
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Spawner{opts: opts, cs: opts.Client, log: log, endpoints: map[string]endpoint{}}, nil
}

// ValidateSpec rejects host paths, which a pod cannot be trusted with, and requires claims.
func (s *Spawner) ValidateSpec(spec *notebooks.Spec, fld *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, v := range spec.DataVolumes {
		p := fld.Child("dataVolumes").Index(i)
		if v.Path != "" {
			errs = append(errs, field.Forbidden(p.Child("path"), "host paths are not mounted into pods; use claimName"))
		}
		if v.ClaimName == "" {
			errs = append(errs, field.Required(p.Child("claimName"), "the Kubernetes spawner mounts existing PersistentVolumeClaims"))
		}
	}
	return errs
}

// Start implements notebooks.Spawner: it creates the StatefulSet (or scales it back to one
// replica with the current spec), then the Secret, Service and workspace claim it owns.
func (s *Spawner) Start(ctx context.Context, nb *notebooks.Notebook) error {
	// The Manager validated the user's spec and then added Kiln's own variables, so only what the
	// builders rely on is checked again here.
	if errs := buildable(nb); len(errs) > 0 {
		return &notebooks.ValidationError{Errors: errs}
	}
	id := nb.Namespace + "/" + nb.Name
	want := s.buildStatefulSet(nb, 1)
	sts, err := s.cs.AppsV1().StatefulSets(nb.Namespace).Get(ctx, nb.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		sts, err = s.cs.AppsV1().StatefulSets(nb.Namespace).Create(ctx, want, metav1.CreateOptions{})
		if err != nil {
			return fmt.Errorf("start notebook %s: create statefulset: %w", id, err)
		}
	case err != nil:
		return fmt.Errorf("start notebook %s: get statefulset: %w", id, err)
	default:
		sts.Spec.Replicas = ptr.To[int32](1)
		sts.Spec.Template = want.Spec.Template
		sts.Labels, sts.Annotations = want.Labels, want.Annotations
		sts, err = s.cs.AppsV1().StatefulSets(nb.Namespace).Update(ctx, sts, metav1.UpdateOptions{})
		if err != nil {
			return fmt.Errorf("start notebook %s: update statefulset: %w", id, err)
		}
	}
	token, err := randomToken()
	if err != nil {
		return fmt.Errorf("start notebook %s: %w", id, err)
	}
	// An existing Secret keeps its token: open browser sessions stay valid across stop/start.
	if _, err := s.cs.CoreV1().Secrets(nb.Namespace).Create(ctx, s.buildTokenSecret(nb, sts, token), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("start notebook %s: create token secret: %w", id, err)
	}
	if _, err := s.cs.CoreV1().Services(nb.Namespace).Create(ctx, s.buildService(nb, sts), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("start notebook %s: create service: %w", id, err)
	}
	if _, err := s.cs.CoreV1().PersistentVolumeClaims(nb.Namespace).Create(ctx, s.buildWorkspaceClaim(nb, sts), metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("start notebook %s: create workspace claim: %w", id, err)
	}
	return nil
}

// buildable checks the names and quantities the object builders use.
func buildable(nb *notebooks.Notebook) field.ErrorList {
	errs := notebooks.ValidateName(nb.Name, field.NewPath("name"))
	errs = append(errs, notebooks.ValidateName(nb.Namespace, field.NewPath("namespace"))...)
	spec := field.NewPath("spec")
	for _, q := range []struct {
		v   string
		fld *field.Path
	}{
		{nb.Spec.Resources.CPU, spec.Child("resources", "cpu")},
		{nb.Spec.Resources.Memory, spec.Child("resources", "memory")},
		{nb.Spec.Workspace.Size, spec.Child("workspace", "size")},
	} {
		if q.v == "" {
			continue
		}
		if _, err := resource.ParseQuantity(q.v); err != nil {
			errs = append(errs, field.Invalid(q.fld, q.v, "must be a quantity such as 500m, 2 or 4Gi"))
		}
	}
	return errs
}

// Stop implements notebooks.Spawner: it scales the StatefulSet to zero; the claim stays.
func (s *Spawner) Stop(ctx context.Context, namespace, name string) error {
	s.forget(namespace, name)
	sts, err := s.cs.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("stop notebook %s/%s: %w", namespace, name, err)
	}
	if sts.Spec.Replicas != nil && *sts.Spec.Replicas == 0 {
		return nil
	}
	sts.Spec.Replicas = ptr.To[int32](0)
	if _, err := s.cs.AppsV1().StatefulSets(namespace).Update(ctx, sts, metav1.UpdateOptions{}); err != nil {
		return fmt.Errorf("stop notebook %s/%s: scale to 0: %w", namespace, name, err)
	}
	return nil
}

// Delete implements notebooks.Spawner. The owned objects are deleted explicitly as well as
// through owner references, so nothing is left behind where no garbage collector runs, and a
// notebook in any state (failed included) is cleaned up.
func (s *Spawner) Delete(ctx context.Context, namespace, name string) error {
	s.forget(namespace, name)
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	var errs []error
	check := func(what string, err error) {
		if err != nil && !apierrors.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("delete %s: %w", what, err))
		}
	}
	check("statefulset", s.cs.AppsV1().StatefulSets(namespace).Delete(ctx, name, opts))
	check("service", s.cs.CoreV1().Services(namespace).Delete(ctx, name, opts))
	check("token secret", s.cs.CoreV1().Secrets(namespace).Delete(ctx, tokenSecretName(name), opts))
	check("workspace claim", s.cs.CoreV1().PersistentVolumeClaims(namespace).Delete(ctx, workspaceClaimName(name), opts))
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("delete notebook %s/%s: %w", namespace, name, err)
	}
	return nil
}

// Endpoint implements notebooks.Spawner: the Service's cluster DNS name and the token from the
// Secret, once the pod is ready. The proxy calls it on every request, so answers are cached for
// endpointTTL and only the pod and the Secret are read.
func (s *Spawner) Endpoint(ctx context.Context, namespace, name string) (*url.URL, string, error) {
	k := namespace + "/" + name
	s.mu.Lock()
	e, ok := s.endpoints[k]
	s.mu.Unlock()
	if ok && time.Now().Before(e.expires) {
		return e.target, e.token, nil
	}
	pod, err := s.cs.CoreV1().Pods(namespace).Get(ctx, podName(name), metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, "", fmt.Errorf("notebook %s has no pod: %w", k, notebooks.ErrNotRunning)
	}
	if err != nil {
		return nil, "", fmt.Errorf("notebook %s: %w", k, err)
	}
	if phase, _ := PodPhase(pod); phase != notebooks.PhaseRunning {
		return nil, "", fmt.Errorf("notebook %s is %s: %w", k, phase, notebooks.ErrNotRunning)
	}
	sec, err := s.cs.CoreV1().Secrets(namespace).Get(ctx, tokenSecretName(name), metav1.GetOptions{})
	if err != nil {
		return nil, "", fmt.Errorf("notebook %s: read token: %w", k, err)
	}
	e = endpoint{target: &url.URL{Scheme: "http", Host: fmt.Sprintf("%s.%s.%s", name, namespace, s.opts.ServiceDomain)},
		token: string(sec.Data[tokenKey]), expires: time.Now().Add(endpointTTL)}
	s.mu.Lock()
	s.endpoints[k] = e
	s.mu.Unlock()
	return e.target, e.token, nil
}

// endpointTTL bounds how long a stopped notebook may still be proxied to (it then fails at the
// Service) and how often a busy proxy reads the API server.
const endpointTTL = 3 * time.Second

type endpoint struct {
	target  *url.URL
	token   string
	expires time.Time
}

// forget drops a cached endpoint after a stop or delete.
func (s *Spawner) forget(namespace, name string) {
	s.mu.Lock()
	delete(s.endpoints, namespace+"/"+name)
	s.mu.Unlock()
}

// Logs implements notebooks.LogReader from the notebook container's log; a stopped notebook has
// none.
func (s *Spawner) Logs(ctx context.Context, namespace, name string, tailLines int) ([]byte, error) {
	b, err := s.cs.CoreV1().Pods(namespace).GetLogs(podName(name), &corev1.PodLogOptions{
		Container: containerName, TailLines: ptr.To(int64(tailLines))}).DoRaw(ctx)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("logs of notebook %s/%s: %w", namespace, name, err)
	}
	return b, nil
}

// Close implements notebooks.Spawner; pods keep running when Kiln stops.
func (s *Spawner) Close(ctx context.Context) error { return nil }

// Status implements notebooks.Spawner from the StatefulSet, its pod and the cluster's events.
func (s *Spawner) Status(ctx context.Context, namespace, name string) (notebooks.Status, error) {
	sts, err := s.cs.AppsV1().StatefulSets(namespace).Get(ctx, name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return notebooks.Status{Phase: notebooks.PhaseStopped}, nil
	}
	if err != nil {
		return notebooks.Status{}, fmt.Errorf("status of notebook %s/%s: %w", namespace, name, err)
	}
	pod, err := s.cs.CoreV1().Pods(namespace).Get(ctx, podName(name), metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return notebooks.Status{}, fmt.Errorf("status of notebook %s/%s: %w", namespace, name, err)
	}
	if apierrors.IsNotFound(err) {
		pod = nil
	}
	st := statusFrom(sts, pod)
	st.Events = append(s.events(ctx, namespace, name), st.Events...)
	return st, nil
}

// events returns the cluster's Warning events about the notebook's objects, oldest first.
func (s *Spawner) events(ctx context.Context, namespace, name string) []notebooks.Event {
	var out []notebooks.Event
	for _, obj := range []string{name, podName(name), workspaceClaimName(name)} {
		list, err := s.cs.CoreV1().Events(namespace).List(ctx, metav1.ListOptions{FieldSelector: "involvedObject.name=" + obj})
		if err != nil {
			s.log.Debug("list events", "namespace", namespace, "object", obj, "err", err)
			continue
		}
		for _, ev := range list.Items {
			if ev.Type != corev1.EventTypeWarning {
				continue
			}
			t := ev.LastTimestamp.Time
			if t.IsZero() {
				t = ev.EventTime.Time
			}
			out = append(out, notebooks.Event{Time: t.UTC(), Type: notebooks.EventWarning, Reason: ev.Reason,
				Message: fmt.Sprintf("%s %s: %s", ev.InvolvedObject.Kind, ev.InvolvedObject.Name, ev.Message)})
		}
	}
	return out
}

func randomToken() (string, error) {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate token: %w", err)
	}
	return hex.EncodeToString(b), nil
}

// statusFrom maps a StatefulSet and its pod (nil when absent) to a notebook status.
func statusFrom(sts *appsv1.StatefulSet, pod *corev1.Pod) notebooks.Status {
	stopped := sts.Spec.Replicas != nil && *sts.Spec.Replicas == 0
	switch {
	case stopped && pod == nil:
		return notebooks.Status{Phase: notebooks.PhaseStopped}
	case stopped:
		return notebooks.Status{Phase: notebooks.PhaseStopping, Message: "waiting for pod " + pod.Name + " to terminate"}
	case pod == nil:
		return notebooks.Status{Phase: notebooks.PhasePending, Message: "waiting for the StatefulSet controller to create pod " + podName(sts.Name)}
	}
	phase, msg := PodPhase(pod)
	st := notebooks.Status{Phase: phase, Message: msg}
	if reason := podReason(pod); phase == notebooks.PhaseFailed || reason == corev1.PodReasonUnschedulable {
		// The pod's condition as an event, so that `kiln notebook get` shows it with the others.
		st.Events = []notebooks.Event{{Time: time.Now().UTC(), Type: notebooks.EventWarning, Reason: reason, Message: msg}}
	}
	return st
}

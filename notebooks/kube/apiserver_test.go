package kube_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"

	kubeenv "github.com/kilnml/kiln/internal/testenv/kube"
	"github.com/kilnml/kiln/notebooks"
	"github.com/kilnml/kiln/notebooks/kube"
)

// controlPlane is one etcd + kube-apiserver for this test binary, without Argo's CRDs (which the
// shared instance installs and these tests do not need).
var controlPlane struct {
	once sync.Once
	env  *kubeenv.Env
	err  error
}

func apiServer(t *testing.T) *kubeenv.Env {
	t.Helper()
	controlPlane.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		controlPlane.env, controlPlane.err = kubeenv.Start(ctx, kubeenv.Options{})
	})
	kubeenv.Skip(t, controlPlane.err)
	return controlPlane.env
}

func TestMain(m *testing.M) {
	code := m.Run()
	if controlPlane.env != nil {
		controlPlane.env.Stop()
	}
	os.Exit(code)
}

// newNamespace creates a fresh namespace on the shared API server.
func newNamespace(t *testing.T, cs kubernetes.Interface) string {
	t.Helper()
	name := fmt.Sprintf("nb-%d", time.Now().UnixNano()%1_000_000_000)
	if _, err := cs.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return name
}

// setPodStatus creates the notebook's pod if needed (no controller-manager runs) and sets its status.
func setPodStatus(t *testing.T, cs kubernetes.Interface, ns, name string, st corev1.PodStatus) {
	t.Helper()
	ctx := context.Background()
	pod, err := cs.CoreV1().Pods(ns).Get(ctx, name+"-0", metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		pod, err = cs.CoreV1().Pods(ns).Create(ctx, &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: name + "-0", Labels: map[string]string{kube.LabelNotebook: name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "notebook", Image: "example.com/ds:1"}}},
		}, metav1.CreateOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	pod.Status = st
	if _, err := cs.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestSpawnerOnAPIServer(t *testing.T) {
	env := apiServer(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	ns := newNamespace(t, cs)
	sp, err := kube.New(kube.Options{Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	nb := &notebooks.Notebook{Name: "nb", Namespace: ns, Owner: "alice", Spec: notebooks.Spec{
		Image:     "example.com/ds:1",
		Resources: notebooks.Resources{CPU: "1", Memory: "1Gi"},
		Workspace: notebooks.Workspace{Size: "2Gi"},
		Env:       []notebooks.EnvVar{{Name: "KILN_NAMESPACE", Value: ns}},
	}}
	if err := sp.Start(ctx, nb); err != nil {
		t.Fatalf("start: %v", err)
	}

	// The StatefulSet, and the objects it owns, as the API server stored them.
	sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "nb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if *sts.Spec.Replicas != 1 {
		t.Errorf("replicas = %d, want 1", *sts.Spec.Replicas)
	}
	pod := sts.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.FSGroup == nil || *pod.SecurityContext.FSGroup != 100 {
		t.Errorf("fsGroup = %+v, want 100", pod.SecurityContext)
	}
	c := pod.Containers[0]
	envs := map[string]string{}
	for _, e := range c.Env {
		envs[e.Name] = e.Value
	}
	if envs["NB_PREFIX"] != "/notebook/"+ns+"/nb/" || envs["KILN_NAMESPACE"] != ns {
		t.Errorf("env = %v", envs)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.HTTPGet == nil || c.ReadinessProbe.HTTPGet.Path != "/notebook/"+ns+"/nb/api" {
		t.Errorf("readiness probe = %+v", c.ReadinessProbe)
	}
	if got := c.Resources.Requests[corev1.ResourceMemory]; got.String() != "1Gi" {
		t.Errorf("memory request = %s", got.String())
	}
	wantOwner := []metav1.OwnerReference{{APIVersion: "apps/v1", Kind: "StatefulSet", Name: "nb", UID: sts.UID,
		Controller: ptr.To(true), BlockOwnerDeletion: ptr.To(true)}}
	svc, err := cs.CoreV1().Services(ns).Get(ctx, "nb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantOwner, svc.OwnerReferences); diff != "" {
		t.Errorf("service owner (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{kube.LabelNotebook: "nb"}, svc.Spec.Selector); diff != "" {
		t.Errorf("service selector (-want +got):\n%s", diff)
	}
	pvc, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "nb-workspace", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(wantOwner, pvc.OwnerReferences); diff != "" {
		t.Errorf("claim owner (-want +got):\n%s", diff)
	}
	if got := pvc.Spec.Resources.Requests[corev1.ResourceStorage]; got.String() != "2Gi" {
		t.Errorf("claim size = %s, want 2Gi", got.String())
	}
	sec, err := cs.CoreV1().Secrets(ns).Get(ctx, "nb-jupyter-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	token := string(sec.Data["token"])
	if len(token) < 32 {
		t.Errorf("token %q is too short", token)
	}

	// Status follows the pod.
	wantPhase := func(phase notebooks.Phase, msgPart string) {
		t.Helper()
		st, err := sp.Status(ctx, ns, "nb")
		if err != nil {
			t.Fatal(err)
		}
		if st.Phase != phase || !strings.Contains(st.Message, msgPart) {
			t.Errorf("status = %s %q, want %s containing %q", st.Phase, st.Message, phase, msgPart)
		}
	}
	wantPhase(notebooks.PhasePending, "waiting for the StatefulSet controller")
	setPodStatus(t, cs, ns, "nb", corev1.PodStatus{Phase: corev1.PodPending,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "notebook", Image: "example.com/ds:1",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "manifest unknown"}}}}})
	wantPhase(notebooks.PhaseFailed, `cannot pull image "example.com/ds:1" (ImagePullBackOff): manifest unknown`)
	if _, _, err := sp.Endpoint(ctx, ns, "nb"); !errors.Is(err, notebooks.ErrNotRunning) {
		t.Errorf("endpoint of failed notebook: %v, want ErrNotRunning", err)
	}
	// A Warning event about the pod reaches the notebook's events.
	if _, err := cs.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "nb-0.pull"},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns, Name: "nb-0"},
		Type:           corev1.EventTypeWarning, Reason: "Failed", Message: "Failed to pull image",
		LastTimestamp: metav1.Now(),
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	st, _ := sp.Status(ctx, ns, "nb")
	var evs []string
	for _, ev := range st.Events {
		evs = append(evs, ev.Reason+": "+ev.Message)
	}
	wantEvs := []string{"Failed: Pod nb-0: Failed to pull image",
		`ImagePullBackOff: cannot pull image "example.com/ds:1" (ImagePullBackOff): manifest unknown; check the image name and that the cluster may pull it`}
	if diff := cmp.Diff(wantEvs, evs); diff != "" {
		t.Errorf("events (-want +got):\n%s", diff)
	}
	setPodStatus(t, cs, ns, "nb", corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}}})
	wantPhase(notebooks.PhaseRunning, "")
	target, tok, err := sp.Endpoint(ctx, ns, "nb")
	if err != nil {
		t.Fatal(err)
	}
	if want := "http://nb." + ns + ".svc.cluster.local"; target.String() != want || tok != token {
		t.Errorf("endpoint = %s %q, want %s and the secret's token", target, tok, want)
	}

	// Stop scales to zero and keeps the workspace.
	if err := sp.Stop(ctx, ns, "nb"); err != nil {
		t.Fatal(err)
	}
	sts, _ = cs.AppsV1().StatefulSets(ns).Get(ctx, "nb", metav1.GetOptions{})
	if *sts.Spec.Replicas != 0 {
		t.Errorf("replicas after stop = %d, want 0", *sts.Spec.Replicas)
	}
	wantPhase(notebooks.PhaseStopping, "waiting for pod nb-0")
	if err := cs.CoreV1().Pods(ns).Delete(ctx, "nb-0", *metav1.NewDeleteOptions(0)); err != nil {
		t.Fatal(err)
	}
	wantPhase(notebooks.PhaseStopped, "")
	if _, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "nb-workspace", metav1.GetOptions{}); err != nil {
		t.Errorf("workspace claim after stop: %v", err)
	}
	if err := sp.Stop(ctx, ns, "nb"); err != nil {
		t.Errorf("second stop: %v", err)
	}

	// Start again: one replica, same token.
	if err := sp.Start(ctx, nb); err != nil {
		t.Fatal(err)
	}
	sts, _ = cs.AppsV1().StatefulSets(ns).Get(ctx, "nb", metav1.GetOptions{})
	if *sts.Spec.Replicas != 1 {
		t.Errorf("replicas after restart = %d, want 1", *sts.Spec.Replicas)
	}
	sec, _ = cs.CoreV1().Secrets(ns).Get(ctx, "nb-jupyter-token", metav1.GetOptions{})
	if string(sec.Data["token"]) != token {
		t.Error("token changed across stop/start")
	}

	// Delete removes every owned object (a claim may linger only as terminating, held by the
	// pvc-protection finalizer that the absent controller-manager would release).
	if err := sp.Delete(ctx, ns, "nb"); err != nil {
		t.Fatal(err)
	}
	gone := func(what string, err error, deleting *metav1.Time) {
		t.Helper()
		if err == nil && deleting == nil {
			t.Errorf("%s still exists after delete", what)
		} else if err != nil && !apierrors.IsNotFound(err) {
			t.Errorf("%s: %v", what, err)
		}
	}
	s1, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "nb", metav1.GetOptions{})
	gone("statefulset", err, s1.DeletionTimestamp)
	s2, err := cs.CoreV1().Services(ns).Get(ctx, "nb", metav1.GetOptions{})
	gone("service", err, s2.DeletionTimestamp)
	s3, err := cs.CoreV1().Secrets(ns).Get(ctx, "nb-jupyter-token", metav1.GetOptions{})
	gone("secret", err, s3.DeletionTimestamp)
	s4, err := cs.CoreV1().PersistentVolumeClaims(ns).Get(ctx, "nb-workspace", metav1.GetOptions{})
	gone("workspace claim", err, s4.DeletionTimestamp)
	if err := sp.Delete(ctx, ns, "nb"); err != nil {
		t.Errorf("second delete: %v", err)
	}
	wantPhase(notebooks.PhaseStopped, "")
}

// TestManagerOnAPIServer drives the kube spawner through the Manager, as the backend does.
func TestManagerOnAPIServer(t *testing.T) {
	env := apiServer(t)
	cs := kubernetes.NewForConfigOrDie(env.Config)
	ctx := context.Background()
	ns := newNamespace(t, cs)
	sp, err := kube.New(kube.Options{Client: cs})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := notebooks.NewFileRepository(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	mgr, err := notebooks.NewManager(notebooks.Options{Repository: repo, Spawner: sp, APIURL: "http://kiln.kiln-system:8080"})
	if err != nil {
		t.Fatal(err)
	}
	// Spawner-specific validation comes back with field paths before anything is created.
	_, err = mgr.Create(ctx, &notebooks.Notebook{Name: "bad", Namespace: ns, Spec: notebooks.Spec{
		DataVolumes: []notebooks.DataVolume{{Name: "d", Path: "/etc"}}}})
	var verr *notebooks.ValidationError
	if !errors.As(err, &verr) || len(verr.Errors) != 2 || verr.Errors[0].Field != "spec.dataVolumes[0].path" {
		t.Errorf("create with a host path: %v, want field errors on spec.dataVolumes[0]", err)
	}

	nb, err := mgr.Create(ctx, &notebooks.Notebook{Name: "nb", Namespace: ns, Owner: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	if nb.Status.Phase != notebooks.PhasePending {
		t.Errorf("phase after create = %s, want Pending", nb.Status.Phase)
	}
	sts, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "nb", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	envs := map[string]string{}
	for _, e := range sts.Spec.Template.Spec.Containers[0].Env {
		envs[e.Name] = e.Value
	}
	want := map[string]string{"KILN_API_URL": "http://kiln.kiln-system:8080", "KILN_NAMESPACE": ns, "KILN_NOTEBOOK": "nb", "KILN_USER": "alice"}
	for k, v := range want {
		if envs[k] != v {
			t.Errorf("env %s = %q, want %q", k, envs[k], v)
		}
	}
	setPodStatus(t, cs, ns, "nb", corev1.PodStatus{Phase: corev1.PodRunning,
		Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionTrue}, {Type: corev1.PodReady, Status: corev1.ConditionTrue}}})
	nb, err = mgr.Get(ctx, ns, "nb")
	if err != nil {
		t.Fatal(err)
	}
	if nb.Status.Phase != notebooks.PhaseRunning || nb.Status.URL != "/notebook/"+ns+"/nb/" {
		t.Errorf("status = %s %q, want Running at the proxy path", nb.Status.Phase, nb.Status.URL)
	}
	if nb, err = mgr.Stop(ctx, ns, "nb"); err != nil {
		t.Fatal(err)
	}
	if nb.Status.Phase != notebooks.PhaseStopping {
		t.Errorf("phase after stop with the pod still there = %s, want Stopping", nb.Status.Phase)
	}
	if err := mgr.Delete(ctx, ns, "nb"); err != nil {
		t.Fatal(err)
	}
	if _, err := cs.AppsV1().StatefulSets(ns).Get(ctx, "nb", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("statefulset after delete: %v, want not found", err)
	}
}

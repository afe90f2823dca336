package kube

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// Annotations understood by the harness's kwok stages, set on a template's
// metadata so that Argo copies them onto the pod.
const (
	// AnnotationFail makes the pod's main container fail with exit code 1.
	AnnotationFail = "kiln.dev/kwok-fail"
	// AnnotationDuration sets how long the pod runs, as a Go duration
	// ("30s"); the default is 200ms.
	AnnotationDuration = "kiln.dev/kwok-duration"
)

// FakeNode is the name of the node kwok simulates.
const FakeNode = "kwok-node"

//go:embed kwok_stages.yaml
var kwokStages []byte

// e2eBinaries are needed, in addition to etcd and kube-apiserver, to run
// workflows through Argo's controller.
var e2eBinaries = []string{"kube-scheduler", "kube-controller-manager", "kwok", "workflow-controller"}

// StartArgoController runs Argo's workflow-controller for namespace (created
// if missing), and, on first use, the pieces it needs to run pods without a
// container runtime: kube-scheduler, kube-controller-manager (garbage
// collection), and kwok with one fake node whose pods finish on their own
// (see AnnotationFail and AnnotationDuration). It returns when the
// controller has started; the processes stop with the Env.
func (e *Env) StartArgoController(ctx context.Context, namespace string) error {
	for _, n := range e2eBinaries {
		if _, err := os.Stat(filepath.Join(e.bin, n)); err != nil {
			return fmt.Errorf("%w (%s missing in %s)", ErrBinariesMissing, n, e.bin)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.argo[namespace] {
		return nil
	}
	kubeconfig, err := e.Kubeconfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		return fmt.Errorf("kube: client: %w", err)
	}
	if len(e.extras) == 0 {
		if err := e.startNodeSimulation(ctx, cs, kubeconfig); err != nil {
			return err
		}
	}
	if err := e.startWorkflowController(ctx, cs, kubeconfig, namespace); err != nil {
		return err
	}
	wfc, err := wfclientset.NewForConfig(e.Config)
	if err != nil {
		return fmt.Errorf("kube: workflow client: %w", err)
	}
	// The reporter lives as long as the Env, not the caller's ctx.
	rctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	rep := &reporter{kube: cs, wfc: wfc, ns: namespace, log: e.log.Warn}
	if err := rep.start(rctx); err != nil {
		cancel()
		return err
	}
	e.cancels = append(e.cancels, cancel)
	e.argo[namespace] = true
	return nil
}

// startNodeSimulation starts the scheduler, the controller manager and
// kwok, and waits until the fake node is Ready.
func (e *Env) startNodeSimulation(ctx context.Context, cs kubernetes.Interface, kubeconfig string) error {
	ports, err := freePorts(3)
	if err != nil {
		return err
	}
	stages := filepath.Join(e.Dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, append(append([]byte{}, kwokStages...), podLogsConfig(e.podLogFile())...), 0o600); err != nil {
		return fmt.Errorf("kube: write kwok stages: %w", err)
	}
	if err := os.WriteFile(e.podLogFile(), nil, 0o600); err != nil {
		return fmt.Errorf("kube: create pod log: %w", err)
	}
	procs := []*process{
		{name: "kube-scheduler", args: []string{
			"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig, "--leader-elect=false",
			"--bind-address=127.0.0.1", "--secure-port=" + itoa(ports[0]), "--v=0",
		}},
		{name: "kube-controller-manager", args: []string{
			"--kubeconfig=" + kubeconfig, "--authentication-kubeconfig=" + kubeconfig,
			"--authorization-kubeconfig=" + kubeconfig, "--leader-elect=false",
			"--bind-address=127.0.0.1", "--secure-port=" + itoa(ports[1]),
			"--controllers=garbage-collector-controller", "--v=0",
		}},
		{name: "kwok", args: []string{
			"--kubeconfig=" + kubeconfig, "--config=" + stages,
			"--manage-single-node=" + FakeNode,
			// kwok's kubelet-like server: the node advertises it (InternalIP
			// and daemonEndpoints), so the API server proxies pods/log to it
			// over TLS with the harness's serving certificate.
			"--server-address=127.0.0.1:" + itoa(ports[2]),
			"--node-ip=127.0.0.1", "--node-port=" + itoa(ports[2]),
			"--tls-cert-file=" + e.pki.certFile, "--tls-private-key-file=" + e.pki.keyFile,
			"--node-lease-duration-seconds=0",
		}},
	}
	for _, p := range procs {
		p.path, p.log, p.logPath = filepath.Join(e.bin, p.name), e.log, logFile(e.Dir, p.name)
		if err := p.start(); err != nil {
			return err
		}
		e.extras = append(e.extras, p)
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        FakeNode,
			Labels:      map[string]string{"kubernetes.io/hostname": FakeNode, "kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64", "type": "kwok"},
			Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
		},
	}
	if _, err := cs.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kube: create fake node: %w", err)
	}
	// The TaintNodesByCondition admission plugin taints a new node
	// not-ready; the node lifecycle controller that would lift the taint is
	// not run here, so lift it directly.
	for {
		n, err := cs.CoreV1().Nodes().Get(ctx, FakeNode, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("kube: get fake node: %w", err)
		}
		if len(n.Spec.Taints) == 0 {
			break
		}
		n.Spec.Taints = nil
		_, err = cs.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{})
		if err == nil {
			break
		}
		if !apierrors.IsConflict(err) {
			return fmt.Errorf("kube: untaint fake node: %w", err)
		}
	}
	wctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	kwok := procs[2]
	err = waitFor(wctx, kwok, 200*time.Millisecond, func(ctx context.Context) error {
		n, err := cs.CoreV1().Nodes().Get(ctx, FakeNode, metav1.GetOptions{})
		if err != nil {
			return err
		}
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				if q, ok := n.Status.Allocatable[corev1.ResourcePods]; ok && q.Cmp(resource.MustParse("1")) >= 0 {
					return nil
				}
			}
		}
		return errors.New("fake node not ready")
	})
	if err != nil {
		return fmt.Errorf("kube: kwok: %w", err)
	}
	return nil
}

// controllerConfig turns off the workflow-controller's metrics servers,
// whose fixed ports would collide between test binaries, and names a default
// artifact repository so that templates with output artifacts get an archive
// location. Nothing ever connects to it: no container runs under kwok, and
// the task result reporter only records artifact keys.
var controllerConfig = map[string]string{
	"metricsConfig":      "enabled: false\n",
	"telemetryConfig":    "enabled: false\n",
	"artifactRepository": "s3:\n  bucket: kiln-e2e\n  endpoint: 127.0.0.1:9\n  insecure: true\n",
}

// startWorkflowController runs Argo's controller for one namespace.
func (e *Env) startWorkflowController(ctx context.Context, cs kubernetes.Interface, kubeconfig, ns string) error {
	nsObj := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, nsObj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kube: create namespace %s: %w", ns, err)
	}
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "workflow-controller-configmap", Namespace: ns}, Data: controllerConfig}
	if _, err := cs.CoreV1().ConfigMaps(ns).Create(ctx, cm, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("kube: create controller config map: %w", err)
	}
	p := &process{
		name: "workflow-controller-" + ns, path: filepath.Join(e.bin, "workflow-controller"),
		log: e.log, logPath: logFile(e.Dir, "workflow-controller-"+ns),
		args: []string{
			"--kubeconfig=" + kubeconfig, "--namespace=" + ns,
			"--namespaced", "--managed-namespace=" + ns,
			"--configmap=workflow-controller-configmap",
			// No image is pulled: kwok runs no containers.
			"--executor-image=quay.io/argoproj/argoexec:v3.7.18",
			"--loglevel=info",
		},
		env: []string{"LEADER_ELECTION_DISABLE=true", "DEFAULT_REQUEUE_TIME=1s"},
	}
	if err := p.start(); err != nil {
		return err
	}
	e.extras = append(e.extras, p)
	wctx, cancel := context.WithTimeout(ctx, e.opts.ReadyTimeout)
	defer cancel()
	err := waitFor(wctx, p, 100*time.Millisecond, func(context.Context) error {
		b, err := os.ReadFile(p.logPath)
		if err != nil {
			return err
		}
		if !bytes.Contains(b, []byte("Starting Workflow Controller")) {
			return errors.New("controller not started")
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("kube: workflow-controller: %w", err)
	}
	return nil
}

package argo

import (
	"context"
	"errors"
	"fmt"
	"io"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	artifacts "github.com/argoproj/argo-workflows/v3/workflow/artifacts"
	"github.com/argoproj/argo-workflows/v3/workflow/common"
	"github.com/argoproj/argo-workflows/v3/workflow/util"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kilnml/kiln/engine"
)

// LogArchive opens a node's archived log: the artifact Argo saved from the
// main container when the workflow archives logs.
type LogArchive interface {
	// Open returns the archived log art of node in wf.
	Open(ctx context.Context, wf *wfv1.Workflow, node *wfv1.NodeStatus, art *wfv1.Artifact) (io.ReadCloser, error)
}

// mainLogsArtifact is the name Argo gives a node's archived main-container log.
const mainLogsArtifact = "main-logs"

// Logs returns the log of one node, given its id, full name or display
// name. While the node's pod exists the log comes from the pod's main
// container (following it while it runs when follow is set); once the pod
// has been garbage-collected, from the node's archived log.
func (e *Engine) Logs(ctx context.Context, id, node string, follow bool) (io.ReadCloser, error) {
	r, err := e.get(id)
	if err != nil {
		return nil, err
	}
	wf := r.latest()
	if wf == nil {
		if wf, err = e.wfc.ArgoprojV1alpha1().Workflows(r.ns).Get(ctx, r.name, metav1.GetOptions{}); err != nil {
			return nil, fmt.Errorf("argo: logs of run %q: %w", id, err)
		}
	}
	n, err := findNode(wf, node)
	if err != nil {
		return nil, fmt.Errorf("argo: logs of run %q: %w", id, err)
	}
	if n.Type != wfv1.NodeTypePod {
		return nil, fmt.Errorf("argo: logs of run %q node %q: a %s node has no pod", id, n.DisplayName, n.Type)
	}
	pod := util.GeneratePodName(wf.Name, n.Name, util.GetTemplateFromNode(*n), n.ID, util.GetWorkflowPodNameVersion(wf))
	rc, podErr := e.kube.CoreV1().Pods(wf.Namespace).GetLogs(pod, &corev1.PodLogOptions{
		Container: common.MainContainerName,
		Follow:    follow && !n.Fulfilled(),
	}).Stream(ctx)
	if podErr == nil {
		return rc, nil
	}
	if !apierrors.IsNotFound(podErr) && !apierrors.IsBadRequest(podErr) {
		return nil, fmt.Errorf("argo: logs of run %q node %q: pod %s: %w", id, n.DisplayName, pod, podErr)
	}
	art := archivedLog(n)
	if art == nil {
		return nil, fmt.Errorf("argo: logs of run %q node %q: pod %s: %w; and the node has no archived log (set archiveLogs)", id, n.DisplayName, pod, podErr)
	}
	rc, err = e.cfg.Archive.Open(ctx, wf, n, art)
	if err != nil {
		return nil, fmt.Errorf("argo: archived logs of run %q node %q: %w", id, n.DisplayName, err)
	}
	return rc, nil
}

// findNode finds a node by id, then full name, then display name (which
// must be unambiguous).
func findNode(wf *wfv1.Workflow, key string) (*wfv1.NodeStatus, error) {
	if n, ok := wf.Status.Nodes[key]; ok {
		return &n, nil
	}
	var byDisplay []wfv1.NodeStatus
	for _, n := range wf.Status.Nodes {
		if n.Name == key {
			return &n, nil
		}
		if n.DisplayName == key {
			byDisplay = append(byDisplay, n)
		}
	}
	switch len(byDisplay) {
	case 1:
		return &byDisplay[0], nil
	case 0:
		return nil, fmt.Errorf("node %q: %w", key, engine.ErrNodeNotFound)
	default:
		return nil, fmt.Errorf("node %q: display name names %d nodes; use the node id or full name", key, len(byDisplay))
	}
}

// archivedLog returns the node's archived main-container log artifact.
func archivedLog(n *wfv1.NodeStatus) *wfv1.Artifact {
	if n.Outputs == nil {
		return nil
	}
	for i := range n.Outputs.Artifacts {
		if a := &n.Outputs.Artifacts[i]; a.Name == mainLogsArtifact {
			return a.DeepCopy()
		}
	}
	return nil
}

// artifactArchive reads archived logs with Argo's artifact drivers (S3,
// GCS, Azure, HTTP, ...), using the workflow namespace's secrets for
// credentials, as Argo's own server does.
type artifactArchive struct{ kube kubernetes.Interface }

// Open implements LogArchive.
func (a artifactArchive) Open(ctx context.Context, wf *wfv1.Workflow, _ *wfv1.NodeStatus, art *wfv1.Artifact) (io.ReadCloser, error) {
	if !art.HasLocation() {
		// Argo records only the key when the workflow used its namespace's
		// default repository; the rest of the location is in the status.
		ref := wf.Status.ArtifactRepositoryRef
		if ref == nil || ref.ArtifactRepository == nil {
			return nil, errors.New("artifact has no location and the workflow records no artifact repository")
		}
		loc := ref.ArtifactRepository.ToArtifactLocation()
		if err := art.Relocate(loc); err != nil {
			return nil, fmt.Errorf("relocate artifact %s: %w", art.Name, err)
		}
	}
	drv, err := artifacts.NewDriver(ctx, art, secrets{kube: a.kube, ns: wf.Namespace})
	if err != nil {
		return nil, fmt.Errorf("artifact driver for %s: %w", art.Name, err)
	}
	rc, err := drv.OpenStream(art)
	if err != nil {
		return nil, fmt.Errorf("open artifact %s: %w", art.Name, err)
	}
	return rc, nil
}

// secrets gives artifact drivers the credentials in the workflow's namespace.
type secrets struct {
	kube kubernetes.Interface
	ns   string
}

// GetSecret returns one key of a secret.
func (s secrets) GetSecret(ctx context.Context, name, key string) (string, error) {
	sec, err := s.kube.CoreV1().Secrets(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("get secret %s/%s: %w", s.ns, name, err)
	}
	v, ok := sec.Data[key]
	if !ok {
		return "", fmt.Errorf("secret %s/%s has no key %q", s.ns, name, key)
	}
	return string(v), nil
}

// GetConfigMapKey returns one key of a config map.
func (s secrets) GetConfigMapKey(ctx context.Context, name, key string) (string, error) {
	cm, err := s.kube.CoreV1().ConfigMaps(s.ns).Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return "", fmt.Errorf("get config map %s/%s: %w", s.ns, name, err)
	}
	v, ok := cm.Data[key]
	if !ok {
		return "", fmt.Errorf("config map %s/%s has no key %q", s.ns, name, key)
	}
	return v, nil
}

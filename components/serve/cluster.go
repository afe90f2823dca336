package serve

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// InferenceServiceGVR is KServe's InferenceService resource.
var InferenceServiceGVR = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// FieldManager is the server-side apply field manager of the objects Cluster applies.
const FieldManager = "kiln-serve"

// resources maps the kinds Manifests produces to their resources: no discovery round trip is
// needed to apply them.
var resources = map[string]schema.GroupVersionResource{
	"v1/ConfigMap":       {Version: "v1", Resource: "configmaps"},
	"v1/Service":         {Version: "v1", Resource: "services"},
	"apps/v1/Deployment": {Group: "apps", Version: "v1", Resource: "deployments"},
	"serving.kserve.io/v1beta1/InferenceService": InferenceServiceGVR,
}

// Cluster deploys models to a Kubernetes cluster with client-go: server-side apply with
// strict field validation, KServe detection through discovery, and a wait for readiness.
type Cluster struct {
	// Config reaches the API server (see RESTConfig).
	Config *rest.Config
	// Log receives progress; nil discards it.
	Log *slog.Logger
	// Poll is the interval of readiness checks; 0 means one second.
	Poll time.Duration
}

// RESTConfig returns the configuration of the cluster the process is in (a pod's service
// account) or, outside a pod, the one KUBECONFIG or ~/.kube/config names.
func RESTConfig() (*rest.Config, error) {
	if c, err := rest.InClusterConfig(); err == nil {
		return c, nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	c, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, nil).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("serve: kubernetes configuration (in-cluster or KUBECONFIG): %w", err)
	}
	return c, nil
}

func (c *Cluster) log() *slog.Logger {
	if c.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Log
}

// HasKServe reports whether the API server serves KServe's InferenceService
// (serving.kserve.io/v1beta1), asking discovery.
func (c *Cluster) HasKServe(ctx context.Context) (bool, error) {
	dc, err := discovery.NewDiscoveryClientForConfig(c.Config)
	if err != nil {
		return false, fmt.Errorf("serve: discovery: %w", err)
	}
	list, err := dc.ServerResourcesForGroupVersion(InferenceServiceGVR.GroupVersion().String())
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("serve: discover %s: %w", InferenceServiceGVR.GroupVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Name == InferenceServiceGVR.Resource && r.Kind == "InferenceService" {
			return true, nil
		}
	}
	return false, nil
}

// Mode returns KServe when the cluster has it and Deployment otherwise.
func (c *Cluster) Mode(ctx context.Context) (Mode, error) {
	ok, err := c.HasKServe(ctx)
	if err != nil {
		return "", err
	}
	if ok {
		return KServe, nil
	}
	return Deployment, nil
}

// Apply server-side applies objs (as Manifests returns them) in order, forcing ownership of
// the fields it sets and rejecting fields the API server does not know (strict field
// validation). Applying the same objects again changes nothing.
func (c *Cluster) Apply(ctx context.Context, objs []any) error {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return fmt.Errorf("serve: client: %w", err)
	}
	for i, o := range objs {
		b, err := json.Marshal(o)
		if err != nil {
			return fmt.Errorf("serve: object %d: %w", i, err)
		}
		var u unstructured.Unstructured
		if err := u.UnmarshalJSON(b); err != nil {
			return fmt.Errorf("serve: object %d: %w", i, err)
		}
		key := u.GetAPIVersion() + "/" + u.GetKind()
		gvr, ok := resources[key]
		if !ok {
			return fmt.Errorf("serve: object %d: unsupported kind %s", i, key)
		}
		force := true
		_, err = dyn.Resource(gvr).Namespace(u.GetNamespace()).Patch(ctx, u.GetName(), types.ApplyPatchType, b,
			metav1.PatchOptions{FieldManager: FieldManager, Force: &force, FieldValidation: "Strict"})
		if err != nil {
			return fmt.Errorf("serve: apply %s %s/%s: %w", u.GetKind(), u.GetNamespace(), u.GetName(), err)
		}
		c.log().Info("applied", "kind", u.GetKind(), "namespace", u.GetNamespace(), "name", u.GetName())
	}
	return nil
}

// ErrNotReady is wrapped by Wait's error when the deployment did not become ready in time.
var ErrNotReady = errors.New("serve: not ready")

// Wait waits until cfg's deployment serves — a Deployment whose replicas are all updated and
// available (its pods pass the /v2/health/ready probe), or an InferenceService whose Ready
// condition is True — and returns its infer URL: KServe's status.url when it reports one,
// URL(cfg) otherwise. It gives up when ctx ends.
func (c *Cluster) Wait(ctx context.Context, cfg Config) (string, error) {
	dyn, err := dynamic.NewForConfig(c.Config)
	if err != nil {
		return "", fmt.Errorf("serve: client: %w", err)
	}
	gvr := resources["apps/v1/Deployment"]
	if cfg.Mode == KServe {
		gvr = InferenceServiceGVR
	}
	tick := time.NewTicker(cmp.Or(c.Poll, time.Second))
	defer tick.Stop()
	why := "not found"
	for {
		u, err := dyn.Resource(gvr).Namespace(cfg.Namespace).Get(ctx, cfg.Name, metav1.GetOptions{})
		switch {
		case err == nil:
			var url string
			var ready bool
			if cfg.Mode == KServe {
				ready, url, why = inferenceServiceReady(u)
			} else {
				ready, why = deploymentAvailable(u)
			}
			if ready {
				if url == "" {
					url = URL(cfg)
				} else {
					url = strings.TrimRight(url, "/") + "/v2/models/" + cfg.Name + "/infer"
				}
				c.log().Info("ready", "name", cfg.Name, "url", url)
				return url, nil
			}
		case apierrors.IsForbidden(err) || apierrors.IsUnauthorized(err):
			return "", fmt.Errorf("serve: get %s %s/%s: %w", gvr.Resource, cfg.Namespace, cfg.Name, err)
		case !apierrors.IsNotFound(err):
			why = err.Error() // transient (or the deadline itself): retried until ctx ends
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("%w: %s %s/%s: %s: %w", ErrNotReady, gvr.Resource, cfg.Namespace, cfg.Name, why, ctx.Err())
		case <-tick.C:
		}
	}
}

// deploymentAvailable reports whether a Deployment has rolled out: the controller saw the
// latest generation and every desired replica is updated and available.
func deploymentAvailable(u *unstructured.Unstructured) (bool, string) {
	gen := u.GetGeneration()
	observed, _, _ := unstructured.NestedInt64(u.Object, "status", "observedGeneration")
	if observed < gen {
		return false, fmt.Sprintf("generation %d not observed yet (%d)", gen, observed)
	}
	want, found, _ := unstructured.NestedInt64(u.Object, "spec", "replicas")
	if !found {
		want = 1
	}
	updated, _, _ := unstructured.NestedInt64(u.Object, "status", "updatedReplicas")
	avail, _, _ := unstructured.NestedInt64(u.Object, "status", "availableReplicas")
	if updated < want || avail < want {
		return false, fmt.Sprintf("%d of %d replicas updated, %d available", updated, want, avail)
	}
	return true, ""
}

// inferenceServiceReady reports whether an InferenceService's Ready condition is True, with
// its status.url.
func inferenceServiceReady(u *unstructured.Unstructured) (bool, string, string) {
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	url, _, _ := unstructured.NestedString(u.Object, "status", "url")
	for _, c := range conds {
		m, ok := c.(map[string]any)
		if ok && m["type"] == "Ready" {
			if m["status"] == "True" {
				return true, url, ""
			}
			return false, "", fmt.Sprintf("Ready is %v: %v", m["status"], m["message"])
		}
	}
	return false, "", "no Ready condition yet"
}

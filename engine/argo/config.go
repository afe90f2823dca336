package argo

import (
	"fmt"
	"log/slog"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Config configures an Engine. The zero value discovers the cluster like
// kubectl and runs workflows in the "default" namespace.
type Config struct {
	// RestConfig, when set, is used as is and the kubeconfig fields are ignored.
	RestConfig *rest.Config
	// Kubeconfig is an explicit kubeconfig path (a --kubeconfig flag). When
	// empty, $KUBECONFIG, then ~/.kube/config, then the in-cluster service
	// account are tried, as kubectl does.
	Kubeconfig string
	// Context selects a kubeconfig context; empty means the current one.
	Context string

	// Namespace receives workflows submitted without a namespace; empty
	// means "default".
	Namespace string
	// NamespaceFor maps a Kiln namespace (the submitted workflow's
	// metadata.namespace) to a Kubernetes namespace; nil keeps it unchanged.
	NamespaceFor func(kilnNamespace string) string
	// Namespaces lists the Kubernetes namespaces the engine watches; only
	// runs in them can be submitted and followed. Empty means all namespaces
	// (which needs cluster-wide list and watch permission on workflows).
	Namespaces []string
	// ServiceAccountFor names the service account a workflow's pods run as,
	// given the workflow (whose workflowTemplateRef or labels identify the
	// run template). It applies only when the workflow sets none; nil or an
	// empty result leaves the namespace's default.
	ServiceAccountFor func(wf *wfv1.Workflow) string
	// ManageServiceAccounts makes Submit ensure that the workflow's service
	// account (named by the workflow or ServiceAccountFor) exists in the
	// run's namespace, creating it when absent with a RoleBinding to
	// ExecutorRole (Argo's executor minimum), labelled as managed by Kiln.
	// The engine's own account then needs get/create on serviceaccounts,
	// create on roles and rolebindings, and the executor's rights itself
	// (Kubernetes refuses to let an account grant rights it lacks).
	ManageServiceAccounts bool

	// DefaultTTL applies to workflows that set no spec.ttlStrategy.
	DefaultTTL *wfv1.TTLStrategy
	// DefaultPodGC applies to workflows that set no spec.podGC.
	DefaultPodGC *wfv1.PodGC

	// Archive opens archived node logs after their pods are gone; nil means
	// Argo's artifact drivers reading the node's "main-logs" artifact.
	Archive LogArchive
	// Resync is the informer's resync period; zero means none (changes are
	// still delivered as they happen; relists follow watch failures).
	Resync time.Duration
	// Log receives the engine's messages; nil discards them.
	Log *slog.Logger
}

// restConfig returns the client configuration: RestConfig if set, else the
// kubeconfig discovered as kubectl does, else the in-cluster configuration.
func (c *Config) restConfig() (*rest.Config, error) {
	if c.RestConfig != nil {
		return rest.CopyConfig(c.RestConfig), nil
	}
	rules := clientcmd.NewDefaultClientConfigLoadingRules() // $KUBECONFIG, ~/.kube/config
	rules.ExplicitPath = c.Kubeconfig
	overrides := &clientcmd.ConfigOverrides{CurrentContext: c.Context}
	// With no kubeconfig at all, this falls back to the in-cluster config.
	cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, overrides).ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("argo: load kubernetes client config: %w", err)
	}
	return cfg, nil
}

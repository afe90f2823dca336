package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"
)

// argoModule is the module whose manifests hold Argo's CRDs; its version is
// the one the main module requires.
const argoModule = "github.com/argoproj/argo-workflows/v3"

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// ArgoCRDDir returns the directory of Argo's full CRDs inside the
// argo-workflows module that the main module requires.
func ArgoCRDDir(ctx context.Context) (string, error) {
	root, err := repoRoot()
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", argoModule)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			err = fmt.Errorf("%w: %s", err, ee.Stderr)
		}
		return "", fmt.Errorf("kube: locate %s: %w", argoModule, err)
	}
	dir := filepath.Join(strings.TrimSpace(string(out)), "manifests", "base", "crds", "full")
	if _, err := os.Stat(dir); err != nil {
		return "", fmt.Errorf("kube: argo crds: %w", err)
	}
	return dir, nil
}

// ArgoCRDs reads Argo's CRDs from the argo-workflows module, sorted by file
// name. Tests may modify them (e.g. drop a field from a schema) before
// ApplyCRDs.
func ArgoCRDs(ctx context.Context) ([]*unstructured.Unstructured, error) {
	dir, err := ArgoCRDDir(ctx)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(dir, "argoproj.io_*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("kube: no crds in %s: %v", dir, err)
	}
	sort.Strings(files)
	crds := make([]*unstructured.Unstructured, 0, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("kube: read crd: %w", err)
		}
		obj := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &obj.Object); err != nil {
			return nil, fmt.Errorf("kube: decode %s: %w", f, err)
		}
		crds = append(crds, obj)
	}
	return crds, nil
}

// InstallArgoCRDs applies Argo's CRDs and waits until they are Established.
func (e *Env) InstallArgoCRDs(ctx context.Context) error {
	crds, err := ArgoCRDs(ctx)
	if err != nil {
		return err
	}
	return e.ApplyCRDs(ctx, crds...)
}

// ApplyCRDs creates CRDs, or updates existing ones with server-side apply
// (Argo's Workflow CRD is too large for the last-applied annotation of
// client-side apply), and waits until every one is Established.
func (e *Env) ApplyCRDs(ctx context.Context, crds ...*unstructured.Unstructured) error {
	dyn, err := dynamic.NewForConfig(e.Config)
	if err != nil {
		return fmt.Errorf("kube: dynamic client: %w", err)
	}
	start := time.Now()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	// One at a time: each new CRD makes the API server rebuild its OpenAPI
	// document, and a burst of them (Argo's Workflow CRD is 3 MB) can push a
	// busy 2-core machine past the server's request timeout.
	for _, obj := range crds {
		if err := e.applyCRD(wctx, dyn, obj); err != nil {
			return err
		}
	}
	e.log.Info("crds established", "count", len(crds), "after", time.Since(start).Round(time.Millisecond))
	return nil
}

// applyCRD creates (or, if it exists, server-side applies) one CRD and waits
// until it is Established. A server-side timeout is retried: the write may
// have gone through anyway, which the retry then finds.
func (e *Env) applyCRD(ctx context.Context, dyn dynamic.Interface, obj *unstructured.Unstructured) error {
	name := obj.GetName()
	crds := dyn.Resource(crdResource)
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		// Create is much cheaper than apply for a 3 MB object.
		_, err = crds.Create(ctx, obj, metav1.CreateOptions{FieldManager: "kiln-testenv"})
		if apierrors.IsAlreadyExists(err) {
			_, err = crds.Apply(ctx, name, obj, metav1.ApplyOptions{FieldManager: "kiln-testenv", Force: true})
		}
		if !apierrors.IsTimeout(err) && !apierrors.IsServerTimeout(err) {
			break
		}
		e.log.Warn("crd write timed out; retrying", "crd", name, "err", err)
	}
	if err != nil {
		return fmt.Errorf("kube: apply crd %s: %w", name, err)
	}
	err = waitFor(ctx, e.apiserver, 200*time.Millisecond, func(ctx context.Context) error {
		crd, err := crds.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			m, _ := c.(map[string]any)
			if m["type"] == "Established" && m["status"] == "True" {
				return nil
			}
		}
		return fmt.Errorf("crd %s not established", name)
	})
	if err != nil {
		return fmt.Errorf("kube: wait for crd %s: %w", name, err)
	}
	return nil
}

package kubetest

import (
	"context"
	"fmt"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	argoengine "github.com/kilnml/kiln/engine/argo"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

// e2eNamespace is the one namespace the end-to-end tests share, so that one
// workflow-controller serves all of them (each is a process on a 2-core machine).
const e2eNamespace = "kiln-e2e"

// runSAPrefix prefixes the per-pipeline service accounts of e2e runs.
const runSAPrefix = "kiln-run-"

// e2e is a Kiln server whose engine is Argo on the shared control plane, with
// Argo's workflow-controller and kwok running pods.
type e2e struct {
	env *kube.Env
	eng *argoengine.Engine
	c   *client.Client
}

var e2eShared struct {
	once  sync.Once
	e     *e2e
	err   error
	close func()
}

// closeE2E stops the end-to-end server, if one was started.
func closeE2E() {
	if e2eShared.close != nil {
		e2eShared.close()
	}
}

// startE2E returns the package's end-to-end server, started on first use. It
// skips (fails with CI=true) when the Kubernetes binaries are missing.
func startE2E(t *testing.T) *e2e {
	t.Helper()
	if testing.Short() {
		t.Skip("end-to-end through Argo's workflow-controller")
	}
	env := kube.Shared(t)
	e2eShared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		if err := env.StartArgoController(ctx, e2eNamespace); err != nil {
			e2eShared.err = err
			return
		}
		// The engine and server live as long as the test binary: the shared
		// control plane is stopped by kube.Main after the last test.
		eng, err := argoengine.New(ctx, argoengine.Config{
			RestConfig: env.Config, Namespace: e2eNamespace, Namespaces: []string{e2eNamespace},
			// A service account per run template, created on first use.
			ServiceAccountFor:     argoengine.ServiceAccountPerPipeline(runSAPrefix),
			ManageServiceAccounts: true,
		})
		if err != nil {
			e2eShared.err = err
			return
		}
		dir, err := os.MkdirTemp("", "kiln-kubetest-")
		if err != nil {
			e2eShared.err = err
			return
		}
		srv, err := server.New(ctx, server.Config{DataDir: dir, Engine: eng, SchedulerInterval: -1})
		if err != nil {
			e2eShared.err = err
			return
		}
		ts := httptest.NewServer(srv.Handler())
		e2eShared.e = &e2e{env: env, eng: eng, c: client.New(ts.URL, client.Options{})}
		e2eShared.close = func() {
			ts.Close()
			srv.Close()
			eng.Close()
			os.RemoveAll(dir)
		}
	})
	kube.Skip(t, e2eShared.err)
	return e2eShared.e
}

// compiled holds each example's compiled Workflow, built once per test binary.
var compiled struct {
	mu   sync.Mutex
	yaml map[string][]byte
}

// compileExample builds the example program examples/<name> and returns the
// Workflow its compile command prints, exactly as a user would produce it.
// The examples are main packages, so running the program is the only way to
// reach their pipelines from here. It needs the go command (skip locally,
// fail with CI=true).
func compileExample(t *testing.T, name string) *wfv1.Workflow {
	t.Helper()
	compiled.mu.Lock()
	defer compiled.mu.Unlock()
	if compiled.yaml == nil {
		compiled.yaml = map[string][]byte{}
	}
	out, ok := compiled.yaml[name]
	if !ok {
		goCmd := filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goCmd); err != nil {
			if goCmd, err = exec.LookPath("go"); err != nil {
				if os.Getenv("CI") == "true" {
					t.Fatalf("the go command is needed to build examples/%s: %v", name, err)
				}
				t.Skipf("skipping: install Go (the go command builds examples/%s): %v", name, err)
			}
		}
		bin := filepath.Join(t.TempDir(), name)
		build := exec.Command(goCmd, "build", "-o", bin, "../../../examples/"+name)
		if b, err := build.CombinedOutput(); err != nil {
			t.Fatalf("build examples/%s: %v\n%s", name, err, b)
		}
		var stderr strings.Builder
		cmd := exec.Command(bin, "compile")
		cmd.Stderr = &stderr
		var err error
		if out, err = cmd.Output(); err != nil {
			t.Fatalf("examples/%s compile: %v\n%s", name, err, stderr.String())
		}
		compiled.yaml[name] = out
	}
	wf := &wfv1.Workflow{}
	if err := yaml.UnmarshalStrict(out, wf); err != nil {
		t.Fatalf("examples/%s: compiled output is not a Workflow: %v", name, err)
	}
	return wf
}

// runWorkflow uploads wf as a pipeline through the REST API and starts a run of it.
func (e *e2e) runWorkflow(ctx context.Context, t *testing.T, name string, wf *wfv1.Workflow) *api.Run {
	t.Helper()
	spec, err := yaml.Marshal(wf)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.c.UploadPipeline(ctx, name, "", spec)
	if err != nil {
		t.Fatalf("upload %s: %v", name, err)
	}
	run, err := e.c.CreateRun(ctx, api.CreateRunRequest{Name: name, PipelineVersionID: p.Version.ID})
	if err != nil {
		t.Fatalf("create run of %s: %v", name, err)
	}
	return run
}

// wait polls the run through the API until its phase is terminal.
func (e *e2e) wait(ctx context.Context, t *testing.T, id string) *api.Run {
	t.Helper()
	r, err := e.c.WaitRun(ctx, id, 200*time.Millisecond)
	if err != nil {
		// Describe where it stopped, with a context of its own.
		dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if last, gerr := e.c.GetRun(dctx, id); gerr == nil {
			t.Fatalf("wait for run %s: %v\n%s", id, err, describe(last))
		}
		t.Fatalf("wait for run %s (last phase %q): %v", id, phaseOf(r), err)
	}
	// GET /runs/{id} carries the nodes.
	if r, err = e.c.GetRun(ctx, id); err != nil {
		t.Fatal(err)
	}
	return r
}

func phaseOf(r *api.Run) string {
	if r == nil {
		return ""
	}
	return r.Phase
}

// nodePhases maps the run's nodes' display names to phases; nodes of loops
// share a display name pattern, so the key keeps the full name when the
// display name repeats.
func nodePhases(r *api.Run) map[string]string {
	m := map[string]string{}
	for _, n := range r.Nodes {
		key := n.DisplayName
		if _, dup := m[key]; dup || key == "" {
			key = n.Name
		}
		m[key] = n.Phase
	}
	return m
}

// describe renders a run's nodes for failure messages, sorted by name.
func describe(r *api.Run) string {
	lines := make([]string, 0, len(r.Nodes))
	for _, n := range r.Nodes {
		lines = append(lines, fmt.Sprintf("  %s [%s %s] %s %s", n.Name, n.Type, n.Template, n.Phase, n.Message))
	}
	sort.Strings(lines)
	return fmt.Sprintf("run %s %s %q\n%s", r.ID, r.Phase, r.Message, strings.Join(lines, "\n"))
}

// podNodes returns the run's nodes of type Pod by display name (loop
// iterations keep their "(i:…)" suffix, so they stay distinct).
func podNodes(r *api.Run) map[string]api.Node {
	m := map[string]api.Node{}
	for _, n := range r.Nodes {
		if n.Type == string(wfv1.NodeTypePod) {
			m[n.DisplayName] = n
		}
	}
	return m
}

// assertAllDone checks every node is Succeeded or Skipped and has a name.
func assertAllDone(t *testing.T, r *api.Run) {
	t.Helper()
	if r.Phase != "Succeeded" {
		t.Fatalf("run ended %s, want Succeeded\n%s", r.Phase, describe(r))
	}
	if len(r.Nodes) == 0 {
		t.Fatalf("run has no nodes\n%s", describe(r))
	}
	for _, n := range r.Nodes {
		if n.Name == "" || n.DisplayName == "" || n.ID == "" {
			t.Errorf("node without id or name: %+v", n)
		}
		if n.Phase != string(wfv1.NodeSucceeded) && n.Phase != string(wfv1.NodeSkipped) {
			t.Errorf("node %s ended %s %q, want Succeeded or Skipped", n.Name, n.Phase, n.Message)
		}
	}
}

// setPodAnnotations sets kwok's annotations on the named templates' pods.
func setPodAnnotations(t *testing.T, wf *wfv1.Workflow, ann map[string]string, templates ...string) {
	t.Helper()
	for _, name := range templates {
		found := false
		for i := range wf.Spec.Templates {
			tmpl := &wf.Spec.Templates[i]
			if tmpl.Name != name {
				continue
			}
			found = true
			if tmpl.Metadata.Annotations == nil {
				tmpl.Metadata.Annotations = map[string]string{}
			}
			for k, v := range ann {
				tmpl.Metadata.Annotations[k] = v
			}
		}
		if !found {
			t.Fatalf("workflow %s has no template %q", wf.GenerateName, name)
		}
	}
}

var wfMeta = metav1.TypeMeta{APIVersion: "argoproj.io/v1alpha1", Kind: "Workflow"}

func objMeta(generateName string) metav1.ObjectMeta {
	return metav1.ObjectMeta{GenerateName: generateName}
}

// waitNode polls the run until the node with the given display name is in phase.
func (e *e2e) waitNode(ctx context.Context, t *testing.T, id, node, phase string) {
	t.Helper()
	for {
		r, err := e.c.GetRun(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for _, n := range r.Nodes {
			if n.DisplayName == node && n.Phase == phase {
				return
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("node %s never %s\n%s", node, phase, describe(r))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

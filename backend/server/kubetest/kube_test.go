// Package kubetest runs the Kiln server with the Kubernetes engine against a real API server.
package kubetest

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	wfclientset "github.com/argoproj/argo-workflows/v3/pkg/client/clientset/versioned"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	argoengine "github.com/kilnml/kiln/engine/argo"
	"github.com/kilnml/kiln/internal/testenv/kube"
)

func TestMain(m *testing.M) {
	code := kube.Main(m)
	closeE2E()
	os.Exit(code)
}

const spec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: hello-
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: who
      value: world
  templates:
  - name: main
    inputs:
      parameters:
      - name: who
    container:
      image: busybox:1.36
      command: [echo, "hello {{inputs.parameters.who}}"]
`

// TestServerOnKubernetes creates a run through the REST API of a server whose engine is Argo on
// Kubernetes: the Workflow appears in the cluster with the run's label and parameters, and the
// status Argo writes flows back into the run.
func TestServerOnKubernetes(t *testing.T) {
	env := kube.Shared(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const ns = "kiln-server-e2e"
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	eng, err := argoengine.New(ctx, argoengine.Config{RestConfig: env.Config, Namespace: ns, Namespaces: []string{ns}})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	srv, err := server.New(ctx, server.Config{DataDir: t.TempDir(), Engine: eng, SchedulerInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	c := client.New(ts.URL, client.Options{})

	p, err := c.UploadPipeline(ctx, "hello", "", []byte(spec))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.CreateRun(ctx, api.CreateRunRequest{Name: "on-k8s", PipelineVersionID: p.Version.ID, Parameters: map[string]string{"who": "kubernetes"}})
	if err != nil {
		t.Fatal(err)
	}

	wfc, err := wfclientset.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	var wf *wfv1.Workflow
	for wf == nil {
		list, err := wfc.ArgoprojV1alpha1().Workflows(ns).List(ctx, metav1.ListOptions{LabelSelector: argoengine.LabelRunID})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) > 0 {
			wf = &list.Items[0]
			break
		}
		if ctx.Err() != nil {
			t.Fatal("no Workflow was created in the cluster")
		}
		time.Sleep(200 * time.Millisecond)
	}
	if got := wf.Spec.Arguments.Parameters[0].Value.String(); got != "kubernetes" {
		t.Errorf("workflow parameter who = %q, want kubernetes", got)
	}

	// Play Argo's controller: the Workflow CRD has no status subresource.
	now := metav1.Now()
	wf.Status = wfv1.WorkflowStatus{Phase: wfv1.WorkflowSucceeded, StartedAt: now, FinishedAt: now,
		Nodes: wfv1.Nodes{wf.Name: {ID: wf.Name, Name: wf.Name, DisplayName: wf.Name, Type: wfv1.NodeTypePod,
			Phase: wfv1.NodeSucceeded, TemplateName: "main", StartedAt: now, FinishedAt: now}}}
	if _, err := wfc.ArgoprojV1alpha1().Workflows(ns).Update(ctx, wf, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	for {
		got, err := c.GetRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Phase == "Succeeded" {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("run stayed %s after the Workflow succeeded", got.Phase)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

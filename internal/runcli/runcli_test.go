package runcli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/spf13/cobra"

	"github.com/kilnml/kiln/engine"
)

func TestMain(m *testing.M) {
	testscript.Main(m, map[string]func(){
		"kiln": func() {
			// The real root command lives elsewhere; this one only hosts `run`.
			root := &cobra.Command{Use: "kiln", SilenceUsage: true}
			root.AddCommand(Command())
			if err := root.Execute(); err != nil {
				os.Exit(1)
			}
		},
	})
}

// TestScripts runs the CLI the way a user would; see testdata/script.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{Dir: "testdata/script"})
}

func TestRunWorkflowJSON(t *testing.T) {
	wf, err := engine.ParseWorkflow([]byte(`
metadata: {name: hello}
spec:
  entrypoint: main
  arguments: {parameters: [{name: who, value: world}]}
  templates:
  - name: main
    container: {image: alpine, command: [echo, "hello {{workflow.parameters.who}}"]}
`))
	if err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	no := false
	phase, err := RunWorkflow(context.Background(), wf, RunOptions{
		WorkDir: t.TempDir(), Output: "json", TTY: &no, Parameters: map[string]string{"who": "kiln"},
	}, &stdout, &stderr)
	if err != nil {
		t.Fatal(err)
	}
	if phase != wfv1.WorkflowSucceeded {
		t.Fatalf("phase %s; stderr:\n%s", phase, stderr.String())
	}
	var s Summary
	if err := json.Unmarshal(stdout.Bytes(), &s); err != nil {
		t.Fatalf("decode %q: %v", stdout.String(), err)
	}
	n := s.Nodes["hello"]
	if s.Phase != wfv1.WorkflowSucceeded || n.Phase != wfv1.NodeSucceeded || n.Outputs == nil || *n.Outputs.Result != "hello kiln" {
		t.Errorf("summary = %+v", s)
	}
	if !strings.Contains(stderr.String(), "Succeeded") {
		t.Errorf("progress on stderr = %q, want node phase lines", stderr.String())
	}
}

func TestRunWorkflowRejectsBeforeStart(t *testing.T) {
	wf, err := engine.ParseWorkflow([]byte(`
metadata: {name: bad}
spec:
  entrypoint: main
  templates:
  - name: main
    http: {url: "http://example.com"}
`))
	if err != nil {
		t.Fatal(err)
	}
	_, err = RunWorkflow(context.Background(), wf, RunOptions{WorkDir: t.TempDir()}, &bytes.Buffer{}, &bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), "spec.templates[0].http") {
		t.Errorf("err = %v, want rejection naming spec.templates[0].http", err)
	}
	if errors.Is(err, ErrNotSucceeded) {
		t.Errorf("a rejected workflow is not a failed run")
	}
}

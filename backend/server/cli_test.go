package server_test

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestCLIAgainstServer drives `kiln server` with the client commands, as a user would.
func TestCLIAgainstServer(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and starts a server process")
	}
	bin, err := buildKiln()
	if err != nil {
		t.Fatal(err)
	}
	data, addr := t.TempDir(), freeAddr(t)
	startServer(t, bin, data, addr)
	spec := filepath.Join(t.TempDir(), "hello.yaml")
	if err := os.WriteFile(spec, []byte(`apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: hello-
spec:
  entrypoint: say
  arguments:
    parameters:
    - name: who
      value: world
  templates:
  - name: say
    script:
      image: alpine
      command: [sh]
      source: echo "hello {{workflow.parameters.who}}"
`), 0o644); err != nil {
		t.Fatal(err)
	}
	kiln := func(wantOK bool, args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "KILN_SERVER=http://"+addr)
		out, err := cmd.CombinedOutput()
		if (err == nil) != wantOK {
			t.Fatalf("kiln %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	if out := kiln(true, "pipeline", "upload", spec); !strings.Contains(out, "hello") || !strings.Contains(out, "v1") {
		t.Errorf("upload: %s", out)
	}
	kiln(true, "pipeline", "upload", spec, "--version", "v2")
	if out := kiln(true, "pipeline", "get", "hello"); !strings.Contains(out, "v2") || !strings.Contains(out, "who:string") {
		t.Errorf("pipeline get: %s", out)
	}
	out := kiln(true, "runs", "create", "--pipeline", "hello", "-p", "who=kiln", "--wait", "-o", "json")
	var run struct{ ID, Phase string }
	if err := json.Unmarshal([]byte(out), &run); err != nil || run.Phase != "Succeeded" {
		t.Fatalf("runs create: %v\n%s", err, out)
	}
	got := kiln(true, "runs", "get", run.ID, "-o", "yaml")
	if !strings.Contains(got, "phase: Succeeded") {
		t.Errorf("runs get -o yaml: %s", got)
	}
	var full struct{ Nodes []struct{ ID string } }
	json.Unmarshal([]byte(kiln(true, "runs", "get", run.ID, "-o", "json")), &full)
	if len(full.Nodes) == 0 {
		t.Fatal("run has no nodes")
	}
	if logs := kiln(true, "runs", "logs", run.ID, full.Nodes[0].ID); logs != "hello kiln\n" {
		t.Errorf("logs = %q", logs)
	}
	if out := kiln(true, "runs", "list", "--filter", `phase == "Succeeded"`); !strings.Contains(out, run.ID) {
		t.Errorf("runs list: %s", out)
	}
	if out := kiln(false, "runs", "list", "--filter", "size(tags) > 1"); !strings.Contains(out, "400") {
		t.Errorf("bad filter: %s", out)
	}
	kiln(true, "metrics", "log", run.ID, "loss=0.25", "--step", "3")
	if out := kiln(true, "metrics", "get", run.ID); !strings.Contains(out, "loss") || !strings.Contains(out, "0.25") {
		t.Errorf("metrics get: %s", out)
	}
	if out := kiln(true, "metrics", "history", run.ID, "loss", "-o", "json"); !strings.Contains(out, `"step": 3`) {
		t.Errorf("metrics history: %s", out)
	}
	kiln(true, "experiment", "create", "exp1")
	if out := kiln(true, "experiment", "list"); !strings.Contains(out, "exp1") {
		t.Errorf("experiment list: %s", out)
	}
	if out := kiln(false, "runs", "create", "--pipeline", "hello", "-p", "nobody=1"); !strings.Contains(out, "parameters[nobody]") {
		t.Errorf("undeclared parameter: %s", out)
	}
	// kiln server mounts the MLflow-compatible API on the same store.
	resp, err := http.Post("http://"+addr+"/api/2.0/mlflow/experiments/search", "application/json", strings.NewReader(`{"max_results":10}`))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "exp1") {
		t.Errorf("MLflow experiments/search: %d %s", resp.StatusCode, b)
	}
}

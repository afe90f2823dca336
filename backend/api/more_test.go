package api_test

import (
	"bufio"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
)

const tickSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: tick-
spec:
  entrypoint: tick
  templates:
  - name: tick
    script:
      image: alpine
      command: [sh]
      source: |
        echo first
        sleep 1.5
        echo second
`

// TestLogsStreamWhileRunning reads a node's log with follow=true and sees the first line
// before the node has finished, then the rest when it ends.
func TestLogsStreamWhileRunning(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := ctx(t)
		p, err := e.c.CreatePipeline(ctx, api.CreatePipelineRequest{Name: "tick", Spec: tickSpec})
		if err != nil {
			t.Fatal(err)
		}
		run, err := e.c.CreateRun(ctx, api.CreateRunRequest{PipelineVersionID: p.Version.ID})
		if err != nil {
			t.Fatal(err)
		}
		var node string
		for deadline := time.Now().Add(10 * time.Second); node == "" && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
			r, err := e.c.GetRun(ctx, run.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range r.Nodes {
				if n.Type == "Pod" {
					node = n.ID
				}
			}
		}
		if node == "" {
			t.Fatal("no pod node appeared")
		}
		rc, err := e.c.Logs(ctx, run.ID, node, true)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		sc := bufio.NewScanner(rc)
		if !sc.Scan() || sc.Text() != "first" {
			t.Fatalf("first line %q (%v)", sc.Text(), sc.Err())
		}
		r, err := e.c.GetRun(ctx, run.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Phase != "Running" && r.Phase != "Pending" {
			t.Errorf("first line arrived only after the run ended (%s): not streamed", r.Phase)
		}
		if !sc.Scan() || sc.Text() != "second" {
			t.Fatalf("second line %q (%v)", sc.Text(), sc.Err())
		}
		if sc.Scan() {
			t.Errorf("unexpected line %q", sc.Text())
		}
	})
}

func TestRecurringRunsModelsArtifacts(t *testing.T) {
	forEachStore(t, func(t *testing.T, e *env) {
		ctx := ctx(t)
		c := e.c
		p, err := c.CreatePipeline(ctx, api.CreatePipelineRequest{Name: "echo", Spec: echoSpec})
		if err != nil {
			t.Fatal(err)
		}
		rr, err := c.CreateRecurringRun(ctx, api.RecurringRun{Name: "nightly", PipelineVersionID: p.Version.ID, Cron: "0 3 * * *",
			TimeZone: "Europe/Paris", Enabled: true, MaxConcurrency: 2, Parameters: map[string]string{"count": "4"}})
		if err != nil {
			t.Fatal(err)
		}
		if rr.ID == "" || !rr.Enabled || rr.TimeZone != "Europe/Paris" {
			t.Errorf("recurring run = %+v", rr)
		}
		if _, err := c.CreateRecurringRun(ctx, api.RecurringRun{Name: "bad", PipelineVersionID: p.Version.ID, Interval: "1h",
			Parameters: map[string]string{"count": "four"}}); client.StatusCode(err) != http.StatusBadRequest {
			t.Errorf("recurring run with a mistyped parameter: %v, want 400", err)
		}
		off, err := c.SetRecurringRunEnabled(ctx, rr.ID, false)
		if err != nil || off.Enabled {
			t.Errorf("disable: %+v, %v", off, err)
		}
		l, err := c.ListRecurringRuns(ctx, client.PageOptions{})
		if err != nil || len(l.RecurringRuns) != 1 {
			t.Errorf("list = %+v, %v", l, err)
		}
		if err := c.DeleteRecurringRun(ctx, rr.ID); err != nil {
			t.Fatal(err)
		}

		// Artifacts with lineage, and the model registry, through raw requests.
		run, err := c.CreateRun(ctx, api.CreateRunRequest{Name: "train"})
		if err != nil {
			t.Fatal(err)
		}
		post := func(path, body string, want int) string {
			t.Helper()
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, e.url+path, strings.NewReader(body))
			if strings.Contains(path, "/aliases/") {
				req.Method = http.MethodPut
			}
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var b strings.Builder
			bufio.NewReader(resp.Body).WriteTo(&b)
			if resp.StatusCode != want {
				t.Fatalf("%s %s: %d %s, want %d", req.Method, path, resp.StatusCode, b.String(), want)
			}
			return b.String()
		}
		art := post("/api/v1/artifacts", `{"name":"model","uri":"file:///tmp/m","type":"Model","runId":"`+run.ID+`"}`, 201)
		if !strings.Contains(art, `"runId":"`+run.ID+`"`) {
			t.Errorf("artifact = %s", art)
		}
		post("/api/v1/models", `{"name":"clf"}`, 201)
		post("/api/v1/models", `{"name":"clf"}`, 409)
		v := post("/api/v1/models/clf/versions", `{"source":"file:///tmp/m","runId":"`+run.ID+`"}`, 201)
		if !strings.Contains(v, `"version":1`) {
			t.Errorf("model version = %s", v)
		}
		post("/api/v1/models/clf/versions", `{"source":"file:///tmp/m2"}`, 201)
		a := post("/api/v1/models/clf/aliases/production", `{"version":1}`, 200)
		if !strings.Contains(a, `"version":1`) {
			t.Errorf("alias = %s", a)
		}
		a = post("/api/v1/models/clf/aliases/production", `{"version":2}`, 200)
		if !strings.Contains(a, `"version":2`) {
			t.Errorf("moved alias = %s", a)
		}
		resp, err := http.Get(e.url + "/api/v1/runs/" + run.ID + "/lineage")
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		bufio.NewReader(resp.Body).WriteTo(&b)
		resp.Body.Close()
		if !strings.Contains(b.String(), `"kind":"produced"`) {
			t.Errorf("run lineage = %s", b.String())
		}
	})
}

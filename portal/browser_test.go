package portal_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/store"
)

// diamondSpec is a four-task DAG (prepare → train, evaluate → report) whose container steps run
// as host processes in the local engine; prepare sleeps so the page sees it Running.
const diamondSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: diamond-
spec:
  entrypoint: main
  arguments:
    parameters:
    - name: message
      value: hello
    - name: epochs
      value: "3"
    - name: pause
      value: "4"
  templates:
  - name: main
    dag:
      tasks:
      - name: prepare
        template: say
        arguments:
          parameters: [{name: text, value: "prepare {{workflow.parameters.message}}"}, {name: pause, value: "{{workflow.parameters.pause}}"}]
      - name: train
        template: say
        dependencies: [prepare]
        arguments:
          parameters: [{name: text, value: "train x{{workflow.parameters.epochs}}"}, {name: pause, value: "0"}]
      - name: evaluate
        template: say
        dependencies: [prepare]
        arguments:
          parameters: [{name: text, value: "evaluate"}, {name: pause, value: "0"}]
      - name: report
        template: say
        dependencies: [train, evaluate]
        arguments:
          parameters: [{name: text, value: "report {{workflow.parameters.message}}"}, {name: pause, value: "0"}]
  - name: say
    inputs:
      parameters:
      - name: text
      - name: pause
    script:
      image: alpine
      command: [sh]
      source: |
        sleep {{inputs.parameters.pause}}
        echo "said {{inputs.parameters.text}}"
`

// TestPortalEndToEnd drives the portal in headless Chromium against the real embedded server:
// upload a pipeline, run it from the typed form, watch the DAG reach Succeeded, read a node's
// logs, compare two runs, create and open a notebook; screenshots of every page are saved.
func TestPortalEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b := newBrowser(t, 1280, 900)
	_, jupyterErr := lookJupyter()
	e := newPortalEnv(t, jupyterErr == nil)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	specFile := filepath.Join(t.TempDir(), "diamond.yaml")
	if err := os.WriteFile(specFile, []byte(diamondSpec), 0o644); err != nil {
		t.Fatal(err)
	}
	exp, err := e.c.CreateExperiment(ctx, api.CreateExperimentRequest{Name: "tuning"})
	if err != nil {
		t.Fatal(err)
	}

	// Home, then Pipelines: upload the compiled YAML through the form.
	b.do("open home", 20*time.Second, chromedp.Navigate(e.url+"/"), chromedp.WaitVisible(css("#running-count")))
	b.shot("01-home-empty")
	b.do("upload pipeline", 30*time.Second,
		chromedp.Navigate(e.url+"/#/pipelines"),
		chromedp.WaitVisible(css("#upload-form")),
		chromedp.SendKeys(css("#up-name"), "diamond"),
		chromedp.SendKeys(css("#up-desc"), "four tasks in a diamond"),
		chromedp.SetUploadFiles(css("#up-file"), []string{specFile}),
		chromedp.Click(css("#upload-form button[type=submit]")),
		chromedp.WaitVisible(css("#run-form")),
	)
	if got := eval[string](b, `document.querySelector('#param-epochs').type`); got != "number" {
		t.Errorf("epochs input type = %q, want number (typed from the default)", got)
	}
	b.shot("02-pipeline")

	// A wrong type is refused in the browser with the field named.
	b.do("invalid input", 10*time.Second,
		chromedp.SetValue(css("#param-epochs"), ""),
		chromedp.SendKeys(css("#run-name"), "first"),
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#param-epochs'); s.type = 'text'; s.value = 'many'; })()`),
		chromedp.Click(css("#run-form button[type=submit]")),
		waitJS(`document.querySelector('#run-form .error')?.textContent.includes('parameters.epochs')`),
	)
	b.shot("03-run-form-error")

	// Start the run with a typed form, then watch the graph.
	b.resetRequests()
	b.do("start run", 30*time.Second,
		chromedp.Evaluate[chromedp.Void](`(() => { const s = document.querySelector('#param-epochs'); s.type = 'number'; s.value = '5'; })()`),
		chromedp.SetValue(css("#param-message"), "from the portal"),
		chromedp.SetValue(css("#run-experiment"), exp.ID),
		chromedp.Click(css("#run-form button[type=submit]")),
		waitJS(`location.hash.startsWith('#/runs/')`),
	)
	firstID := strings.TrimPrefix(eval[string](b, `location.hash`), "#/runs/")
	// The engine reports tasks as they become ready: prepare runs alone first.
	b.do("see prepare running", 20*time.Second, waitJS(`document.querySelector('.dag-node.phase-Running[aria-label^="prepare"]')`))
	b.shot("04-run-live")
	b.do("run succeeds", 90*time.Second, waitJS(`document.querySelector('.run-page')?.dataset.phase === 'Succeeded'`),
		waitJS(`document.querySelectorAll('.dag-node.phase-Succeeded').length === 4`),
		// The stream closes with its "end" event a poll after the run finished.
		waitJS(`document.querySelector('.run-page')?.dataset.live !== 'events'`))
	// The page followed the run through its event stream: one read of the run, no polling.
	if got := b.requests(regexp.MustCompile(`^/api/v1/runs/` + firstID + `$`)); len(got) != 1 {
		t.Errorf("the run page fetched the run %d times while it ran, want 1 (then server-sent events): %v", len(got), got)
	}
	if got := b.requests(regexp.MustCompile(`^/api/v1/runs/` + firstID + `/events$`)); len(got) == 0 {
		t.Error("the run page did not open the run's event stream")
	}
	if live := eval[string](b, `document.querySelector('.run-page').dataset.live`); live != "ended" {
		t.Errorf("run page live mode = %q, want ended (the event stream's end event)", live)
	}
	if got := eval[string](b, `document.querySelector('#run-progress')?.textContent || ''`); got != "4/4 tasks done" {
		t.Errorf("run progress = %q, want 4/4 tasks done", got)
	}
	// Layers: prepare above train/evaluate above report.
	ys := eval[map[string]float64](b, `Object.fromEntries([...document.querySelectorAll('.dag-node')].map(g => [g.querySelector('text').textContent, g.transform.baseVal[0].matrix.f]))`)
	if !(ys["prepare"] < ys["train"] && ys["train"] == ys["evaluate"] && ys["evaluate"] < ys["report"]) {
		t.Errorf("node rows = %v, want prepare < train = evaluate < report", ys)
	}
	// An artifact the report node registered (as a component would through the API).
	run1, err := e.c.GetRun(ctx, firstID)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range run1.Nodes {
		if n.DisplayName == "report" {
			postJSON(t, e.url+"/api/v1/artifacts", `{"name": "summary", "uri": "file:///runs/summary.json", "type": "Metrics", "size": 42, "runId": "`+firstID+`", "nodeId": "`+n.ID+`"}`, "POST")
		}
	}
	// Open the report node with the keyboard and read its logs.
	b.do("open node logs", 20*time.Second,
		chromedp.Focus(css(`.dag-node[aria-label^="report"]`)),
		chromedp.KeyEvent("\r"),
		waitJS(`document.querySelector('#node-logs')?.textContent.includes('said report from the portal')`),
		waitJS(`document.querySelector('aside')?.textContent.includes('file:///runs/summary.json')`),
	)
	b.shot("05-run-succeeded-logs")
	if got := eval[string](b, `document.querySelector('.node-outputs')?.textContent || ''`); got == "" {
		t.Error("node side panel shows no outputs section")
	}

	// A second run through the API (as the CLI would), metrics logged on both, then compare
	// them by selecting both rows in the runs table.
	second, err := e.c.CreateRun(ctx, api.CreateRunRequest{Name: "second", ExperimentID: exp.ID, PipelineVersionID: mustVersion(t, e)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.WaitRun(ctx, second.ID, 100*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	for i, id := range []string{firstID, second.ID} {
		var ms []api.Metric
		for s := range 50 {
			ms = append(ms, api.Metric{Key: "loss", Value: 1 / float64(s+1+i*3), Step: int64(s)})
		}
		if err := e.c.LogBatch(ctx, id, api.LogBatchRequest{Params: []api.Param{{Key: "lr", Value: []string{"0.1", "0.01"}[i]}}, Metrics: ms}); err != nil {
			t.Fatal(err)
		}
	}
	b.do("runs table", 20*time.Second,
		chromedp.Navigate(e.url+"/#/runs"),
		waitJS(`document.querySelectorAll('tr[data-run]').length === 2`),
		chromedp.SetValue(css("#run-columns"), "params.lr, metrics.loss, params.message"),
		chromedp.Click(css(".runs-table form button[type=submit]")),
		waitJS(`!document.querySelector('.runs-table').dataset.loading && [...document.querySelectorAll('th')].some(th => th.textContent.includes('metrics.loss')) && document.querySelector('tr[data-run] td.num')?.textContent !== ''`),
	)
	b.shot("06-runs-table")
	// A filter the API rejects shows its message.
	b.do("bad filter", 10*time.Second,
		chromedp.SetValue(css("#run-filter"), `metrics.loss >`),
		chromedp.Click(css(".runs-table form button[type=submit]")),
		waitJS(`document.querySelector('.runs-table .error')?.textContent.includes('filter')`),
	)
	b.shot("07-runs-filter-error")
	b.resetRequests()
	b.do("filter and compare", 20*time.Second,
		chromedp.SetValue(css("#run-filter"), `metrics.loss < 2`),
		chromedp.Click(css(".runs-table form button[type=submit]")),
		waitJS(`!document.querySelector('.runs-table').dataset.loading && !document.querySelector('.runs-table .error') && document.querySelectorAll('tr[data-run]').length === 2`),
		chromedp.Click(css(`tr[data-run="`+firstID+`"] input[type=checkbox]`)),
		chromedp.Click(css(`tr[data-run="`+second.ID+`"] input[type=checkbox]`)),
		chromedp.Click(css(`a[href^="#/compare?ids="]`)),
		waitJS(`document.querySelector('main > div')?.dataset.loaded === 'true'`),
	)
	if got := eval[string](b, `document.querySelector('#compare-table').textContent`); !strings.Contains(got, "param lr (differs)") {
		t.Errorf("compare table does not flag lr as differing: %q", got)
	}
	if n := eval[int](b, `document.querySelectorAll('.chart path.series').length`); n != 2 {
		t.Errorf("overlaid curves: %d series, want 2", n)
	}
	b.shot("08-compare")
	b.do("experiment page", 20*time.Second, chromedp.Navigate(e.url+"/#/experiments/"+exp.ID),
		waitJS(`document.querySelectorAll('tr[data-run]').length === 2`),
		waitJS(`document.querySelector('#exp-metric')?.value === 'loss' && document.querySelectorAll('.chart path.series').length === 2`),
		chromedp.Click(css("#exp-log")),
		chromedp.SetValue(css("#exp-smooth"), "0.6"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#exp-smooth').dispatchEvent(new Event('change'))`),
		chromedp.SendKeys(css("#sweep-metric"), "loss"),
		chromedp.Click(css(`form:has(#sweep-metric) button`)),
		waitJS(`document.body.textContent.includes('Best trial')`))
	b.shot("09-experiment")
	// Compare, experiment charts and the sweep view read runs with their data in list calls.
	if got := b.requests(regexp.MustCompile(`^/api/v1/runs/[^/]+(/data)?$`)); len(got) > 0 {
		t.Errorf("compare and experiment pages made per-run requests: %v", got)
	}
	b.do("home with runs", 20*time.Second, chromedp.Navigate(e.url+"/#/"), waitJS(`document.querySelectorAll('main tbody tr a').length === 2`))
	b.shot("10-home")
	// A registered model with a version made by the first run and an alias.
	postJSON(t, e.url+"/api/v1/models", `{"name": "diamond-model", "description": "made by the portal test"}`, "POST")
	// Version 1 is served by a real OIP v2 server; version 2's endpoint is gone.
	oip := serveModel(t, "diamond-model")
	postJSON(t, e.url+"/api/v1/models/diamond-model/versions", `{"source": "file:///models/diamond/1", "runId": "`+firstID+`", "tags": {"kiln.dev/endpoint": "`+oip+`"}}`, "POST")
	postJSON(t, e.url+"/api/v1/models/diamond-model/versions", `{"source": "file:///models/diamond/2", "tags": {"kiln.dev/endpoint": "`+closedURL(t)+`"}}`, "POST")
	postJSON(t, e.url+"/api/v1/models/diamond-model/aliases/production", `{"version": 1}`, "PUT")
	b.do("models", 20*time.Second, chromedp.Navigate(e.url+"/#/models"),
		chromedp.Click(css(`a[href="#/models/diamond-model"]`)),
		waitJS(`[...document.querySelectorAll('main tbody tr')].some(tr => tr.querySelector('td')?.textContent === '1')`),
		waitJS(`document.querySelector('#endpoints')?.dataset.loaded === 'true'`))
	if got := eval[string](b, `[...document.querySelectorAll('main tbody tr')].find(tr => tr.querySelector('td')?.textContent === '1').textContent`); !strings.Contains(got, "production") || !strings.Contains(got, firstID[:12]) {
		t.Errorf("model version row = %q, want the alias and the run", got)
	}
	status := eval[map[string]string](b, `Object.fromEntries([...document.querySelectorAll('#endpoints tbody tr')].map(tr => [tr.dataset.version, tr.querySelector('.endpoint-status span').textContent]))`)
	if d := cmp.Diff(map[string]string{"1": "ready", "2": "unreachable"}, status); d != "" {
		t.Errorf("serving endpoints (-want +got):\n%s", d)
	}
	b.shot("11-model-endpoints")

	// Narrow window: the run page stacks the graph over the side panel.
	b.do("narrow run page", 30*time.Second,
		chromedp.EmulateViewport(480, 900),
		chromedp.Navigate(e.url+"/#/runs/"+firstID),
		waitJS(`document.querySelectorAll('.dag-node').length === 4`),
	)
	b.shot("12-run-narrow")
	b.do("wide again", 10*time.Second, chromedp.EmulateViewport(1280, 900))

	// Cancel a long run from its page, then retry it.
	long, err := e.c.CreateRun(ctx, api.CreateRunRequest{Name: "long", PipelineVersionID: mustVersion(t, e), Parameters: map[string]string{"pause": "120"}})
	if err != nil {
		t.Fatal(err)
	}
	b.do("cancel run", 40*time.Second,
		chromedp.Navigate(e.url+"/#/runs/"+long.ID),
		waitJS(`document.querySelector('.dag-node.phase-Running')`),
		chromedp.Click(css(`#run-cancel`)),
		waitJS(`document.querySelector('.run-page')?.dataset.phase === 'Cancelled'`),
	)
	b.shot("13-run-cancelled")
	b.do("retry run", 40*time.Second,
		chromedp.Click(css(`#run-retry`)),
		waitJS(`['Pending', 'Running'].includes(document.querySelector('.run-page')?.dataset.phase)`),
		chromedp.Click(css(`#run-cancel`)),
		waitJS(`document.querySelector('.run-page')?.dataset.phase === 'Cancelled'`),
	)

	// Bulk archive from the runs table: the run leaves the active view and shows in archived.
	b.do("bulk archive", 30*time.Second,
		chromedp.Navigate(e.url+"/#/runs"),
		waitJS(`!document.querySelector('.runs-table').dataset.loading && document.querySelectorAll('tr[data-run]').length === 3`),
		chromedp.Click(css(`tr[data-run="`+long.ID+`"] input[type=checkbox]`)),
		chromedp.Click(css(`.runs-table .row button:nth-child(2)`)),
		waitJS(`!document.querySelector('.runs-table').dataset.loading && document.querySelectorAll('tr[data-run]').length === 2`),
		chromedp.SetValue(css("#run-view"), "archived"),
		chromedp.Evaluate[chromedp.Void](`document.querySelector('#run-view').dispatchEvent(new Event('change'))`),
		waitJS(`!document.querySelector('.runs-table').dataset.loading && document.querySelectorAll('tr[data-run]').length === 1 && document.querySelector('tr[data-run="`+long.ID+`"]')`),
	)

	// Another namespace is empty. The home page lists the namespaces the API reports (with auth
	// off: default and the local user's memberships); the choice survives a reload and every
	// call carries it.
	if err := e.srv.Store().SetMember(ctx, store.Member{Namespace: "team-b", User: api.LocalUser, Role: store.RoleEditor}); err != nil {
		t.Fatal(err)
	}
	b.do("switch namespace", 20*time.Second,
		chromedp.Navigate(e.url+"/?ns=1#/"),
		waitJS(`document.querySelectorAll('main tbody tr a').length === 2`),
		waitJS(`document.querySelector('#namespaces a[data-ns="team-b"]')`),
		chromedp.Click(css(`#namespaces a[data-ns="team-b"]`)),
		waitJS(`document.querySelector('main')?.textContent.includes('No runs yet')`),
	)
	b.shot("14-namespace-team-b")
	b.resetRequests()
	b.do("namespace persists", 20*time.Second,
		chromedp.Navigate(e.url+"/?ns=2#/runs"),
		waitJS(`!document.querySelector('.runs-table')?.dataset.loading && document.querySelector('.runs-table caption')?.textContent.includes('team-b')`),
	)
	for _, u := range b.requests(regexp.MustCompile(`^/api/v1/`)) {
		if !strings.Contains(u, "namespace=team-b") {
			t.Errorf("request %s does not carry the chosen namespace", u)
		}
	}
	b.do("back to default", 20*time.Second,
		chromedp.Navigate(e.url+"/#/"),
		chromedp.SetValue(css("#ns-input"), "default"),
		chromedp.Click(css("#ns-form button")),
		waitJS(`document.querySelectorAll('main tbody tr a').length === 2`),
	)

	// A recurring run from the pipeline page.
	b.do("recurring run", 30*time.Second,
		chromedp.Navigate(e.url+"/#/pipelines/"+mustPipeline(t, e)),
		chromedp.WaitVisible(css("#rr-name")),
		chromedp.SendKeys(css("#rr-name"), "hourly"),
		chromedp.SendKeys(css("#rr-schedule"), "1h"),
		chromedp.Click(css(`form:has(#rr-name) button`)),
		waitJS(`[...document.querySelectorAll('td')].some(td => td.textContent === 'every 1h0m0s')`),
	)
	b.shot("15-recurring")

	t.Run("notebook", func(t *testing.T) {
		if jupyterErr != nil {
			if os.Getenv("CI") == "true" {
				t.Fatal(jupyterErr)
			}
			t.Skip(jupyterErr)
		}
		b.t = t
		defer func() { b.t = t }()
		b.do("create notebook", 90*time.Second,
			chromedp.Navigate(e.url+"/#/notebooks"),
			chromedp.WaitVisible(css("#notebook-form")),
			chromedp.SendKeys(css("#nb-name"), "scratch"),
			chromedp.SendKeys(css("#nb-cpu"), "1"),
			chromedp.SendKeys(css("#nb-memory"), "1Gi"),
			chromedp.SendKeys(css("#nb-idle"), "30m"),
			chromedp.Click(css("#notebook-form button[type=submit]")),
			waitJS(`location.hash === '#/notebooks/scratch'`),
			waitJS(`document.querySelector('main > div')?.dataset.phase === 'Running'`),
		)
		b.shot("16-notebook")
		href := eval[string](b, `[...document.querySelectorAll('a.button')].find(a => a.textContent === 'Connect').getAttribute('href')`)
		b.do("open notebook", 60*time.Second, chromedp.Navigate(e.url+href), waitJS(`document.title.includes('Jupyter') || document.title.includes('Home') || document.title.includes('Tree')`))
		b.shot("17-jupyter")
		b.do("list notebooks", 20*time.Second, chromedp.Navigate(e.url+"/#/notebooks"), waitJS(`document.querySelector('main tbody tr .phase-Running')`))
		b.shot("18-notebooks")
		b.do("stop notebook", 60*time.Second,
			chromedp.Click(css(`main tbody tr button:not(.danger)`)),
			waitJS(`document.querySelector('main tbody tr .phase-Stopped')`))
		b.do("delete notebook", 30*time.Second,
			chromedp.Evaluate[chromedp.Void](`window.confirm = () => true`),
			chromedp.Click(css(`main tbody tr button.danger`)),
			waitJS(`document.querySelector('main tbody')?.textContent.includes('No notebooks')`))
	})
}

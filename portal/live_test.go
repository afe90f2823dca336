package portal_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
)

// TestRunPagePollingFallback blocks the run's event stream in the browser: the run page falls
// back to polling GET /runs/{id} and still follows the run to Succeeded.
func TestRunPagePollingFallback(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b := newBrowser(t, 1280, 900)
	e := newPortalEnv(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := e.c.UploadPipeline(ctx, "diamond", "", []byte(diamondSpec))
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.c.CreateRun(ctx, api.CreateRunRequest{Name: "polled", PipelineVersionID: p.Version.ID, Parameters: map[string]string{"pause": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	b.do("block events", 10*time.Second, func(ctx context.Context, _ *chromedp.Target) (chromedp.Void, error) {
		_, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{
			URLPatterns: []*network.BlockPattern{{URLPattern: "*://*:*/api/v1/runs/*/events?*", Block: true}}})
		return chromedp.Void{}, err
	})
	b.resetRequests()
	b.do("polled run succeeds", 60*time.Second, chromedp.Navigate(e.url+"/#/runs/"+run.ID),
		waitJS(`document.querySelector('.run-page')?.dataset.phase === 'Succeeded'`),
		waitJS(`document.querySelectorAll('.dag-node.phase-Succeeded').length === 4`))
	if live := eval[string](b, `document.querySelector('.run-page').dataset.live`); live != "polling" {
		t.Errorf("live mode = %q, want polling when the event stream is blocked", live)
	}
	if got := b.requests(regexp.MustCompile(`^/api/v1/runs/` + run.ID + `$`)); len(got) < 2 {
		t.Errorf("the run was fetched %d times; the fallback should poll it", len(got))
	}
}

// TestPreviewRender checks how js/preview.js picks a preview for text artifacts, in Chromium.
func TestPreviewRender(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b := newBrowser(t, 1280, 900)
	e := newPortalEnv(t, false)
	b.do("open portal", 20*time.Second, chromedp.Navigate(e.url+"/"), waitJS(`document.querySelector('#main h1')`))
	type tc struct {
		Name      string `json:"name"`
		Text      string `json:"text"`
		CT        string `json:"ct"`
		File      string `json:"file"`
		Truncated bool   `json:"truncated"`
		Kind      string `json:"kind"`
	}
	tests := []tc{
		{Name: "csv by type", Text: "a,b\n1,2\n", CT: "text/csv", File: "x", Kind: "csv"},
		{Name: "csv sniffed without extension", Text: "x,y,z\n1,2,3\n4,5,6\n", CT: "text/plain", File: "data", Kind: "csv"},
		{Name: "tsv by extension", Text: "a\tb\n1\t2\n", CT: "text/plain", File: "t.tsv", Kind: "csv"},
		{Name: "prose with commas is text", Text: "hello, world\nthis line, has, more commas\n", CT: "text/plain", File: "log", Kind: "text"},
		{Name: "flat metrics", Text: `{"accuracy": 0.9, "f1": 0.8}`, CT: "application/json", File: "metrics", Kind: "metrics"},
		{Name: "nested metrics", Text: `{"test": {"auc": 0.9, "loss": 0.1}, "n": 5}`, CT: "text/plain", File: "m", Kind: "metrics"},
		{Name: "kfp metrics", Text: `{"metrics": [{"name": "auc", "numberValue": 0.9}]}`, CT: "application/json", File: "m", Kind: "metrics"},
		{Name: "list of metrics", Text: `[{"key": "auc", "value": 0.9}]`, CT: "application/json", File: "m", Kind: "metrics"},
		{Name: "model json", Text: `{"format": "kiln.model/v1", "kind": "gbt", "features": ["a", "b"], "trees": [[1, 2]]}`, CT: "text/plain", File: "model", Kind: "json"},
		{Name: "cut json is text", Text: `{"format": "kiln.mo`, CT: "application/json", File: "model", Truncated: true, Kind: "text"},
		{Name: "yaml is text", Text: "apiVersion: v1\nkind: ConfigMap\n", CT: "text/plain", File: "manifests", Kind: "text"},
		{Name: "binary", Text: "\x00\x01\x02PK", CT: "application/octet-stream", File: "blob", Kind: "binary"},
	}
	got := evalAsync[[]string](b, `(async () => { const { render } = await import('/js/preview.js'); return `+mustJSON(t, tests)+`.map((c) => render(c.text, c.ct, c.file, c.truncated).kind); })()`)
	var want []string
	for _, tt := range tests {
		want = append(want, tt.Kind)
	}
	if d := cmp.Diff(want, got); d != "" {
		for i := range tests {
			if i < len(got) && got[i] != tests[i].Kind {
				t.Errorf("%s: kind %q, want %q", tests[i].Name, got[i], tests[i].Kind)
			}
		}
		t.Errorf("kinds (-want +got):\n%s", d)
	}
	rows := evalAsync[[][]string](b, `(async () => { const { parseCSV } = await import('/js/preview.js'); return parseCSV('a,"b ""q"", c"\n1,2\n3,4', ',', true); })()`)
	if d := cmp.Diff([][]string{{"a", `b "q", c`}, {"1", "2"}}, rows); d != "" {
		t.Errorf("parseCSV of a cut preview (quotes; the cut last line dropped) (-want +got):\n%s", d)
	}
}

// TestRunPageEventsWithToken runs the portal against a server with bearer tokens: EventSource
// cannot send the Authorization header, so the page reads the same stream with fetch, and still
// follows the run to its end without polling.
func TestRunPageEventsWithToken(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b := newBrowser(t, 1280, 900)
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte("users:\n- name: alice\n  tokens: [alice-secret]\n  namespaces: {default: editor}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newPortalEnv(t, false, func(c *server.Config) { c.TokensFile = tokens })
	c := client.New(e.url, client.Options{Token: "alice-secret"})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	p, err := c.UploadPipeline(ctx, "diamond", "", []byte(diamondSpec))
	if err != nil {
		t.Fatal(err)
	}
	run, err := c.CreateRun(ctx, api.CreateRunRequest{Name: "with-token", PipelineVersionID: p.Version.ID, Parameters: map[string]string{"pause": "2"}})
	if err != nil {
		t.Fatal(err)
	}
	b.do("store token", 20*time.Second, chromedp.Navigate(e.url+"/"),
		chromedp.Evaluate[chromedp.Void](`localStorage.setItem('kiln.token', 'alice-secret')`))
	b.resetRequests()
	b.do("run succeeds", 60*time.Second, chromedp.Navigate(e.url+"/?t=1#/runs/"+run.ID),
		waitJS(`document.querySelector('.run-page')?.dataset.phase === 'Succeeded'`),
		waitJS(`document.querySelector('.run-page')?.dataset.live !== 'events'`))
	if live := eval[string](b, `document.querySelector('.run-page').dataset.live`); live != "ended" {
		t.Errorf("live mode = %q, want ended (the stream read with fetch)", live)
	}
	if got := b.requests(regexp.MustCompile(`^/api/v1/runs/` + run.ID + `$`)); len(got) != 1 {
		t.Errorf("the run was fetched %d times, want once", len(got))
	}
	if n := eval[int](b, `document.querySelectorAll('.dag-node.phase-Succeeded').length`); n != 4 {
		t.Errorf("%d nodes Succeeded, want 4", n)
	}
}

// TestHomeLiveCounts watches the home page while runs start and fail through the API: the
// running and failed counts and the recent runs follow GET /runs/events without reloads or
// polling.
func TestHomeLiveCounts(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b := newBrowser(t, 1280, 900)
	e := newPortalEnv(t, false)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	b.do("open home", 20*time.Second, chromedp.Navigate(e.url+"/#/"),
		waitJS(`document.querySelector('.cards')?.dataset.live === 'true' && document.querySelector('#running-count')?.textContent === '0'`))
	b.resetRequests()
	run, err := e.c.CreateRun(ctx, api.CreateRunRequest{Name: "tracked"}) // tracking-only: Running
	if err != nil {
		t.Fatal(err)
	}
	b.do("running count", 20*time.Second, waitJS(`document.querySelector('#running-count').textContent === '1' && document.querySelector('main tbody')?.textContent.includes('tracked')`))
	if _, err := e.c.SetRunStatus(ctx, run.ID, api.SetRunStatusRequest{Phase: "Failed"}); err != nil {
		t.Fatal(err)
	}
	b.do("failed count", 20*time.Second, waitJS(`document.querySelector('#running-count').textContent === '0' && document.querySelector('#failed-count').textContent === '1' && document.querySelector('main tbody .phase-Failed')`))
	b.shot("23-home-live")
	if got := b.requests(regexp.MustCompile(`^/api/v1/runs`)); len(got) > 0 {
		t.Errorf("the home page sent requests while it followed the summary stream: %v", got)
	}
}

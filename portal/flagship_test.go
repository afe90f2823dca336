package portal_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/server"
)

// buildFlagship builds examples/flagship and compiles its pipeline for the local engine.
func buildFlagship(t *testing.T) (bin, spec string) {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	dir := t.TempDir()
	bin = filepath.Join(dir, "flagship")
	build := exec.Command(goBin, "build", "-o", bin, "./examples/flagship")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the flagship: %v\n%s", err, out)
	}
	data, err := filepath.Abs("../datasets/breast-cancer/data.csv")
	if err != nil {
		t.Fatal(err)
	}
	spec = filepath.Join(dir, "flagship.yaml")
	compile := exec.Command(bin, "compile", "--image", "local", "-p", "data="+data, "-p", "registry="+filepath.Join(dir, "registry"), "-o", spec)
	if out, err := compile.CombinedOutput(); err != nil {
		t.Fatalf("compile the flagship: %v\n%s", err, out)
	}
	return bin, spec
}

// TestPortalArtifactPreviews runs the flagship pipeline on the embedded server and previews
// its nodes' output artifacts in the side panel, read through
// GET /runs/{id}/nodes/{node}/artifacts/{name}?maxBytes=N: the split's Dataset as a CSV table,
// the evaluation's Metrics as a metrics table, the best trial's Model as JSON and the deploy
// step's manifests as text.
func TestPortalArtifactPreviews(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test: skipped with -short")
	}
	b := newBrowser(t, 1280, 900)
	bin, specFile := buildFlagship(t)
	e := newPortalEnv(t, false, func(c *server.Config) { c.PipelineBinary = bin })
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	spec, err := os.ReadFile(specFile)
	if err != nil {
		t.Fatal(err)
	}
	p, err := e.c.UploadPipeline(ctx, "flagship", "the flagship", spec)
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.c.CreateRun(ctx, api.CreateRunRequest{Name: "flagship", PipelineVersionID: p.Version.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.do("flagship succeeds", 3*time.Minute, chromedp.Navigate(e.url+"/#/runs/"+run.ID),
		waitJS(`document.querySelector('.run-page')?.dataset.phase === 'Succeeded'`),
		waitJS(`document.querySelector('.run-page')?.dataset.live !== 'events'`))
	if p := eval[string](b, `document.querySelector('.run-page').dataset.phase`); p != "Succeeded" {
		t.Fatalf("flagship run: %s", p)
	}
	b.shot("20-flagship-run")

	tests := []struct {
		node, artifact, kind string
		contains             string // text the preview shows
	}{
		{"split", "train", "csv", "mean_radius"},
		{"evaluate", "metrics", "metrics", "accuracy"},
		{"best", "model", "json", `"format": "kiln.model/v1"`},
		{"deploy", "manifests", "text", "apiVersion"},
	}
	for _, tt := range tests {
		sel := `.artifact[data-artifact="` + tt.artifact + `"]`
		b.do("preview "+tt.node+"."+tt.artifact, 30*time.Second,
			chromedp.Focus(css(`.dag-node[aria-label^="`+tt.node+`:"]`)),
			chromedp.KeyEvent("\r"),
			waitJS(`document.querySelector('aside h2')?.textContent === '`+tt.node+`'`),
			chromedp.Click(css(sel+` button.artifact-preview`)),
			waitJS(`['`+tt.kind+`', 'error'].includes(document.querySelector('`+sel+` .preview')?.dataset.kind)`))
		got := eval[string](b, `document.querySelector('`+sel+` .preview').textContent`)
		if kind := eval[string](b, `document.querySelector('`+sel+` .preview').dataset.kind`); kind != tt.kind || !strings.Contains(got, tt.contains) {
			t.Errorf("%s.%s preview: %s %.300q, want %s containing %q", tt.node, tt.artifact, kind, got, tt.kind, tt.contains)
		}
		b.shot("21-preview-" + tt.node + "-" + tt.artifact)
	}
	// The CSV preview is the first rows only.
	b.do("csv rows", 20*time.Second,
		chromedp.Focus(css(`.dag-node[aria-label^="split:"]`)),
		chromedp.KeyEvent("\r"),
		waitJS(`document.querySelector('aside h2')?.textContent === 'split'`),
		chromedp.Click(css(`.artifact[data-artifact="test"] button.artifact-preview`)),
		waitJS(`document.querySelector('.artifact[data-artifact="test"] .preview')?.dataset.kind === 'csv'`))
	if rows := eval[int](b, `document.querySelectorAll('.artifact[data-artifact="test"] table.csv tbody tr').length`); rows != 20 {
		t.Errorf("CSV preview shows %d rows, want the first 20", rows)
	}
}

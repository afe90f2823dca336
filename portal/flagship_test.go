package portal_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image"
	"image/color"
	"image/png"
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
	previewImageAndDirectory(t, b, e)
}

// plotSpec is one task writing a PNG (pngB64, base64) and a directory of two files.
func plotSpec(pngB64 string) string {
	return `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: plot-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: plot
        template: plot
  - name: plot
    outputs:
      artifacts:
      - {name: chart, path: /tmp/kiln-out/chart.png}
      - {name: bundle, path: /tmp/kiln-out/bundle}
    script:
      image: alpine
      command: [sh]
      source: |
        mkdir -p /tmp/kiln-out/bundle
        echo ` + pngB64 + ` | base64 -d > /tmp/kiln-out/chart.png
        printf 'a,b\n1,2\n' > /tmp/kiln-out/bundle/table.csv
        printf '{"loss": 0.25}' > /tmp/kiln-out/bundle/metrics.json
`
}

// previewImageAndDirectory runs plotSpec and previews its PNG as an image and its directory as
// a list whose entries open as previews.
func previewImageAndDirectory(t *testing.T, b *browser, e *portalEnv) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	img := image.NewRGBA(image.Rect(0, 0, 40, 20))
	for x := range 40 {
		for y := range 20 {
			img.Set(x, y, color.RGBA{R: uint8(x * 6), G: 90, B: 200, A: 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	p, err := e.c.UploadPipeline(ctx, "plot", "", []byte(plotSpec(base64.StdEncoding.EncodeToString(buf.Bytes()))))
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.c.CreateRun(ctx, api.CreateRunRequest{Name: "plot", PipelineVersionID: p.Version.ID})
	if err != nil {
		t.Fatal(err)
	}
	b.do("image preview", 60*time.Second, chromedp.Navigate(e.url+"/#/runs/"+run.ID),
		waitJS(`document.querySelector('.run-page')?.dataset.phase === 'Succeeded'`),
		chromedp.Focus(css(`.dag-node[aria-label^="plot:"]`)),
		chromedp.KeyEvent("\r"),
		chromedp.Click(css(`.artifact[data-artifact="chart"] button.artifact-preview`)),
		waitJS(`document.querySelector('.artifact[data-artifact="chart"] .preview img')?.complete`))
	if w := eval[int](b, `document.querySelector('.artifact[data-artifact="chart"] .preview img').naturalWidth`); w != 40 {
		t.Errorf("image preview is %d px wide, want the 40 px PNG", w)
	}
	b.do("directory preview", 30*time.Second,
		chromedp.Click(css(`.artifact[data-artifact="bundle"] button.artifact-preview`)),
		waitJS(`document.querySelector('.artifact[data-artifact="bundle"] .preview')?.dataset.kind`))
	if kind := eval[string](b, `document.querySelector('.artifact[data-artifact="bundle"] .preview').dataset.kind`); kind != "listing" {
		t.Fatalf("directory preview kind = %q (%s), want listing", kind, eval[string](b, `document.querySelector('.artifact[data-artifact="bundle"] .preview').textContent`))
	}
	b.do("directory entry preview", 30*time.Second,
		chromedp.Click(css(`.artifact[data-artifact="bundle"] ul.entries button`)),
		waitJS(`document.querySelector('.artifact[data-artifact="bundle"] .preview .preview')?.dataset.kind`))
	b.shot("22-preview-image-directory")
	got := eval[string](b, `(() => { const p = document.querySelector('.artifact[data-artifact="bundle"] .preview .preview'); return p.dataset.kind + ' ' + p.textContent; })()`)
	if !strings.HasPrefix(got, "metrics ") && !strings.HasPrefix(got, "csv ") {
		t.Errorf("directory entry preview = %q, want the first entry as a table", got)
	}
}

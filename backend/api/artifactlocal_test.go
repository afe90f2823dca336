package api_test

import (
	"context"
	"io"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

// artifactSpec's train step writes a file artifact and a directory artifact.
const artifactSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: arts-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: train
        template: train
  - name: train
    outputs:
      artifacts:
      - {name: model, path: /tmp/out/model.json}
      - {name: report, path: /tmp/report}
    script:
      image: alpine
      command: [sh]
      source: |
        mkdir -p /tmp/out /tmp/report/plots
        printf '{"weights":[1,2,3]}' > /tmp/out/model.json
        printf 'step,loss\n1,0.5\n' > /tmp/report/loss.csv
        printf '<svg/>' > /tmp/report/plots/roc.svg
`

// TestRunArtifactContentLocal runs a pipeline on the embedded server's local engine and
// downloads its artifacts through the API: a file, a directory listing and a directory entry.
func TestRunArtifactContentLocal(t *testing.T) {
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, st, server.Config{})
	ctx := ctx(t)
	up, err := e.c.UploadPipeline(ctx, "arts", "", []byte(artifactSpec))
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.c.CreateRun(ctx, api.CreateRunRequest{PipelineVersionID: up.Version.ID})
	if err != nil {
		t.Fatal(err)
	}
	done, err := e.c.WaitRun(ctx, run.ID, 50*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if done.Phase != string(store.PhaseSucceeded) {
		t.Fatalf("run ended %s: %s", done.Phase, done.Message)
	}
	d, err := e.c.RunArtifact(ctx, run.ID, "train", "model", client.ArtifactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(d)
	d.Close()
	if string(b) != `{"weights":[1,2,3]}` || d.ContentType != "application/json" || d.FileName != "model.json" || d.Size != int64(len(b)) {
		t.Errorf("model = %q (%s, %q, size %d)", b, d.ContentType, d.FileName, d.Size)
	}
	d, err = e.c.RunArtifact(ctx, run.ID, "train", "report", client.ArtifactOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, err := d.Listing()
	d.Close()
	if err != nil {
		t.Fatal(err)
	}
	want := &api.ArtifactListing{Name: "report", Kind: "directory", Entries: []api.ArtifactEntry{{Path: "loss.csv", Size: 16}, {Path: "plots/roc.svg", Size: 6}}}
	if diff := cmp.Diff(want, l); diff != "" {
		t.Errorf("report listing (-want +got):\n%s", diff)
	}
	d, err = e.c.RunArtifact(ctx, run.ID, "train", "report", client.ArtifactOptions{Entry: "plots/roc.svg", MaxBytes: 4})
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(d)
	d.Close()
	if string(b) != "<svg" || !d.Truncated || d.ContentType != "image/svg+xml" {
		t.Errorf("report entry = %q (truncated %v, %s)", b, d.Truncated, d.ContentType)
	}
	if _, err := e.c.RunArtifact(ctx, run.ID, "train", "weights", client.ArtifactOptions{}); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("unknown artifact: %v, want 404", err)
	}
}

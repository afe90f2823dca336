package tracking_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/tracking"
)

func TestLogArtifactRegistersReference(t *testing.T) {
	s := newAuthServer(t, "")
	c, err := tracking.New(tracking.Options{URL: s.url, RunID: s.run, Token: "s3cret", Namespace: "team-a", FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	dir := t.TempDir()
	file := filepath.Join(dir, "model.bin")
	if err := os.WriteFile(file, []byte("weights"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte("weights"))
	a, err := c.LogArtifact(t.Context(), "model", file)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID == "" || a.Size != 7 || a.Digest != "sha256:"+hex.EncodeToString(sum[:]) || a.URI != "file://"+file {
		t.Errorf("artifact %+v", a)
	}
	got, err := s.st.GetArtifact(t.Context(), "team-a", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RunID != s.run || got.URI != a.URI || got.Digest != a.Digest || got.Size != 7 || got.Name != "model" {
		t.Errorf("stored artifact %+v", got)
	}
	// A directory: its files' total size and a digest over them.
	if err := os.WriteFile(filepath.Join(dir, "extra.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := c.LogArtifact(t.Context(), "dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	if d.Size != 8 || d.ID == "" {
		t.Errorf("directory artifact %+v", d)
	}
	if _, err := c.LogArtifact(t.Context(), "missing", filepath.Join(dir, "nope")); err == nil {
		t.Error("missing file: no error")
	}
}

func TestLogArtifactWithoutRegistryTagsTheRun(t *testing.T) {
	e := newEnv(t) // the MLflow API only
	c := e.client(t, tracking.Options{})
	file := filepath.Join(t.TempDir(), "out.csv")
	os.WriteFile(file, []byte("a,b\n"), 0o644)
	a, err := c.LogArtifact(t.Context(), "table", file)
	if err != nil {
		t.Fatal(err)
	}
	if a.ID != "" {
		t.Errorf("artifact id %q without a registry", a.ID)
	}
	ts, _ := e.st.ListTags(t.Context(), e.run)
	want := []store.Tag{{Key: tracking.ArtifactTagPrefix + "table", Value: "file://" + file}}
	if len(ts) != 1 || ts[0] != want[0] {
		t.Errorf("tags %v, want %v", ts, want)
	}
}

func TestLogArtifactUploadsToTheProxy(t *testing.T) {
	artifacts := t.TempDir()
	s := newAuthServer(t, artifacts)
	c, err := tracking.New(tracking.Options{URL: s.url, RunID: s.run, Token: "s3cret", Namespace: "team-a", FlushInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(t.Context())
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "MLmodel"), []byte("flavors: {}"), 0o644)
	os.WriteFile(filepath.Join(dir, "sub", "w.bin"), []byte("weights"), 0o644)
	a, err := c.LogArtifact(t.Context(), "model", dir)
	if err != nil {
		t.Fatal(err)
	}
	want := "mlflow-artifacts:/" + s.run + "/artifacts/model"
	if !a.Uploaded || a.URI != want || a.ID == "" {
		t.Errorf("artifact %+v, want uploaded to %s", a, want)
	}
	// The files are in the namespace's directory, where MLflow clients download them.
	for rel, body := range map[string]string{"MLmodel": "flavors: {}", "sub/w.bin": "weights"} {
		b, err := os.ReadFile(filepath.Join(artifacts, "team-a", s.run, "artifacts", "model", rel))
		if err != nil || string(b) != body {
			t.Errorf("uploaded %s: %q, %v", rel, b, err)
		}
	}
	got, err := s.st.GetArtifact(t.Context(), "team-a", a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.URI != want || got.Metadata["localPath"] != "file://"+dir {
		t.Errorf("registered artifact %+v", got)
	}
	// NoUpload records the local reference only.
	c2, _ := tracking.New(tracking.Options{URL: s.url, RunID: s.run, Token: "s3cret", Namespace: "team-a", FlushInterval: -1, NoUpload: true})
	defer c2.Close(t.Context())
	b, err := c2.LogArtifact(t.Context(), "local", dir)
	if err != nil || b.Uploaded || b.URI != "file://"+dir {
		t.Errorf("NoUpload: %+v, %v", b, err)
	}
}

package api_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/artifactstore"
	"github.com/kilnml/kiln/artifactstore/s3test"
	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

// tarGz archives files (path → content) in the order of names, as Argo's executor does.
func tarGz(t *testing.T, names []string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		h := &tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(n, "/") {
			h = &tar.Header{Name: n, Mode: 0o755, Typeflag: tar.TypeDir}
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if _, err := io.WriteString(tw, files[n]); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := gz.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func s3Key(name, key string) wfv1.Artifact {
	return wfv1.Artifact{Name: name, ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: key}}}
}

// TestRunArtifactContentS3 serves artifacts that were written to an S3-compatible server the way
// Argo writes them (keys relative to the artifact repository, .tgz archives), through the API
// of a server configured with --artifact-store s3://…?endpoint=…&use_path_style=true.
func TestRunArtifactContentS3(t *testing.T) {
	s3 := s3test.Start(t, "artifacts")
	ctx := ctx(t)
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	tokens := filepath.Join(t.TempDir(), "tokens.yaml")
	if err := os.WriteFile(tokens, []byte("users:\n- name: alice\n  tokens: [alice-secret]\n  namespaces: {team-a: viewer}\n- name: bob\n  tokens: [bob-secret]\n  namespaces: {team-b: editor}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, st, server.Config{TokensFile: tokens, ArtifactStore: s3.BucketURL("artifacts")})

	// Upload as Argo's executor would, with the real AWS SDK.
	up, err := artifactstore.New(ctx, artifactstore.Options{DefaultBucket: s3.BucketURL("artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	longLog := strings.Repeat("0123456789", 1000)
	modelTgz := tarGz(t, []string{"model.json"}, map[string]string{"model.json": `{"kind":"linear"}`})
	objects := map[string][]byte{
		"wf-x/wf-x-1/model.tgz": modelTgz,
		"wf-x/wf-x-1/plots.tgz": tarGz(t, []string{"plots/", "plots/loss.csv", "plots/roc.svg"},
			map[string]string{"plots/loss.csv": "step,loss\n1,0.5\n", "plots/roc.svg": "<svg/>"}),
		"wf-x/wf-x-1/train.log":       []byte(longLog),
		"wf-x/wf-x-1/fake.tgz":        []byte("not an archive"),
		"wf-x/wf-x-1/data/part-0.csv": []byte("a,b\n1,2\n"),
		"wf-x/wf-x-1/data/part-1.csv": []byte("a,b\n3,4\n"),
	}
	for k, b := range objects {
		if err := up.Write(ctx, k, bytes.NewReader(b), ""); err != nil {
			t.Fatalf("upload %s: %v", k, err)
		}
	}
	run := &store.Run{Namespace: "team-a", Name: "argo-run", Phase: store.PhaseSucceeded}
	if err := st.CreateRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	outs := wfv1.Outputs{Artifacts: []wfv1.Artifact{
		s3Key("model", "wf-x/wf-x-1/model.tgz"),
		s3Key("plots", "wf-x/wf-x-1/plots.tgz"),
		s3Key("log", "wf-x/wf-x-1/train.log"),
		s3Key("data", "wf-x/wf-x-1/data"),
		s3Key("gone", "wf-x/wf-x-1/gone.tgz"),
		s3Key("fake", "wf-x/wf-x-1/fake.tgz"),
		{Name: "params", ArtifactLocation: wfv1.ArtifactLocation{Raw: &wfv1.RawArtifact{Data: "lr=0.1\n"}}},
		{Name: "local", ArtifactLocation: wfv1.ArtifactLocation{HTTP: &wfv1.HTTPArtifact{URL: "file://" + filepath.Join(e.dir, "kiln.db")}}},
		{Name: "repo", ArtifactLocation: wfv1.ArtifactLocation{Git: &wfv1.GitArtifact{Repo: "https://example.com/r.git"}}},
	}}
	raw, err := json.Marshal(outs)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.UpsertNodes(ctx, run.ID, []store.Node{{RunID: run.ID, ID: "wf-x-1", Name: "wf-x.train", DisplayName: "train", Type: "Pod", Phase: store.PhaseSucceeded, Outputs: raw}}); err != nil {
		t.Fatal(err)
	}
	alice := client.New(e.url, client.Options{Token: "alice-secret", Namespace: "team-a"})

	type want struct {
		status    int
		kind      string
		ctype     string
		body      string
		size      int64
		truncated bool
		file      string
		errField  string // a field the error names
		errText   string // text the error message contains
	}
	tests := []struct {
		name           string
		c              *client.Client
		node, artifact string
		opts           client.ArtifactOptions
		want           want
		listing        []api.ArtifactEntry
	}{
		{name: "archive of one file is opened", c: alice, node: "train", artifact: "model",
			want: want{kind: "file", ctype: "application/json", body: `{"kind":"linear"}`, size: 17, file: "model.json"}},
		{name: "node by ID", c: alice, node: "wf-x-1", artifact: "model", want: want{kind: "file", ctype: "application/json", body: `{"kind":"linear"}`, size: 17, file: "model.json"}},
		{name: "raw archive", c: alice, node: "wf-x.train", artifact: "model", opts: client.ArtifactOptions{Raw: true},
			want: want{kind: "file", ctype: "application/gzip", body: string(modelTgz), size: int64(len(modelTgz)), file: "model.tgz"}},
		{name: "archive of several files is listed", c: alice, node: "train", artifact: "plots", want: want{kind: "archive"},
			listing: []api.ArtifactEntry{{Path: "plots/loss.csv", Size: 16}, {Path: "plots/roc.svg", Size: 6}}},
		{name: "archive entry", c: alice, node: "train", artifact: "plots", opts: client.ArtifactOptions{Entry: "plots/loss.csv"},
			want: want{kind: "file", ctype: "text/csv; charset=utf-8", body: "step,loss\n1,0.5\n", size: 16, file: "loss.csv"}},
		{name: "preview is truncated", c: alice, node: "train", artifact: "log", opts: client.ArtifactOptions{MaxBytes: 25},
			want: want{kind: "file", ctype: "text/plain; charset=utf-8", body: longLog[:25], size: 10000, truncated: true, file: "train.log"}},
		{name: "maxBytes above the size", c: alice, node: "train", artifact: "log", opts: client.ArtifactOptions{MaxBytes: 1 << 20},
			want: want{kind: "file", ctype: "text/plain; charset=utf-8", body: longLog, size: 10000, file: "train.log"}},
		{name: "key prefix is a directory", c: alice, node: "train", artifact: "data", want: want{kind: "directory"},
			listing: []api.ArtifactEntry{{Path: "part-0.csv", Size: 8}, {Path: "part-1.csv", Size: 8}}},
		{name: "directory entry", c: alice, node: "train", artifact: "data", opts: client.ArtifactOptions{Entry: "part-1.csv"},
			want: want{kind: "file", ctype: "text/csv; charset=utf-8", body: "a,b\n3,4\n", size: 8, file: "part-1.csv"}},
		{name: "raw artifact", c: alice, node: "train", artifact: "params", want: want{kind: "file", ctype: "text/plain; charset=utf-8", body: "lr=0.1\n", size: 7, file: "params"}},
		{name: "unreadable archive is served as stored", c: alice, node: "train", artifact: "fake",
			want: want{kind: "file", ctype: "application/gzip", body: "not an archive", size: 14, file: "fake.tgz"}},
		{name: "missing object", c: alice, node: "train", artifact: "gone", want: want{status: http.StatusNotFound, errText: `artifact "gone" of node "train"`}},
		{name: "not an output", c: alice, node: "train", artifact: "nope", want: want{status: http.StatusNotFound, errText: `artifact "nope" is not an output of node "train"`}},
		{name: "unknown node", c: alice, node: "eval", artifact: "model", want: want{status: http.StatusNotFound, errText: `node "eval" not found`}},
		{name: "other namespace", c: client.New(e.url, client.Options{Token: "bob-secret", Namespace: "team-a"}), node: "train", artifact: "model",
			want: want{status: http.StatusForbidden}},
		{name: "run of another namespace is not found", c: client.New(e.url, client.Options{Token: "bob-secret", Namespace: "team-b"}), node: "train", artifact: "model",
			want: want{status: http.StatusNotFound}},
		{name: "no token", c: client.New(e.url, client.Options{Namespace: "team-a"}), node: "train", artifact: "model", want: want{status: http.StatusUnauthorized}},
		{name: "file outside the served directories", c: alice, node: "train", artifact: "local", want: want{status: http.StatusForbidden, errText: `artifact "local"`}},
		{name: "unsupported location", c: alice, node: "train", artifact: "repo", want: want{status: http.StatusBadRequest, errField: "name", errText: "git"}},
		{name: "entry escaping", c: alice, node: "train", artifact: "data", opts: client.ArtifactOptions{Entry: "../model.tgz"}, want: want{status: http.StatusBadRequest, errField: "entry"}},
		{name: "entry of a single file", c: alice, node: "train", artifact: "log", opts: client.ArtifactOptions{Entry: "x"}, want: want{status: http.StatusBadRequest, errField: "entry"}},
		{name: "missing archive entry", c: alice, node: "train", artifact: "plots", opts: client.ArtifactOptions{Entry: "plots/nope.csv"}, want: want{status: http.StatusNotFound, errText: "plots/nope.csv"}},
		{name: "raw directory with maxBytes", c: alice, node: "train", artifact: "data", opts: client.ArtifactOptions{Raw: true, MaxBytes: 10}, want: want{status: http.StatusBadRequest, errField: "maxBytes"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := tt.c.RunArtifact(ctx, run.ID, tt.node, tt.artifact, tt.opts)
			if tt.want.status != 0 {
				checkAPIError(t, err, tt.want.status, tt.want.errField, tt.want.errText)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			if d.Kind != tt.want.kind {
				t.Fatalf("kind = %q, want %q", d.Kind, tt.want.kind)
			}
			if tt.listing != nil {
				l, err := d.Listing()
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(tt.listing, l.Entries); diff != "" {
					t.Errorf("entries (-want +got):\n%s", diff)
				}
				return
			}
			b, err := io.ReadAll(d)
			if err != nil {
				t.Fatal(err)
			}
			got := want{kind: d.Kind, ctype: d.ContentType, body: string(b), size: d.Size, truncated: d.Truncated, file: d.FileName}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(want{})); diff != "" {
				t.Errorf("download (-want +got):\n%s", diff)
			}
		})
	}

	// raw=true on a directory: a .tgz of its files, built on the fly.
	d, err := alice.RunArtifact(ctx, run.ID, "train", "data", client.ArtifactOptions{Raw: true})
	if err != nil {
		t.Fatal(err)
	}
	got := untar(t, d)
	d.Close()
	if diff := cmp.Diff(map[string]string{"part-0.csv": "a,b\n1,2\n", "part-1.csv": "a,b\n3,4\n"}, got); diff != "" || d.FileName != "data.tgz" || d.ContentType != "application/gzip" {
		t.Errorf("raw directory %q (%s) (-want +got):\n%s", d.FileName, d.ContentType, diff)
	}

	// Bad query parameters name themselves.
	for _, q := range []struct{ query, field string }{{"maxBytes=abc", "maxBytes"}, {"maxBytes=-1", "maxBytes"}, {"raw=maybe", "raw"}} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, e.url+"/api/v1/runs/"+run.ID+"/nodes/train/artifacts/log?namespace=team-a&"+q.query, nil)
		req.Header.Set("Authorization", "Bearer alice-secret")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var er api.ErrorResponse
		_ = json.NewDecoder(resp.Body).Decode(&er)
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest || len(er.Error.Details) == 0 || er.Error.Details[0].Field != q.field {
			t.Errorf("%s: status %d, error %+v; want 400 naming %s", q.query, resp.StatusCode, er.Error, q.field)
		}
	}

	// A registered artifact's content comes from its URI; a full s3:// URI of another key in
	// the same MinIO reaches it through the default bucket's endpoint.
	reg := &store.Artifact{Namespace: "team-a", Name: "training-log", URI: "s3://artifacts/wf-x/wf-x-1/train.log", Type: "Dataset"}
	if err := st.CreateArtifact(ctx, reg); err != nil {
		t.Fatal(err)
	}
	d, err = alice.ArtifactContent(ctx, reg.ID, client.ArtifactOptions{MaxBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(d)
	d.Close()
	if string(b) != "0123456789" || !d.Truncated || d.Size != 10000 {
		t.Errorf("registered artifact content = %q (truncated %v, size %d)", b, d.Truncated, d.Size)
	}
	if _, err := client.New(e.url, client.Options{Token: "bob-secret", Namespace: "team-b"}).ArtifactContent(ctx, reg.ID, client.ArtifactOptions{}); client.StatusCode(err) != http.StatusNotFound {
		t.Errorf("registered artifact from another namespace: %v, want 404", err)
	}
	// An artifact the tracking client uploaded through MLflow's artifact proxy.
	proxied := filepath.Join(e.dir, "mlflow-artifacts", "team-a", "1", "r1", "artifacts", "model", "model.json")
	if err := os.MkdirAll(filepath.Dir(proxied), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(proxied, []byte(`{"tracked":true}`), 0o644); err != nil {
		t.Fatal(err)
	}
	tracked := &store.Artifact{Namespace: "team-a", Name: "model", URI: "mlflow-artifacts:/1/r1/artifacts/model/model.json"}
	if err := st.CreateArtifact(ctx, tracked); err != nil {
		t.Fatal(err)
	}
	if d, err := alice.ArtifactContent(ctx, tracked.ID, client.ArtifactOptions{}); err != nil {
		t.Errorf("tracked artifact: %v", err)
	} else {
		b, _ := io.ReadAll(d)
		d.Close()
		if string(b) != `{"tracked":true}` || d.ContentType != "application/json" {
			t.Errorf("tracked artifact = %q (%s)", b, d.ContentType)
		}
	}
	escape := &store.Artifact{Namespace: "team-a", Name: "x", URI: "mlflow-artifacts:/../team-b/secret"}
	if err := st.CreateArtifact(ctx, escape); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ArtifactContent(ctx, escape.ID, client.ArtifactOptions{}); client.StatusCode(err) != http.StatusBadRequest {
		t.Errorf("mlflow-artifacts URI leaving the namespace: %v, want 400", err)
	}
	secret := &store.Artifact{Namespace: "team-a", Name: "db", URI: "file://" + filepath.Join(e.dir, "kiln.db")}
	if err := st.CreateArtifact(ctx, secret); err != nil {
		t.Fatal(err)
	}
	if _, err := alice.ArtifactContent(ctx, secret.ID, client.ArtifactOptions{}); client.StatusCode(err) != http.StatusForbidden {
		t.Errorf("registered file:// URI of the server's database: %v, want 403", err)
	}
}

// checkAPIError checks that err is an API error with status, naming field (if set) in its
// details and containing text (if set) in its message.
func checkAPIError(t *testing.T, err error, status int, field, text string) {
	t.Helper()
	var ce *client.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error = %v, want status %d", err, status)
	}
	if ce.StatusCode != status {
		t.Fatalf("status = %d (%v), want %d", ce.StatusCode, err, status)
	}
	if field != "" && (len(ce.Body.Details) == 0 || ce.Body.Details[0].Field != field) {
		t.Errorf("error %+v does not name field %q", ce.Body, field)
	}
	if text != "" && !strings.Contains(ce.Body.Message, text) {
		t.Errorf("error message %q does not contain %q", ce.Body.Message, text)
	}
}

// untar reads a gzipped tar stream into path → content.
func untar(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	gz, err := gzip.NewReader(r)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	out := map[string]string{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out[h.Name] = string(b)
	}
}

package artifactstore_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/artifactstore"
	"github.com/kilnml/kiln/artifactstore/s3test"
)

func TestResolve(t *testing.T) {
	s, err := artifactstore.New(context.Background(), artifactstore.Options{
		DefaultBucket: "s3://art?endpoint=http://minio:9000&region=eu-west-1&use_path_style=true",
		FileRoots:     []string{"/data/runs"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, uri, bucket, key string
		err                    error
	}{
		{name: "bare key in default bucket", uri: "wf/pod/out.tgz", bucket: "s3://art?endpoint=http://minio:9000&region=eu-west-1&use_path_style=true", key: "wf/pod/out.tgz"},
		{name: "s3 borrows the default query", uri: "s3://other/a/b", bucket: "s3://other?endpoint=http://minio:9000&region=eu-west-1&use_path_style=true", key: "a/b"},
		{name: "s3 keeps its own query", uri: "s3://other/a?region=us-east-2", bucket: "s3://other?region=us-east-2", key: "a"},
		{name: "gs", uri: "gs://models/m/1/model.json", bucket: "gs://models", key: "m/1/model.json"},
		{name: "s3 with the default endpoint", uri: "s3://b/k?endpoint=http://minio:9000/&region=x", bucket: "s3://b?endpoint=http://minio:9000/&region=x", key: "k"},
		{name: "s3 with another endpoint", uri: "s3://b/k?endpoint=http://169.254.169.254", err: artifactstore.ErrForbidden},
		{name: "s3 with a profile", uri: "s3://b/k?profile=admin", err: artifactstore.ErrForbidden},
		{name: "s3 with a role", uri: "s3://b/k?role=arn:aws:iam::1:role/x", err: artifactstore.ErrForbidden},
		{name: "gs reading a key file", uri: "gs://b/k?private_key_path=/etc/key.pem", err: artifactstore.ErrForbidden},
		{name: "file under a root", uri: "file:///data/runs/r1/artifacts/n/model", bucket: "file:///data/runs", key: "r1/artifacts/n/model"},
		{name: "file root itself", uri: "file:///data/runs", bucket: "file:///data/runs", key: ""},
		{name: "file escaping the root", uri: "file:///data/runs/../kiln.db", err: artifactstore.ErrForbidden},
		{name: "file outside roots", uri: "file:///etc/passwd", err: artifactstore.ErrForbidden},
		{name: "file sibling with root prefix", uri: "file:///data/runs2/x", err: artifactstore.ErrForbidden},
		{name: "file with host", uri: "file://host/data/runs/x", err: artifactstore.ErrInvalidURI},
		{name: "unknown scheme", uri: "mlflow-artifacts:/1/2", err: artifactstore.ErrUnsupported},
		{name: "s3 without bucket", uri: "s3:///key", err: artifactstore.ErrInvalidURI},
		{name: "empty", uri: "", err: artifactstore.ErrInvalidURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, k, err := s.Resolve(tt.uri)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("Resolve(%q) error = %v, want %v", tt.uri, err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff([]string{tt.bucket, tt.key}, []string{b, k}); diff != "" {
				t.Errorf("Resolve(%q) (-want +got):\n%s", tt.uri, diff)
			}
		})
	}
}

func TestNewRejectsBadDefaultBucket(t *testing.T) {
	for _, u := range []string{"bucket-without-scheme", "s3://b/with/key", "file://relative/dir", "ftp://x", "s3://b?endpoint=http://minio:9000&disableSSL=true"} {
		if s, err := artifactstore.New(context.Background(), artifactstore.Options{DefaultBucket: u}); err == nil {
			s.Close()
			t.Errorf("New(DefaultBucket=%q) succeeded, want an error", u)
		}
	}
}

func TestArtifactURI(t *testing.T) {
	yes := true
	tests := []struct {
		name string
		a    wfv1.Artifact
		want string
		err  error
	}{
		{name: "local file", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{HTTP: &wfv1.HTTPArtifact{URL: "file:///d/runs/r/artifacts/n/m"}}}, want: "file:///d/runs/r/artifacts/n/m"},
		{name: "s3 key only", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "/wf/pod/m.tgz"}}}, want: "wf/pod/m.tgz"},
		{name: "s3 minio", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "wf/m.tgz",
			S3Bucket: wfv1.S3Bucket{Bucket: "art", Endpoint: "minio:9000", Insecure: &yes, Region: "us-east-1"}}}},
			want: "s3://art/wf/m.tgz?endpoint=http%3A%2F%2Fminio%3A9000&region=us-east-1&use_path_style=true"},
		{name: "s3 aws", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "k", S3Bucket: wfv1.S3Bucket{Bucket: "art"}}}}, want: "s3://art/k"},
		{name: "s3 secure endpoint", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{Key: "k", S3Bucket: wfv1.S3Bucket{Bucket: "art", Endpoint: "s3.example.com"}}}},
			want: "s3://art/k?endpoint=https%3A%2F%2Fs3.example.com&use_path_style=true"},
		{name: "gcs", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{GCS: &wfv1.GCSArtifact{Key: "a/b", GCSBucket: wfv1.GCSBucket{Bucket: "g"}}}}, want: "gs://g/a/b"},
		{name: "gcs key only", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{GCS: &wfv1.GCSArtifact{Key: "a/b"}}}, want: "a/b"},
		{name: "s3 without key", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{S3: &wfv1.S3Artifact{}}}, err: artifactstore.ErrInvalidURI},
		{name: "raw", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{Raw: &wfv1.RawArtifact{Data: "x"}}}, err: artifactstore.ErrUnsupported},
		{name: "https", a: wfv1.Artifact{Name: "m", ArtifactLocation: wfv1.ArtifactLocation{HTTP: &wfv1.HTTPArtifact{URL: "https://x/y"}}}, err: artifactstore.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := artifactstore.ArtifactURI(&tt.a)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ArtifactURI (-want +got):\n%s", diff)
			}
		})
	}
}

// tgz builds a gzipped tar archive of files (name → content), in the order given by names.
func tgz(t testing.TB, names []string, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for _, n := range names {
		if err := tw.WriteHeader(&tar.Header{Name: n, Mode: 0o644, Size: int64(len(files[n])), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write([]byte(files[n])); err != nil {
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

func readAll(t testing.TB, s *artifactstore.Store, uri string) string {
	t.Helper()
	rc, obj, err := s.Open(context.Background(), uri)
	if err != nil {
		t.Fatalf("Open(%q): %v", uri, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if obj.Size != int64(len(b)) {
		t.Errorf("Open(%q) size = %d, read %d bytes", uri, obj.Size, len(b))
	}
	return string(b)
}

// exercise checks a store through uri (an object) and dir (a directory of two files).
func exercise(t *testing.T, s *artifactstore.Store, file, dir string) {
	ctx := context.Background()
	if got := readAll(t, s, file); got != "hello" {
		t.Errorf("content of %s = %q, want hello", file, got)
	}
	obj, err := s.Stat(ctx, file)
	if err != nil || obj.Dir || obj.Size != 5 {
		t.Errorf("Stat(%s) = %+v, %v; want a 5-byte object", file, obj, err)
	}
	obj, err = s.Stat(ctx, dir)
	if err != nil || !obj.Dir {
		t.Errorf("Stat(%s) = %+v, %v; want a directory", dir, obj, err)
	}
	objs, truncated, err := s.List(ctx, dir)
	if err != nil || truncated {
		t.Fatalf("List(%s): %v (truncated %v)", dir, err, truncated)
	}
	var paths []string
	for _, o := range objs {
		paths = append(paths, o.Path)
		if got := readAll(t, s, o.URI); got != "content of "+o.Path {
			t.Errorf("content of listed %s = %q", o.URI, got)
		}
	}
	if diff := cmp.Diff([]string{"a.txt", "sub/b.csv"}, paths); diff != "" {
		t.Errorf("List paths (-want +got):\n%s", diff)
	}
	missing := dir + "-missing"
	if _, err := s.Stat(ctx, missing); !errors.Is(err, artifactstore.ErrNotFound) {
		t.Errorf("Stat(%s) error = %v, want ErrNotFound", missing, err)
	}
	if _, _, err := s.Open(ctx, missing); !errors.Is(err, artifactstore.ErrNotFound) {
		t.Errorf("Open(%s) error = %v, want ErrNotFound", missing, err)
	}
	if _, _, err := s.List(ctx, missing); !errors.Is(err, artifactstore.ErrNotFound) {
		t.Errorf("List(%s) error = %v, want ErrNotFound", missing, err)
	}
}

func TestFileStore(t *testing.T) {
	root := t.TempDir()
	runs := filepath.Join(root, "runs")
	write := func(p, content string) {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(filepath.Join(runs, "r1", "out.txt"), "hello")
	write(filepath.Join(runs, "r1", "dir", "a.txt"), "content of a.txt")
	write(filepath.Join(runs, "r1", "dir", "sub", "b.csv"), "content of sub/b.csv")
	write(filepath.Join(root, "kiln.db"), "secret")
	ctx := context.Background()
	s, err := artifactstore.New(ctx, artifactstore.Options{DefaultBucket: "file://" + filepath.Join(root, "artifacts"), FileRoots: []string{runs}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	exercise(t, s, "file://"+filepath.Join(runs, "r1", "out.txt"), "file://"+filepath.Join(runs, "r1", "dir"))
	if _, _, err := s.Open(ctx, "file://"+filepath.Join(root, "kiln.db")); !errors.Is(err, artifactstore.ErrForbidden) {
		t.Errorf("Open(kiln.db) error = %v, want ErrForbidden", err)
	}
	// Bare keys land in the default bucket's directory.
	if err := s.Write(ctx, "models/m1/model.json", bytes.NewReader([]byte(`{"x":1}`)), "application/json"); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(filepath.Join(root, "artifacts", "models", "m1", "model.json")); err != nil || string(b) != `{"x":1}` {
		t.Errorf("default bucket file = %q, %v", b, err)
	}
	if got := readAll(t, s, "file://"+filepath.Join(root, "artifacts", "models", "m1", "model.json")); got != `{"x":1}` {
		t.Errorf("file URI of the default bucket = %q", got)
	}
}

func TestS3Store(t *testing.T) {
	extra := make([]string, 40) // more buckets than a Store keeps open
	for i := range extra {
		extra[i] = fmt.Sprintf("extra-%d", i)
	}
	srv := s3test.Start(t, append([]string{"artifacts", "other"}, extra...)...)
	ctx := context.Background()
	s, err := artifactstore.New(ctx, artifactstore.Options{DefaultBucket: srv.BucketURL("artifacts")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	put := func(uri, content string) {
		t.Helper()
		if err := s.Write(ctx, uri, bytes.NewReader([]byte(content)), ""); err != nil {
			t.Fatalf("Write(%s): %v", uri, err)
		}
	}
	put("wf/pod-1/out.txt", "hello")
	put("wf/pod-1/dir/a.txt", "content of a.txt")
	put("wf/pod-1/dir/sub/b.csv", "content of sub/b.csv")
	exercise(t, s, "wf/pod-1/out.txt", "wf/pod-1/dir")
	// A full s3:// URI without a query reaches the same endpoint as the default bucket.
	put("s3://other/k/model.json", `{"m":1}`)
	if got := readAll(t, s, "s3://other/k/model.json"); got != `{"m":1}` {
		t.Errorf("s3://other/k/model.json = %q", got)
	}
	bu, err := url.Parse(srv.BucketURL("artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if got := readAll(t, s, "s3://artifacts/wf/pod-1/out.txt?"+bu.RawQuery); got != "hello" {
		t.Errorf("explicit s3 URI = %q", got)
	}
	for _, b := range extra {
		put("s3://"+b+"/k.txt", b)
	}
	for _, b := range extra {
		if got := readAll(t, s, "s3://"+b+"/k.txt"); got != b {
			t.Errorf("s3://%s/k.txt = %q", b, got)
		}
	}
	// An archive as Argo stores it: read its entries from the object stream.
	archive := tgz(t, []string{"./metrics.json", "plots/loss.svg"}, map[string]string{"./metrics.json": `{"acc":0.9}`, "plots/loss.svg": "<svg/>"})
	put("wf/pod-2/eval.tgz", string(archive))
	rc, _, err := s.Open(ctx, "wf/pod-2/eval.tgz")
	if err != nil {
		t.Fatal(err)
	}
	entries, truncated, err := artifactstore.TarEntries(rc)
	rc.Close()
	if err != nil || truncated {
		t.Fatalf("TarEntries: %v (truncated %v)", err, truncated)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Path)
	}
	if diff := cmp.Diff([]string{"metrics.json", "plots/loss.svg"}, names); diff != "" {
		t.Errorf("archive entries (-want +got):\n%s", diff)
	}
	rc, _, err = s.Open(ctx, "wf/pod-2/eval.tgz")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	er, e, err := artifactstore.OpenTarEntry(rc, "plots/loss.svg")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := io.ReadAll(er); string(b) != "<svg/>" || e.Size != 6 {
		t.Errorf("entry plots/loss.svg = %q (size %d)", b, e.Size)
	}
	if _, _, err := artifactstore.OpenTarEntry(bytes.NewReader(archive), "nope"); !errors.Is(err, artifactstore.ErrNotFound) {
		t.Errorf("OpenTarEntry(nope) error = %v, want ErrNotFound", err)
	}
	if _, _, err := artifactstore.TarEntries(bytes.NewReader([]byte("not gzip"))); err == nil {
		t.Error("TarEntries of non-gzip data succeeded")
	}
}

func TestMLflowURI(t *testing.T) {
	s, err := artifactstore.New(context.Background(), artifactstore.Options{MLflowArtifactDir: "/data/mlflow-artifacts"})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tests := []struct {
		name, ns, uri, want string
		err                 error
	}{
		{name: "file", ns: "team-a", uri: "mlflow-artifacts:/1/r/artifacts/model/m.json", want: "file:///data/mlflow-artifacts/team-a/1/r/artifacts/model/m.json"},
		{name: "with host", ns: "default", uri: "mlflow-artifacts://server:5000/1/r/artifacts/x", want: "file:///data/mlflow-artifacts/default/1/r/artifacts/x"},
		{name: "dot dot", ns: "team-a", uri: "mlflow-artifacts:/../team-b/x", err: artifactstore.ErrInvalidURI},
		{name: "bad namespace", ns: "../b", uri: "mlflow-artifacts:/x", err: artifactstore.ErrInvalidURI},
		{name: "other scheme", ns: "a", uri: "s3://b/k", err: artifactstore.ErrInvalidURI},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.MLflowURI(tt.ns, tt.uri)
			if tt.err != nil {
				if !errors.Is(err, tt.err) {
					t.Fatalf("error = %v, want %v", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MLflowURI (-want +got):\n%s", diff)
			}
			if _, _, err := s.Resolve(got); err != nil {
				t.Errorf("Resolve(%s): %v", got, err)
			}
		})
	}
	bare, err := artifactstore.New(context.Background(), artifactstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer bare.Close()
	if _, err := bare.MLflowURI("a", "mlflow-artifacts:/x"); !errors.Is(err, artifactstore.ErrUnsupported) {
		t.Errorf("without a directory: %v, want ErrUnsupported", err)
	}
}

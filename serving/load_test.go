package serving

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kilnml/kiln/artifactstore"
	"github.com/kilnml/kiln/artifactstore/s3test"
)

// TestLoadSpecLocations loads the same model from a path, a file:// URI, an S3-compatible
// server (plain object and Argo-style .tgz) and checks that each predicts like the original.
func TestLoadSpecLocations(t *testing.T) {
	ctx := context.Background()
	orig := testModels(t)[1] // y = 2x + 1
	var buf bytes.Buffer
	if err := orig.Model.Save(&buf); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "model.json")
	if err := orig.Model.SaveFile(ctx, path); err != nil {
		t.Fatal(err)
	}
	s3 := s3test.Start(t, "models")
	st, err := artifactstore.New(ctx, artifactstore.Options{DefaultBucket: s3.BucketURL("models")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.Write(ctx, "reg/1/model.json", bytes.NewReader(buf.Bytes()), "application/json"); err != nil {
		t.Fatal(err)
	}
	var tgz bytes.Buffer
	gz := gzip.NewWriter(&tgz)
	tw := tar.NewWriter(gz)
	_ = tw.WriteHeader(&tar.Header{Name: "model.json", Mode: 0o644, Size: int64(buf.Len()), Typeflag: tar.TypeReg})
	_, _ = tw.Write(buf.Bytes())
	_ = tw.Close()
	_ = gz.Close()
	if err := st.Write(ctx, "wf/train/model.tgz", &tgz, ""); err != nil {
		t.Fatal(err)
	}
	q := mustQuery(t, s3.BucketURL("models"))
	for _, loc := range []string{
		path,
		"file://" + path,
		"s3://models/reg/1/model.json?" + q,
		"s3://models/wf/train/model.tgz?" + q,
	} {
		t.Run(loc, func(t *testing.T) {
			m, err := LoadSpec(ctx, "reg="+loc, "")
			if err != nil {
				t.Fatal(err)
			}
			p, err := m.Model.Predict([][]float64{{10}})
			if err != nil {
				t.Fatal(err)
			}
			want, _ := orig.Model.Predict([][]float64{{10}})
			if got, w := p.Values[0], want.Values[0]; got != w {
				t.Errorf("prediction = %v, want %v", got, w)
			}
		})
	}
	for _, loc := range []string{"s3://models/reg/2/model.json?" + q, "gs-nope://x/y", filepath.Join(dir, "missing.json")} {
		if _, err := LoadSpec(ctx, "reg="+loc, ""); err == nil || !strings.Contains(err.Error(), "serve reg") {
			t.Errorf("LoadSpec(%s) error = %v, want one naming the model", loc, err)
		}
	}
}

func mustQuery(t *testing.T, bucketURL string) string {
	t.Helper()
	u, err := url.Parse(bucketURL)
	if err != nil {
		t.Fatal(err)
	}
	return u.RawQuery
}

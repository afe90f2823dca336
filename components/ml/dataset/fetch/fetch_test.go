package fetch_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/dataset/fetch"
)

const sample = "id,name\n1,a\n2,b\n3,c\n4,d\n"

func TestImport(t *testing.T) {
	ctx := context.Background()
	src := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(src, []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/data/people.csv" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(sample))
	}))
	defer srv.Close()
	for _, from := range []string{src, "file://" + src, srv.URL + "/data/people.csv"} {
		t.Run(from, func(t *testing.T) {
			tab, path, err := fetch.Import(ctx, from, t.TempDir(), "", dataset.CSVOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if tab.NumRows() != 4 || filepath.Ext(path) != ".csv" {
				t.Errorf("imported %d rows to %s", tab.NumRows(), path)
			}
		})
	}
	if _, _, err := fetch.Import(ctx, srv.URL+"/missing.csv", t.TempDir(), "", dataset.CSVOptions{}); err == nil {
		t.Error("404: no error")
	}
}

func TestFileRelativeToPwd(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "in.csv"), []byte(sample), 0o644); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "sub", "out.csv")
	if err := fetch.File(context.Background(), "./in.csv", dst, dir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(dst)
	if err != nil || string(got) != sample {
		t.Errorf("copied %q, %v", got, err)
	}
}

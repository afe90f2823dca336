package mlflow_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/mlflow"
	"github.com/kilnml/kiln/backend/store/sqlite"
)

func TestArtifactProxy(t *testing.T) {
	st, err := sqlite.Open(t.Context(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	dir := t.TempDir()
	srv := httptest.NewServer(mlflow.NewHandler(st, nil, mlflow.WithArtifactDir(dir)))
	defer srv.Close()
	c := &api{t: t, base: srv.URL, st: st}

	// A run's artifact_uri resolves to the proxy, as MLflow's client resolves mlflow-artifacts:/.
	run := c.ok("POST", "runs/create", obj{"experiment_id": "0"})
	uri := get(run, "run", "info", "artifact_uri").(string)
	rel, ok := strings.CutPrefix(uri, "mlflow-artifacts:/")
	if !ok {
		t.Fatalf("artifact_uri %q", uri)
	}
	base := srv.URL + "/api/2.0/mlflow-artifacts/artifacts/" + rel
	send := func(method, url, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, url, strings.NewReader(body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, f := range []struct{ path, body string }{{"model/MLmodel", "flavors: {}\n"}, {"model/model.pkl", "weights"}, {"notes.txt", "hi"}} {
		if code, body := send("PUT", base+"/"+f.path, f.body); code != http.StatusOK {
			t.Fatalf("upload %s: %d %s", f.path, code, body)
		}
	}
	if code, body := send("GET", base+"/model/model.pkl", ""); code != http.StatusOK || body != "weights" {
		t.Errorf("download: %d %q", code, body)
	}
	listDir := func(p string) any {
		t.Helper()
		resp, err := http.Get(srv.URL + "/api/2.0/mlflow-artifacts/artifacts?path=" + url.QueryEscape(p))
		if err != nil {
			t.Fatal(err)
		}
		var out obj
		decodeBody(t, resp, &out)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("list %s: %d %v", p, resp.StatusCode, out)
		}
		return out["files"]
	}
	list := obj{"files": listDir(rel)}
	want := []any{obj{"path": "model", "is_dir": true}, obj{"path": "notes.txt", "is_dir": false, "file_size": float64(2)}}
	if d := cmp.Diff(want, list["files"]); d != "" {
		t.Errorf("list (-want +got):\n%s", d)
	}
	if l := listDir("nothing/here"); len(l.([]any)) != 0 {
		t.Errorf("missing directory lists %v", l)
	}
	if code, _ := send("DELETE", base+"/notes.txt", ""); code != http.StatusOK {
		t.Errorf("delete: %d", code)
	}
	if code, _ := send("GET", base+"/notes.txt", ""); code != http.StatusNotFound {
		t.Errorf("download of deleted artifact: %d", code)
	}
	// Paths cannot leave the namespace's directory.
	for _, bad := range []string{"a/%2E%2E/%2E%2E/%2E%2E/etc", "a%5C..%5Cb"} {
		if code, body := send("PUT", srv.URL+"/api/2.0/mlflow-artifacts/artifacts/"+bad, "x"); code != http.StatusBadRequest {
			t.Errorf("upload to %s: %d %s", bad, code, body)
		}
	}
	if matches, _ := filepath.Glob(filepath.Join(filepath.Dir(dir), "etc")); len(matches) != 0 {
		t.Errorf("an upload escaped the artifact directory: %v", matches)
	}

	// Without WithArtifactDir the proxy is not served.
	plain := httptest.NewServer(mlflow.NewHandler(st, nil))
	defer plain.Close()
	if code, body := send("PUT", plain.URL+"/api/2.0/mlflow-artifacts/artifacts/x", "x"); code != http.StatusNotFound || !strings.Contains(body, "ENDPOINT_NOT_FOUND") {
		t.Errorf("proxy without a directory: %d %s", code, body)
	}
}

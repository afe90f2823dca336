package server_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/kilnml/kiln/backend/server"
)

// TestNotebooksMounted checks that Config.Notebooks serves the notebooks API next to the REST API.
func TestNotebooksMounted(t *testing.T) {
	if _, err := exec.LookPath("jupyter"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("jupyter not found; install Debian's jupyter-notebook")
		}
		t.Skip("jupyter not found; install Debian's jupyter-notebook")
	}
	srv, err := server.New(context.Background(), server.Config{DataDir: t.TempDir(), SchedulerInterval: -1, Notebooks: true})
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	for path, want := range map[string]string{
		"/api/v1/notebooks/default": `"notebooks":[]`,
		"/api/v1/experiments":       `"experiments":[]`,
	} {
		resp, err := ts.Client().Get(ts.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, b)
		}
	}
}

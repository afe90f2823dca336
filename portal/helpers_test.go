package portal_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kilnml/kiln/backend/client"
)

// lookJupyter reports whether the local notebook spawner can start Jupyter.
func lookJupyter() (string, error) {
	for _, n := range []string{"jupyter-lab", "jupyter-notebook"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
	}
	return "", errors.New("jupyter not found: install the Debian package jupyter-notebook for the notebook steps")
}

// mustPipeline returns the ID of the only pipeline.
func mustPipeline(t *testing.T, e *portalEnv) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ps, err := e.c.ListPipelines(ctx, client.PageOptions{})
	if err != nil || len(ps.Pipelines) == 0 {
		t.Fatalf("pipelines: %v %v", ps, err)
	}
	return ps.Pipelines[0].ID
}

// mustVersion returns the ID of the newest version of the only pipeline.
func mustVersion(t *testing.T, e *portalEnv) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	ps, err := e.c.ListPipelines(ctx, client.PageOptions{})
	if err != nil || len(ps.Pipelines) == 0 {
		t.Fatalf("pipelines: %v %v", ps, err)
	}
	vs, err := e.c.ListPipelineVersions(ctx, ps.Pipelines[0].ID, client.PageOptions{})
	if err != nil || len(vs.Versions) == 0 {
		t.Fatalf("versions: %v %v", vs, err)
	}
	return vs.Versions[0].ID
}

// postJSON sends a JSON body with method and fails the test on an error status.
func postJSON(t *testing.T, url, body, method string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode >= 300 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("%s %s: %d %s", method, url, res.StatusCode, b)
	}
}

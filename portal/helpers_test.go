package portal_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/components/ml/model"
	"github.com/kilnml/kiln/serving"
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

// serveModel starts a real Open Inference Protocol v2 server (package serving) serving a tiny
// linear model under name, and returns its base URL.
func serveModel(t *testing.T, name string) string {
	t.Helper()
	tbl, err := dataset.ReadCSV(strings.NewReader("x,y\n1,3\n2,5\n3,7\n4,9\n"), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.Train(tbl, model.TrainConfig{Kind: model.LinearRegression, Target: "y", Features: []string{"x"}})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := serving.New(nil, serving.Model{Name: name, Version: "1", Model: m})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return ts.URL
}

// closedURL returns the URL of a loopback port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return "http://" + ln.Addr().String()
}

// mustJSON encodes v as JSON for embedding in a script.
func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// evalAsync evaluates a JavaScript expression that returns a promise and returns its value.
func evalAsync[T any](b *browser, expr string) T {
	b.t.Helper()
	var v T
	b.do("evaluate", 20*time.Second, func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		var err error
		v, err = chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise)(ctx, tg)
		return chromedp.Void{}, err
	})
	return v
}

package track

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/kilnml/kiln/tracking"
)

// fakeMLflow records the MLflow requests it receives (a protocol fake for this unit test; the
// real server is exercised by scripts/run.sh).
type fakeMLflow struct {
	mu   sync.Mutex
	reqs []string
}

func (f *fakeMLflow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Method+" "+strings.TrimPrefix(r.URL.RequestURI(), "/api/2.0/mlflow/")+" "+string(b))
	f.mu.Unlock()
	switch {
	case strings.HasPrefix(r.URL.Path, "/api/2.0/mlflow/runs/get"):
		io.WriteString(w, `{"run":{"info":{"run_id":"parent","experiment_id":"7"}}}`)
	case r.URL.Path == "/api/2.0/mlflow/runs/create":
		io.WriteString(w, `{"run":{"info":{"run_id":"child-1"}}}`)
	default:
		io.WriteString(w, `{}`)
	}
}

func TestStartChild(t *testing.T) {
	ctx := context.Background()
	t.Setenv(tracking.EnvAPIURL, "")
	if c, err := StartChild(ctx, "trial-0001", nil); c != nil || err != nil {
		t.Fatalf("without a server: %v, %v; want nil, nil", c, err)
	}
	f := &fakeMLflow{}
	srv := httptest.NewServer(f)
	defer srv.Close()
	t.Setenv(tracking.EnvAPIURL, srv.URL)
	t.Setenv(tracking.EnvRunID, "parent")
	c, err := StartChild(ctx, "trial-0001", map[string]string{"kiln.sweep.trial": "1"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID() != "child-1" {
		t.Errorf("child id %q", c.ID())
	}
	if err := c.LogMetrics(ctx, map[string]float64{"accuracy": 0.5}, 0); err != nil {
		t.Fatal(err)
	}
	if err := c.End(ctx, true); err != nil {
		t.Fatal(err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	all := strings.Join(f.reqs, "\n")
	var create struct {
		ExperimentID string `json:"experiment_id"`
		RunName      string `json:"run_name"`
		Tags         []struct{ Key, Value string }
	}
	for _, r := range f.reqs {
		if body, ok := strings.CutPrefix(r, "POST runs/create "); ok {
			if err := json.Unmarshal([]byte(body), &create); err != nil {
				t.Fatal(err)
			}
		}
	}
	if create.ExperimentID != "7" || create.RunName != "trial-0001" {
		t.Errorf("create %+v, want experiment 7, name trial-0001", create)
	}
	hasParent := false
	for _, tag := range create.Tags {
		hasParent = hasParent || (tag.Key == ParentRunTag && tag.Value == "parent")
	}
	if !hasParent {
		t.Errorf("create tags %+v lack %s=parent", create.Tags, ParentRunTag)
	}
	for _, want := range []string{`"run_id":"child-1"`, `"key":"accuracy"`, `"status":"FAILED"`} {
		if !strings.Contains(all, want) {
			t.Errorf("requests lack %s:\n%s", want, all)
		}
	}
}

// Package track connects the ready-made components to experiment tracking when the run's
// environment names a Kiln server (tracking.EnvAPIURL and tracking.EnvRunID, set by the run
// manager); without it every function here is a no-op, so components run the same way
// standalone, in tests and under the local engine.
//
// Tracking is best effort: a component's results are its outputs, so a tracking failure is
// logged to standard error and does not fail the step.
package track

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/kilnml/kiln/tracking"
)

// ParentRunTag is the MLflow tag that makes a run the child of another.
const ParentRunTag = "mlflow.parentRunId"

// Logger is where tracking problems are reported.
func Logger() *slog.Logger { return slog.New(slog.NewTextHandler(os.Stderr, nil)) }

// Metrics logs metrics (and params) to the run of the environment, each key prefixed with
// prefix and a dot when prefix is set. It does nothing when tracking is not configured.
func Metrics(ctx context.Context, log *slog.Logger, prefix string, metrics map[string]float64, params map[string]string) {
	c, err := tracking.FromEnv()
	if err != nil {
		return
	}
	defer func() {
		if err := c.Close(ctx); err != nil {
			log.Warn("tracking: close", "err", err)
		}
	}()
	key := func(k string) string {
		if prefix == "" {
			return k
		}
		return prefix + "." + k
	}
	m := make(map[string]float64, len(metrics))
	for k, v := range metrics {
		m[key(k)] = v
	}
	if err := c.LogMetrics(ctx, m, 0); err != nil {
		log.Warn("tracking: log metrics", "err", err)
	}
	if len(params) > 0 {
		p := make(map[string]string, len(params))
		for k, v := range params {
			p[key(k)] = v
		}
		if err := c.LogParams(ctx, p); err != nil {
			log.Warn("tracking: log params", "err", err)
		}
	}
}

// Child is a child run of the environment's run.
type Child struct {
	*tracking.Client
	api  *api
	id   string
	name string
}

// ID returns the child run's id.
func (c *Child) ID() string { return c.id }

// StartChild creates a run named name in the experiment of the environment's run, tagged as
// its child, and returns a client logging to it. It returns nil and no error when tracking is
// not configured.
func StartChild(ctx context.Context, name string, tags map[string]string) (*Child, error) {
	base, parent := os.Getenv(tracking.EnvAPIURL), os.Getenv(tracking.EnvRunID)
	if base == "" || parent == "" {
		return nil, nil
	}
	a := &api{base: strings.TrimRight(base, "/") + "/api/2.0/mlflow/", token: os.Getenv(tracking.EnvToken),
		namespace: os.Getenv(tracking.EnvNamespace), hc: &http.Client{Timeout: 30 * time.Second}}
	var got struct {
		Run struct {
			Info struct {
				ExperimentID string `json:"experiment_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := a.call(ctx, http.MethodGet, "runs/get?run_id="+url.QueryEscape(parent), nil, &got); err != nil {
		return nil, fmt.Errorf("child run %s: parent %s: %w", name, parent, err)
	}
	type kv struct {
		Key   string `json:"key"`
		Value string `json:"value"`
	}
	req := struct {
		ExperimentID string `json:"experiment_id"`
		RunName      string `json:"run_name"`
		StartTime    int64  `json:"start_time"`
		Tags         []kv   `json:"tags"`
	}{ExperimentID: got.Run.Info.ExperimentID, RunName: name, StartTime: time.Now().UnixMilli(), Tags: []kv{{ParentRunTag, parent}}}
	for k, v := range tags {
		req.Tags = append(req.Tags, kv{k, v})
	}
	var created struct {
		Run struct {
			Info struct {
				RunID string `json:"run_id"`
			} `json:"info"`
		} `json:"run"`
	}
	if err := a.call(ctx, http.MethodPost, "runs/create", req, &created); err != nil {
		return nil, fmt.Errorf("child run %s: create: %w", name, err)
	}
	id := created.Run.Info.RunID
	c, err := tracking.New(tracking.Options{URL: base, RunID: id, Token: a.token, Namespace: a.namespace})
	if err != nil {
		return nil, fmt.Errorf("child run %s: %w", name, err)
	}
	return &Child{Client: c, api: a, id: id, name: name}, nil
}

// End flushes the child's logs and marks it FINISHED, or FAILED when failed is set.
func (c *Child) End(ctx context.Context, failed bool) error {
	if err := c.Close(ctx); err != nil {
		return fmt.Errorf("child run %s: %w", c.name, err)
	}
	status := "FINISHED"
	if failed {
		status = "FAILED"
	}
	req := map[string]any{"run_id": c.id, "status": status, "end_time": time.Now().UnixMilli()}
	if err := c.api.call(ctx, http.MethodPost, "runs/update", req, nil); err != nil {
		return fmt.Errorf("child run %s: end: %w", c.name, err)
	}
	return nil
}

// api is a minimal client for the MLflow run endpoints the tracking client does not cover.
type api struct {
	base, token, namespace string
	hc                     *http.Client
}

func (a *api) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.base+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	if a.namespace != "" {
		req.Header.Set(tracking.NamespaceHeader, a.namespace)
	}
	resp, err := a.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, bytes.TrimSpace(b))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s %s: decode: %w", method, path, err)
	}
	return nil
}

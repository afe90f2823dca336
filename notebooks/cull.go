package notebooks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"
)

// Activity is what a Jupyter server reports about its use.
type Activity struct {
	// LastActivity is the latest of the server's API activity and its kernels' activity.
	LastActivity time.Time
	// Busy is true while any kernel executes code; a busy notebook is never idle.
	Busy bool
	// Kernels is the number of running kernels.
	Kernels int
}

// ReadActivity asks the Jupyter server at target (its origin; the server serves under prefix) for
// /api/status and /api/kernels, authenticating with token. The requests carry no_track_activity so
// that reading activity does not count as activity.
func ReadActivity(ctx context.Context, client *http.Client, target *url.URL, prefix, token string) (Activity, error) {
	var status struct {
		LastActivity time.Time `json:"last_activity"`
		Kernels      int       `json:"kernels"`
	}
	if err := getJSON(ctx, client, target, prefix+"api/status", token, &status); err != nil {
		return Activity{}, err
	}
	var kernels []struct {
		LastActivity   time.Time `json:"last_activity"`
		ExecutionState string    `json:"execution_state"`
	}
	if err := getJSON(ctx, client, target, prefix+"api/kernels", token, &kernels); err != nil {
		return Activity{}, err
	}
	a := Activity{LastActivity: status.LastActivity, Kernels: len(kernels)}
	for _, k := range kernels {
		if k.LastActivity.After(a.LastActivity) {
			a.LastActivity = k.LastActivity
		}
		if k.ExecutionState == "busy" {
			a.Busy = true
		}
	}
	return a, nil
}

func getJSON(ctx context.Context, client *http.Client, target *url.URL, path, token string, v any) error {
	u := *target
	u.Path = path
	u.RawQuery = "no_track_activity=1"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("read %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("read %s: HTTP %d: %s", path, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}

// idleTimeout is the timeout that applies to nb; zero or less means never cull.
func (m *Manager) idleTimeout(nb *Notebook) time.Duration {
	if nb.Spec.IdleTimeout != nil {
		return nb.Spec.IdleTimeout.Duration
	}
	return m.opts.DefaultIdleTimeout
}

// Cull reads the activity of every running notebook once, records it, and stops those idle past
// their timeout. Run calls it every CullInterval.
func (m *Manager) Cull(ctx context.Context) {
	nbs, err := m.repo.List(ctx, "")
	if err != nil {
		m.log.Error("cull: list notebooks", "err", err)
		return
	}
	for _, nb := range nbs {
		if nb.Stopped {
			continue
		}
		if err := m.cullOne(ctx, nb.Namespace, nb.Name); err != nil && ctx.Err() == nil {
			m.log.Warn("cull notebook", "namespace", nb.Namespace, "name", nb.Name, "err", err)
		}
	}
}

func (m *Manager) cullOne(ctx context.Context, namespace, name string) error {
	target, token, err := m.spawn.Endpoint(ctx, namespace, name)
	if errors.Is(err, ErrNotRunning) {
		return nil
	}
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	act, err := ReadActivity(pctx, m.http, target, PathPrefix(namespace, name), token)
	cancel()
	if err != nil {
		return err // typically still starting; try again next pass
	}
	defer m.lock(namespace, name)()
	nb, err := m.repo.Get(ctx, namespace, name)
	if err != nil || nb.Stopped {
		return err
	}
	now := m.now().UTC()
	last := nb.Status.LastActivity
	if act.LastActivity.After(last) {
		last = act.LastActivity.UTC()
	}
	if act.Busy {
		last = now
	}
	timeout := m.idleTimeout(nb)
	if timeout > 0 && now.Sub(last) > timeout {
		nb.Status.LastActivity = last
		msg := fmt.Sprintf("stopped after %s without activity (idle timeout %s); start it again to continue, the workspace is kept",
			now.Sub(last).Round(time.Second), timeout)
		m.log.Info("culling idle notebook", "namespace", namespace, "name", name, "lastActivity", last)
		return m.stopLocked(ctx, nb, "Culled", msg)
	}
	if last.Equal(nb.Status.LastActivity) {
		return nil
	}
	nb.Status.LastActivity = last
	return m.repo.Update(ctx, nb)
}

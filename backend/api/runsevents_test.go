package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/server"
)

// TestRunsEvents follows a namespace's runs summary: counts and newest runs at once, a new
// summary when a run fails, none while nothing changes, and the stream freed on disconnect.
func TestRunsEvents(t *testing.T) {
	defer api.SetRunsSummaryIntervalForTest(100 * time.Millisecond)()
	e := newEnv(t, sqliteStore(t), server.Config{})
	c := ctx(t)
	var ids []string
	for _, name := range []string{"a", "b"} {
		r, err := e.c.CreateRun(c, api.CreateRunRequest{Name: name}) // tracking-only: Running
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.ID)
	}
	type summary struct {
		Active, Failed int
		Recent         []string
	}
	short := func(ev sse) summary {
		t.Helper()
		if ev.name != "summary" {
			t.Fatalf("event %q, want summary", ev.name)
		}
		s := decode[api.RunsSummary](t, ev)
		out := summary{Active: s.Active, Failed: s.Failed}
		for _, r := range s.Recent {
			out.Recent = append(out.Recent, r.Name+":"+r.Phase)
		}
		return out
	}
	sctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, e.url+"/api/v1/runs/events?namespace=default", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	ch := readEvents(res)
	if d := cmp.Diff(summary{2, 0, []string{"b:Running", "a:Running"}}, short(next(t, ch))); d != "" {
		t.Errorf("first summary (-want +got):\n%s", d)
	}
	if _, err := e.c.SetRunStatus(c, ids[0], api.SetRunStatusRequest{Phase: "Failed"}); err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(summary{1, 1, []string{"b:Running", "a:Failed"}}, short(next(t, ch))); d != "" {
		t.Errorf("after a failure (-want +got):\n%s", d)
	}
	select {
	case ev := <-ch:
		t.Errorf("event %s without a change", ev.name)
	case <-time.After(400 * time.Millisecond):
	}
	waitStreams(t, 1)
	cancel()
	waitStreams(t, 0)
}

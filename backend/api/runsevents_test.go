package api_test

import (
	"context"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/client"
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

// TestEventStreamsEndOnShutdown checks that open event streams do not hold up a graceful
// shutdown: http.Server.Shutdown waits for active requests, and a stream never ends by itself.
func TestEventStreamsEndOnShutdown(t *testing.T) {
	srv, err := server.New(context.Background(), server.Config{Store: sqliteStore(t), DataDir: t.TempDir(), SchedulerInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.Handler()}
	go hs.Serve(ln)
	base := "http://" + ln.Addr().String()
	run, err := client.New(base, client.Options{}).CreateRun(ctx(t), api.CreateRunRequest{Name: "open"})
	if err != nil {
		t.Fatal(err)
	}
	runEvents, _ := openEvents(t, base, run.ID, "")
	next(t, runEvents)
	res, err := http.Get(base + "/api/v1/runs/events")
	if err != nil {
		t.Fatal(err)
	}
	summary := readEvents(res)
	next(t, summary)
	waitStreams(t, 2)

	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := hs.Shutdown(sctx); err != nil {
		t.Fatalf("shutdown with open streams: %v after %v", err, time.Since(start))
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("shutdown took %v with open event streams", took)
	}
	for range runEvents {
	}
	for range summary {
	}
	waitStreams(t, 0)
	waitCount(t, "run feeds", api.ActiveRunFeeds, 0)
}

package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/api"
	"github.com/kilnml/kiln/backend/server"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/postgres"
	"github.com/kilnml/kiln/backend/store/sqlite"
	pgenv "github.com/kilnml/kiln/internal/testenv/postgres"
)

// sse is one server-sent event as a client sees it.
type sse struct {
	name, id string
	data     json.RawMessage
}

// openEvents GETs a run's event stream and returns its events on a channel closed when the
// stream ends; cancel disconnects.
func openEvents(t *testing.T, base, runID, lastID string) (<-chan sse, context.CancelFunc) {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	req, err := http.NewRequestWithContext(c, http.MethodGet, base+"/api/v1/runs/"+runID+"/events?namespace=default", nil)
	if err != nil {
		t.Fatal(err)
	}
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("events: %s, Content-Type %q", res.Status, res.Header.Get("Content-Type"))
	}
	t.Cleanup(cancel)
	return readEvents(res), cancel
}

// readEvents parses a text/event-stream body into events on a channel closed at its end.
func readEvents(res *http.Response) <-chan sse {
	ch := make(chan sse, 100)
	go func() {
		defer close(ch)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var ev sse
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.name != "" {
					ch <- ev
				}
				ev = sse{}
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "id: "):
				ev.id = strings.TrimPrefix(line, "id: ")
			case strings.HasPrefix(line, "data: "):
				ev.data = json.RawMessage(strings.TrimPrefix(line, "data: "))
			}
		}
	}()
	return ch
}

// next returns the next event, failing the test after a timeout or when the stream ended.
func next(t *testing.T, ch <-chan sse) sse {
	t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			t.Fatal("event stream ended early")
		}
		return ev
	case <-time.After(20 * time.Second):
		t.Fatal("no event within 20s")
	}
	return sse{}
}

func decode[T any](t *testing.T, ev sse) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(ev.data, &v); err != nil {
		t.Fatalf("%s event data %s: %v", ev.name, ev.data, err)
	}
	return v
}

// waitStreams waits until n event streams are being served.
func waitStreams(t *testing.T, n int64) {
	t.Helper()
	waitCount(t, "event streams", api.ActiveEventStreams, n)
}

// waitCount waits until count() is n.
func waitCount(t *testing.T, what string, count func() int64, n int64) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for count() != n {
		if time.Now().After(deadline) {
			t.Fatalf("active %s = %d, want %d", what, count(), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// slowSpec is one task that sleeps a second, so a stream opened at once sees it run.
const slowSpec = `apiVersion: argoproj.io/v1alpha1
kind: Workflow
metadata:
  generateName: slow-
spec:
  entrypoint: main
  templates:
  - name: main
    dag:
      tasks:
      - name: nap
        template: nap
  - name: nap
    script:
      image: alpine
      command: [sh]
      source: |
        sleep 1.5
        echo rested
`

// TestRunEventsEngineRun follows a pipeline run executed by the local engine from its stream:
// a snapshot first, the task's node reaching Succeeded, the run's Succeeded, then "end" and the
// end of the stream.
func TestRunEventsEngineRun(t *testing.T) {
	defer api.SetEventTimingsForTest(100*time.Millisecond, time.Second)()
	forEachStore(t, func(t *testing.T, e *env) {
		c := ctx(t)
		p, err := e.c.CreatePipeline(c, api.CreatePipelineRequest{Name: "slow", Spec: slowSpec})
		if err != nil {
			t.Fatal(err)
		}
		run, err := e.c.CreateRun(c, api.CreateRunRequest{Name: "live", PipelineVersionID: p.Version.ID})
		if err != nil {
			t.Fatal(err)
		}
		ch, _ := openEvents(t, e.url, run.ID, "")
		first := next(t, ch)
		if first.name != "snapshot" || first.id == "" {
			t.Fatalf("first event = %s (id %q), want snapshot with an id", first.name, first.id)
		}
		var names []string
		var podPhases []string // the pod's phases as the client learns them, snapshot included
		for _, n := range decode[api.RunEvent](t, first).Run.Nodes {
			if n.Type == "Pod" {
				podPhases = append(podPhases, n.Phase)
			}
		}
		var last sse
		for ev := range ch {
			names = append(names, ev.name)
			last = ev
			if ev.name == "node" {
				n := decode[api.Node](t, ev)
				if n.Type == "Pod" && (len(podPhases) == 0 || podPhases[len(podPhases)-1] != n.Phase) {
					podPhases = append(podPhases, n.Phase)
				}
			}
		}
		if last.name != "end" {
			t.Fatalf("events %v: the stream did not close with end", names)
		}
		end := decode[api.RunEvent](t, last)
		if end.Run.Phase != "Succeeded" || end.Progress != "1/1" {
			t.Errorf("end = %s %s, want Succeeded 1/1", end.Run.Phase, end.Progress)
		}
		// The engine may report the pod Pending first; it must be seen Running, then Succeeded.
		if len(podPhases) < 2 || podPhases[len(podPhases)-2] != "Running" || podPhases[len(podPhases)-1] != "Succeeded" {
			t.Errorf("events %v: the pod's phases %v, want Running then Succeeded", names, podPhases)
		}
		waitStreams(t, 0)
		waitCount(t, "run feeds", api.ActiveRunFeeds, 0)
	})
}

// TestRunEventsAcrossReplicas follows a run on replica B while its state is written through
// replica A (both on one PostgreSQL): B's stream sees every change in order, without any
// notification between the replicas. It also resumes with Last-Event-ID and frees the stream
// when the client disconnects.
func TestRunEventsAcrossReplicas(t *testing.T) {
	defer api.SetEventTimingsForTest(100*time.Millisecond, 200*time.Millisecond)()
	dsn := pgenv.Start(t)
	open := func() store.Store {
		st, err := postgres.Open(context.Background(), postgres.Options{DSN: dsn})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}
	stA := open()
	a := newEnv(t, stA, server.Config{})
	b := newEnv(t, open(), server.Config{})
	c := ctx(t)
	run, err := a.c.CreateRun(c, api.CreateRunRequest{Name: "tracked"})
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := openEvents(t, b.url, run.ID, "")
	snap := decode[api.RunEvent](t, next(t, ch))
	if snap.Run.Phase != "Running" || len(snap.Run.Nodes) != 0 || snap.Progress != "0/0" {
		t.Fatalf("snapshot = %+v", snap)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	upsert := func(ns ...store.Node) {
		t.Helper()
		if err := stA.UpsertNodes(c, run.ID, ns); err != nil {
			t.Fatal(err)
		}
	}
	type change struct{ Event, Node, Phase, Progress string }
	seen := func(ev sse) change {
		switch ev.name {
		case "node":
			n := decode[api.Node](t, ev)
			return change{ev.name, n.Name, n.Phase, ""}
		case "run", "end":
			r := decode[api.RunEvent](t, ev)
			return change{ev.name, "", r.Run.Phase, r.Progress}
		}
		return change{Event: ev.name}
	}

	upsert(store.Node{ID: "n1", Name: "prepare", Type: "Pod", Phase: store.PhaseRunning, StartedAt: now})
	got := []change{seen(next(t, ch)), seen(next(t, ch))}
	want := []change{{"node", "prepare", "Running", ""}, {"run", "", "Running", "0/1"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("after the first node (-want +got):\n%s", d)
	}

	// Streams of one run on one replica share one store poller.
	var cancels []context.CancelFunc
	for range 4 {
		chN, cancelN := openEvents(t, b.url, run.ID, "")
		next(t, chN)
		cancels = append(cancels, cancelN)
	}
	waitStreams(t, 5)
	waitCount(t, "run feeds", api.ActiveRunFeeds, 1)
	for _, c := range cancels {
		c()
	}
	waitStreams(t, 1)
	waitCount(t, "run feeds", api.ActiveRunFeeds, 1)

	// A client that reconnects with the last ID gets no second snapshot; then it disconnects.
	ch2, cancel2 := openEvents(t, b.url, run.ID, "")
	snap2 := next(t, ch2)
	waitStreams(t, 2)
	cancel2()
	waitStreams(t, 1)
	ch3, cancel3 := openEvents(t, b.url, run.ID, snap2.id)
	waitStreams(t, 2)
	select {
	case ev := <-ch3:
		t.Fatalf("resumed stream sent %s without a change", ev.name)
	case <-time.After(400 * time.Millisecond):
	}
	cancel3()
	waitStreams(t, 1)

	upsert(store.Node{ID: "n1", Name: "prepare", Type: "Pod", Phase: store.PhaseSucceeded, StartedAt: now, FinishedAt: now.Add(time.Second)},
		store.Node{ID: "n2", Name: "train", Type: "Pod", Phase: store.PhaseRunning, StartedAt: now.Add(time.Second)})
	got = []change{seen(next(t, ch)), seen(next(t, ch)), seen(next(t, ch))}
	want = []change{{"node", "prepare", "Succeeded", ""}, {"node", "train", "Running", ""}, {"run", "", "Running", "1/2"}}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("after the second batch (-want +got):\n%s", d)
	}

	upsert(store.Node{ID: "n2", Name: "train", Type: "Pod", Phase: store.PhaseSucceeded, StartedAt: now.Add(time.Second), FinishedAt: now.Add(2 * time.Second)})
	if _, err := a.c.SetRunStatus(c, run.ID, api.SetRunStatusRequest{Phase: "Succeeded"}); err != nil {
		t.Fatal(err)
	}
	got = nil
	for ev := range ch {
		got = append(got, seen(ev))
	}
	// The node and the run may land in one poll or two; either way the order holds.
	want = []change{{"node", "train", "Succeeded", ""}, {"run", "", "Succeeded", "2/2"}, {"end", "", "Succeeded", "2/2"}}
	if len(got) == 4 {
		want = []change{{"node", "train", "Succeeded", ""}, {"run", "", "Running", "2/2"}, {"run", "", "Succeeded", "2/2"}, {"end", "", "Succeeded", "2/2"}}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("completion (-want +got):\n%s", d)
	}
	waitStreams(t, 0)
	waitCount(t, "run feeds", api.ActiveRunFeeds, 0)

	// A finished run's stream is a snapshot and end.
	ch4, _ := openEvents(t, b.url, run.ID, "")
	var names []string
	for ev := range ch4 {
		names = append(names, ev.name)
	}
	if d := cmp.Diff([]string{"snapshot", "end"}, names); d != "" {
		t.Errorf("stream of a finished run (-want +got):\n%s", d)
	}
}

// TestRunEventsErrors checks that a missing run is a 404 before any stream starts.
func TestRunEventsErrors(t *testing.T) {
	e := newEnv(t, sqliteStore(t), server.Config{})
	res, err := http.Get(e.url + "/api/v1/runs/nope/events")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusNotFound {
		t.Errorf("status = %d, want 404", res.StatusCode)
	}
}

// sqliteStore opens a SQLite store in a temporary directory.
func sqliteStore(t *testing.T) store.Store {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Options{Path: filepath.Join(t.TempDir(), "kiln.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

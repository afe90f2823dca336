package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/kilnml/kiln/backend/store"
)

// Timings of GET /api/v1/runs/{id}/events. They are variables so tests can shorten them.
var (
	// eventPollInterval is how often a stream re-reads the run and its nodes from the store.
	// The store is the only source of truth shared by replicas, so a stream served by one
	// replica sees a run followed by another.
	eventPollInterval = 500 * time.Millisecond
	// eventHeartbeat is how often an idle stream writes a comment, so proxies and load
	// balancers do not close it and a vanished client is noticed by a failed write.
	eventHeartbeat = 15 * time.Second
)

// eventRetryMillis is the reconnection delay the stream asks EventSource to use.
const eventRetryMillis = 2000

// activeEventStreams counts streams being served; a test checks that a disconnect frees them.
var activeEventStreams atomic.Int64

// RunEvent is the data of the "snapshot", "run" and "end" events of a run's event stream.
type RunEvent struct {
	// Run is the run; in "snapshot" it carries its nodes, in "run" and "end" it does not.
	Run Run `json:"run"`
	// Progress is "done/total" over the run's pod nodes (done: in a terminal phase), as Argo
	// reports a workflow's progress.
	Progress string `json:"progress"`
}

// runState is what a stream last sent about a run.
type runState struct {
	run      Run // without nodes
	progress string
	nodes    map[string][]byte // node ID → its JSON encoding
	order    []string          // node IDs in the store's order
	list     []Node
	hash     string
}

// loadRunState reads a run and its nodes from the store.
func (h *Handler) loadRunState(ctx context.Context, ns, id string) (*runState, error) {
	r, err := h.runInNamespace(ctx, ns, id)
	if err != nil {
		return nil, err
	}
	nodes, err := h.st.ListNodes(ctx, r.ID)
	if err != nil {
		return nil, fmt.Errorf("nodes of run %q: %w", r.ID, err)
	}
	s := &runState{run: runOut(r), nodes: make(map[string][]byte, len(nodes))}
	hash := fnv.New64a()
	runJSON, err := json.Marshal(s.run)
	if err != nil {
		return nil, fmt.Errorf("encode run %q: %w", id, err)
	}
	hash.Write(runJSON)
	done, total := 0, 0
	for _, n := range nodes {
		out := nodeOut(n)
		b, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("encode node %q of run %q: %w", n.ID, id, err)
		}
		s.nodes[n.ID] = b
		s.order = append(s.order, n.ID)
		s.list = append(s.list, out)
		hash.Write(b)
		if n.Type == "Pod" {
			total++
			if n.Phase.Terminal() {
				done++
			}
		}
	}
	s.progress = fmt.Sprintf("%d/%d", done, total)
	s.hash = strconv.FormatUint(hash.Sum64(), 16)
	return s, nil
}

// sseEvent is one server-sent event.
type sseEvent struct {
	name string
	data any
}

// diff lists the events that take a client from old to next: changed or added nodes in the
// store's order, then the run when its fields or its progress changed.
func (old *runState) diff(next *runState) []sseEvent {
	var evs []sseEvent
	for i, id := range next.order {
		if prev, ok := old.nodes[id]; !ok || !bytes.Equal(prev, next.nodes[id]) {
			evs = append(evs, sseEvent{name: "node", data: next.list[i]})
		}
	}
	if old.progress != next.progress || !sameJSON(old.run, next.run) {
		evs = append(evs, sseEvent{name: "run", data: RunEvent{Run: next.run, Progress: next.progress}})
	}
	return evs
}

func sameJSON(a, b any) bool {
	x, err1 := json.Marshal(a)
	y, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && bytes.Equal(x, y)
}

// sseWriter writes the text/event-stream format and flushes after each event.
type sseWriter struct {
	w  http.ResponseWriter
	rc *http.ResponseController
}

// startEventStream answers with a text/event-stream, counted in activeEventStreams until the
// returned stop is called, and sends the client's reconnection delay. It returns an error only
// when the client is already gone.
func startEventStream(w http.ResponseWriter) (sw *sseWriter, stop func(), err error) {
	activeEventStreams.Add(1)
	stop = func() { activeEventStreams.Add(-1) }
	hd := w.Header()
	hd.Set("Content-Type", "text/event-stream")
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)
	sw = &sseWriter{w: w, rc: http.NewResponseController(w)}
	return sw, stop, sw.write([]byte("retry: " + strconv.Itoa(eventRetryMillis) + "\n\n"))
}

// send writes one event; id, when set, becomes the client's Last-Event-ID.
func (s *sseWriter) send(name, id string, data any) error {
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("encode %s event: %w", name, err)
	}
	var buf bytes.Buffer
	buf.WriteString("event: " + name + "\n")
	if id != "" {
		buf.WriteString("id: " + id + "\n")
	}
	buf.WriteString("data: ")
	buf.Write(b) // json.Marshal output has no newline, so it is one data line
	buf.WriteString("\n\n")
	return s.write(buf.Bytes())
}

// comment writes an SSE comment line, which clients ignore.
func (s *sseWriter) comment(text string) error { return s.write([]byte(": " + text + "\n\n")) }

func (s *sseWriter) write(b []byte) error {
	if _, err := s.w.Write(b); err != nil {
		return err
	}
	return s.rc.Flush()
}

// runEvents streams a run's changes as server-sent events (GET /api/v1/runs/{id}/events).
//
// The stream opens with a "snapshot" (the run with its nodes), then sends a "node" event for
// each node added or changed and a "run" event when the run's phase, message, times or progress
// change, as the run's feed (one store poller per run and replica, every eventPollInterval)
// reads them. It ends with "end" when the run reaches a terminal phase, or "deleted" when the run
// goes away. Each batch's last event carries an ID
// (a hash of the state it leaves the client in); a client reconnecting with that Last-Event-ID
// while nothing changed gets no second snapshot.
func (f *runFeeds) runEvents(w http.ResponseWriter, r *http.Request) error {
	h := f.h
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	id := r.PathValue("id")
	ctx := r.Context()
	// The stream's own first read answers a missing run with 404 before any header is sent,
	// and makes the snapshot fresh; later states come from the run's shared feed, ignoring
	// any read that started before this one (it could be older).
	since := time.Now()
	cur, err := h.loadRunState(ctx, ns, id)
	if err != nil {
		return err
	}
	sw, stop, err := startEventStream(w)
	defer stop()
	if err != nil {
		return nil // the client went away
	}
	if r.Header.Get("Last-Event-ID") == cur.hash {
		err = sw.comment("resumed: no changes since the last event")
	} else {
		snap := cur.run
		snap.Nodes = cur.list
		err = sw.send("snapshot", cur.hash, RunEvent{Run: snap, Progress: cur.progress})
	}
	if err != nil {
		return nil // the client went away
	}
	if store.Phase(cur.run.Phase).Terminal() {
		_ = sw.send("end", cur.hash, RunEvent{Run: cur.run, Progress: cur.progress})
		return nil
	}
	closing := f.closing(r)
	feed, unsubscribe := f.subscribe(ns, id)
	defer unsubscribe()
	beat := time.NewTicker(eventHeartbeat)
	defer beat.Stop()
	// sawTerminal: the previous poll found the run terminal. "end" waits one more poll, so
	// trailing node updates (a cancel marks the run first, then its nodes) still arrive.
	sawTerminal := false
	for {
		polled := feed.next()
		select {
		case <-ctx.Done():
			return nil
		case <-closing:
			return nil // the server shuts down; the client reconnects with Last-Event-ID
		case <-beat.C:
			if sw.comment("keep-alive") != nil {
				return nil
			}
			continue
		case <-polled:
		}
		next, gone, stopped := feed.latest(since)
		if gone {
			_ = sw.send("deleted", "", map[string]string{"id": id})
			return nil
		}
		if stopped {
			return nil // only when unsubscribed, so not reached while this stream holds the feed
		}
		if next == nil {
			continue
		}
		evs := cur.diff(next)
		for i, ev := range evs {
			eid := ""
			if i == len(evs)-1 {
				eid = next.hash
			}
			if sw.send(ev.name, eid, ev.data) != nil {
				return nil
			}
		}
		cur = next
		if !store.Phase(cur.run.Phase).Terminal() {
			sawTerminal = false // retried: keep streaming
			continue
		}
		if sawTerminal {
			_ = sw.send("end", cur.hash, RunEvent{Run: cur.run, Progress: cur.progress})
			return nil
		}
		sawTerminal = true
	}
}

package api

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kilnml/kiln/backend/store"
)

// activeRunFeeds counts store pollers; a test checks that streams of one run share one.
var activeRunFeeds atomic.Int64

// runFeeds shares one store poller among the event streams of a run on this replica, so a run
// watched in ten tabs costs the store one read per poll interval, not ten.
//
// It also ends streams when their http.Server shuts down: Shutdown waits for active requests,
// and an event stream never ends by itself, so without this a server with an open portal tab
// would wait for its whole shutdown timeout. Clients reconnect (to another replica, or to this
// one when it is back) with Last-Event-ID.
type runFeeds struct {
	h         *Handler
	mu        sync.Mutex
	feeds     map[string]*runFeed            // by namespace + "/" + run ID
	shutdowns map[*http.Server]chan struct{} // closed when that server shuts down
}

func newRunFeeds(h *Handler) *runFeeds {
	return &runFeeds{h: h, feeds: map[string]*runFeed{}, shutdowns: map[*http.Server]chan struct{}{}}
}

// closing returns a channel closed when the http.Server serving r shuts down (nil, which never
// fires, when r carries no server).
func (f *runFeeds) closing(r *http.Request) <-chan struct{} {
	srv, _ := r.Context().Value(http.ServerContextKey).(*http.Server)
	if srv == nil {
		return nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.shutdowns[srv]
	if !ok {
		ch = make(chan struct{})
		f.shutdowns[srv] = ch
		srv.RegisterOnShutdown(func() {
			close(ch)
			f.mu.Lock()
			delete(f.shutdowns, srv)
			f.mu.Unlock()
		})
	}
	return ch
}

// runFeed polls one run while it has subscribers and publishes what each poll read.
type runFeed struct {
	subs   int // guarded by runFeeds.mu
	cancel context.CancelFunc

	mu      sync.Mutex
	state   *runState     // the latest state read; nil before the first poll
	readAt  time.Time     // when the read of state started
	gone    bool          // the run was deleted
	polled  chan struct{} // closed after each poll, then replaced
	stopped bool          // the poller ended (gone, or no subscribers)
}

// subscribe returns the feed of a run, starting its poller if it has none, and a function
// that ends the subscription (the last one stops the poller).
func (f *runFeeds) subscribe(ns, id string) (*runFeed, func()) {
	key := ns + "/" + id
	f.mu.Lock()
	defer f.mu.Unlock()
	feed := f.feeds[key]
	if feed == nil {
		ctx, cancel := context.WithCancel(context.Background())
		feed = &runFeed{cancel: cancel, polled: make(chan struct{})}
		f.feeds[key] = feed
		activeRunFeeds.Add(1)
		go f.poll(ctx, feed, ns, id)
	}
	feed.subs++
	var once sync.Once
	return feed, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			feed.subs--
			if feed.subs == 0 {
				delete(f.feeds, key)
				feed.cancel()
			}
		})
	}
}

// poll reads the run every eventPollInterval until its context ends or the run is gone.
func (f *runFeeds) poll(ctx context.Context, feed *runFeed, ns, id string) {
	defer activeRunFeeds.Add(-1)
	defer feed.stop()
	tick := time.NewTicker(eventPollInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		start := time.Now()
		s, err := f.h.loadRunState(ctx, ns, id)
		switch {
		case errors.Is(err, store.ErrNotFound):
			feed.publish(nil, start, true)
			return
		case err != nil:
			if ctx.Err() != nil {
				return
			}
			f.h.log.WarnContext(ctx, "run events: read run", "run", id, "err", err)
		default:
			feed.publish(s, start, false)
		}
	}
}

func (feed *runFeed) publish(s *runState, readAt time.Time, gone bool) {
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if s != nil {
		feed.state, feed.readAt = s, readAt
	}
	feed.gone = feed.gone || gone
	close(feed.polled)
	feed.polled = make(chan struct{})
}

func (feed *runFeed) stop() {
	feed.mu.Lock()
	defer feed.mu.Unlock()
	feed.stopped = true
	close(feed.polled)
	feed.polled = make(chan struct{})
}

// next returns a channel closed after the next poll.
func (feed *runFeed) next() <-chan struct{} {
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if feed.stopped {
		closed := make(chan struct{})
		close(closed)
		return closed
	}
	return feed.polled
}

// latest returns the newest state read no earlier than since (nil if there is none), and
// whether the run is gone or the poller stopped.
func (feed *runFeed) latest(since time.Time) (s *runState, gone, stopped bool) {
	feed.mu.Lock()
	defer feed.mu.Unlock()
	if feed.state != nil && !feed.readAt.Before(since) {
		s = feed.state
	}
	return s, feed.gone, feed.stopped
}

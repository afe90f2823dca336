package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// runsSummaryInterval is how often GET /api/v1/runs/events re-reads the summary; a variable so
// tests can shorten it.
var runsSummaryInterval = 2 * time.Second

// Bounds of a RunsSummary.
const (
	summaryCountLimit = 100
	summaryRecent     = 10
)

// Filters of the summary's counts, as the portal's home page links them.
const (
	ActiveRunsFilter = `phase == "Running" || phase == "Pending"`
	FailedRunsFilter = `phase == "Failed" || phase == "Error"`
)

// RunsSummary is the data of the "summary" event of GET /api/v1/runs/events: what a home page
// shows about a namespace's (non-archived) runs.
type RunsSummary struct {
	// Active counts runs matching ActiveRunsFilter up to 100; ActiveMore says there are more.
	Active     int  `json:"active"`
	ActiveMore bool `json:"activeMore"`
	// Failed counts runs matching FailedRunsFilter up to 100; FailedMore says there are more.
	Failed     int  `json:"failed"`
	FailedMore bool `json:"failedMore"`
	// Recent are the ten newest runs.
	Recent []Run `json:"recent"`
}

// runsSummary reads a namespace's RunsSummary.
func (h *Handler) runsSummary(r *http.Request, ns string, active, failed *filter.Filter) (*RunsSummary, error) {
	count := func(f *filter.Filter) (int, bool, error) {
		rs, next, err := h.st.ListRuns(r.Context(), store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: ns, Filter: f, PageSize: summaryCountLimit}})
		return len(rs), next != "", err
	}
	var s RunsSummary
	var err error
	if s.Active, s.ActiveMore, err = count(active); err != nil {
		return nil, fmt.Errorf("count active runs: %w", err)
	}
	if s.Failed, s.FailedMore, err = count(failed); err != nil {
		return nil, fmt.Errorf("count failed runs: %w", err)
	}
	rs, _, err := h.st.ListRuns(r.Context(), store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: ns, PageSize: summaryRecent}})
	if err != nil {
		return nil, fmt.Errorf("list recent runs: %w", err)
	}
	s.Recent = convert(rs, runOut)
	return &s, nil
}

// runsEvents streams a namespace's RunsSummary (GET /api/v1/runs/events): a "summary" event
// at once and whenever it changes (read every runsSummaryInterval), until the client leaves.
func (f *runFeeds) runsEvents(w http.ResponseWriter, r *http.Request) error {
	h := f.h
	ns, _, err := h.namespace(r, read)
	if err != nil {
		return err
	}
	active, err := filter.Parse(ActiveRunsFilter)
	if err != nil {
		return fmt.Errorf("parse the active runs filter: %w", err)
	}
	failed, err := filter.Parse(FailedRunsFilter)
	if err != nil {
		return fmt.Errorf("parse the failed runs filter: %w", err)
	}
	s, err := h.runsSummary(r, ns, active, failed)
	if err != nil {
		return err
	}
	sw, stop, err := startEventStream(w)
	defer stop()
	if err != nil {
		return nil // the client went away
	}
	closing := f.closing(r)
	var last []byte
	poll := time.NewTicker(runsSummaryInterval)
	defer poll.Stop()
	beat := time.NewTicker(eventHeartbeat)
	defer beat.Stop()
	for {
		if b, err := json.Marshal(s); err == nil && !bytes.Equal(b, last) {
			last = b
			if sw.send("summary", "", s) != nil {
				return nil
			}
		}
		select {
		case <-r.Context().Done():
			return nil
		case <-closing:
			return nil
		case <-beat.C:
			if sw.comment("keep-alive") != nil {
				return nil
			}
			continue
		case <-poll.C:
		}
		next, err := h.runsSummary(r, ns, active, failed)
		if err != nil {
			if r.Context().Err() != nil {
				return nil
			}
			h.log.WarnContext(r.Context(), "runs events: read summary", "namespace", ns, "err", err)
			continue
		}
		s = next
	}
}

package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/kilnml/kiln/backend/store"
)

// Limits of one group commit: a group takes the batches waiting when the writer becomes free,
// up to these bounds, so a transaction (and the wait of its first batch) stays short.
const (
	maxGroupBatches = 64
	maxGroupPoints  = 32_000
)

// errStoreClosed is returned by LogBatch after Close.
var errStoreClosed = errors.New("sqlstore: store closed")

// logRequest is one LogBatch call waiting for the group writer.
type logRequest struct {
	ctx     context.Context
	runID   string
	params  []store.Param
	metrics []store.Metric
	tags    []store.Tag
	done    chan error // buffered: the writer never blocks on a caller that gave up
}

// groupWriter is a single goroutine that writes LogBatch calls. Calls that arrive while it
// commits one transaction wait and go together into the next one, so under concurrent load the
// cost of a commit (for SQLite: rewriting the partly filled B-tree pages into the WAL, and the
// checkpoints that follow) is shared by many batches. Each batch runs inside its own savepoint,
// so one batch's error (a param conflict, a deleted run) rolls back that batch only, and each
// caller is answered only after the shared commit: an acknowledged batch is exactly as durable
// as with one transaction per batch. A lone batch is written at once, with no added delay.
type groupWriter struct {
	s       *Store
	reqs    chan *logRequest
	stop    chan struct{}
	stopped chan struct{}
}

func newGroupWriter(s *Store) *groupWriter {
	g := &groupWriter{s: s, reqs: make(chan *logRequest), stop: make(chan struct{}), stopped: make(chan struct{})}
	go g.loop()
	return g
}

// close stops the writer after the group in progress; later submits fail with errStoreClosed.
func (g *groupWriter) close() {
	close(g.stop)
	<-g.stopped
}

// submit hands r to the writer and waits for its transaction's outcome.
func (g *groupWriter) submit(ctx context.Context, r *logRequest) error {
	r.done = make(chan error, 1)
	select {
	case g.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-g.stop:
		return errStoreClosed
	}
	select {
	case err := <-r.done:
		return err
	case <-ctx.Done():
		// The batch may still commit, as a cancelled single-transaction write may.
		return ctx.Err()
	}
}

func (g *groupWriter) loop() {
	defer close(g.stopped)
	for {
		var group []*logRequest
		select {
		case r := <-g.reqs:
			group = append(group, r)
		case <-g.stop:
			return
		}
		points := len(group[0].metrics)
	more:
		for len(group) < maxGroupBatches && points < maxGroupPoints {
			select {
			case r := <-g.reqs:
				group = append(group, r)
				points += len(r.metrics)
			default:
				break more
			}
		}
		g.write(group)
	}
}

// write commits a group and answers every caller in it.
func (g *groupWriter) write(group []*logRequest) {
	live := group[:0]
	for _, r := range group {
		if err := r.ctx.Err(); err != nil {
			r.done <- err
			continue
		}
		live = append(live, r)
	}
	if len(live) == 0 {
		return
	}
	s := g.s
	// Statements must not be interrupted by one caller's cancellation: they share the transaction.
	ctx := context.WithoutCancel(live[0].ctx)
	for _, r := range live {
		if len(r.metrics) >= s.d.MaxBatchRows {
			if err := s.prepareMetricInsert(ctx); err != nil {
				for _, r := range live {
					r.done <- err
				}
				return
			}
			break
		}
	}
	if len(live) == 1 {
		r := live[0]
		r.done <- s.inTx(ctx, func(tx *sql.Tx) error { return s.logBatchTx(ctx, tx, r.runID, r.params, r.metrics, r.tags) })
		return
	}
	errs := make([]error, len(live))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for i, r := range live {
			if _, err := tx.ExecContext(ctx, `SAVEPOINT log_batch`); err != nil {
				return fmt.Errorf("savepoint: %w", err)
			}
			errs[i] = s.logBatchTx(ctx, tx, r.runID, r.params, r.metrics, r.tags)
			if errs[i] != nil {
				if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT log_batch`); err != nil {
					return fmt.Errorf("rollback to savepoint: %w", err)
				}
			}
			if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT log_batch`); err != nil {
				return fmt.Errorf("release savepoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		// The shared transaction failed as a whole (not one batch's own error): write each
		// batch alone so that one cause cannot fail the others.
		for _, r := range live {
			r.done <- s.inTx(ctx, func(tx *sql.Tx) error { return s.logBatchTx(ctx, tx, r.runID, r.params, r.metrics, r.tags) })
		}
		return
	}
	for i, r := range live {
		r.done <- errs[i]
	}
}

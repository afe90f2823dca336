package runs

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/engine"
)

// Defaults of LeadOptions.
const (
	DefaultScanInterval      = 2 * time.Second
	DefaultSchedulerInterval = 10 * time.Second
	DefaultLostAfter         = time.Minute
)

// ErrLeading reports a second, concurrent Lead on one Manager.
var ErrLeading = errors.New("runs: already leading")

// LeadOptions configures Lead.
type LeadOptions struct {
	// ScanInterval is how often the store is scanned for active runs that no follower
	// handles yet, such as runs created or retried through other replicas; 0 means
	// DefaultScanInterval.
	ScanInterval time.Duration
	// SchedulerInterval is how often recurring runs are checked; 0 means
	// DefaultSchedulerInterval, negative disables the scheduler.
	SchedulerInterval time.Duration
	// LostAfter is how long after its creation a run the engine does not know is marked
	// Error with RestartMessage: a run another replica has just submitted may not have
	// reached this replica's engine yet. 0 means DefaultLostAfter.
	LostAfter time.Duration
}

// Lead does the leader's work until ctx ends or the manager closes: it follows every active
// run of the store (those the engine knows; runs it has not known for LostAfter are marked
// lost, as Reconcile does), scans the store every ScanInterval for runs it does not follow
// yet, and runs the recurring-run scheduler. When ctx ends it stops following (the runs keep
// running in the engine) and returns once its followers and scheduler have stopped, so that
// a next leader does not write alongside them. It returns ErrLeading when called while
// another Lead runs.
//
// Lead is for managers with Options.Elected; without election the manager follows runs from
// New on, and Reconcile and RunScheduler do the rest.
func (m *Manager) Lead(ctx context.Context, opts LeadOptions) error {
	if opts.ScanInterval <= 0 {
		opts.ScanInterval = DefaultScanInterval
	}
	if opts.SchedulerInterval == 0 {
		opts.SchedulerInterval = DefaultSchedulerInterval
	}
	if opts.LostAfter <= 0 {
		opts.LostAfter = DefaultLostAfter
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(m.ctx, cancel) // Close ends the leadership too
	defer stop()

	var wg sync.WaitGroup
	m.mu.Lock()
	if m.followCtx != nil && m.elected {
		m.mu.Unlock()
		return ErrLeading
	}
	if m.closing {
		m.mu.Unlock()
		return nil
	}
	if m.elected {
		m.followCtx, m.followWG = ctx, &wg
	}
	m.mu.Unlock()
	defer func() {
		cancel()
		if m.elected {
			m.mu.Lock()
			m.followCtx, m.followWG = nil, nil
			m.mu.Unlock()
		}
		wg.Wait()
		m.log.Info("stopped leading: runs are no longer followed here")
	}()

	if opts.SchedulerInterval > 0 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.RunScheduler(ctx, opts.SchedulerInterval)
		}()
	}
	m.log.Info("leading: following active runs and scheduling recurring runs")
	t := time.NewTicker(opts.ScanInterval)
	defer t.Stop()
	for {
		if err := m.scan(ctx, opts.LostAfter); err != nil && ctx.Err() == nil {
			m.log.Error("scan for active runs", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// scan follows every unfinished run of the store that the engine knows and no follower
// handles, and marks lost those the engine has not known for lostAfter since their creation.
func (m *Manager) scan(ctx context.Context, lostAfter time.Duration) error {
	rs, err := m.st.ListUnfinishedRunRefs(ctx)
	if err != nil {
		return fmt.Errorf("scan runs: %w", err)
	}
	now := m.now()
	var errs []error
	for _, r := range rs {
		if !r.HasSpec || m.isFollowing(r.ID) {
			continue // tracking-only runs belong to their clients
		}
		_, err := m.eng.Status(ctx, r.ID)
		switch {
		case err == nil:
			m.follow(r.Namespace, r.ID)
		case !errors.Is(err, engine.ErrRunNotFound):
			errs = append(errs, fmt.Errorf("status of run %q: %w", r.ID, err))
		case now.Sub(r.CreatedAt) >= lostAfter:
			if err := m.markLost(ctx, r); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}

// isFollowing reports whether a follower handles the run.
func (m *Manager) isFollowing(id string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.watching[id]
}

// markLost records a run (and its active nodes) that its engine no longer knows as Error.
func (m *Manager) markLost(ctx context.Context, r store.RunRef) error {
	msg := RestartMessage
	if _, err := m.st.UpdateRun(ctx, r.Namespace, r.ID, store.RunUpdate{Phase: store.PhaseError, Message: &msg, FinishedAt: m.now()}); err != nil {
		return fmt.Errorf("mark run %q lost: %w", r.ID, err)
	}
	if err := m.markNodesLost(ctx, r.ID); err != nil {
		return fmt.Errorf("mark run %q lost: %w", r.ID, err)
	}
	m.log.Warn("run lost in restart", "run", r.ID, "namespace", r.Namespace, "phase", r.Phase)
	return nil
}

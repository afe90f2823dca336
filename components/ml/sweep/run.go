package sweep

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
)

// ErrTooManyFailures is returned (wrapped) by Run when more than MaxFailedTrials trials fail.
var ErrTooManyFailures = errors.New("sweep: too many failed trials")

// Reporter receives a trial's intermediate objective values, one per step. It returns true
// when the trial should stop early; the trial function should then return promptly (its
// return value is kept, and the trial is recorded as early_stopped).
type Reporter func(value float64) (stop bool)

// TrialFunc runs one trial and returns its final metrics, which must include the objective
// metric. An error marks the trial failed.
type TrialFunc func(ctx context.Context, a Assignment, report Reporter) (map[string]float64, error)

// Options configures Run.
type Options struct {
	// Seed is passed to Suggest.
	Seed uint64
	// Logger receives one record per finished trial; nil discards them.
	Logger *slog.Logger
}

// Result is the outcome of Run.
type Result struct {
	// Trials in ID order.
	Trials []Trial `json:"trials"`
	// Best is the best succeeded trial, nil if none succeeded.
	Best *Trial `json:"best,omitempty"`
	// StopReason is "max_trials", "goal", "max_failed_trials", "grid_exhausted" or
	// "canceled".
	StopReason string `json:"stop_reason"`
}

// Run drives an experiment in this process: it asks Suggest for one assignment whenever fewer
// than ParallelTrials trials are running, runs fn for it in a goroutine, and stops starting
// trials when the budget, the goal or the failure limit says so (running trials are allowed
// to finish). It returns the result together with ErrTooManyFailures if the failure limit was
// exceeded, or the context's error if ctx was canceled.
func Run(ctx context.Context, e *Experiment, fn TrialFunc, opts Options) (*Result, error) {
	if errs := e.Validate(); len(errs) > 0 {
		return nil, fmt.Errorf("run sweep: %w", errs.ToAggregate())
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	parallel := max(e.ParallelTrials, 1)
	var (
		mu      sync.Mutex
		trials  []Trial
		running int
		wg      sync.WaitGroup
	)
	finished := make(chan struct{}, e.MaxTrials)
	reason := ""
	for {
		mu.Lock()
		if reason == "" {
			if ctx.Err() != nil {
				reason = "canceled"
			} else if done, why := e.Done(trials); done {
				reason = why
			}
		}
		if reason == "" && running < parallel {
			history := cloneTrials(trials)
			next, err := Suggest(e, history, 1, opts.Seed)
			if err != nil {
				mu.Unlock()
				wg.Wait()
				return nil, fmt.Errorf("run sweep: %w", err)
			}
			if len(next) == 0 {
				reason = "grid_exhausted"
			} else {
				a := next[0]
				trials = append(trials, Trial{Assignment: a, Status: Running})
				running++
				wg.Add(1)
				go func() {
					defer wg.Done()
					runTrial(ctx, e, fn, a, &mu, &trials, log)
					finished <- struct{}{}
				}()
				mu.Unlock()
				continue
			}
		}
		if running == 0 {
			mu.Unlock()
			break
		}
		mu.Unlock()
		<-finished
		mu.Lock()
		running--
		mu.Unlock()
	}
	wg.Wait()
	res := &Result{Trials: trials, StopReason: reason}
	if b, ok := Best(e.Objective, trials); ok {
		res.Best = &b
	}
	switch reason {
	case "max_failed_trials":
		return res, fmt.Errorf("run sweep: %w: %d allowed", ErrTooManyFailures, max(e.MaxFailedTrials, 0))
	case "canceled":
		return res, fmt.Errorf("run sweep: %w", ctx.Err())
	}
	return res, nil
}

func runTrial(ctx context.Context, e *Experiment, fn TrialFunc, a Assignment, mu *sync.Mutex, trials *[]Trial, log *slog.Logger) {
	stopped := false
	report := func(v float64) bool {
		mu.Lock()
		defer mu.Unlock()
		t := &(*trials)[a.ID]
		t.Intermediate = append(t.Intermediate, v)
		if e.EarlyStopping != nil && !stopped {
			stopped = e.EarlyStopping.ShouldStop(e.Objective, *trials, t.Intermediate)
		}
		return stopped
	}
	metrics, err := fn(ctx, a, report)
	mu.Lock()
	defer mu.Unlock()
	t := &(*trials)[a.ID]
	t.Metrics = metrics
	switch {
	case err != nil:
		t.Status, t.Error = Failed, err.Error()
	case stopped:
		t.Status = EarlyStopped
	default:
		if _, ok := metrics[e.Objective.Metric]; !ok {
			t.Status, t.Error = Failed, fmt.Sprintf("objective metric %q not reported", e.Objective.Metric)
		} else {
			t.Status = Succeeded
		}
	}
	log.Info("trial finished", "trial", a.Name(), "status", t.Status, "params", a.Strings(), "metrics", metrics, "error", t.Error)
}

func cloneTrials(ts []Trial) []Trial {
	out := make([]Trial, len(ts))
	for i, t := range ts {
		out[i] = t
		out[i].Intermediate = append([]float64(nil), t.Intermediate...)
	}
	return out
}

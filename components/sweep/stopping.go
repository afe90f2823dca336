package sweep

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/kilnml/kiln/backend/client"
	"github.com/kilnml/kiln/components/internal/track"
	mlsweep "github.com/kilnml/kiln/components/ml/sweep"
)

// DefaultReportEvery is the number of training iterations (boosting rounds) between two
// intermediate reports of a trial when the experiment's early stopping does not say.
const DefaultReportEvery = 10

// Tags of a trial's child run.
const (
	// TagTrial holds the trial number.
	TagTrial = "kiln.sweep.trial"
	// TagStatus holds the trial's mlsweep.Status: running while it trains, then succeeded,
	// failed or early_stopped.
	TagStatus = "kiln.sweep.status"
	// TagError holds a failed trial's error.
	TagError = "kiln.sweep.error"
	// TagReportEvery records the iterations between intermediate reports, so siblings read
	// the metric history with the same spacing.
	TagReportEvery = "kiln.sweep.report_every"
)

// MetricIterations is the trial metric counting the training iterations done (boosting
// rounds); it is what early stopping saves.
const MetricIterations = "iterations"

// Siblings gives the completed trials (succeeded or early stopped) of the sweep a running
// trial belongs to, with their intermediate objective values, one per report.
type Siblings interface {
	Completed(ctx context.Context) ([]mlsweep.Trial, error)
}

// Stopper applies the median stopping rule to one running trial: Check is called with each
// intermediate objective value, in order, and says whether the trial should stop there.
type Stopper struct {
	// Rule is the experiment's median rule.
	Rule mlsweep.MedianStop
	// Objective says which direction is better.
	Objective mlsweep.Objective
	// Siblings are the other trials of the sweep.
	Siblings Siblings
	// Log receives problems reading the siblings; nil discards them.
	Log *slog.Logger

	values []float64
}

// Check records v as the trial's next intermediate value and reports whether the median rule
// stops the trial at this step. When the siblings cannot be read the trial goes on: early
// stopping saves time, it never decides an outcome on missing data.
func (s *Stopper) Check(ctx context.Context, v float64) bool {
	s.values = append(s.values, v)
	sib, err := s.Siblings.Completed(ctx)
	if err != nil {
		if s.Log != nil {
			s.Log.Warn("sweep: early stopping: read sibling trials", "err", err)
		}
		return false
	}
	return s.Rule.ShouldStop(s.Objective, sib, s.values)
}

// Values returns the intermediate values checked so far.
func (s *Stopper) Values() []float64 { return slices.Clone(s.values) }

// APISiblings reads the sibling trials of a sweep from a Kiln server: the child runs of the
// pipeline run (tag mlflow.parentRunId) whose TagStatus is succeeded or early_stopped, and
// their objective metric history. One list call (with run data) answers which siblings are
// complete; a completed sibling's history never changes, so it is fetched once and cached.
// The list itself is reused for MinInterval, so fast reporting trials do not poll the server
// on every step.
type APISiblings struct {
	// Client calls the server.
	Client *client.Client
	// Parent is the pipeline run the trials are children of.
	Parent string
	// Self is the running trial's own child run, left out.
	Self string
	// Metric is the objective metric; intermediate values are its history.
	Metric string
	// Every is the iterations between reports: history points at other steps (a final
	// value logged at a step that is not a multiple) are not reports. 0 means
	// DefaultReportEvery.
	Every int
	// MinInterval is how long a list answer is reused; 0 means one second.
	MinInterval time.Duration

	mu      sync.Mutex
	listed  time.Time
	trials  []mlsweep.Trial
	history map[string][]float64
}

var _ Siblings = (*APISiblings)(nil)

// Completed implements Siblings.
func (a *APISiblings) Completed(ctx context.Context) ([]mlsweep.Trial, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ttl := cmp.Or(a.MinInterval, time.Second)
	if !a.listed.IsZero() && time.Since(a.listed) < ttl {
		return a.trials, nil
	}
	if a.history == nil {
		a.history = map[string][]float64{}
	}
	filter := fmt.Sprintf("tags[%q] == %q", track.ParentRunTag, a.Parent)
	var out []mlsweep.Trial
	opts := client.ListRunsOptions{Filter: filter, IncludeData: true}
	opts.PageSize = 1000
	for {
		page, err := a.Client.ListRuns(ctx, opts)
		if err != nil {
			return nil, fmt.Errorf("list child runs of %s: %w", a.Parent, err)
		}
		for _, r := range page.Runs {
			if r.ID == a.Self || r.Data == nil {
				continue
			}
			var status mlsweep.Status
			id := -1
			for _, t := range r.Data.Tags {
				switch t.Key {
				case TagStatus:
					status = mlsweep.Status(t.Value)
				case TagTrial:
					if n, err := strconv.Atoi(t.Value); err == nil {
						id = n
					}
				}
			}
			if status != mlsweep.Succeeded && status != mlsweep.EarlyStopped {
				continue
			}
			h, ok := a.history[r.ID]
			if !ok {
				if h, err = a.readHistory(ctx, r.ID); err != nil {
					return nil, err
				}
				a.history[r.ID] = h
			}
			out = append(out, mlsweep.Trial{Assignment: mlsweep.Assignment{ID: id}, Status: status, Intermediate: h})
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	a.trials, a.listed = out, time.Now()
	return out, nil
}

// readHistory returns a run's intermediate reports: its objective metric's points at
// positive multiples of Every, one per step (the last logged), in step order.
func (a *APISiblings) readHistory(ctx context.Context, run string) ([]float64, error) {
	every := int64(cmp.Or(a.Every, DefaultReportEvery))
	byStep := map[int64]float64{}
	opts := client.MetricHistoryOptions{PageSize: 1000}
	for {
		page, err := a.Client.MetricHistory(ctx, run, a.Metric, opts)
		if err != nil {
			if client.StatusCode(err) == 404 {
				return nil, nil
			}
			return nil, fmt.Errorf("history of %s of run %s: %w", a.Metric, run, err)
		}
		for _, m := range page.Metrics {
			if m.Step > 0 && m.Step%every == 0 {
				byStep[m.Step] = m.Value
			}
		}
		if page.NextPageToken == "" {
			break
		}
		opts.PageToken = page.NextPageToken
	}
	return IntermediateFromSteps(byStep), nil
}

// IntermediateFromSteps orders reported values by step.
func IntermediateFromSteps(byStep map[int64]float64) []float64 {
	steps := make([]int64, 0, len(byStep))
	for s := range byStep {
		steps = append(steps, s)
	}
	slices.Sort(steps)
	out := make([]float64, len(steps))
	for i, s := range steps {
		out[i] = byStep[s]
	}
	return out
}

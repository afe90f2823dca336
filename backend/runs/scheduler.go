package runs

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/robfig/cron/v3"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// cronParser accepts the five-field cron syntax and descriptors such as @hourly.
var cronParser = cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)

// ValidateSchedule checks the schedule fields of rr, with paths under p.
func ValidateSchedule(p *field.Path, rr *store.RecurringRun) field.ErrorList {
	var errs field.ErrorList
	switch {
	case rr.Cron == "" && rr.Interval <= 0:
		errs = append(errs, field.Required(p.Child("cron"), "set cron or a positive interval"))
	case rr.Cron != "" && rr.Interval > 0:
		errs = append(errs, field.Invalid(p.Child("interval"), rr.Interval.String(), "set either cron or interval, not both"))
	case rr.Cron != "":
		if _, err := cronParser.Parse(rr.Cron); err != nil {
			errs = append(errs, field.Invalid(p.Child("cron"), rr.Cron, err.Error()))
		}
	case rr.Interval < time.Second:
		errs = append(errs, field.Invalid(p.Child("interval"), rr.Interval.String(), "must be at least 1s"))
	}
	if rr.TimeZone != "" {
		if _, err := time.LoadLocation(rr.TimeZone); err != nil {
			errs = append(errs, field.Invalid(p.Child("timeZone"), rr.TimeZone, "unknown IANA time zone"))
		}
	}
	if rr.MaxConcurrency < 0 {
		errs = append(errs, field.Invalid(p.Child("maxConcurrency"), rr.MaxConcurrency, "must not be negative"))
	}
	if !rr.StartAt.IsZero() && !rr.EndAt.IsZero() && !rr.EndAt.After(rr.StartAt) {
		errs = append(errs, field.Invalid(p.Child("endAt"), rr.EndAt, "must be after startAt"))
	}
	return errs
}

// next returns the first scheduled time of rr strictly after t.
func next(rr *store.RecurringRun, t time.Time) (time.Time, error) {
	if rr.Cron == "" {
		base := rr.StartAt
		if base.IsZero() {
			base = rr.CreatedAt
		}
		if t.Before(base) {
			return base, nil
		}
		n := t.Sub(base)/rr.Interval + 1
		return base.Add(n * rr.Interval), nil
	}
	sched, err := cronParser.Parse(rr.Cron)
	if err != nil {
		return time.Time{}, err
	}
	loc := time.UTC
	if rr.TimeZone != "" {
		if loc, err = time.LoadLocation(rr.TimeZone); err != nil {
			return time.Time{}, err
		}
	}
	return sched.Next(t.In(loc)), nil
}

// maxCatchUp bounds the runs one schedule creates in one scheduler pass.
const maxCatchUp = 100

// ScheduleOnce fires every enabled recurring run whose next scheduled time has come. Without
// catch-up a schedule that missed several ticks fires once, for the latest. MaxConcurrency
// (0 means 1) bounds the schedule's non-terminal runs; a tick over the bound waits.
func (m *Manager) ScheduleOnce(ctx context.Context) error {
	rrs, err := m.st.ListEnabledRecurringRuns(ctx)
	if err != nil {
		return fmt.Errorf("schedule: %w", err)
	}
	now := m.now()
	var errs []error
	for _, rr := range rrs {
		if err := m.fire(ctx, rr, now); err != nil {
			errs = append(errs, fmt.Errorf("recurring run %q: %w", rr.ID, err))
		}
	}
	return errors.Join(errs...)
}

func (m *Manager) fire(ctx context.Context, rr *store.RecurringRun, now time.Time) error {
	from := rr.LastRunAt
	if from.IsZero() {
		from = rr.CreatedAt
		if !rr.StartAt.IsZero() && rr.StartAt.After(from) {
			from = rr.StartAt.Add(-time.Nanosecond)
		}
	}
	limit := rr.MaxConcurrency
	if limit <= 0 {
		limit = 1
	}
	for i := 0; i < maxCatchUp; i++ {
		tick, err := next(rr, from)
		if err != nil {
			return err
		}
		if tick.After(now) || (!rr.EndAt.IsZero() && tick.After(rr.EndAt)) {
			return nil
		}
		if !rr.CatchUp {
			for {
				n, err := next(rr, tick)
				if err != nil {
					return err
				}
				if n.After(now) || (!rr.EndAt.IsZero() && n.After(rr.EndAt)) {
					break
				}
				tick = n
			}
		}
		active, err := m.activeRuns(ctx, rr)
		if err != nil {
			return err
		}
		if active >= limit {
			return nil
		}
		if err := m.st.MarkRecurringRunFired(ctx, rr.Namespace, rr.ID, tick); err != nil {
			if errors.Is(err, store.ErrConflict) {
				return nil // another scheduler fired this tick
			}
			return err
		}
		if err := m.createScheduled(ctx, rr, tick); err != nil {
			return err
		}
		from = tick
	}
	return nil
}

func (m *Manager) activeRuns(ctx context.Context, rr *store.RecurringRun) (int, error) {
	f, err := filter.Parse(fmt.Sprintf("recurring_run_id == %q && phase in [%q, %q]", rr.ID, store.PhasePending, store.PhaseRunning))
	if err != nil {
		return 0, err
	}
	rs, _, err := m.st.ListRuns(ctx, store.ListRunsOptions{ListOptions: store.ListOptions{Namespace: rr.Namespace, Filter: f, PageSize: store.MaxPageSize}, View: store.AllRuns})
	return len(rs), err
}

func (m *Manager) createScheduled(ctx context.Context, rr *store.RecurringRun, tick time.Time) error {
	v, err := m.st.GetPipelineVersion(ctx, rr.Namespace, rr.PipelineVersionID)
	if err != nil {
		return err
	}
	r := &store.Run{
		Namespace:         rr.Namespace,
		ExperimentID:      rr.ExperimentID,
		PipelineID:        v.PipelineID,
		PipelineVersionID: v.ID,
		RecurringRunID:    rr.ID,
		Name:              fmt.Sprintf("%s-%s", rr.Name, tick.UTC().Format("20060102-150405")),
		Parameters:        rr.Parameters,
		Spec:              v.Spec,
		CreatedBy:         "scheduler",
	}
	if err := m.Create(ctx, r); err != nil {
		return err
	}
	m.log.Info("recurring run fired", "recurring_run", rr.ID, "run", r.ID, "scheduled", tick)
	return nil
}

// RunScheduler calls ScheduleOnce every interval until ctx ends.
func (m *Manager) RunScheduler(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if err := m.ScheduleOnce(ctx); err != nil && ctx.Err() == nil {
			m.log.Error("scheduler pass", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

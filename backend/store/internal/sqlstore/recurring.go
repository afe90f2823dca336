package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/kilnml/kiln/backend/store"
)

var recurringList = listSpec{
	keys: map[string]sortKey{"created_at": {expr: "rr.created_at", numeric: true}, "name": {expr: "rr.name"}},
	def:  "created_at desc",
	id:   "rr.id",
}

const recurringCols = `rr.id, rr.namespace, rr.name, rr.description, rr.experiment_id, rr.pipeline_version_id, rr.parameters,
rr.cron, rr.interval_ns, rr.time_zone, rr.enabled, rr.max_concurrency, rr.catch_up, rr.start_at, rr.end_at, rr.last_run_at,
rr.created_at, rr.updated_at`

func scanRecurring(sc interface{ Scan(...any) error }) (*store.RecurringRun, error) {
	var rr store.RecurringRun
	var exp, ver sql.NullString
	var params string
	var interval int64
	var start, end, last, created, updated sql.NullInt64
	if err := sc.Scan(&rr.ID, &rr.Namespace, &rr.Name, &rr.Description, &exp, &ver, &params, &rr.Cron, &interval, &rr.TimeZone,
		&rr.Enabled, &rr.MaxConcurrency, &rr.CatchUp, &start, &end, &last, &created, &updated); err != nil {
		return nil, err
	}
	rr.ExperimentID, rr.PipelineVersionID, rr.Interval = exp.String, ver.String, time.Duration(interval)
	rr.StartAt, rr.EndAt, rr.LastRunAt = fromNanos(start), fromNanos(end), fromNanos(last)
	rr.CreatedAt, rr.UpdatedAt = fromNanos(created), fromNanos(updated)
	var err error
	rr.Parameters, err = decodeMap(params)
	return &rr, err
}

func validateRecurring(rr *store.RecurringRun) error {
	switch {
	case rr.Namespace == "" || rr.Name == "":
		return fmt.Errorf("%w: namespace and name are required", store.ErrInvalidArgument)
	case (rr.Cron == "") == (rr.Interval <= 0):
		return fmt.Errorf("%w: exactly one of cron and a positive interval is required", store.ErrInvalidArgument)
	case rr.MaxConcurrency < 0:
		return fmt.Errorf("%w: negative max concurrency", store.ErrInvalidArgument)
	}
	if _, err := time.LoadLocation(rr.TimeZone); err != nil {
		return fmt.Errorf("%w: time zone %q: %v", store.ErrInvalidArgument, rr.TimeZone, err)
	}
	return nil
}

// checkRefs verifies that the experiment and pipeline version rr names are in its namespace.
func (s *Store) checkRefs(ctx context.Context, tx *sql.Tx, rr *store.RecurringRun) error {
	var one int
	if rr.ExperimentID != "" {
		if err := s.queryRow(ctx, tx, `SELECT 1 FROM experiments WHERE namespace = ? AND id = ?`, rr.Namespace, rr.ExperimentID).Scan(&one); err != nil {
			return fmt.Errorf("experiment %q: %w", rr.ExperimentID, s.classify(err))
		}
	}
	if rr.PipelineVersionID != "" {
		if err := s.queryRow(ctx, tx, `SELECT 1 FROM pipeline_versions WHERE namespace = ? AND id = ?`, rr.Namespace, rr.PipelineVersionID).Scan(&one); err != nil {
			return fmt.Errorf("pipeline version %q: %w", rr.PipelineVersionID, s.classify(err))
		}
	}
	return nil
}

// CreateRecurringRun implements store.RecurringRuns.
func (s *Store) CreateRecurringRun(ctx context.Context, rr *store.RecurringRun) error {
	if err := validateRecurring(rr); err != nil {
		return fmt.Errorf("create recurring run %q: %w", rr.Name, err)
	}
	rr.ID, rr.CreatedAt = newID(), s.now()
	rr.UpdatedAt = rr.CreatedAt
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkRefs(ctx, tx, rr); err != nil {
			return err
		}
		_, err := s.exec(ctx, tx, `INSERT INTO recurring_runs (id, namespace, name, description, experiment_id, pipeline_version_id,
parameters, cron, interval_ns, time_zone, enabled, max_concurrency, catch_up, start_at, end_at, last_run_at, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rr.ID, rr.Namespace, rr.Name, rr.Description, nullString(rr.ExperimentID), nullString(rr.PipelineVersionID),
			encodeMap(rr.Parameters), rr.Cron, int64(rr.Interval), rr.TimeZone, rr.Enabled, rr.MaxConcurrency, rr.CatchUp,
			nanos(rr.StartAt), nanos(rr.EndAt), nanos(rr.LastRunAt), rr.CreatedAt.UnixNano(), rr.UpdatedAt.UnixNano())
		return s.classify(err)
	})
	if err != nil {
		return fmt.Errorf("create recurring run %q: %w", rr.Name, err)
	}
	return nil
}

// GetRecurringRun implements store.RecurringRuns.
func (s *Store) GetRecurringRun(ctx context.Context, namespace, id string) (*store.RecurringRun, error) {
	rr, err := scanRecurring(s.queryRow(ctx, s.read, `SELECT `+recurringCols+` FROM recurring_runs rr WHERE rr.namespace = ? AND rr.id = ?`, namespace, id))
	if err != nil {
		return nil, fmt.Errorf("get recurring run %q: %w", id, s.classify(err))
	}
	return rr, nil
}

// ListRecurringRuns implements store.RecurringRuns.
func (s *Store) ListRecurringRuns(ctx context.Context, opts store.ListOptions) ([]*store.RecurringRun, string, error) {
	pq, err := s.newPage(recurringList, opts, false)
	if err != nil {
		return nil, "", fmt.Errorf("list recurring runs: %w", err)
	}
	pq.b.where("rr.namespace = " + pq.b.arg(opts.Namespace))
	items, err := collect(ctx, s.read, pq, `SELECT `+recurringCols+` FROM recurring_runs rr`, scanRecurring)
	if err != nil {
		return nil, "", fmt.Errorf("list recurring runs: %w", err)
	}
	items, next := finish(pq, items, func(rr *store.RecurringRun, key string) any {
		if key == "name" {
			return rr.Name
		}
		return rr.CreatedAt.UnixNano()
	}, func(rr *store.RecurringRun) string { return rr.ID })
	return items, next, nil
}

// ListEnabledRecurringRuns implements store.RecurringRuns.
func (s *Store) ListEnabledRecurringRuns(ctx context.Context) ([]*store.RecurringRun, error) {
	rows, err := s.query(ctx, s.read, `SELECT `+recurringCols+` FROM recurring_runs rr WHERE rr.enabled = ? ORDER BY rr.created_at, rr.id`, true)
	if err != nil {
		return nil, fmt.Errorf("list enabled recurring runs: %w", err)
	}
	defer rows.Close()
	var out []*store.RecurringRun
	for rows.Next() {
		rr, err := scanRecurring(rows)
		if err != nil {
			return nil, fmt.Errorf("list enabled recurring runs: %w", err)
		}
		out = append(out, rr)
	}
	return out, rows.Err()
}

// UpdateRecurringRun implements store.RecurringRuns.
func (s *Store) UpdateRecurringRun(ctx context.Context, rr *store.RecurringRun) error {
	if err := validateRecurring(rr); err != nil {
		return fmt.Errorf("update recurring run %q: %w", rr.ID, err)
	}
	rr.UpdatedAt = s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if err := s.checkRefs(ctx, tx, rr); err != nil {
			return err
		}
		return mustAffect(s.exec(ctx, tx, `UPDATE recurring_runs SET name = ?, description = ?, experiment_id = ?, pipeline_version_id = ?,
parameters = ?, cron = ?, interval_ns = ?, time_zone = ?, enabled = ?, max_concurrency = ?, catch_up = ?, start_at = ?, end_at = ?,
last_run_at = ?, updated_at = ? WHERE namespace = ? AND id = ?`,
			rr.Name, rr.Description, nullString(rr.ExperimentID), nullString(rr.PipelineVersionID), encodeMap(rr.Parameters), rr.Cron,
			int64(rr.Interval), rr.TimeZone, rr.Enabled, rr.MaxConcurrency, rr.CatchUp, nanos(rr.StartAt), nanos(rr.EndAt),
			nanos(rr.LastRunAt), rr.UpdatedAt.UnixNano(), rr.Namespace, rr.ID))
	})
	if err != nil {
		return fmt.Errorf("update recurring run %q: %w", rr.ID, s.classify(err))
	}
	return nil
}

// SetRecurringRunEnabled implements store.RecurringRuns.
func (s *Store) SetRecurringRunEnabled(ctx context.Context, namespace, id string, enabled bool) error {
	err := mustAffect(s.exec(ctx, s.write, `UPDATE recurring_runs SET enabled = ?, updated_at = ? WHERE namespace = ? AND id = ?`,
		enabled, s.now().UnixNano(), namespace, id))
	if err != nil {
		return fmt.Errorf("enable recurring run %q: %w", id, s.classify(err))
	}
	return nil
}

// MarkRecurringRunFired implements store.RecurringRuns.
func (s *Store) MarkRecurringRunFired(ctx context.Context, namespace, id string, scheduledAt time.Time) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := s.exec(ctx, tx, `UPDATE recurring_runs SET last_run_at = ? WHERE namespace = ? AND id = ?
AND (last_run_at IS NULL OR last_run_at < ?)`, scheduledAt.UnixNano(), namespace, id, scheduledAt.UnixNano())
		if err := mustAffect(res, err); err == nil || err != store.ErrNotFound {
			return err
		}
		var one int
		if err := s.queryRow(ctx, tx, `SELECT 1 FROM recurring_runs WHERE namespace = ? AND id = ?`, namespace, id).Scan(&one); err != nil {
			return s.classify(err)
		}
		return fmt.Errorf("%w: a run at or after %s was already recorded", store.ErrConflict, scheduledAt.Format(time.RFC3339))
	})
	if err != nil {
		return fmt.Errorf("mark recurring run %q fired: %w", id, err)
	}
	return nil
}

// DeleteRecurringRun implements store.RecurringRuns.
func (s *Store) DeleteRecurringRun(ctx context.Context, namespace, id string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM recurring_runs WHERE namespace = ? AND id = ?`, namespace, id))
	if err != nil {
		return fmt.Errorf("delete recurring run %q: %w", id, s.classify(err))
	}
	return nil
}

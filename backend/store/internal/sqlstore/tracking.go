package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/kilnml/kiln/backend/store"
)

// LogBatch implements store.Tracking. With Dialect.GroupCommit, concurrent batches are written
// by one goroutine in shared transactions (see groupWriter); either way LogBatch returns only
// after the transaction holding the batch has committed.
func (s *Store) LogBatch(ctx context.Context, runID string, params []store.Param, metrics []store.Metric, tags []store.Tag) error {
	if err := validateBatch(params, metrics, tags); err != nil {
		return fmt.Errorf("log batch to run %q: %w", runID, err)
	}
	var err error
	if s.group != nil {
		err = s.group.submit(ctx, &logRequest{ctx: ctx, runID: runID, params: params, metrics: metrics, tags: tags})
	} else {
		if len(metrics) >= s.d.MaxBatchRows {
			if err := s.prepareMetricInsert(ctx); err != nil {
				return fmt.Errorf("log batch to run %q: %w", runID, err)
			}
		}
		err = s.inTx(ctx, func(tx *sql.Tx) error { return s.logBatchTx(ctx, tx, runID, params, metrics, tags) })
	}
	if err != nil {
		return fmt.Errorf("log batch to run %q: %w", runID, err)
	}
	return nil
}

// logBatchTx writes one validated batch in tx.
func (s *Store) logBatchTx(ctx context.Context, tx *sql.Tx, runID string, params []store.Param, metrics []store.Metric, tags []store.Tag) error {
	var one int
	if err := s.queryRow(ctx, tx, `SELECT 1 FROM runs WHERE id = ?`, runID).Scan(&one); err != nil {
		return fmt.Errorf("run: %w", s.classify(err))
	}
	// Sorted, so concurrent batches take row locks in the same order (no deadlocks on PostgreSQL).
	params = slices.SortedFunc(slices.Values(params), func(a, b store.Param) int { return strings.Compare(a.Key, b.Key) })
	tags = slices.SortedFunc(slices.Values(tags), func(a, b store.Tag) int { return strings.Compare(a.Key, b.Key) })
	if err := s.logParams(ctx, tx, runID, params); err != nil {
		return err
	}
	series, err := s.upsertLatest(ctx, tx, runID, metrics)
	if err != nil {
		return err
	}
	if err := s.insertMetrics(ctx, tx, series, metrics); err != nil {
		return err
	}
	for _, t := range tags {
		if _, err := s.exec(ctx, tx, `INSERT INTO tags (run_id, key, value) VALUES (?, ?, ?)
ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value`, runID, t.Key, t.Value); err != nil {
			return fmt.Errorf("tag %q: %w", t.Key, s.classify(err))
		}
	}
	return nil
}

func validateBatch(params []store.Param, metrics []store.Metric, tags []store.Tag) error {
	seen := map[string]string{}
	for _, p := range params {
		if p.Key == "" {
			return fmt.Errorf("%w: param with an empty key", store.ErrInvalidArgument)
		}
		if v, ok := seen[p.Key]; ok && v != p.Value {
			return fmt.Errorf("%w: param %q given twice with different values", store.ErrConflict, p.Key)
		}
		seen[p.Key] = p.Value
	}
	for _, m := range metrics {
		if m.Key == "" {
			return fmt.Errorf("%w: metric with an empty key", store.ErrInvalidArgument)
		}
	}
	for _, t := range tags {
		if t.Key == "" {
			return fmt.Errorf("%w: tag with an empty key", store.ErrInvalidArgument)
		}
	}
	return nil
}

// numValue is the param's value as a number for filters, or NULL.
func numValue(v string) any {
	f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return f
}

func (s *Store) logParams(ctx context.Context, tx *sql.Tx, runID string, params []store.Param) error {
	for _, p := range params {
		res, err := s.exec(ctx, tx, `INSERT INTO params (run_id, key, value, num_value) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, key) DO NOTHING`,
			runID, p.Key, p.Value, numValue(p.Value))
		if err != nil {
			return fmt.Errorf("param %q: %w", p.Key, s.classify(err))
		}
		if n, err := res.RowsAffected(); err != nil || n == 1 {
			continue
		}
		var old string
		if err := s.queryRow(ctx, tx, `SELECT value FROM params WHERE run_id = ? AND key = ?`, runID, p.Key).Scan(&old); err != nil {
			return fmt.Errorf("param %q: %w", p.Key, s.classify(err))
		}
		if old != p.Value {
			return fmt.Errorf("%w: param %q is %q and cannot change to %q (params are write-once)", store.ErrConflict, p.Key, old, p.Value)
		}
	}
	return nil
}

// metricValue stores NaN as NULL (SQLite cannot store NaN).
func metricValue(v float64) any {
	if math.IsNaN(v) {
		return nil
	}
	return v
}

// prepareMetricInsert prepares the statement that inserts a full chunk of points. It must run
// outside a transaction: SQLite's writer pool has a single connection, which a transaction holds.
func (s *Store) prepareMetricInsert(ctx context.Context) error {
	s.metricStmtOnce.Do(func() {
		q := s.rebind(`INSERT INTO metrics (series_id, step, timestamp, value) VALUES ` + valuesList(s.d.MaxBatchRows, 4))
		s.metricStmt, s.metricStmtErr = s.write.PrepareContext(context.WithoutCancel(ctx), q)
	})
	if s.metricStmtErr != nil {
		return fmt.Errorf("prepare metric insert: %w", s.metricStmtErr)
	}
	return nil
}

// insertMetrics appends the points in multi-row INSERTs; series maps each key to its series ID.
func (s *Store) insertMetrics(ctx context.Context, tx *sql.Tx, series map[string]int64, metrics []store.Metric) error {
	const head = `INSERT INTO metrics (series_id, step, timestamp, value) VALUES `
	var full *sql.Stmt // the statement for a full chunk, prepared once per store
	for len(metrics) > 0 {
		n := min(len(metrics), s.d.MaxBatchRows)
		chunk := metrics[:n]
		metrics = metrics[n:]
		args := make([]any, 0, 4*n)
		for _, m := range chunk {
			args = append(args, series[m.Key], m.Step, m.Timestamp.UnixMilli(), metricValue(m.Value))
		}
		var err error
		if n == s.d.MaxBatchRows {
			if full == nil {
				// Prepared by prepareMetricInsert before the transaction began; bound to the
				// transaction's connection. With SQLite's single writer connection the statement
				// is compiled once for the life of the store.
				full = tx.StmtContext(ctx, s.metricStmt)
				defer full.Close()
			}
			_, err = full.ExecContext(ctx, args...)
		} else {
			_, err = s.exec(ctx, tx, head+valuesList(n, 4), args...)
		}
		if err != nil {
			return fmt.Errorf("insert metrics: %w", s.classify(err))
		}
	}
	return nil
}

// valuesList returns "(?, ?), (?, ?)" for rows rows of cols columns.
func valuesList(rows, cols int) string {
	row := "(" + strings.Repeat("?, ", cols-1) + "?)"
	var b strings.Builder
	b.Grow(rows * (len(row) + 2))
	for i := range rows {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// later reports whether a is the later point of a series: higher step, then later timestamp.
func later(a, b store.Metric) bool {
	return a.Step > b.Step || (a.Step == b.Step && a.Timestamp.UnixMilli() >= b.Timestamp.UnixMilli())
}

// upsertLatest creates the series of new keys, moves each series' latest point forward, and
// returns the series ID of every key in the batch.
func (s *Store) upsertLatest(ctx context.Context, tx *sql.Tx, runID string, metrics []store.Metric) (map[string]int64, error) {
	latest := map[string]store.Metric{}
	var keys []string
	for _, m := range metrics {
		cur, ok := latest[m.Key]
		if !ok {
			keys = append(keys, m.Key)
		}
		if !ok || later(m, cur) {
			latest[m.Key] = m
		}
	}
	// A fixed order of row locks keeps concurrent batches on PostgreSQL from deadlocking.
	sort.Strings(keys)
	const newer = `(excluded.step > latest_metrics.step OR (excluded.step = latest_metrics.step AND excluded.timestamp >= latest_metrics.timestamp))`
	series := make(map[string]int64, len(keys))
	for _, k := range keys {
		m := latest[k]
		var id int64
		err := s.queryRow(ctx, tx, `INSERT INTO latest_metrics (run_id, key, value, step, timestamp) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (run_id, key) DO UPDATE SET
  value = CASE WHEN `+newer+` THEN excluded.value ELSE latest_metrics.value END,
  step = CASE WHEN `+newer+` THEN excluded.step ELSE latest_metrics.step END,
  timestamp = CASE WHEN `+newer+` THEN excluded.timestamp ELSE latest_metrics.timestamp END
RETURNING id`, runID, m.Key, metricValue(m.Value), m.Step, m.Timestamp.UnixMilli()).Scan(&id)
		if err != nil {
			return nil, fmt.Errorf("latest metric %q: %w", k, s.classify(err))
		}
		series[k] = id
	}
	return series, nil
}

// ListParams implements store.Tracking.
func (s *Store) ListParams(ctx context.Context, runID string) ([]store.Param, error) {
	rows, err := s.query(ctx, s.read, `SELECT key, value FROM params WHERE run_id = ? ORDER BY key`, runID)
	if err != nil {
		return nil, fmt.Errorf("list params of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []store.Param
	for rows.Next() {
		var p store.Param
		if err := rows.Scan(&p.Key, &p.Value); err != nil {
			return nil, fmt.Errorf("list params of run %q: %w", runID, err)
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// ListTags implements store.Tracking.
func (s *Store) ListTags(ctx context.Context, runID string) ([]store.Tag, error) {
	rows, err := s.query(ctx, s.read, `SELECT key, value FROM tags WHERE run_id = ? ORDER BY key`, runID)
	if err != nil {
		return nil, fmt.Errorf("list tags of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []store.Tag
	for rows.Next() {
		var t store.Tag
		if err := rows.Scan(&t.Key, &t.Value); err != nil {
			return nil, fmt.Errorf("list tags of run %q: %w", runID, err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// DeleteTag implements store.Tracking.
func (s *Store) DeleteTag(ctx context.Context, runID, key string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM tags WHERE run_id = ? AND key = ?`, runID, key))
	if err != nil {
		return fmt.Errorf("delete tag %q of run %q: %w", key, runID, s.classify(err))
	}
	return nil
}

func scanMetric(sc interface{ Scan(...any) error }, extra ...any) (store.Metric, error) {
	var m store.Metric
	var v sql.NullFloat64
	var ts int64
	if err := sc.Scan(append([]any{&m.Key, &v, &m.Step, &ts}, extra...)...); err != nil {
		return m, err
	}
	m.Value = v.Float64
	if !v.Valid {
		m.Value = math.NaN()
	}
	m.Timestamp = time.UnixMilli(ts).UTC()
	return m, nil
}

// LatestMetrics implements store.Tracking.
func (s *Store) LatestMetrics(ctx context.Context, runID string) ([]store.Metric, error) {
	rows, err := s.query(ctx, s.read, `SELECT key, value, step, timestamp FROM latest_metrics WHERE run_id = ? ORDER BY key`, runID)
	if err != nil {
		return nil, fmt.Errorf("latest metrics of run %q: %w", runID, err)
	}
	defer rows.Close()
	var out []store.Metric
	for rows.Next() {
		m, err := scanMetric(rows)
		if err != nil {
			return nil, fmt.Errorf("latest metrics of run %q: %w", runID, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

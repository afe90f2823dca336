package sqlstore

import (
	"context"
	"fmt"
	"strconv"

	"github.com/kilnml/kiln/backend/store"
)

// MetricHistory implements store.Tracking.
func (s *Store) MetricHistory(ctx context.Context, runID, key string, opts store.MetricHistoryOptions) ([]store.Metric, string, error) {
	var (
		out  []store.Metric
		next string
		err  error
	)
	if opts.MaxPoints > 0 {
		out, err = s.downsample(ctx, runID, key, opts.MaxPoints)
	} else {
		out, next, err = s.historyPage(ctx, runID, key, opts)
	}
	if err != nil {
		return nil, "", fmt.Errorf("metric history %q of run %q: %w", key, runID, err)
	}
	return out, next, nil
}

func (s *Store) historyPage(ctx context.Context, runID, key string, opts store.MetricHistoryOptions) ([]store.Metric, string, error) {
	size := opts.PageSize
	if size <= 0 {
		size = store.DefaultMetricPageSize
	}
	id := "m." + s.d.MetricID
	q := `SELECT s.key, m.value, m.step, m.timestamp, ` + id + ` FROM metrics m JOIN latest_metrics s ON s.id = m.series_id
WHERE s.run_id = ? AND s.key = ?`
	args := []any{runID, key}
	if opts.PageToken != "" {
		t, err := decodeToken(opts.PageToken)
		if err != nil {
			return nil, "", err
		}
		step, err1 := strconv.ParseInt(t.Key, 10, 64)
		last, err2 := strconv.ParseInt(t.ID, 10, 64)
		if t.Order != "metric" || err1 != nil || err2 != nil {
			return nil, "", fmt.Errorf("%w: malformed page token", store.ErrInvalidArgument)
		}
		q += ` AND (m.step, ` + id + `) > (?, ?)`
		args = append(args, step, last)
	}
	q += fmt.Sprintf(` ORDER BY m.step, %s LIMIT %d`, id, size+1)
	rows, err := s.query(ctx, s.read, q, args...)
	if err != nil {
		return nil, "", err
	}
	defer rows.Close()
	var out []store.Metric
	var ids []int64
	for rows.Next() {
		var mid int64
		m, err := scanMetric(rows, &mid)
		if err != nil {
			return nil, "", err
		}
		out, ids = append(out, m), append(ids, mid)
	}
	if err := rows.Err(); err != nil {
		return nil, "", err
	}
	if len(out) <= size {
		return out, "", nil
	}
	out = out[:size]
	last := out[size-1]
	tok := encodeToken(pageToken{Order: "metric", Key: strconv.FormatInt(last.Step, 10), ID: strconv.FormatInt(ids[size-1], 10)})
	return out, tok, nil
}

func (s *Store) downsample(ctx context.Context, runID, key string, maxPoints int) ([]store.Metric, error) {
	buckets := max(1, maxPoints/4)
	id := "m." + s.d.MetricID
	q := `WITH b AS (
  SELECT s.key, m.value, m.step, m.timestamp, ` + id + ` AS mid,
    NTILE(?) OVER (ORDER BY m.step, m.timestamp, ` + id + `) AS bucket, COUNT(*) OVER () AS total
  FROM metrics m JOIN latest_metrics s ON s.id = m.series_id WHERE s.run_id = ? AND s.key = ?
), r AS (
  SELECT key, value, step, timestamp, mid, total,
    ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY step, timestamp, mid) AS rf,
    ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY step DESC, timestamp DESC, mid DESC) AS rl,
    ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY value, step, mid) AS rmin,
    ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY value DESC, step, mid) AS rmax
  FROM b
)
SELECT key, value, step, timestamp FROM r
WHERE total <= ? OR rf = 1 OR rl = 1 OR rmin = 1 OR rmax = 1
ORDER BY step, timestamp, mid`
	rows, err := s.query(ctx, s.read, q, buckets, runID, key, maxPoints)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.Metric
	for rows.Next() {
		m, err := scanMetric(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

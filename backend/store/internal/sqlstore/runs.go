package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/kilnml/kiln/backend/store"
)

var runList = listSpec{
	keys: map[string]sortKey{
		"created_at":  {expr: "r.created_at", numeric: true},
		"started_at":  {expr: "COALESCE(r.started_at, 0)", numeric: true},
		"finished_at": {expr: "COALESCE(r.finished_at, 0)", numeric: true},
		"name":        {expr: "r.name"},
	},
	def:     "created_at desc",
	id:      "r.id",
	metrics: true,
}

const runCols = `r.id, r.namespace, r.experiment_id, r.pipeline_id, r.pipeline_version_id, r.recurring_run_id,
r.name, r.description, r.phase, r.message, r.parameters, r.spec, r.created_by, r.created_at, r.started_at,
r.finished_at, r.archived`

func scanRun(sc interface{ Scan(...any) error }) (*store.Run, error) {
	var r store.Run
	var exp, pipe, ver, rec sql.NullString
	var params string
	var created, started, finished sql.NullInt64
	if err := sc.Scan(&r.ID, &r.Namespace, &exp, &pipe, &ver, &rec, &r.Name, &r.Description, &r.Phase, &r.Message,
		&params, &r.Spec, &r.CreatedBy, &created, &started, &finished, &r.Archived); err != nil {
		return nil, err
	}
	r.ExperimentID, r.PipelineID, r.PipelineVersionID, r.RecurringRunID = exp.String, pipe.String, ver.String, rec.String
	r.CreatedAt, r.StartedAt, r.FinishedAt = fromNanos(created), fromNanos(started), fromNanos(finished)
	var err error
	r.Parameters, err = decodeMap(params)
	return &r, err
}

// CreateRun implements store.Runs.
func (s *Store) CreateRun(ctx context.Context, r *store.Run) error {
	if r.Namespace == "" {
		return fmt.Errorf("create run: %w: namespace is required", store.ErrInvalidArgument)
	}
	if r.ID == "" {
		r.ID = newID()
	}
	if r.Phase == "" {
		r.Phase = store.PhasePending
	}
	if !r.Phase.Valid() {
		return fmt.Errorf("create run: %w: unknown phase %q", store.ErrInvalidArgument, r.Phase)
	}
	r.CreatedAt = s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if r.ExperimentID != "" {
			var one int
			if err := s.queryRow(ctx, tx, `SELECT 1 FROM experiments WHERE namespace = ? AND id = ?`, r.Namespace, r.ExperimentID).Scan(&one); err != nil {
				return fmt.Errorf("experiment %q: %w", r.ExperimentID, s.classify(err))
			}
		}
		if r.PipelineVersionID != "" {
			var pipelineID string
			var spec []byte
			err := s.queryRow(ctx, tx, `SELECT pipeline_id, spec FROM pipeline_versions WHERE namespace = ? AND id = ?`,
				r.Namespace, r.PipelineVersionID).Scan(&pipelineID, &spec)
			if err != nil {
				return fmt.Errorf("pipeline version %q: %w", r.PipelineVersionID, s.classify(err))
			}
			if r.PipelineID != "" && r.PipelineID != pipelineID {
				return fmt.Errorf("%w: pipeline version %q belongs to pipeline %q, not %q", store.ErrInvalidArgument, r.PipelineVersionID, pipelineID, r.PipelineID)
			}
			r.PipelineID = pipelineID
			if len(r.Spec) == 0 {
				r.Spec = spec
			}
		}
		if r.RecurringRunID != "" {
			var one int
			if err := s.queryRow(ctx, tx, `SELECT 1 FROM recurring_runs WHERE namespace = ? AND id = ?`, r.Namespace, r.RecurringRunID).Scan(&one); err != nil {
				return fmt.Errorf("recurring run %q: %w", r.RecurringRunID, s.classify(err))
			}
		}
		_, err := s.exec(ctx, tx, `INSERT INTO runs (id, namespace, experiment_id, pipeline_id, pipeline_version_id, recurring_run_id,
name, description, phase, message, parameters, spec, created_by, created_at, started_at, finished_at, archived)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			r.ID, r.Namespace, nullString(r.ExperimentID), nullString(r.PipelineID), nullString(r.PipelineVersionID), nullString(r.RecurringRunID),
			r.Name, r.Description, string(r.Phase), r.Message, encodeMap(r.Parameters), r.Spec, r.CreatedBy, r.CreatedAt.UnixNano(),
			nanos(r.StartedAt), nanos(r.FinishedAt), r.Archived)
		return s.classify(err)
	})
	if err != nil {
		return fmt.Errorf("create run %q: %w", r.Name, err)
	}
	return nil
}

// GetRun implements store.Runs.
func (s *Store) GetRun(ctx context.Context, namespace, id string) (*store.Run, error) {
	r, err := scanRun(s.queryRow(ctx, s.read, `SELECT `+runCols+` FROM runs r WHERE r.namespace = ? AND r.id = ?`, namespace, id))
	if err != nil {
		return nil, fmt.Errorf("get run %q: %w", id, s.classify(err))
	}
	return r, nil
}

// ListRuns implements store.Runs.
func (s *Store) ListRuns(ctx context.Context, opts store.ListRunsOptions) ([]*store.Run, string, error) {
	pq, err := s.newPage(runList, opts.ListOptions, true)
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	pq.b.where("r.namespace = " + pq.b.arg(opts.Namespace))
	switch opts.View {
	case store.ActiveOnly:
		pq.b.where("r.archived = " + pq.b.arg(false))
	case store.ArchivedOnly:
		pq.b.where("r.archived = " + pq.b.arg(true))
	}
	if len(opts.ExperimentIDs) > 0 {
		ph := make([]string, len(opts.ExperimentIDs))
		for i, id := range opts.ExperimentIDs {
			ph[i] = pq.b.arg(id)
		}
		pq.b.where("r.experiment_id IN (" + strings.Join(ph, ", ") + ")")
	}
	if pq.order.key.metric != "" {
		return s.listRunsByMetric(ctx, pq)
	}
	items, err := collect(ctx, s.read, pq, `SELECT `+runCols+` FROM runs r`, scanRun)
	if err != nil {
		return nil, "", fmt.Errorf("list runs: %w", err)
	}
	items, next := finish(pq, items, func(r *store.Run, key string) any {
		switch key {
		case "name":
			return r.Name
		case "started_at":
			return unixOrZero(r.StartedAt.IsZero(), r.StartedAt.UnixNano())
		case "finished_at":
			return unixOrZero(r.FinishedAt.IsZero(), r.FinishedAt.UnixNano())
		}
		return r.CreatedAt.UnixNano()
	}, func(r *store.Run) string { return r.ID })
	return items, next, nil
}

// runWithKey is a run and the value of the metric the page is ordered by.
type runWithKey struct {
	run *store.Run
	key any // float64, or missingMetric for a run without the metric
}

// withExtra appends destinations to every Scan call.
type withExtra struct {
	sc    interface{ Scan(...any) error }
	extra []any
}

func (w withExtra) Scan(dest ...any) error { return w.sc.Scan(append(dest, w.extra...)...) }

// listRunsByMetric reads a page ordered by the latest value of a metric. Runs with the metric
// come first, read from latest_metrics in index order (key, value, run_id) and joined to runs,
// so a page costs an index walk of about one page of rows rather than a sort of the namespace;
// runs without the metric (or whose latest value is NaN) follow, in ID order. The page token
// records the last run's value, or missingMetric once the page is among the runs without it.
func (s *Store) listRunsByMetric(ctx context.Context, pq *pageQuery) ([]*store.Run, string, error) {
	dir, cmp := "ASC", ">"
	if pq.order.desc {
		dir, cmp = "DESC", "<"
	}
	var items []runWithKey
	if pq.after == nil || !pq.after.missing {
		// CROSS JOIN makes SQLite drive the join from latest_metrics (PostgreSQL plans it as an
		// inner join); the namespace, filter and token conditions are checked per run.
		b := pq.b.clone()
		conds := append(b.conds, "r.id = lm.run_id", "lm.key = "+b.arg(pq.order.key.metric), "lm.value IS NOT NULL")
		if a := pq.after; a != nil {
			// The redundant bound lets both databases seek the index to the resume point.
			conds = append(conds, fmt.Sprintf("lm.value %s= %s AND (lm.value %s %s OR lm.run_id %s %s)",
				cmp, b.arg(a.value), cmp, b.arg(a.value), cmp, b.arg(a.id)))
		}
		q := fmt.Sprintf("SELECT %s, lm.value FROM latest_metrics lm CROSS JOIN runs r WHERE %s ORDER BY lm.value %s, lm.run_id %s LIMIT %d",
			runCols, strings.Join(conds, " AND "), dir, dir, pq.size+1)
		var err error
		if items, err = s.scanRunsWithKey(ctx, q, b.args, items); err != nil {
			return nil, "", fmt.Errorf("list runs: %w", err)
		}
	}
	if len(items) <= pq.size {
		b := pq.b.clone()
		conds := append(b.conds, "NOT EXISTS (SELECT 1 FROM latest_metrics lm WHERE lm.run_id = r.id AND lm.key = "+
			b.arg(pq.order.key.metric)+" AND lm.value IS NOT NULL)")
		if a := pq.after; a != nil && a.missing {
			conds = append(conds, "r.id "+cmp+" "+b.arg(a.id))
		}
		q := fmt.Sprintf("SELECT %s, NULL FROM runs r WHERE %s ORDER BY r.id %s LIMIT %d",
			runCols, strings.Join(conds, " AND "), dir, pq.size+1-len(items))
		n := len(items)
		var err error
		if items, err = s.scanRunsWithKey(ctx, q, b.args, items); err != nil {
			return nil, "", fmt.Errorf("list runs: %w", err)
		}
		for i := n; i < len(items); i++ {
			items[i].key = missingMetric
		}
	}
	items, next := finish(pq, items, func(rk runWithKey, _ string) any { return rk.key }, func(rk runWithKey) string { return rk.run.ID })
	runs := make([]*store.Run, len(items))
	for i, rk := range items {
		runs[i] = rk.run
	}
	return runs, next, nil
}

// scanRunsWithKey appends the rows of q — run columns, then the sort value — to items.
func (s *Store) scanRunsWithKey(ctx context.Context, q string, args []any, items []runWithKey) ([]runWithKey, error) {
	rows, err := s.read.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var v sql.NullFloat64
		r, err := scanRun(withExtra{rows, []any{&v}})
		if err != nil {
			return nil, err
		}
		items = append(items, runWithKey{run: r, key: v.Float64})
	}
	return items, rows.Err()
}

func unixOrZero(zero bool, n int64) int64 {
	if zero {
		return 0
	}
	return n
}

// UpdateRun implements store.Runs.
func (s *Store) UpdateRun(ctx context.Context, namespace, id string, u store.RunUpdate) (*store.Run, error) {
	var sets []string
	var args []any
	add := func(col string, v any) { sets = append(sets, col+" = ?"); args = append(args, v) }
	if u.Phase != "" {
		if !u.Phase.Valid() {
			return nil, fmt.Errorf("update run %q: %w: unknown phase %q", id, store.ErrInvalidArgument, u.Phase)
		}
		add("phase", string(u.Phase))
	}
	if u.Message != nil {
		add("message", *u.Message)
	}
	if !u.StartedAt.IsZero() {
		add("started_at", u.StartedAt.UnixNano())
	}
	if !u.FinishedAt.IsZero() {
		add("finished_at", u.FinishedAt.UnixNano())
	}
	if u.Name != nil {
		add("name", *u.Name)
	}
	if u.Spec != nil {
		add("spec", u.Spec)
	}
	if len(sets) > 0 {
		args = append(args, namespace, id)
		err := mustAffect(s.exec(ctx, s.write, `UPDATE runs SET `+strings.Join(sets, ", ")+` WHERE namespace = ? AND id = ?`, args...))
		if err != nil {
			return nil, fmt.Errorf("update run %q: %w", id, s.classify(err))
		}
	}
	r, err := scanRun(s.queryRow(ctx, s.write, `SELECT `+runCols+` FROM runs r WHERE r.namespace = ? AND r.id = ?`, namespace, id))
	if err != nil {
		return nil, fmt.Errorf("update run %q: %w", id, s.classify(err))
	}
	return r, nil
}

// SetRunArchived implements store.Runs.
func (s *Store) SetRunArchived(ctx context.Context, namespace, id string, archived bool) error {
	err := mustAffect(s.exec(ctx, s.write, `UPDATE runs SET archived = ? WHERE namespace = ? AND id = ?`, archived, namespace, id))
	if err != nil {
		return fmt.Errorf("archive run %q: %w", id, s.classify(err))
	}
	return nil
}

// DeleteRun implements store.Runs.
func (s *Store) DeleteRun(ctx context.Context, namespace, id string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM runs WHERE namespace = ? AND id = ?`, namespace, id))
	if err != nil {
		return fmt.Errorf("delete run %q: %w", id, s.classify(err))
	}
	return nil
}

// unfinished is the condition and arguments selecting runs whose phase is not terminal.
func unfinished() (string, []any) {
	terminal := []store.Phase{store.PhaseSucceeded, store.PhaseFailed, store.PhaseError, store.PhaseSkipped, store.PhaseOmitted, store.PhaseCancelled}
	ph := make([]string, len(terminal))
	args := make([]any, len(terminal))
	for i, p := range terminal {
		ph[i], args[i] = "?", string(p)
	}
	return `r.phase NOT IN (` + strings.Join(ph, ", ") + `)`, args
}

// ListUnfinishedRunRefs implements store.Runs.
func (s *Store) ListUnfinishedRunRefs(ctx context.Context) ([]store.RunRef, error) {
	cond, args := unfinished()
	rows, err := s.query(ctx, s.read, `SELECT r.id, r.namespace, r.phase, r.created_at,
CASE WHEN r.spec IS NULL OR length(r.spec) = 0 THEN 0 ELSE 1 END FROM runs r WHERE `+cond+` ORDER BY r.created_at, r.id`, args...)
	if err != nil {
		return nil, fmt.Errorf("list unfinished runs: %w", err)
	}
	defer rows.Close()
	var refs []store.RunRef
	for rows.Next() {
		var ref store.RunRef
		var created sql.NullInt64
		var hasSpec int
		if err := rows.Scan(&ref.ID, &ref.Namespace, &ref.Phase, &created, &hasSpec); err != nil {
			return nil, fmt.Errorf("list unfinished runs: %w", err)
		}
		ref.CreatedAt, ref.HasSpec = fromNanos(created), hasSpec == 1
		refs = append(refs, ref)
	}
	return refs, rows.Err()
}

// UpsertNodes implements store.Runs.
func (s *Store) UpsertNodes(ctx context.Context, runID string, nodes []store.Node) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, n := range nodes {
			children, _ := json.Marshal(n.Children) // strings only
			if n.Children == nil {
				children = []byte("[]")
			}
			_, err := s.exec(ctx, tx, `INSERT INTO run_nodes (run_id, node_id, name, display_name, type, template, phase, message,
inputs, outputs, children, started_at, finished_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (run_id, node_id) DO UPDATE SET name = excluded.name, display_name = excluded.display_name,
type = excluded.type, template = excluded.template, phase = excluded.phase, message = excluded.message,
inputs = excluded.inputs, outputs = excluded.outputs, children = excluded.children,
started_at = excluded.started_at, finished_at = excluded.finished_at`,
				runID, n.ID, n.Name, n.DisplayName, n.Type, n.Template, string(n.Phase), n.Message,
				nullRawJSON(n.Inputs), nullRawJSON(n.Outputs), string(children), nanos(n.StartedAt), nanos(n.FinishedAt))
			if err != nil {
				return fmt.Errorf("node %q: %w", n.ID, s.classify(err))
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("upsert nodes of run %q: %w", runID, err)
	}
	return nil
}

// ListNodes implements store.Runs.
func (s *Store) ListNodes(ctx context.Context, runID string) ([]store.Node, error) {
	rows, err := s.query(ctx, s.read, `SELECT run_id, node_id, name, display_name, type, template, phase, message, inputs, outputs,
children, started_at, finished_at FROM run_nodes WHERE run_id = ? ORDER BY COALESCE(started_at, 0), node_id`, runID)
	if err != nil {
		return nil, fmt.Errorf("list nodes of run %q: %w", runID, err)
	}
	defer rows.Close()
	var nodes []store.Node
	for rows.Next() {
		var n store.Node
		var inputs, outputs sql.NullString
		var children string
		var started, finished sql.NullInt64
		if err := rows.Scan(&n.RunID, &n.ID, &n.Name, &n.DisplayName, &n.Type, &n.Template, &n.Phase, &n.Message,
			&inputs, &outputs, &children, &started, &finished); err != nil {
			return nil, fmt.Errorf("list nodes of run %q: %w", runID, err)
		}
		n.Inputs, n.Outputs = rawJSON(inputs), rawJSON(outputs)
		n.StartedAt, n.FinishedAt = fromNanos(started), fromNanos(finished)
		if err := json.Unmarshal([]byte(children), &n.Children); err != nil {
			return nil, fmt.Errorf("node %q children: %w", n.ID, err)
		}
		if len(n.Children) == 0 {
			n.Children = nil
		}
		nodes = append(nodes, n)
	}
	return nodes, rows.Err()
}

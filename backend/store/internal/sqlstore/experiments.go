package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kilnml/kiln/backend/store"
)

var experimentList = listSpec{
	keys: map[string]sortKey{"created_at": {expr: "e.created_at", numeric: true}, "name": {expr: "e.name"}},
	def:  "created_at desc",
	id:   "e.id",
}

const experimentCols = "e.id, e.namespace, e.name, e.description, e.tags, e.archived, e.created_at, e.updated_at"

func scanExperiment(sc interface{ Scan(...any) error }) (*store.Experiment, error) {
	var e store.Experiment
	var tags string
	var created, updated sql.NullInt64
	if err := sc.Scan(&e.ID, &e.Namespace, &e.Name, &e.Description, &tags, &e.Archived, &created, &updated); err != nil {
		return nil, err
	}
	var err error
	e.Tags, err = decodeMap(tags)
	e.CreatedAt, e.UpdatedAt = fromNanos(created), fromNanos(updated)
	return &e, err
}

// CreateExperiment implements store.Experiments.
func (s *Store) CreateExperiment(ctx context.Context, e *store.Experiment) error {
	if e.Namespace == "" || e.Name == "" {
		return fmt.Errorf("create experiment: %w: namespace and name are required", store.ErrInvalidArgument)
	}
	e.ID, e.CreatedAt = newID(), s.now()
	e.UpdatedAt = e.CreatedAt
	_, err := s.exec(ctx, s.write, `INSERT INTO experiments (id, namespace, name, description, tags, archived, created_at, updated_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, e.ID, e.Namespace, e.Name, e.Description, encodeMap(e.Tags), e.Archived, e.CreatedAt.UnixNano(), e.UpdatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("create experiment %q: %w", e.Name, s.classify(err))
	}
	return nil
}

// GetExperiment implements store.Experiments.
func (s *Store) GetExperiment(ctx context.Context, namespace, id string) (*store.Experiment, error) {
	e, err := scanExperiment(s.queryRow(ctx, s.read, `SELECT `+experimentCols+` FROM experiments e WHERE e.namespace = ? AND e.id = ?`, namespace, id))
	if err != nil {
		return nil, fmt.Errorf("get experiment %q: %w", id, s.classify(err))
	}
	return e, nil
}

// GetExperimentByName implements store.Experiments.
func (s *Store) GetExperimentByName(ctx context.Context, namespace, name string) (*store.Experiment, error) {
	e, err := scanExperiment(s.queryRow(ctx, s.read, `SELECT `+experimentCols+` FROM experiments e WHERE e.namespace = ? AND e.name = ?`, namespace, name))
	if err != nil {
		return nil, fmt.Errorf("get experiment named %q: %w", name, s.classify(err))
	}
	return e, nil
}

// ListExperiments implements store.Experiments.
func (s *Store) ListExperiments(ctx context.Context, opts store.ListOptions, includeArchived bool) ([]*store.Experiment, string, error) {
	pq, err := s.newPage(experimentList, opts, false)
	if err != nil {
		return nil, "", fmt.Errorf("list experiments: %w", err)
	}
	pq.b.where("e.namespace = " + pq.b.arg(opts.Namespace))
	if !includeArchived {
		pq.b.where("e.archived = " + pq.b.arg(false))
	}
	items, err := collect(ctx, s.read, pq, `SELECT `+experimentCols+` FROM experiments e`, scanExperiment)
	if err != nil {
		return nil, "", fmt.Errorf("list experiments: %w", err)
	}
	items, next := finish(pq, items, func(e *store.Experiment, key string) any {
		if key == "name" {
			return e.Name
		}
		return e.CreatedAt.UnixNano()
	}, func(e *store.Experiment) string { return e.ID })
	return items, next, nil
}

// UpdateExperiment implements store.Experiments.
func (s *Store) UpdateExperiment(ctx context.Context, e *store.Experiment) error {
	if e.Name == "" {
		return fmt.Errorf("update experiment %q: %w: name is required", e.ID, store.ErrInvalidArgument)
	}
	e.UpdatedAt = s.now()
	err := mustAffect(s.exec(ctx, s.write, `UPDATE experiments SET name = ?, description = ?, tags = ?, updated_at = ? WHERE namespace = ? AND id = ?`,
		e.Name, e.Description, encodeMap(e.Tags), e.UpdatedAt.UnixNano(), e.Namespace, e.ID))
	if err != nil {
		return fmt.Errorf("update experiment %q: %w", e.ID, s.classify(err))
	}
	return nil
}

// SetExperimentArchived implements store.Experiments.
func (s *Store) SetExperimentArchived(ctx context.Context, namespace, id string, archived bool) error {
	err := mustAffect(s.exec(ctx, s.write, `UPDATE experiments SET archived = ?, updated_at = ? WHERE namespace = ? AND id = ?`,
		archived, s.now().UnixNano(), namespace, id))
	if err != nil {
		return fmt.Errorf("archive experiment %q: %w", id, s.classify(err))
	}
	return nil
}

// DeleteExperiment implements store.Experiments.
func (s *Store) DeleteExperiment(ctx context.Context, namespace, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := s.queryRow(ctx, tx, `SELECT COUNT(*) FROM runs WHERE experiment_id = ?`, id).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: it has %d runs", store.ErrConflict, n)
		}
		return mustAffect(s.exec(ctx, tx, `DELETE FROM experiments WHERE namespace = ? AND id = ?`, namespace, id))
	})
	if err != nil {
		return fmt.Errorf("delete experiment %q: %w", id, s.classify(err))
	}
	return nil
}

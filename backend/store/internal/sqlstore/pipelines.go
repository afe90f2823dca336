package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kilnml/kiln/backend/store"
)

var pipelineList = listSpec{
	keys: map[string]sortKey{"created_at": {expr: "p.created_at", numeric: true}, "name": {expr: "p.name"}},
	def:  "created_at desc",
	id:   "p.id",
}

const pipelineCols = "p.id, p.namespace, p.name, p.description, p.created_at"

func scanPipeline(sc interface{ Scan(...any) error }) (*store.Pipeline, error) {
	var p store.Pipeline
	var created sql.NullInt64
	if err := sc.Scan(&p.ID, &p.Namespace, &p.Name, &p.Description, &created); err != nil {
		return nil, err
	}
	p.CreatedAt = fromNanos(created)
	return &p, nil
}

// CreatePipeline implements store.Pipelines.
func (s *Store) CreatePipeline(ctx context.Context, p *store.Pipeline) error {
	if p.Namespace == "" || p.Name == "" {
		return fmt.Errorf("create pipeline: %w: namespace and name are required", store.ErrInvalidArgument)
	}
	p.ID, p.CreatedAt = newID(), s.now()
	_, err := s.exec(ctx, s.write, `INSERT INTO pipelines (id, namespace, name, description, created_at) VALUES (?, ?, ?, ?, ?)`,
		p.ID, p.Namespace, p.Name, p.Description, p.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("create pipeline %q: %w", p.Name, s.classify(err))
	}
	return nil
}

// GetPipeline implements store.Pipelines.
func (s *Store) GetPipeline(ctx context.Context, namespace, id string) (*store.Pipeline, error) {
	p, err := scanPipeline(s.queryRow(ctx, s.read, `SELECT `+pipelineCols+` FROM pipelines p WHERE p.namespace = ? AND p.id = ?`, namespace, id))
	if err != nil {
		return nil, fmt.Errorf("get pipeline %q: %w", id, s.classify(err))
	}
	return p, nil
}

// GetPipelineByName implements store.Pipelines.
func (s *Store) GetPipelineByName(ctx context.Context, namespace, name string) (*store.Pipeline, error) {
	p, err := scanPipeline(s.queryRow(ctx, s.read, `SELECT `+pipelineCols+` FROM pipelines p WHERE p.namespace = ? AND p.name = ?`, namespace, name))
	if err != nil {
		return nil, fmt.Errorf("get pipeline named %q: %w", name, s.classify(err))
	}
	return p, nil
}

// ListPipelines implements store.Pipelines.
func (s *Store) ListPipelines(ctx context.Context, opts store.ListOptions) ([]*store.Pipeline, string, error) {
	pq, err := s.newPage(pipelineList, opts, false)
	if err != nil {
		return nil, "", fmt.Errorf("list pipelines: %w", err)
	}
	pq.b.where("p.namespace = " + pq.b.arg(opts.Namespace))
	items, err := collect(ctx, s.read, pq, `SELECT `+pipelineCols+` FROM pipelines p`, scanPipeline)
	if err != nil {
		return nil, "", fmt.Errorf("list pipelines: %w", err)
	}
	items, next := finish(pq, items, func(p *store.Pipeline, key string) any {
		if key == "name" {
			return p.Name
		}
		return p.CreatedAt.UnixNano()
	}, func(p *store.Pipeline) string { return p.ID })
	return items, next, nil
}

// collect runs a page query and scans its rows.
func collect[T any](ctx context.Context, db *sql.DB, pq *pageQuery, selectFrom string, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	q, args := pq.build(selectFrom)
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var items []T
	for rows.Next() {
		it, err := scan(rows)
		if err != nil {
			return nil, err
		}
		items = append(items, it)
	}
	return items, rows.Err()
}

// DeletePipeline implements store.Pipelines.
func (s *Store) DeletePipeline(ctx context.Context, namespace, id string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM pipelines WHERE namespace = ? AND id = ?`, namespace, id))
	if err != nil {
		return fmt.Errorf("delete pipeline %q: %w", id, s.classify(err))
	}
	return nil
}

var versionList = listSpec{
	keys: map[string]sortKey{"created_at": {expr: "v.created_at", numeric: true}, "name": {expr: "v.name"}},
	def:  "created_at desc",
	id:   "v.id",
}

const versionCols = "v.id, v.namespace, v.pipeline_id, v.name, v.description, v.spec, v.parameters_schema, v.created_at"

func scanVersion(sc interface{ Scan(...any) error }) (*store.PipelineVersion, error) {
	var v store.PipelineVersion
	var schema sql.NullString
	var created sql.NullInt64
	if err := sc.Scan(&v.ID, &v.Namespace, &v.PipelineID, &v.Name, &v.Description, &v.Spec, &schema, &created); err != nil {
		return nil, err
	}
	v.ParametersSchema, v.CreatedAt = rawJSON(schema), fromNanos(created)
	return &v, nil
}

// CreatePipelineVersion implements store.Pipelines.
func (s *Store) CreatePipelineVersion(ctx context.Context, v *store.PipelineVersion) error {
	if v.Namespace == "" || v.PipelineID == "" || v.Name == "" || len(v.Spec) == 0 {
		return fmt.Errorf("create pipeline version: %w: namespace, pipeline, name and spec are required", store.ErrInvalidArgument)
	}
	v.ID, v.CreatedAt = newID(), s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := s.queryRow(ctx, tx, `SELECT 1 FROM pipelines WHERE namespace = ? AND id = ?`, v.Namespace, v.PipelineID).Scan(&one); err != nil {
			return fmt.Errorf("pipeline %q: %w", v.PipelineID, s.classify(err))
		}
		_, err := s.exec(ctx, tx, `INSERT INTO pipeline_versions (id, namespace, pipeline_id, name, description, spec, parameters_schema, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, v.ID, v.Namespace, v.PipelineID, v.Name, v.Description, v.Spec, nullRawJSON(v.ParametersSchema), v.CreatedAt.UnixNano())
		return s.classify(err)
	})
	if err != nil {
		return fmt.Errorf("create pipeline version %q: %w", v.Name, err)
	}
	return nil
}

// GetPipelineVersion implements store.Pipelines.
func (s *Store) GetPipelineVersion(ctx context.Context, namespace, id string) (*store.PipelineVersion, error) {
	v, err := scanVersion(s.queryRow(ctx, s.read, `SELECT `+versionCols+` FROM pipeline_versions v WHERE v.namespace = ? AND v.id = ?`, namespace, id))
	if err != nil {
		return nil, fmt.Errorf("get pipeline version %q: %w", id, s.classify(err))
	}
	return v, nil
}

// ListPipelineVersions implements store.Pipelines.
func (s *Store) ListPipelineVersions(ctx context.Context, pipelineID string, opts store.ListOptions) ([]*store.PipelineVersion, string, error) {
	pq, err := s.newPage(versionList, opts, false)
	if err != nil {
		return nil, "", fmt.Errorf("list pipeline versions: %w", err)
	}
	pq.b.where("v.namespace = " + pq.b.arg(opts.Namespace))
	pq.b.where("v.pipeline_id = " + pq.b.arg(pipelineID))
	items, err := collect(ctx, s.read, pq, `SELECT `+versionCols+` FROM pipeline_versions v`, scanVersion)
	if err != nil {
		return nil, "", fmt.Errorf("list pipeline versions: %w", err)
	}
	items, next := finish(pq, items, func(v *store.PipelineVersion, key string) any {
		if key == "name" {
			return v.Name
		}
		return v.CreatedAt.UnixNano()
	}, func(v *store.PipelineVersion) string { return v.ID })
	return items, next, nil
}

// DeletePipelineVersion implements store.Pipelines.
func (s *Store) DeletePipelineVersion(ctx context.Context, namespace, id string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM pipeline_versions WHERE namespace = ? AND id = ?`, namespace, id))
	if err != nil {
		return fmt.Errorf("delete pipeline version %q: %w", id, s.classify(err))
	}
	return nil
}

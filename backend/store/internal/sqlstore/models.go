package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kilnml/kiln/backend/store"
)

var modelList = listSpec{
	keys: map[string]sortKey{"created_at": {expr: "m.created_at", numeric: true}, "name": {expr: "m.name"}},
	def:  "name asc",
	id:   "m.name",
}

const modelCols = "m.namespace, m.name, m.description, m.tags, m.created_at, m.updated_at"

func scanModel(sc interface{ Scan(...any) error }) (*store.RegisteredModel, error) {
	var m store.RegisteredModel
	var tags string
	var created, updated sql.NullInt64
	if err := sc.Scan(&m.Namespace, &m.Name, &m.Description, &tags, &created, &updated); err != nil {
		return nil, err
	}
	m.CreatedAt, m.UpdatedAt = fromNanos(created), fromNanos(updated)
	var err error
	m.Tags, err = decodeMap(tags)
	return &m, err
}

// CreateRegisteredModel implements store.Models.
func (s *Store) CreateRegisteredModel(ctx context.Context, m *store.RegisteredModel) error {
	if m.Namespace == "" || m.Name == "" {
		return fmt.Errorf("create registered model: %w: namespace and name are required", store.ErrInvalidArgument)
	}
	m.CreatedAt = s.now()
	m.UpdatedAt = m.CreatedAt
	_, err := s.exec(ctx, s.write, `INSERT INTO registered_models (namespace, name, description, tags, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)`,
		m.Namespace, m.Name, m.Description, encodeMap(m.Tags), m.CreatedAt.UnixNano(), m.UpdatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("create registered model %q: %w", m.Name, s.classify(err))
	}
	return nil
}

// GetRegisteredModel implements store.Models.
func (s *Store) GetRegisteredModel(ctx context.Context, namespace, name string) (*store.RegisteredModel, error) {
	m, err := scanModel(s.queryRow(ctx, s.read, `SELECT `+modelCols+` FROM registered_models m WHERE m.namespace = ? AND m.name = ?`, namespace, name))
	if err != nil {
		return nil, fmt.Errorf("get registered model %q: %w", name, s.classify(err))
	}
	return m, nil
}

// ListRegisteredModels implements store.Models.
func (s *Store) ListRegisteredModels(ctx context.Context, opts store.ListOptions) ([]*store.RegisteredModel, string, error) {
	pq, err := s.newPage(modelList, opts, false)
	if err != nil {
		return nil, "", fmt.Errorf("list registered models: %w", err)
	}
	pq.b.where("m.namespace = " + pq.b.arg(opts.Namespace))
	items, err := collect(ctx, s.read, pq, `SELECT `+modelCols+` FROM registered_models m`, scanModel)
	if err != nil {
		return nil, "", fmt.Errorf("list registered models: %w", err)
	}
	items, next := finish(pq, items, func(m *store.RegisteredModel, key string) any {
		if key == "name" {
			return m.Name
		}
		return m.CreatedAt.UnixNano()
	}, func(m *store.RegisteredModel) string { return m.Name })
	return items, next, nil
}

// UpdateRegisteredModel implements store.Models.
func (s *Store) UpdateRegisteredModel(ctx context.Context, m *store.RegisteredModel) error {
	m.UpdatedAt = s.now()
	err := mustAffect(s.exec(ctx, s.write, `UPDATE registered_models SET description = ?, tags = ?, updated_at = ? WHERE namespace = ? AND name = ?`,
		m.Description, encodeMap(m.Tags), m.UpdatedAt.UnixNano(), m.Namespace, m.Name))
	if err != nil {
		return fmt.Errorf("update registered model %q: %w", m.Name, s.classify(err))
	}
	return nil
}

// DeleteRegisteredModel implements store.Models.
func (s *Store) DeleteRegisteredModel(ctx context.Context, namespace, name string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM registered_models WHERE namespace = ? AND name = ?`, namespace, name))
	if err != nil {
		return fmt.Errorf("delete registered model %q: %w", name, s.classify(err))
	}
	return nil
}

const versionColsMV = `v.namespace, v.model_name, v.version, v.source, v.artifact_id, v.run_id, v.description, v.tags, v.status,
v.created_at, v.updated_at`

func scanModelVersion(sc interface{ Scan(...any) error }) (*store.ModelVersion, error) {
	var v store.ModelVersion
	var artifact, run sql.NullString
	var tags string
	var created, updated sql.NullInt64
	if err := sc.Scan(&v.Namespace, &v.ModelName, &v.Version, &v.Source, &artifact, &run, &v.Description, &tags, &v.Status,
		&created, &updated); err != nil {
		return nil, err
	}
	v.ArtifactID, v.RunID = artifact.String, run.String
	v.CreatedAt, v.UpdatedAt = fromNanos(created), fromNanos(updated)
	var err error
	v.Tags, err = decodeMap(tags)
	return &v, err
}

// CreateModelVersion implements store.Models.
func (s *Store) CreateModelVersion(ctx context.Context, mv *store.ModelVersion) error {
	if mv.Status == "" {
		mv.Status = "READY"
	}
	mv.CreatedAt = s.now()
	mv.UpdatedAt = mv.CreatedAt
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		// Touching the model row first locks it (PostgreSQL) so concurrent creators allocate
		// versions one after the other; SQLite serializes writers anyway.
		err := mustAffect(s.exec(ctx, tx, `UPDATE registered_models SET updated_at = ? WHERE namespace = ? AND name = ?`,
			mv.CreatedAt.UnixNano(), mv.Namespace, mv.ModelName))
		if err != nil {
			return fmt.Errorf("registered model %q: %w", mv.ModelName, err)
		}
		var one int
		if mv.ArtifactID != "" {
			if err := s.queryRow(ctx, tx, `SELECT 1 FROM artifacts WHERE namespace = ? AND id = ?`, mv.Namespace, mv.ArtifactID).Scan(&one); err != nil {
				return fmt.Errorf("artifact %q: %w", mv.ArtifactID, s.classify(err))
			}
		}
		if mv.RunID != "" {
			if err := s.queryRow(ctx, tx, `SELECT 1 FROM runs WHERE namespace = ? AND id = ?`, mv.Namespace, mv.RunID).Scan(&one); err != nil {
				return fmt.Errorf("run %q: %w", mv.RunID, s.classify(err))
			}
		}
		if err := s.queryRow(ctx, tx, `SELECT COALESCE(MAX(version), 0) + 1 FROM model_versions WHERE namespace = ? AND model_name = ?`,
			mv.Namespace, mv.ModelName).Scan(&mv.Version); err != nil {
			return err
		}
		_, err = s.exec(ctx, tx, `INSERT INTO model_versions (namespace, model_name, version, source, artifact_id, run_id, description, tags,
status, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			mv.Namespace, mv.ModelName, mv.Version, mv.Source, nullString(mv.ArtifactID), nullString(mv.RunID), mv.Description,
			encodeMap(mv.Tags), mv.Status, mv.CreatedAt.UnixNano(), mv.UpdatedAt.UnixNano())
		return s.classify(err)
	})
	if err != nil {
		return fmt.Errorf("create version of model %q: %w", mv.ModelName, err)
	}
	return nil
}

// GetModelVersion implements store.Models.
func (s *Store) GetModelVersion(ctx context.Context, namespace, model string, version int64) (*store.ModelVersion, error) {
	v, err := scanModelVersion(s.queryRow(ctx, s.read, `SELECT `+versionColsMV+` FROM model_versions v
WHERE v.namespace = ? AND v.model_name = ? AND v.version = ?`, namespace, model, version))
	if err != nil {
		return nil, fmt.Errorf("get version %d of model %q: %w", version, model, s.classify(err))
	}
	return v, nil
}

// ListModelVersions implements store.Models.
func (s *Store) ListModelVersions(ctx context.Context, namespace, model string) ([]*store.ModelVersion, error) {
	rows, err := s.query(ctx, s.read, `SELECT `+versionColsMV+` FROM model_versions v WHERE v.namespace = ? AND v.model_name = ?
ORDER BY v.version DESC`, namespace, model)
	if err != nil {
		return nil, fmt.Errorf("list versions of model %q: %w", model, err)
	}
	defer rows.Close()
	var out []*store.ModelVersion
	for rows.Next() {
		v, err := scanModelVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("list versions of model %q: %w", model, err)
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// UpdateModelVersion implements store.Models.
func (s *Store) UpdateModelVersion(ctx context.Context, mv *store.ModelVersion) error {
	mv.UpdatedAt = s.now()
	err := mustAffect(s.exec(ctx, s.write, `UPDATE model_versions SET description = ?, tags = ?, status = ?, updated_at = ?
WHERE namespace = ? AND model_name = ? AND version = ?`, mv.Description, encodeMap(mv.Tags), mv.Status, mv.UpdatedAt.UnixNano(),
		mv.Namespace, mv.ModelName, mv.Version))
	if err != nil {
		return fmt.Errorf("update version %d of model %q: %w", mv.Version, mv.ModelName, s.classify(err))
	}
	return nil
}

// DeleteModelVersion implements store.Models.
func (s *Store) DeleteModelVersion(ctx context.Context, namespace, model string, version int64) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM model_versions WHERE namespace = ? AND model_name = ? AND version = ?`,
		namespace, model, version))
	if err != nil {
		return fmt.Errorf("delete version %d of model %q: %w", version, model, s.classify(err))
	}
	return nil
}

// SetAlias implements store.Models.
func (s *Store) SetAlias(ctx context.Context, a store.Alias) error {
	if a.Alias == "" {
		return fmt.Errorf("set alias: %w: alias is required", store.ErrInvalidArgument)
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := s.queryRow(ctx, tx, `SELECT 1 FROM model_versions WHERE namespace = ? AND model_name = ? AND version = ?`,
			a.Namespace, a.ModelName, a.Version).Scan(&one); err != nil {
			return fmt.Errorf("version %d: %w", a.Version, s.classify(err))
		}
		_, err := s.exec(ctx, tx, `INSERT INTO model_aliases (namespace, model_name, alias, version) VALUES (?, ?, ?, ?)
ON CONFLICT (namespace, model_name, alias) DO UPDATE SET version = excluded.version`, a.Namespace, a.ModelName, a.Alias, a.Version)
		return s.classify(err)
	})
	if err != nil {
		return fmt.Errorf("set alias %q of model %q: %w", a.Alias, a.ModelName, err)
	}
	return nil
}

// DeleteAlias implements store.Models.
func (s *Store) DeleteAlias(ctx context.Context, namespace, model, alias string) error {
	err := mustAffect(s.exec(ctx, s.write, `DELETE FROM model_aliases WHERE namespace = ? AND model_name = ? AND alias = ?`, namespace, model, alias))
	if err != nil {
		return fmt.Errorf("delete alias %q of model %q: %w", alias, model, s.classify(err))
	}
	return nil
}

// GetModelVersionByAlias implements store.Models.
func (s *Store) GetModelVersionByAlias(ctx context.Context, namespace, model, alias string) (*store.ModelVersion, error) {
	v, err := scanModelVersion(s.queryRow(ctx, s.read, `SELECT `+versionColsMV+` FROM model_aliases a
JOIN model_versions v ON v.namespace = a.namespace AND v.model_name = a.model_name AND v.version = a.version
WHERE a.namespace = ? AND a.model_name = ? AND a.alias = ?`, namespace, model, alias))
	if err != nil {
		return nil, fmt.Errorf("resolve alias %q of model %q: %w", alias, model, s.classify(err))
	}
	return v, nil
}

// ListAliases implements store.Models.
func (s *Store) ListAliases(ctx context.Context, namespace, model string) ([]store.Alias, error) {
	rows, err := s.query(ctx, s.read, `SELECT namespace, model_name, alias, version FROM model_aliases WHERE namespace = ? AND model_name = ?
ORDER BY alias`, namespace, model)
	if err != nil {
		return nil, fmt.Errorf("list aliases of model %q: %w", model, err)
	}
	defer rows.Close()
	var out []store.Alias
	for rows.Next() {
		var a store.Alias
		if err := rows.Scan(&a.Namespace, &a.ModelName, &a.Alias, &a.Version); err != nil {
			return nil, fmt.Errorf("list aliases of model %q: %w", model, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

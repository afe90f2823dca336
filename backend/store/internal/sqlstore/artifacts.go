package sqlstore

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/kilnml/kiln/backend/store"
)

var artifactList = listSpec{
	keys: map[string]sortKey{"created_at": {expr: "a.created_at", numeric: true}, "name": {expr: "a.name"}},
	def:  "created_at desc",
	id:   "a.id",
}

const artifactCols = "a.id, a.namespace, a.run_id, a.node_id, a.name, a.uri, a.type, a.digest, a.size, a.metadata, a.created_at"

func scanArtifact(sc interface{ Scan(...any) error }) (*store.Artifact, error) {
	var a store.Artifact
	var run sql.NullString
	var meta string
	var created sql.NullInt64
	if err := sc.Scan(&a.ID, &a.Namespace, &run, &a.NodeID, &a.Name, &a.URI, &a.Type, &a.Digest, &a.Size, &meta, &created); err != nil {
		return nil, err
	}
	a.RunID, a.CreatedAt = run.String, fromNanos(created)
	var err error
	a.Metadata, err = decodeMap(meta)
	return &a, err
}

// CreateArtifact implements store.Artifacts.
func (s *Store) CreateArtifact(ctx context.Context, a *store.Artifact) error {
	if a.Namespace == "" || a.URI == "" {
		return fmt.Errorf("create artifact: %w: namespace and uri are required", store.ErrInvalidArgument)
	}
	if a.ID == "" {
		a.ID = newID()
	}
	a.CreatedAt = s.now()
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if a.RunID != "" {
			var one int
			if err := s.queryRow(ctx, tx, `SELECT 1 FROM runs WHERE namespace = ? AND id = ?`, a.Namespace, a.RunID).Scan(&one); err != nil {
				return fmt.Errorf("run %q: %w", a.RunID, s.classify(err))
			}
		}
		_, err := s.exec(ctx, tx, `INSERT INTO artifacts (id, namespace, run_id, node_id, name, uri, type, digest, size, metadata, created_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`, a.ID, a.Namespace, nullString(a.RunID), a.NodeID, a.Name, a.URI, a.Type, a.Digest, a.Size,
			encodeMap(a.Metadata), a.CreatedAt.UnixNano())
		if err != nil {
			return s.classify(err)
		}
		if a.RunID == "" {
			return nil
		}
		return s.insertLineage(ctx, tx, store.LineageEvent{ArtifactID: a.ID, RunID: a.RunID, NodeID: a.NodeID, Kind: store.Produced, CreatedAt: a.CreatedAt})
	})
	if err != nil {
		return fmt.Errorf("create artifact %q: %w", a.Name, err)
	}
	return nil
}

// GetArtifact implements store.Artifacts.
func (s *Store) GetArtifact(ctx context.Context, namespace, id string) (*store.Artifact, error) {
	a, err := scanArtifact(s.queryRow(ctx, s.read, `SELECT `+artifactCols+` FROM artifacts a WHERE a.namespace = ? AND a.id = ?`, namespace, id))
	if err != nil {
		return nil, fmt.Errorf("get artifact %q: %w", id, s.classify(err))
	}
	return a, nil
}

// ListArtifacts implements store.Artifacts.
func (s *Store) ListArtifacts(ctx context.Context, opts store.ListArtifactsOptions) ([]*store.Artifact, string, error) {
	pq, err := s.newPage(artifactList, opts.ListOptions, false)
	if err != nil {
		return nil, "", fmt.Errorf("list artifacts: %w", err)
	}
	pq.b.where("a.namespace = " + pq.b.arg(opts.Namespace))
	if opts.RunID != "" {
		pq.b.where("a.run_id = " + pq.b.arg(opts.RunID))
	}
	items, err := collect(ctx, s.read, pq, `SELECT `+artifactCols+` FROM artifacts a`, scanArtifact)
	if err != nil {
		return nil, "", fmt.Errorf("list artifacts: %w", err)
	}
	items, next := finish(pq, items, func(a *store.Artifact, key string) any {
		if key == "name" {
			return a.Name
		}
		return a.CreatedAt.UnixNano()
	}, func(a *store.Artifact) string { return a.ID })
	return items, next, nil
}

func (s *Store) insertLineage(ctx context.Context, q queryer, e store.LineageEvent) error {
	if e.Kind != store.Produced && e.Kind != store.Consumed {
		return fmt.Errorf("%w: lineage kind %q: want produced or consumed", store.ErrInvalidArgument, e.Kind)
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	_, err := s.exec(ctx, q, `INSERT INTO lineage (artifact_id, run_id, node_id, kind, created_at) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (artifact_id, run_id, node_id, kind) DO NOTHING`, e.ArtifactID, e.RunID, e.NodeID, string(e.Kind), e.CreatedAt.UnixNano())
	if err != nil {
		return fmt.Errorf("lineage of artifact %q: %w", e.ArtifactID, s.classify(err))
	}
	return nil
}

// RecordLineage implements store.Artifacts.
func (s *Store) RecordLineage(ctx context.Context, events []store.LineageEvent) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		for _, e := range events {
			if err := s.insertLineage(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record lineage: %w", err)
	}
	return nil
}

func (s *Store) lineage(ctx context.Context, where, id string) ([]store.LineageEvent, error) {
	rows, err := s.query(ctx, s.read, `SELECT artifact_id, run_id, node_id, kind, created_at FROM lineage WHERE `+where+` = ?
ORDER BY created_at, artifact_id, run_id, node_id, kind`, id)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.LineageEvent
	for rows.Next() {
		var e store.LineageEvent
		var created sql.NullInt64
		if err := rows.Scan(&e.ArtifactID, &e.RunID, &e.NodeID, &e.Kind, &created); err != nil {
			return nil, err
		}
		e.CreatedAt = fromNanos(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ArtifactLineage implements store.Artifacts.
func (s *Store) ArtifactLineage(ctx context.Context, artifactID string) ([]store.LineageEvent, error) {
	out, err := s.lineage(ctx, "artifact_id", artifactID)
	if err != nil {
		return nil, fmt.Errorf("lineage of artifact %q: %w", artifactID, err)
	}
	return out, nil
}

// RunLineage implements store.Artifacts.
func (s *Store) RunLineage(ctx context.Context, runID string) ([]store.LineageEvent, error) {
	out, err := s.lineage(ctx, "run_id", runID)
	if err != nil {
		return nil, fmt.Errorf("lineage of run %q: %w", runID, err)
	}
	return out, nil
}

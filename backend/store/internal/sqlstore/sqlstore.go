// Package sqlstore implements store.Store over database/sql for both SQLite and PostgreSQL. The
// two dialects share every query; a Dialect supplies placeholders, error classification and the
// handful of type differences. The public packages store/sqlite and store/postgres open the
// connections, run migrations and wrap this implementation.
package sqlstore

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// Dialect describes what differs between the SQL databases.
type Dialect struct {
	// Filter selects the filter package's SQL flavour, which also decides placeholders.
	Filter filter.Dialect
	// IsUniqueViolation reports a unique or primary key constraint failure.
	IsUniqueViolation func(error) bool
	// IsForeignKeyViolation reports a foreign key constraint failure.
	IsForeignKeyViolation func(error) bool
	// MaxBatchRows bounds the rows of one multi-row INSERT of metrics.
	MaxBatchRows int
	// MetricID is the column that orders metric points logged at the same step (insertion order).
	MetricID string
	// GroupCommit writes concurrent LogBatch calls in shared transactions from one goroutine
	// (see groupWriter). It suits a database with one writer connection, where batches wait for
	// each other anyway and the commit is what they can share.
	GroupCommit bool
}

// Store implements store.Store. Writes go to write (for SQLite, a single connection, so writes
// are serialized in the process); reads go to read.
type Store struct {
	d     Dialect
	write *sql.DB
	read  *sql.DB
	// now is the clock; tests of the store itself keep the real one.
	now func() time.Time

	// metricStmt inserts a full chunk of metric points (Dialect.MaxBatchRows rows).
	metricStmtOnce sync.Once
	metricStmt     *sql.Stmt
	metricStmtErr  error

	// group writes LogBatch calls when Dialect.GroupCommit is set.
	group *groupWriter
}

var _ store.Store = (*Store)(nil)

// New returns a Store over migrated databases. write and read may be the same *sql.DB.
func New(d Dialect, write, read *sql.DB) *Store {
	if d.MaxBatchRows == 0 {
		d.MaxBatchRows = 500
	}
	s := &Store{d: d, write: write, read: read, now: func() time.Time { return time.Now().UTC().Round(0) }}
	if d.GroupCommit {
		s.group = newGroupWriter(s)
	}
	return s
}

// Close closes both connection pools.
func (s *Store) Close() error {
	if s.group != nil {
		s.group.close()
	}
	var err error
	if s.metricStmt != nil {
		err = s.metricStmt.Close()
	}
	err = errors.Join(err, s.write.Close())
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// rebind rewrites ? placeholders into $n for PostgreSQL. Queries given to it contain no ? in
// literals.
func (s *Store) rebind(q string) string {
	if s.d.Filter != filter.PostgreSQL {
		return q
	}
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// queryer is what *sql.DB and *sql.Tx have in common.
type queryer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

func (s *Store) exec(ctx context.Context, q queryer, query string, args ...any) (sql.Result, error) {
	return q.ExecContext(ctx, s.rebind(query), args...)
}

func (s *Store) queryRow(ctx context.Context, q queryer, query string, args ...any) *sql.Row {
	return q.QueryRowContext(ctx, s.rebind(query), args...)
}

func (s *Store) query(ctx context.Context, q queryer, query string, args ...any) (*sql.Rows, error) {
	return q.QueryContext(ctx, s.rebind(query), args...)
}

// inTx runs fn in a write transaction and commits it.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// classify maps driver errors to the store's sentinels.
func (s *Store) classify(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, sql.ErrNoRows):
		return store.ErrNotFound
	case s.d.IsUniqueViolation(err):
		return fmt.Errorf("%w: %v", store.ErrAlreadyExists, err)
	case s.d.IsForeignKeyViolation(err):
		return fmt.Errorf("%w: referenced resource: %v", store.ErrNotFound, err)
	}
	return err
}

// mustAffect turns "no row changed" into ErrNotFound.
func mustAffect(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// newID returns 32 random lowercase hex characters (the shape of an MLflow run_uuid).
func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// nanos stores a time as Unix nanoseconds; the zero time is NULL.
func nanos(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

func fromNanos(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return time.Unix(0, n.Int64).UTC()
}

// nullString stores "" as NULL, for optional references.
func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func encodeJSON(v any) (string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", err
	}
	return string(b), nil
}

func encodeMap(m map[string]string) string {
	if len(m) == 0 {
		return "{}"
	}
	s, _ := encodeJSON(m) // a map of strings always marshals
	return s
}

func decodeMap(s string) (map[string]string, error) {
	if s == "" || s == "{}" {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		return nil, fmt.Errorf("decode map: %w", err)
	}
	return m, nil
}

func rawJSON(s sql.NullString) json.RawMessage {
	if !s.Valid || s.String == "" {
		return nil
	}
	return json.RawMessage(s.String)
}

func nullRawJSON(r json.RawMessage) any {
	if len(r) == 0 {
		return nil
	}
	return string(r)
}

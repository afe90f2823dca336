// Package postgres is the production Store: PostgreSQL through pgx v5's database/sql driver.
// It shares its queries with the SQLite store; only the schema types and error codes differ.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"strconv"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/internal/migrate"
	"github.com/kilnml/kiln/backend/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures Open.
type Options struct {
	// DSN is a libpq-style connection string or postgres:// URL.
	DSN string
	// MaxConns bounds the connection pool; 0 means 20.
	MaxConns int
}

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

// Open connects, checks the server is reachable and migrates the schema.
func Open(ctx context.Context, opts Options) (*Store, error) {
	db, err := sql.Open("pgx", opts.DSN)
	if err != nil {
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	n := opts.MaxConns
	if n <= 0 {
		n = 20
	}
	db.SetMaxOpenConns(n)
	db.SetMaxIdleConns(n)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", err)
	}
	ms, err := migrate.Load(migrations, "migrations")
	if err == nil {
		err = migrate.Up(ctx, db, ms, func(i int) string { return "$" + strconv.Itoa(i) })
	}
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("migrate postgres store: %w", err)
	}
	d := sqlstore.Dialect{
		Filter:                filter.PostgreSQL,
		IsUniqueViolation:     func(err error) bool { return hasCode(err, "23505") },
		IsForeignKeyViolation: func(err error) bool { return hasCode(err, "23503") },
		// 4 parameters per row; PostgreSQL allows 65535 per statement.
		MaxBatchRows: 2000,
		MetricID:     "id",
	}
	return &Store{Store: sqlstore.New(d, db, db)}, nil
}

func hasCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

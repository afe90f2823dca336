// Package sqlite is the embedded Store: one SQLite file opened with the pure-Go modernc.org/sqlite
// driver, so the server needs no cgo and no database server.
//
// The database runs in WAL mode with foreign keys on and a busy timeout. All writes go through a
// single connection, so writers never contend for SQLite's lock inside one process, while a
// separate pool of read-only connections serves reads concurrently with writes.
//
// # Durability
//
// With synchronous=NORMAL (the default) a committed transaction is in the WAL file before the
// call returns, so it survives the process being killed (kill -9, a panic, an OOM kill); only an
// operating-system crash or power loss can lose the most recent commits. Set Options.Synchronous
// to "FULL" to fsync on every commit and survive power loss too, at a cost in write throughput.
// Either way LogBatch returns only after the transaction holding the batch has committed.
//
// # Metric ingestion
//
// A LogBatch is one transaction: a check that the run exists, one upsert of latest_metrics per
// series in the batch, the points in prepared multi-row INSERTs of 1,000 rows, and the commit.
// Profiles of 1,000-point batches through the HTTP API show the time in SQLite itself: B-tree
// inserts into metrics and its (series_id, step) index, writing the dirty pages to the WAL at
// commit, and the automatic checkpoints that follow; decoding the request is under a tenth.
// Statement journals (which undo one failed statement inside a transaction) are kept in memory
// (temp_store=MEMORY): in temporary files they were about a third of the write syscalls, and
// they play no part in durability. With synchronous=FULL, concurrent batches are written by
// one goroutine in shared transactions, a savepoint per batch, each caller answered after the
// shared commit (group commit), so they share the fsync. With NORMAL a commit does not fsync;
// grouping measured no gain there, so each batch has its own transaction.
//
// Figures on the 2-core development machine (shared and loaded, so wall-time figures vary by
// ±30% between runs; CPU time per batch is steadier), 1,000-point batches through POST
// /api/v1/runs/{id}/log-batch (go test ./backend/server -bench LogBatchHTTP -benchtime 4s
// -count 2), each client continuing its series' steps as a training loop does:
//
//	clients  points/s     process CPU per batch (server and in-process clients)
//	1        275k–284k    4.0–4.1 ms
//	4        317k–341k    4.3–4.6 ms
//	8        261k–317k    4.4–5.3 ms
//
// 10,000-point batches from 4 clients: 384k–389k points/s, 37 ms CPU per batch. The worst case
// is a client re-sending the same steps in every batch: each batch's index entries then land
// all over the (series_id, step) index, about a thousand pages rewritten per commit, and 1,000-
// point batches manage 36k–38k points/s from one client and 61k–62k from four (15–23 ms CPU per
// batch, growing with the index); in-memory statement journals took about 15% off that case's
// CPU. The store alone (BenchmarkLogBatchConcurrent, no HTTP) needs 2.0–2.7 ms CPU per batch.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/backend/store/internal/migrate"
	"github.com/kilnml/kiln/backend/store/internal/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Options configures Open. The zero value opens DefaultPath with synchronous=NORMAL.
type Options struct {
	// Path is the database file; empty means DefaultPath(). Parent directories are created.
	Path string
	// Synchronous is SQLite's synchronous setting in WAL mode: "NORMAL" (default) or "FULL".
	Synchronous string
	// ReadConns is the size of the read-only connection pool; 0 means 2 × GOMAXPROCS (at least 4).
	ReadConns int
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	*sqlstore.Store
}

var _ store.Store = (*Store)(nil)

// DefaultPath returns the default database file: kiln/kiln.db under $XDG_DATA_HOME, or under
// ~/.local/share when it is unset (the platform's application-data directory on macOS and Windows).
func DefaultPath() (string, error) {
	if d := os.Getenv("XDG_DATA_HOME"); d != "" {
		return filepath.Join(d, "kiln", "kiln.db"), nil
	}
	switch runtime.GOOS {
	case "darwin", "windows":
		d, err := os.UserConfigDir()
		if err != nil {
			return "", fmt.Errorf("default database path: %w", err)
		}
		return filepath.Join(d, "kiln", "kiln.db"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("default database path: %w", err)
	}
	return filepath.Join(home, ".local", "share", "kiln", "kiln.db"), nil
}

// Open opens (creating if needed) and migrates the database.
func Open(ctx context.Context, opts Options) (*Store, error) {
	path := opts.Path
	if path == "" {
		var err error
		if path, err = DefaultPath(); err != nil {
			return nil, err
		}
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("open sqlite store: path %q must not contain ? or #", path)
	}
	sync := strings.ToUpper(opts.Synchronous)
	switch sync {
	case "":
		sync = "NORMAL"
	case "NORMAL", "FULL":
	default:
		return nil, fmt.Errorf("open sqlite store: synchronous %q: want NORMAL or FULL", opts.Synchronous)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("open sqlite store: %w", err)
	}
	common := "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(" + sync + ")"
	// A larger page cache for the writer keeps big batches from spilling to the WAL mid-transaction.
	// Statement journals (which undo one failed statement inside a transaction) and savepoints
	// live in memory: they were a third of the writes of metric ingestion when kept in temporary
	// files, and they play no part in durability — the WAL and its commit do.
	write, err := sql.Open("sqlite", path+common+"&_pragma=cache_size(-65536)&_pragma=temp_store(MEMORY)&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetMaxIdleConns(1)
	write.SetConnMaxLifetime(0)
	write.SetConnMaxIdleTime(0)

	ms, err := migrate.Load(migrations, "migrations")
	if err == nil {
		err = migrate.Up(ctx, write, ms, func(int) string { return "?" })
	}
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("migrate sqlite store %s: %w", path, err)
	}

	read, err := sql.Open("sqlite", path+common+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	n := opts.ReadConns
	if n <= 0 {
		n = max(4, 2*runtime.GOMAXPROCS(0))
	}
	read.SetMaxOpenConns(n)
	read.SetMaxIdleConns(n)

	d := sqlstore.Dialect{
		Filter:                filter.SQLite,
		IsUniqueViolation:     func(err error) bool { return isConstraint(err, "UNIQUE", "PRIMARY KEY") },
		IsForeignKeyViolation: func(err error) bool { return isConstraint(err, "FOREIGN KEY") },
		// 4 parameters per row; SQLite allows 32766 per statement.
		MaxBatchRows: 1000,
		MetricID:     "rowid",
		// With FULL every commit waits for an fsync, which concurrent batches can share. With
		// NORMAL a commit only appends to the WAL, and grouping measured no gain while its
		// savepoints cost a copy of every page a batch touches.
		GroupCommit: sync == "FULL",
	}
	return &Store{Store: sqlstore.New(d, write, read)}, nil
}

// isConstraint reports a constraint failure of one of the kinds named in SQLite's message
// ("UNIQUE constraint failed: ...").
func isConstraint(err error, kinds ...string) bool {
	var se *sqlite.Error
	if !errors.As(err, &se) || se.Code()&0xff != sqlite3.SQLITE_CONSTRAINT {
		return false
	}
	for _, k := range kinds {
		if strings.Contains(se.Error(), k+" constraint failed") {
			return true
		}
	}
	return false
}

package postgres

import (
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestStartGivesFreshDatabases(t *testing.T) {
	dsns := map[string]bool{}
	for range 2 {
		dsn := Start(t)
		if dsns[dsn] {
			t.Fatalf("database %s handed out twice", dsn)
		}
		dsns[dsn] = true
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		if _, err := db.ExecContext(t.Context(), "CREATE TABLE t (x int)"); err != nil {
			t.Fatalf("fresh database: %v", err)
		}
		var n int
		if err := db.QueryRowContext(t.Context(), "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'public'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("fresh database has %d tables, want only the one just created", n)
		}
	}
}

func TestFindBinDirOverride(t *testing.T) {
	t.Setenv("KILN_POSTGRES_BIN", t.TempDir())
	if _, err := FindBinDir(); !errors.Is(err, ErrNotInstalled) {
		t.Fatalf("empty KILN_POSTGRES_BIN: %v, want ErrNotInstalled", err)
	}
}

// recorder is a testing.TB that records how Start ended the test.
type recorder struct {
	testing.TB
	skipped, failed bool
	msg             string
}

func (r *recorder) Helper()          {}
func (r *recorder) Cleanup(func())   {}
func (r *recorder) Skip(args ...any) { r.skipped, r.msg = true, fmt.Sprint(args...); runtime.Goexit() }
func (r *recorder) Fatal(args ...any) {
	r.failed, r.msg = true, fmt.Sprint(args...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed, r.msg = true, fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestMissingBinariesSkipLocallyFailInCI(t *testing.T) {
	t.Setenv("KILN_POSTGRES_BIN", t.TempDir())
	for _, ci := range []string{"", "true"} {
		t.Setenv("CI", ci)
		r := &recorder{}
		done := make(chan struct{})
		go func() {
			defer close(done)
			Start(r)
		}()
		<-done
		if ci == "true" && !r.failed || ci == "" && !r.skipped {
			t.Errorf("CI=%q: skipped %v failed %v", ci, r.skipped, r.failed)
		}
		if !strings.Contains(r.msg, "apt-get install postgresql") {
			t.Errorf("CI=%q: message %q does not say what to install", ci, r.msg)
		}
	}
}

// TestReapOrphans starts a server that claims a dead owner and checks the next server start
// stops it and removes its directory.
func TestReapOrphans(t *testing.T) {
	if _, err := FindBinDir(); err != nil {
		t.Skip(err)
	}
	srv, err := NewServer(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// Re-home the running server under a directory name whose owner PID cannot exist.
	orphanDir := filepath.Join(os.TempDir(), dirPrefix+"2147483646-test")
	if err := os.Rename(srv.dir, orphanDir); err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	// The data directory moved under a running server; stop it by its postmaster PID instead.
	srv.dir = orphanDir
	next, err := NewServer(t.Context())
	if err != nil {
		srv.Stop()
		t.Fatal(err)
	}
	defer next.Stop()
	if _, err := os.Stat(orphanDir); !os.IsNotExist(err) {
		srv.Stop()
		t.Errorf("orphan directory %s still exists (%v)", orphanDir, err)
	}
}

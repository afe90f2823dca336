package postgres

import (
	"database/sql"
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

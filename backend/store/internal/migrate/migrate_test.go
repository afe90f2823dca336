package migrate

import (
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/google/go-cmp/cmp"
	_ "modernc.org/sqlite"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		files   fstest.MapFS
		want    []int
		wantErr string
	}{
		{
			name:  "ordered by number, not by name",
			files: numbered(12),
			want:  []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12},
		},
		{
			name:    "gap",
			files:   fstest.MapFS{"m/0001_a.sql": {Data: []byte("A")}, "m/0003_c.sql": {Data: []byte("C")}},
			wantErr: `migration "0003_c.sql": want version 2`,
		},
		{
			name:    "bad name",
			files:   fstest.MapFS{"m/first.sql": {Data: []byte("A")}},
			wantErr: "must be NNNN_description.sql",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ms, err := Load(tt.files, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Load error %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, m := range ms {
				got = append(got, m.Version)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("versions (-want +got):\n%s", d)
			}
		})
	}
}

func TestUp(t *testing.T) {
	ctx := t.Context()
	db, err := sql.Open("sqlite", t.TempDir()+"/m.db")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	q := func(int) string { return "?" }
	v1 := []Migration{{1, "0001_a.sql", "CREATE TABLE a (x INTEGER)"}}
	v2 := append(v1, Migration{2, "0002_b.sql", "CREATE TABLE b (y INTEGER); INSERT INTO a VALUES (1)"})
	if err := Up(ctx, db, v1, q); err != nil {
		t.Fatal(err)
	}
	for range 2 { // applying again is a no-op
		if err := Up(ctx, db, v2, q); err != nil {
			t.Fatal(err)
		}
	}
	var rows int
	if err := db.QueryRow("SELECT COUNT(*) FROM a").Scan(&rows); err != nil || rows != 1 {
		t.Errorf("migration 2 ran %d times (err %v), want once", rows, err)
	}
	if err := Up(ctx, db, v1, q); err == nil || !strings.Contains(err.Error(), "newer than this binary") {
		t.Errorf("older binary on a newer schema: %v", err)
	}
	bad := append(v2, Migration{3, "0003_bad.sql", "CREATE TABLE c (z INTEGER); SELECT nonsense FROM nowhere"})
	if err := Up(ctx, db, bad, q); err == nil {
		t.Fatal("failing migration reported success")
	}
	var tables int
	if err := db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE name = 'c'").Scan(&tables); err != nil || tables != 0 {
		t.Errorf("failed migration left table c behind (%d, %v)", tables, err)
	}
}

// numbered returns migrations 1_m.sql ... n_m.sql (unpadded, so "10_m.sql" sorts before "2_m.sql"
// by name) and a file that is not a migration.
func numbered(n int) fstest.MapFS {
	fs := fstest.MapFS{"m/README.md": {Data: []byte("not a migration")}}
	for i := 1; i <= n; i++ {
		fs[fmt.Sprintf("m/%d_m.sql", i)] = &fstest.MapFile{Data: []byte("SELECT 1")}
	}
	return fs
}

package filter

import (
	"errors"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestSQL(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	tests := []struct {
		name       string
		expr       string
		wantSQLite string
		wantPG     string
		wantArgs   []any
	}{
		{
			name:       "metric above",
			expr:       `metrics.accuracy > 0.9`,
			wantSQLite: `EXISTS (SELECT 1 FROM latest_metrics t WHERE t.run_id = r.id AND t.key = ? AND t.value > ?)`,
			wantPG:     `EXISTS (SELECT 1 FROM latest_metrics t WHERE t.run_id = r.id AND t.key = CAST($3 AS TEXT) AND t.value > CAST($4 AS DOUBLE PRECISION))`,
			wantArgs:   []any{"accuracy", 0.9},
		},
		{
			name:       "int literal against a metric becomes a double, literal on the left flips",
			expr:       `1 <= metrics["val-loss"]`,
			wantSQLite: `EXISTS (SELECT 1 FROM latest_metrics t WHERE t.run_id = r.id AND t.key = ? AND t.value >= ?)`,
			wantPG:     `EXISTS (SELECT 1 FROM latest_metrics t WHERE t.run_id = r.id AND t.key = CAST($3 AS TEXT) AND t.value >= CAST($4 AS DOUBLE PRECISION))`,
			wantArgs:   []any{"val-loss", 1.0},
		},
		{
			name:       "numeric param and a run field",
			expr:       `double(params.lr) < 0.1 && phase != "Failed"`,
			wantSQLite: `(EXISTS (SELECT 1 FROM params t WHERE t.run_id = r.id AND t.key = ? AND t.num_value < ?)) AND (r.phase <> ?)`,
			wantPG:     `(EXISTS (SELECT 1 FROM params t WHERE t.run_id = r.id AND t.key = CAST($3 AS TEXT) AND t.num_value < CAST($4 AS DOUBLE PRECISION))) AND (r.phase <> CAST($5 AS TEXT))`,
			wantArgs:   []any{"lr", 0.1, "Failed"},
		},
		{
			name:       "negation, has and in map",
			expr:       `!has(tags.team) || "owner" in tags`,
			wantSQLite: `(NOT (EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ?))) OR (EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = ?))`,
			wantPG:     `(NOT (EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = CAST($3 AS TEXT)))) OR (EXISTS (SELECT 1 FROM tags t WHERE t.run_id = r.id AND t.key = CAST($4 AS TEXT)))`,
			wantArgs:   []any{"team", "owner"},
		},
		{
			name:       "in list",
			expr:       `phase in ["Succeeded", "Failed"]`,
			wantSQLite: `r.phase IN (?, ?)`,
			wantPG:     `r.phase IN (CAST($3 AS TEXT), CAST($4 AS TEXT))`,
			wantArgs:   []any{"Succeeded", "Failed"},
		},
		{
			name:       "string functions escape their pattern",
			expr:       `name.startsWith("a_b%[*?\\")`,
			wantSQLite: `+r.name GLOB ?`,
			wantPG:     `r.name LIKE CAST($3 AS TEXT) ESCAPE '\'`,
			wantArgs:   nil, // the pattern differs per dialect; checked below
		},
		{
			name:       "timestamp on a nullable column",
			expr:       `started_at >= timestamp("2026-01-02T03:04:05Z")`,
			wantSQLite: `COALESCE(r.started_at >= ?, FALSE)`,
			wantPG:     `COALESCE(r.started_at >= CAST($3 AS BIGINT), FALSE)`,
			wantArgs:   []any{ts},
		},
		{
			name:       "optional reference reads as empty",
			expr:       `experiment_id == ""`,
			wantSQLite: `COALESCE(r.experiment_id, '') = ?`,
			wantPG:     `COALESCE(r.experiment_id, '') = CAST($3 AS TEXT)`,
			wantArgs:   []any{""},
		},
		{
			name:       "two map values",
			expr:       `metrics.a > metrics.b`,
			wantSQLite: `COALESCE((SELECT t.value FROM latest_metrics t WHERE t.run_id = r.id AND t.key = ?) > (SELECT t.value FROM latest_metrics t WHERE t.run_id = r.id AND t.key = ?), FALSE)`,
			wantPG:     `COALESCE((SELECT t.value FROM latest_metrics t WHERE t.run_id = r.id AND t.key = CAST($3 AS TEXT)) > (SELECT t.value FROM latest_metrics t WHERE t.run_id = r.id AND t.key = CAST($4 AS TEXT)), FALSE)`,
			wantArgs:   []any{"a", "b"},
		},
		{
			name:       "boolean field and literal",
			expr:       `!archived && true`,
			wantSQLite: `(NOT (r.archived)) AND (TRUE)`,
			wantPG:     `(NOT (r.archived)) AND (TRUE)`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(tt.expr)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.expr, err)
			}
			for _, d := range []struct {
				dialect Dialect
				want    string
			}{{SQLite, tt.wantSQLite}, {PostgreSQL, tt.wantPG}} {
				got, args, err := f.SQL(d.dialect, 3)
				if err != nil {
					t.Fatalf("SQL: %v", err)
				}
				if diff := cmp.Diff(d.want, got); diff != "" {
					t.Errorf("dialect %d SQL (-want +got):\n%s", d.dialect, diff)
				}
				if tt.wantArgs != nil {
					if diff := cmp.Diff(tt.wantArgs, args); diff != "" {
						t.Errorf("dialect %d args (-want +got):\n%s", d.dialect, diff)
					}
				}
			}
		})
	}
}

func TestPatternEscaping(t *testing.T) {
	f, err := Parse(`name.startsWith("a_b%[*?\\") && name.endsWith("x") && name.contains("y")`)
	if err != nil {
		t.Fatal(err)
	}
	_, args, _ := f.SQL(SQLite, 1)
	if diff := cmp.Diff([]any{`a_b%[[][*][?]\*`, "*x", "*y*"}, args); diff != "" {
		t.Errorf("GLOB patterns (-want +got):\n%s", diff)
	}
	_, args, _ = f.SQL(PostgreSQL, 1)
	if diff := cmp.Diff([]any{`a\_b\%[*?\\%`, "%x", "%y%"}, args); diff != "" {
		t.Errorf("LIKE patterns (-want +got):\n%s", diff)
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		expr string
		want string // substring of the error
	}{
		{`metrics.a + 1.0 > 2.0`, `function "_+_" at 1:11 is not supported`},
		{`size(name) > 3`, `function "size" at 1:5 is not supported`},
		{`name.matches("x.*")`, `function "matches" at 1:13 is not supported`},
		{`params[name] == "x"`, `an index that is not a map key literal at 1:7`},
		{`name.startsWith(phase)`, `startsWith() with an argument that is not a string literal at 1:17`},
		{`"ab".startsWith(name)`, `startsWith() with an argument that is not a string literal`},
		{`timestamp("yesterday") < created_at`, `timestamp("yesterday")`},
		{`timestamp("9999-01-01T00:00:00Z") < created_at`, `outside the years 1678-2261`},
		{`double(params.lr) < double("abc")`, `double() of a string that is not a finite number`},
		{`double(tags.x) > 1.0`, `double() of anything but a param`},
		{`params.exists(k, k == "lr")`, `undeclared reference to 'exists'`},
		{`name`, `has type string, want bool`},
		{`unknown == 1`, `undeclared reference to 'unknown'`},
		{`metrics.a == "x"`, `found no matching overload`},
		{`name in [phase]`, `a list element that is not a literal`},
		{`"x" in [name]`, "`in` with a literal on the left"},
		{`name == "` + strings.Repeat("x", MaxLength) + `"`, `longer than`},
	}
	for _, tt := range tests {
		t.Run(tt.expr[:min(len(tt.expr), 40)], func(t *testing.T) {
			_, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("Parse(%q) succeeded, want an error containing %q", tt.expr, tt.want)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Parse(%q) = %v, want it to contain %q", tt.expr, err, tt.want)
			}
		})
	}
}

func TestNilFilter(t *testing.T) {
	var f *Filter
	got, args, err := f.SQL(PostgreSQL, 1)
	if err != nil || got != "TRUE" || len(args) != 0 {
		t.Errorf("nil filter: %q %v %v", got, args, err)
	}
}

var dollar = regexp.MustCompile(`\$(\d+)`)

// checkSQL verifies the invariants of any translation: placeholders match arguments one to one
// (PostgreSQL numbers them in order from firstArg) and no quote appears in the text except the
// two fixed fragments the translator writes itself, so no value was interpolated.
func checkSQL(t *testing.T, expr string, f *Filter) {
	t.Helper()
	const first = 4
	for _, d := range []Dialect{SQLite, PostgreSQL} {
		sql, args, err := f.SQL(d, first)
		if err != nil {
			t.Fatalf("Parse(%q) succeeded but SQL failed: %v", expr, err)
		}
		if d == SQLite {
			if n := strings.Count(sql, "?"); n != len(args) {
				t.Fatalf("%q: %d placeholders, %d args: %s", expr, n, len(args), sql)
			}
		} else {
			m := dollar.FindAllStringSubmatch(sql, -1)
			if len(m) != len(args) {
				t.Fatalf("%q: %d placeholders, %d args: %s", expr, len(m), len(args), sql)
			}
			for i, g := range m {
				if n, _ := strconv.Atoi(g[1]); n != first+i {
					t.Fatalf("%q: placeholder %d is $%d, want $%d: %s", expr, i, n, first+i, sql)
				}
			}
		}
		rest := strings.ReplaceAll(strings.ReplaceAll(sql, `, '')`, ""), `ESCAPE '\'`, "")
		if strings.Contains(rest, "'") {
			t.Fatalf("%q: quote in SQL text: %s", expr, sql)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`metrics.accuracy > 0.9 && params.lr == "0.1"`,
		`double(params.lr) < 0.1 || !has(tags.x)`,
		`name.startsWith("a'b") && phase in ["Running", "Pending"]`,
		`created_at > timestamp("2026-01-01T00:00:00Z")`,
		`(metrics.a > metrics.b) == archived`,
		`"k" in params && tags["a b"].endsWith("%")`,
		`-1 < metrics.x && 2u > 1u`,
		`experiment_id == "x'); DROP TABLE runs; --"`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, expr string) {
		flt, err := Parse(expr)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q) error %v does not wrap ErrInvalid", expr, err)
			}
			return
		}
		checkSQL(t, expr, flt)
	})
}

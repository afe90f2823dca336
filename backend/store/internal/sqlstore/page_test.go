package sqlstore

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

func TestListSpecParse(t *testing.T) {
	spec := listSpec{
		keys: map[string]sortKey{"created_at": {expr: "x.created_at", numeric: true}, "name": {expr: "x.name"}},
		def:  "created_at desc",
		id:   "x.id",
	}
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"", "created_at desc", false},
		{"created_at", "created_at desc", false}, // the default key keeps its default direction
		{"name", "name asc", false},
		{"NAME DESC", "name desc", false},
		{"  name   asc ", "name asc", false},
		{"name up", "", true},
		{"phase", "", true},
		{"name asc extra", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := spec.parse(tt.in)
			if tt.wantErr {
				if !errors.Is(err, store.ErrInvalidArgument) {
					t.Fatalf("parse(%q) error %v, want ErrInvalidArgument", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.spec != tt.want {
				t.Errorf("parse(%q) = %q, want %q", tt.in, got.spec, tt.want)
			}
		})
	}
}

func TestTokenRoundTrip(t *testing.T) {
	in := pageToken{Order: "name asc", Filter: `name == "a"`, Key: "run-1", ID: "abc"}
	got, err := decodeToken(encodeToken(in))
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(in, got); d != "" {
		t.Errorf("token round trip (-want +got):\n%s", d)
	}
	for _, bad := range []string{"!!!", "e30", "bm90IGpzb24"} { // not base64, {} is fine, "not json"
		_, err := decodeToken(bad)
		if bad == "e30" {
			if err != nil {
				t.Errorf("decodeToken(%q): %v", bad, err)
			}
			continue
		}
		if !errors.Is(err, store.ErrInvalidArgument) {
			t.Errorf("decodeToken(%q) error %v, want ErrInvalidArgument", bad, err)
		}
	}
}

func TestRebindAndPlaceholders(t *testing.T) {
	pg := &Store{d: Dialect{Filter: filter.PostgreSQL}}
	if got, want := pg.rebind("a = ? AND b IN (?, ?)"), "a = $1 AND b IN ($2, $3)"; got != want {
		t.Errorf("rebind = %q, want %q", got, want)
	}
	lite := &Store{d: Dialect{Filter: filter.SQLite}}
	if got := lite.rebind("a = ?"); got != "a = ?" {
		t.Errorf("SQLite rebind changed the query: %q", got)
	}
	if got, want := valuesList(2, 3), "(?, ?, ?), (?, ?, ?)"; got != want {
		t.Errorf("valuesList = %q, want %q", got, want)
	}
}

// A page token fixes the key and ID of the last row; the next page's condition and arguments
// must follow the dialect's placeholders, with the filter's arguments numbered after them.
func TestNewPageArguments(t *testing.T) {
	f, err := filter.Parse(`name == "x"`)
	if err != nil {
		t.Fatal(err)
	}
	spec := runList
	s := &Store{d: Dialect{Filter: filter.PostgreSQL}}
	tok := encodeToken(pageToken{Order: "created_at desc", Filter: f.String(), Key: "42", ID: "id9"})
	pq, err := s.newPage(spec, store.ListOptions{Namespace: "ns", Filter: f, PageToken: tok, PageSize: 10}, true)
	if err != nil {
		t.Fatal(err)
	}
	pq.b.where("r.namespace = " + pq.b.arg("ns"))
	q, args := pq.build("SELECT r.id FROM runs r")
	want := `SELECT r.id FROM runs r WHERE (r.created_at, r.id) < ($1, $2) AND (r.name = CAST($3 AS TEXT)) AND r.namespace = $4 ORDER BY r.created_at DESC, r.id DESC LIMIT 11`
	if d := cmp.Diff(want, q); d != "" {
		t.Errorf("query (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]any{int64(42), "id9", "x", "ns"}, args); d != "" {
		t.Errorf("args (-want +got):\n%s", d)
	}
}

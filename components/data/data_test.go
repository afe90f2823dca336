package data

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kilnml/kiln/components/ml/dataset"
	"github.com/kilnml/kiln/dsl"
)

func writeFile(t *testing.T, name, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestImport(t *testing.T) {
	src := writeFile(t, "iris.csv", "a,b,label\n1,2,x\n3,,y\n5,6,x\n")
	tests := []struct {
		name    string
		source  string
		rows    int
		columns []string
		wantErr bool
	}{
		{"path", src, 3, []string{"a", "b", "label"}, false},
		{"file URL", "file://" + src, 3, []string{"a", "b", "label"}, false},
		{"missing", filepath.Join(t.TempDir(), "nope.csv"), 0, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := importData(context.Background(), ImportIn{Source: dsl.Of(tc.source), Format: dsl.Of("")})
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if err != nil {
				return
			}
			if got := out.Rows.Get(); got != tc.rows {
				t.Errorf("rows = %d, want %d", got, tc.rows)
			}
			if diff := cmp.Diff(tc.columns, out.Columns.Get()); diff != "" {
				t.Errorf("columns (-want +got):\n%s", diff)
			}
			b, err := os.ReadFile(out.Data.Get().Path)
			if err != nil || string(b) != "a,b,label\n1,2,x\n3,,y\n5,6,x\n" {
				t.Errorf("imported file %q, %v", b, err)
			}
		})
	}
}

func TestProfile(t *testing.T) {
	src := writeFile(t, "d.csv", "a,b,label\n1,2,x\n3,,y\n5,6,x\n")
	out, err := profileData(context.Background(), ProfileIn{Data: dsl.Of(dsl.Dataset{Path: src})})
	if err != nil {
		t.Fatal(err)
	}
	if out.Rows.Get() != 3 || out.Missing.Get() != 1 {
		t.Errorf("rows %d missing %d, want 3 and 1", out.Rows.Get(), out.Missing.Get())
	}
	b, err := os.ReadFile(out.Profile.Get().Path)
	if err != nil {
		t.Fatal(err)
	}
	var p dataset.Profile
	if err := json.Unmarshal(b, &p); err != nil {
		t.Fatal(err)
	}
	a := p.Columns[0]
	if a.Name != "a" || *a.Mean != 3 || *a.Min != 1 || *a.Max != 5 || *a.Std != 2 {
		t.Errorf("column a profile %+v, want mean 3, min 1, max 5, std 2", a)
	}
	if got := p.Columns[2].Top; len(got) != 2 || got[0] != (dataset.ValueCount{Value: "x", Count: 2}) {
		t.Errorf("label top values %+v, want x:2 first", got)
	}
}

func TestImportParquet(t *testing.T) {
	ctx := context.Background()
	tbl, err := dataset.ReadCSV(strings.NewReader("a,label\n1.5,x\n2.5,y\n"), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "d.parquet")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	if err := dataset.WriteParquet(f, tbl); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out, err := importData(ctx, ImportIn{Source: dsl.Of(p), Format: dsl.Of("")})
	if err != nil {
		t.Fatal(err)
	}
	if out.Rows.Get() != 2 || !cmp.Equal(out.Columns.Get(), []string{"a", "label"}) {
		t.Errorf("rows %d columns %v", out.Rows.Get(), out.Columns.Get())
	}
	prof, err := profileData(ctx, ProfileIn{Data: out.Data})
	if err != nil || prof.Rows.Get() != 2 {
		t.Errorf("profile of the parquet file: %v rows, %v", prof.Rows.Get(), err)
	}
}

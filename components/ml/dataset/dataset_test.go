package dataset_test

import (
	"bytes"
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/kilnml/kiln/components/ml/dataset"
)

const sample = `id,height,smoker,colour,score
1,1.8,true,red,10
2,NA,false,blue,
3,1.65,TRUE,,7
4,1.7,False,red,8
`

func TestReadCSVInfersSchema(t *testing.T) {
	tab, err := dataset.ReadCSV(strings.NewReader(sample), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want := dataset.Schema{Fields: []dataset.Field{
		{Name: "id", Kind: dataset.KindInt},
		{Name: "height", Kind: dataset.KindFloat},
		{Name: "smoker", Kind: dataset.KindBool},
		{Name: "colour", Kind: dataset.KindString},
		{Name: "score", Kind: dataset.KindInt},
	}}
	if diff := cmp.Diff(want, tab.Schema()); diff != "" {
		t.Errorf("schema (-want +got):\n%s", diff)
	}
	h, _ := tab.Floats("height")
	if !math.IsNaN(h[1]) || h[2] != 1.65 {
		t.Errorf("height = %v, want NaN at row 1", h)
	}
	c, _ := tab.Column("colour")
	if !c.IsMissing(2) || c.IsMissing(0) {
		t.Errorf("colour missing mask = %v", c.Missing)
	}
	s, _ := tab.Strings("smoker")
	if diff := cmp.Diff([]string{"true", "false", "true", "false"}, s); diff != "" {
		t.Errorf("smoker (-want +got):\n%s", diff)
	}
}

func TestReadCSVErrors(t *testing.T) {
	tests := []struct {
		name, in string
		opts     dataset.CSVOptions
		want     string
	}{
		{"empty", "", dataset.CSVOptions{}, "empty input"},
		{"ragged", "a,b\n1\n", dataset.CSVOptions{}, "wrong number of fields"},
		{"duplicate header", "a,a\n1,2\n", dataset.CSVOptions{}, `duplicate name "a"`},
		{"forced kind", "a\nx\n", dataset.CSVOptions{Kinds: map[string]dataset.Kind{"a": dataset.KindFloat}}, `row 2 column "a": "x" is not a number`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dataset.ReadCSV(strings.NewReader(tt.in), tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	tab, err := dataset.ReadCSV(strings.NewReader(sample), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dataset.WriteCSV(&buf, tab); err != nil {
		t.Fatal(err)
	}
	back, err := dataset.ReadCSV(&buf, dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tab, back, cmpopts.EquateNaNs()); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

func TestParquetRoundTrip(t *testing.T) {
	tab, err := dataset.ReadCSV(strings.NewReader(sample), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := dataset.WriteParquet(&buf, tab); err != nil {
		t.Fatal(err)
	}
	back, err := dataset.ReadParquet(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	// Parquet groups order columns by name; compare column by column.
	if back.NumRows() != tab.NumRows() || len(back.Columns) != len(tab.Columns) {
		t.Fatalf("got %d rows × %d columns, want %d × %d", back.NumRows(), len(back.Columns), tab.NumRows(), len(tab.Columns))
	}
	for _, want := range tab.Columns {
		got, err := back.Column(want.Name)
		if err != nil {
			t.Fatal(err)
		}
		// The Parquet reader always allocates a string column's missing mask.
		if want.Kind == dataset.KindString && want.Missing == nil {
			want.Missing = make([]bool, want.Len())
		}
		if diff := cmp.Diff(want, *got, cmpopts.EquateNaNs()); diff != "" {
			t.Errorf("column %s (-want +got):\n%s", want.Name, diff)
		}
	}
}

func TestProfile(t *testing.T) {
	tab, err := dataset.ReadCSV(strings.NewReader(sample), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := dataset.NewProfile(tab)
	f := func(v float64) *float64 { return &v }
	want := dataset.Profile{Rows: 4, Columns: []dataset.ColumnProfile{
		{Name: "id", Kind: dataset.KindInt, Count: 4, Distinct: 4, Min: f(1), Max: f(4), Mean: f(2.5), Std: f(math.Sqrt(5.0 / 3))},
		{Name: "height", Kind: dataset.KindFloat, Count: 3, Missing: 1, Distinct: 3, Min: f(1.65), Max: f(1.8), Mean: f((1.8 + 1.65 + 1.7) / 3), Std: f(0.07637626158259733)},
		{Name: "smoker", Kind: dataset.KindBool, Count: 4, Distinct: 2, Min: f(0), Max: f(1), Mean: f(0.5), Std: f(math.Sqrt(1.0 / 3)),
			Top: []dataset.ValueCount{{Value: "false", Count: 2}, {Value: "true", Count: 2}}},
		{Name: "colour", Kind: dataset.KindString, Count: 3, Missing: 1, Distinct: 2,
			Top: []dataset.ValueCount{{Value: "red", Count: 2}, {Value: "blue", Count: 1}}},
		{Name: "score", Kind: dataset.KindInt, Count: 3, Missing: 1, Distinct: 3, Min: f(7), Max: f(10), Mean: f(25.0 / 3), Std: f(math.Sqrt(7.0 / 3))},
	}}
	if diff := cmp.Diff(want, p, cmpopts.EquateApprox(0, 1e-12)); diff != "" {
		t.Errorf("profile (-want +got):\n%s", diff)
	}
}

func TestTableOps(t *testing.T) {
	tab, err := dataset.ReadCSV(strings.NewReader(sample), dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	sub := tab.Take([]int{3, 0})
	ids, _ := sub.Floats("id")
	if diff := cmp.Diff([]float64{4, 1}, ids); diff != "" {
		t.Errorf("Take ids (-want +got):\n%s", diff)
	}
	m, err := tab.Matrix([]string{"id", "smoker"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([][]float64{{1, 1}, {2, 0}, {3, 1}, {4, 0}}, m); diff != "" {
		t.Errorf("Matrix (-want +got):\n%s", diff)
	}
	if _, err := tab.Matrix([]string{"colour"}); err == nil {
		t.Error("Matrix of a string column: no error")
	}
	if _, err := tab.Column("nope"); err == nil {
		t.Error("missing column: no error")
	}
	d, err := tab.Drop("score")
	if err != nil || len(d.Columns) != 4 {
		t.Errorf("Drop: %v, %d columns", err, len(d.Columns))
	}
	if _, err := dataset.NewTable(dataset.Column{Name: "a", Kind: dataset.KindFloat, Num: []float64{1}}, dataset.Column{Name: "a", Kind: dataset.KindFloat, Num: []float64{1, 2}}); err == nil {
		t.Error("duplicate name and ragged columns: no error")
	}
}

func TestBreastCancerFile(t *testing.T) {
	tab, err := dataset.ReadFile(context.Background(), filepath.Join("..", "..", "..", "datasets", "breast-cancer", "data.csv"), "", dataset.CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	p := dataset.NewProfile(tab)
	if p.Rows != 569 || len(p.Columns) != 31 {
		t.Fatalf("%d rows × %d columns, want 569 × 31", p.Rows, len(p.Columns))
	}
	for _, c := range p.Columns[:30] {
		if c.Kind != dataset.KindFloat && c.Kind != dataset.KindInt || c.Missing != 0 {
			t.Errorf("column %s: kind %s, %d missing", c.Name, c.Kind, c.Missing)
		}
	}
	want := []dataset.ValueCount{{Value: "benign", Count: 357}, {Value: "malignant", Count: 212}}
	if diff := cmp.Diff(want, p.Columns[30].Top); diff != "" {
		t.Errorf("diagnosis counts (-want +got):\n%s", diff)
	}
	if got := *p.Columns[0].Max; got != 28.11 {
		t.Errorf("max mean_radius = %v, want 28.11 (from the UCI description)", got)
	}
}

func FuzzReadCSV(f *testing.F) {
	f.Add(sample)
	f.Add("a\n?\n1e309\n")
	f.Add("x,y\n\"q,\",1\n")
	f.Fuzz(func(t *testing.T, in string) {
		tab, err := dataset.ReadCSV(strings.NewReader(in), dataset.CSVOptions{})
		if err != nil {
			return
		}
		if err := tab.Validate(); err != nil {
			t.Fatalf("ReadCSV returned an invalid table: %v", err)
		}
		var buf bytes.Buffer
		if err := dataset.WriteCSV(&buf, tab); err != nil {
			t.Fatal(err)
		}
		_ = dataset.NewProfile(tab)
	})
}

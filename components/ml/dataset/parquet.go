package dataset

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/parquet-go/parquet-go"
)

// ReadParquet reads a Parquet file with a flat schema: every top-level field must be a
// required or optional leaf (no lists, maps or nested groups). Boolean columns become bool,
// INT32/INT64 become int, FLOAT/DOUBLE become float and BYTE_ARRAY/FIXED_LEN_BYTE_ARRAY become
// string. Null values are missing.
func ReadParquet(r io.ReaderAt, size int64) (*Table, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	fields := f.Schema().Fields()
	n := int(f.NumRows())
	t := &Table{Columns: make([]Column, len(fields))}
	for j, fld := range fields {
		if !fld.Leaf() || fld.Repeated() {
			return nil, fmt.Errorf("read parquet: column %q: only flat, non-repeated columns are supported", fld.Name())
		}
		c := Column{Name: fld.Name()}
		switch fld.Type().Kind() {
		case parquet.Boolean:
			c.Kind = KindBool
		case parquet.Int32, parquet.Int64:
			c.Kind = KindInt
		case parquet.Float, parquet.Double:
			c.Kind = KindFloat
		case parquet.ByteArray, parquet.FixedLenByteArray:
			c.Kind = KindString
		default:
			return nil, fmt.Errorf("read parquet: column %q: unsupported physical type %s", fld.Name(), fld.Type().Kind())
		}
		if c.Kind.Numeric() {
			c.Num = make([]float64, 0, n)
		} else {
			c.Str = make([]string, 0, n)
			c.Missing = make([]bool, 0, n)
		}
		t.Columns[j] = c
	}
	buf := make([]parquet.Row, 256)
	for _, rg := range f.RowGroups() {
		if err := readRowGroup(t, rg, buf); err != nil {
			return nil, err
		}
	}
	return t, t.Validate()
}

func readRowGroup(t *Table, rg parquet.RowGroup, buf []parquet.Row) error {
	rows := rg.Rows()
	defer rows.Close()
	for {
		k, err := rows.ReadRows(buf)
		for _, row := range buf[:k] {
			if len(row) != len(t.Columns) {
				return fmt.Errorf("read parquet: row has %d values, want %d", len(row), len(t.Columns))
			}
			for _, v := range row {
				appendValue(&t.Columns[v.Column()], v)
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("read parquet: %w", err)
		}
	}
}

func appendValue(c *Column, v parquet.Value) {
	if c.Kind == KindString {
		c.Missing = append(c.Missing, v.IsNull())
		if v.IsNull() {
			c.Str = append(c.Str, "")
		} else {
			c.Str = append(c.Str, string(v.ByteArray()))
		}
		return
	}
	if v.IsNull() {
		c.Num = append(c.Num, nan)
		return
	}
	var x float64
	switch v.Kind() {
	case parquet.Boolean:
		if v.Boolean() {
			x = 1
		}
	case parquet.Int32:
		x = float64(v.Int32())
	case parquet.Int64:
		x = float64(v.Int64())
	case parquet.Float:
		x = float64(v.Float())
	default:
		x = v.Double()
	}
	c.Num = append(c.Num, x)
}

// ReadParquetFile reads the Parquet file at path.
func ReadParquetFile(ctx context.Context, path string) (*Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read parquet: %w", err)
	}
	t, err := ReadParquet(f, st.Size())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// WriteParquet writes t as a Parquet file with one optional column per Table column
// (bool → BOOLEAN, int → INT64, float → DOUBLE, string → BYTE_ARRAY UTF8). The file stores
// columns in name order (parquet-go sorts the fields of a group), so reading it back gives
// the same columns, possibly in a different order.
func WriteParquet(w io.Writer, t *Table) error {
	group := parquet.Group{}
	for _, c := range t.Columns {
		var leaf parquet.Node
		switch c.Kind {
		case KindBool:
			leaf = parquet.Leaf(parquet.BooleanType)
		case KindInt:
			leaf = parquet.Int(64)
		case KindFloat:
			leaf = parquet.Leaf(parquet.DoubleType)
		default:
			leaf = parquet.String()
		}
		group[c.Name] = parquet.Optional(leaf)
	}
	schema := parquet.NewSchema("kiln", group)
	// Group orders its fields by name; map each schema column back to the table column.
	order := make([]*Column, len(t.Columns))
	for j, path := range schema.Columns() {
		c, err := t.Column(path[0])
		if err != nil {
			return fmt.Errorf("write parquet: %w", err)
		}
		order[j] = c
	}
	pw := parquet.NewGenericWriter[any](w, schema)
	row := make(parquet.Row, len(order))
	for i := range t.NumRows() {
		for j, c := range order {
			var v parquet.Value
			switch {
			case c.IsMissing(i):
				v = parquet.NullValue()
			case c.Kind == KindBool:
				v = parquet.BooleanValue(c.Num[i] != 0)
			case c.Kind == KindInt:
				v = parquet.Int64Value(int64(c.Num[i]))
			case c.Kind == KindFloat:
				v = parquet.DoubleValue(c.Num[i])
			default:
				v = parquet.ByteArrayValue([]byte(c.Str[i]))
			}
			if c.IsMissing(i) {
				row[j] = v.Level(0, 0, j)
			} else {
				row[j] = v.Level(0, 1, j)
			}
		}
		if _, err := pw.WriteRows([]parquet.Row{row}); err != nil {
			return fmt.Errorf("write parquet: %w", err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("write parquet: %w", err)
	}
	return nil
}

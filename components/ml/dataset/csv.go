package dataset

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// DefaultMissing lists the cell values that CSV reading treats as missing when
// CSVOptions.Missing is nil. The comparison ignores case and surrounding spaces.
var DefaultMissing = []string{"", "na", "n/a", "nan", "null", "none", "?"}

// CSVOptions configures ReadCSV. The zero value reads comma-separated data with a header row
// and infers every column's kind.
type CSVOptions struct {
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// Missing lists cell values treated as missing (case-insensitive, trimmed);
	// nil means DefaultMissing.
	Missing []string
	// Kinds forces the kind of the named columns instead of inferring it.
	Kinds map[string]Kind
}

func (o CSVOptions) missingSet() map[string]bool {
	list := o.Missing
	if list == nil {
		list = DefaultMissing
	}
	set := make(map[string]bool, len(list))
	for _, m := range list {
		set[strings.ToLower(strings.TrimSpace(m))] = true
	}
	return set
}

// ReadCSV reads a CSV document whose first record is the header.
func ReadCSV(r io.Reader, opts CSVOptions) (*Table, error) {
	cr := csv.NewReader(r)
	if opts.Comma != 0 {
		cr.Comma = opts.Comma
	}
	cr.ReuseRecord = false
	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("read csv: empty input, want a header row")
	}
	if err != nil {
		return nil, fmt.Errorf("read csv header: %w", err)
	}
	for i := range header {
		header[i] = strings.TrimSpace(strings.TrimPrefix(header[i], "\ufeff"))
	}
	var records [][]string
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read csv: %w", err)
		}
		records = append(records, rec)
	}
	schema := InferSchema(header, records, opts)
	return FromRecords(schema, records, opts)
}

// ReadCSVFile reads the CSV file at path.
func ReadCSVFile(ctx context.Context, path string, opts CSVOptions) (*Table, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	defer f.Close()
	t, err := ReadCSV(f, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return t, nil
}

// FromRecords converts text records into a Table with the given schema. A cell that does not
// parse as its column's kind is an error naming the row (1-based, counting the header as row 1)
// and column.
func FromRecords(schema Schema, records [][]string, opts CSVOptions) (*Table, error) {
	missing := opts.missingSet()
	t := &Table{Columns: make([]Column, len(schema.Fields))}
	for j, f := range schema.Fields {
		c := Column{Name: f.Name, Kind: f.Kind}
		if f.Kind.Numeric() {
			c.Num = make([]float64, len(records))
		} else {
			c.Str = make([]string, len(records))
		}
		t.Columns[j] = c
	}
	var errs []error
	for i, rec := range records {
		if len(rec) != len(schema.Fields) {
			return nil, fmt.Errorf("row %d: %d fields, want %d", i+2, len(rec), len(schema.Fields))
		}
		for j, cell := range rec {
			c := &t.Columns[j]
			if missing[strings.ToLower(strings.TrimSpace(cell))] {
				if c.Kind.Numeric() {
					c.Num[i] = nan
				} else {
					if c.Missing == nil {
						c.Missing = make([]bool, len(records))
					}
					c.Missing[i] = true
				}
				continue
			}
			if !c.Kind.Numeric() {
				c.Str[i] = cell
				continue
			}
			v, err := parseCell(c.Kind, cell)
			if err != nil {
				if len(errs) < 10 {
					errs = append(errs, fmt.Errorf("row %d column %q: %w", i+2, c.Name, err))
				}
				continue
			}
			c.Num[i] = v
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

func parseCell(k Kind, cell string) (float64, error) {
	s := strings.TrimSpace(cell)
	switch k {
	case KindBool:
		b, ok := parseBool(s)
		if !ok {
			return 0, fmt.Errorf("%q is not a bool", cell)
		}
		if b {
			return 1, nil
		}
		return 0, nil
	case KindInt:
		v, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an int", cell)
		}
		return float64(v), nil
	default:
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not a number", cell)
		}
		return v, nil
	}
}

// parseBool accepts only true and false (any case): yes/no and t/f columns are more often
// categorical labels, and reading them as bools would rewrite their text.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(s) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// WriteCSV writes t as CSV with a header row. Missing values are written as empty cells.
func WriteCSV(w io.Writer, t *Table) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(t.Names()); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	rec := make([]string, len(t.Columns))
	for i := range t.NumRows() {
		for j := range t.Columns {
			rec[j] = t.Columns[j].StringAt(i)
		}
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write csv: %w", err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	return nil
}

// WriteCSVFile writes t to path, replacing the file.
func WriteCSVFile(ctx context.Context, path string, t *Table) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write csv: %w", err)
	}
	if err := WriteCSV(f, t); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write csv %s: %w", path, err)
	}
	return nil
}

func formatFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }

package dataset

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// Kind is the logical type of a column.
type Kind string

// Column kinds. Int, Float and Bool are stored as numbers; String is stored as text.
const (
	KindInt    Kind = "int"
	KindFloat  Kind = "float"
	KindBool   Kind = "bool"
	KindString Kind = "string"
)

// Numeric reports whether values of kind k are stored in Column.Num.
func (k Kind) Numeric() bool { return k == KindInt || k == KindFloat || k == KindBool }

// Column is one named column of a Table. Exactly one of Num and Str is used, chosen by Kind.
type Column struct {
	// Name is the column's header.
	Name string
	// Kind is the column's logical type.
	Kind Kind
	// Num holds the values of a numeric column (int, float, bool as 0/1); NaN is missing.
	Num []float64
	// Str holds the values of a string column.
	Str []string
	// Missing marks missing values of a string column; nil means none are missing.
	Missing []bool
}

// Len returns the number of values in c.
func (c *Column) Len() int {
	if c.Kind.Numeric() {
		return len(c.Num)
	}
	return len(c.Str)
}

// IsMissing reports whether row i of c is missing.
func (c *Column) IsMissing(i int) bool {
	if c.Kind.Numeric() {
		return math.IsNaN(c.Num[i])
	}
	return c.Missing != nil && c.Missing[i]
}

// StringAt returns row i of c as text ("" when missing), for labels and CSV output.
func (c *Column) StringAt(i int) string {
	if c.IsMissing(i) {
		return ""
	}
	switch c.Kind {
	case KindString:
		return c.Str[i]
	case KindBool:
		if c.Num[i] != 0 {
			return "true"
		}
		return "false"
	default:
		return formatFloat(c.Num[i])
	}
}

func (c *Column) take(idx []int) Column {
	out := Column{Name: c.Name, Kind: c.Kind}
	if c.Kind.Numeric() {
		out.Num = make([]float64, len(idx))
		for j, i := range idx {
			out.Num[j] = c.Num[i]
		}
		return out
	}
	out.Str = make([]string, len(idx))
	if c.Missing != nil {
		out.Missing = make([]bool, len(idx))
	}
	for j, i := range idx {
		out.Str[j] = c.Str[i]
		if c.Missing != nil {
			out.Missing[j] = c.Missing[i]
		}
	}
	return out
}

// Table is a column-oriented data set. All columns have the same length.
type Table struct {
	// Columns in file order.
	Columns []Column
}

// ErrNoColumn is returned (wrapped) when a named column does not exist.
var ErrNoColumn = errors.New("dataset: no such column")

// NewTable builds a Table from columns and checks that names are unique and lengths agree.
func NewTable(cols ...Column) (*Table, error) {
	t := &Table{Columns: cols}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	return t, nil
}

// Validate checks that column names are unique and non-empty, kinds are known and all
// columns have the same length.
func (t *Table) Validate() error {
	var errs []error
	seen := map[string]bool{}
	for i, c := range t.Columns {
		if c.Name == "" {
			errs = append(errs, fmt.Errorf("columns[%d]: empty name", i))
		}
		if seen[c.Name] {
			errs = append(errs, fmt.Errorf("columns[%d]: duplicate name %q", i, c.Name))
		}
		seen[c.Name] = true
		switch c.Kind {
		case KindInt, KindFloat, KindBool:
			if c.Str != nil {
				errs = append(errs, fmt.Errorf("columns[%d] %q: numeric column has string values", i, c.Name))
			}
		case KindString:
			if c.Num != nil {
				errs = append(errs, fmt.Errorf("columns[%d] %q: string column has numeric values", i, c.Name))
			}
			if c.Missing != nil && len(c.Missing) != len(c.Str) {
				errs = append(errs, fmt.Errorf("columns[%d] %q: missing mask has %d entries for %d values", i, c.Name, len(c.Missing), len(c.Str)))
			}
		default:
			errs = append(errs, fmt.Errorf("columns[%d] %q: unknown kind %q", i, c.Name, c.Kind))
		}
		if i > 0 && c.Len() != t.Columns[0].Len() {
			errs = append(errs, fmt.Errorf("columns[%d] %q: %d rows, want %d", i, c.Name, c.Len(), t.Columns[0].Len()))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("dataset: invalid table: %w", errors.Join(errs...))
	}
	return nil
}

// NumRows returns the number of rows.
func (t *Table) NumRows() int {
	if len(t.Columns) == 0 {
		return 0
	}
	return t.Columns[0].Len()
}

// Names returns the column names in order.
func (t *Table) Names() []string {
	names := make([]string, len(t.Columns))
	for i, c := range t.Columns {
		names[i] = c.Name
	}
	return names
}

// Column returns the column called name.
func (t *Table) Column(name string) (*Column, error) {
	for i := range t.Columns {
		if t.Columns[i].Name == name {
			return &t.Columns[i], nil
		}
	}
	return nil, fmt.Errorf("column %q: %w", name, ErrNoColumn)
}

// Take returns a new Table holding rows idx of t, in that order.
func (t *Table) Take(idx []int) *Table {
	out := &Table{Columns: make([]Column, len(t.Columns))}
	for i := range t.Columns {
		out.Columns[i] = t.Columns[i].take(idx)
	}
	return out
}

// Drop returns a Table without the named columns (which must exist). Column data is shared.
func (t *Table) Drop(names ...string) (*Table, error) {
	for _, n := range names {
		if _, err := t.Column(n); err != nil {
			return nil, err
		}
	}
	out := &Table{}
	for _, c := range t.Columns {
		if !slices.Contains(names, c.Name) {
			out.Columns = append(out.Columns, c)
		}
	}
	return out, nil
}

// Matrix returns the named numeric columns as a row-major matrix (one slice per row).
// Missing values stay NaN. A string column is an error: encode it with package preprocess.
func (t *Table) Matrix(names []string) ([][]float64, error) {
	cols := make([]*Column, len(names))
	for j, n := range names {
		c, err := t.Column(n)
		if err != nil {
			return nil, err
		}
		if !c.Kind.Numeric() {
			return nil, fmt.Errorf("column %q: kind %s is not numeric", n, c.Kind)
		}
		cols[j] = c
	}
	rows := make([][]float64, t.NumRows())
	flat := make([]float64, t.NumRows()*len(names))
	for i := range rows {
		rows[i] = flat[i*len(names) : (i+1)*len(names) : (i+1)*len(names)]
		for j, c := range cols {
			rows[i][j] = c.Num[i]
		}
	}
	return rows, nil
}

// Strings returns column name as text, one value per row ("" for missing values).
func (t *Table) Strings(name string) ([]string, error) {
	c, err := t.Column(name)
	if err != nil {
		return nil, err
	}
	out := make([]string, c.Len())
	for i := range out {
		out[i] = c.StringAt(i)
	}
	return out, nil
}

// Floats returns numeric column name (NaN for missing values).
func (t *Table) Floats(name string) ([]float64, error) {
	c, err := t.Column(name)
	if err != nil {
		return nil, err
	}
	if !c.Kind.Numeric() {
		return nil, fmt.Errorf("column %q: kind %s is not numeric", name, c.Kind)
	}
	return c.Num, nil
}

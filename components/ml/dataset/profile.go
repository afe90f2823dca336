package dataset

import (
	"cmp"
	"math"
	"slices"
)

// Profile is a small statistical summary of a Table, written by data components as a JSON
// artifact.
type Profile struct {
	// Rows is the number of rows.
	Rows int `json:"rows"`
	// Columns summarises each column in order.
	Columns []ColumnProfile `json:"columns"`
}

// ColumnProfile summarises one column. Numeric statistics ignore missing values and are
// omitted for string columns and for numeric columns with no value.
type ColumnProfile struct {
	// Name is the column's header.
	Name string `json:"name"`
	// Kind is the column's logical type.
	Kind Kind `json:"kind"`
	// Count is the number of non-missing values.
	Count int `json:"count"`
	// Missing is the number of missing values.
	Missing int `json:"missing"`
	// Distinct is the number of distinct non-missing values.
	Distinct int `json:"distinct"`
	// Min is the smallest value of a numeric column.
	Min *float64 `json:"min,omitempty"`
	// Max is the largest value of a numeric column.
	Max *float64 `json:"max,omitempty"`
	// Mean is the arithmetic mean of a numeric column.
	Mean *float64 `json:"mean,omitempty"`
	// Std is the sample standard deviation (n-1) of a numeric column with two or more values.
	Std *float64 `json:"std,omitempty"`
	// Top lists up to TopN most frequent values of a string or bool column, most frequent first
	// (ties by value).
	Top []ValueCount `json:"top,omitempty"`
}

// ValueCount is a value and how often it occurs.
type ValueCount struct {
	// Value as text.
	Value string `json:"value"`
	// Count of rows with Value.
	Count int `json:"count"`
}

// TopN is the number of most frequent values a ColumnProfile lists.
const TopN = 10

// NewProfile computes the profile of t.
func NewProfile(t *Table) Profile {
	p := Profile{Rows: t.NumRows(), Columns: make([]ColumnProfile, len(t.Columns))}
	for j := range t.Columns {
		p.Columns[j] = profileColumn(&t.Columns[j])
	}
	return p
}

func profileColumn(c *Column) ColumnProfile {
	cp := ColumnProfile{Name: c.Name, Kind: c.Kind}
	counts := map[string]int{}
	var sum, lo, hi float64
	lo, hi = math.Inf(1), math.Inf(-1)
	var vals []float64
	for i := range c.Len() {
		if c.IsMissing(i) {
			cp.Missing++
			continue
		}
		cp.Count++
		counts[c.StringAt(i)]++
		if c.Kind.Numeric() {
			v := c.Num[i]
			vals = append(vals, v)
			sum += v
			lo, hi = min(lo, v), max(hi, v)
		}
	}
	cp.Distinct = len(counts)
	if c.Kind.Numeric() && cp.Count > 0 {
		mean := sum / float64(cp.Count)
		cp.Min, cp.Max, cp.Mean = &lo, &hi, &mean
		if cp.Count > 1 {
			var ss float64
			for _, v := range vals {
				ss += (v - mean) * (v - mean)
			}
			std := math.Sqrt(ss / float64(cp.Count-1))
			cp.Std = &std
		}
	}
	if c.Kind == KindString || c.Kind == KindBool {
		for v, n := range counts {
			cp.Top = append(cp.Top, ValueCount{Value: v, Count: n})
		}
		slices.SortFunc(cp.Top, func(a, b ValueCount) int {
			if a.Count != b.Count {
				return cmp.Compare(b.Count, a.Count)
			}
			return cmp.Compare(a.Value, b.Value)
		})
		if len(cp.Top) > TopN {
			cp.Top = cp.Top[:TopN]
		}
	}
	return cp
}

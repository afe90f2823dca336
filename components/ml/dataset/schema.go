package dataset

import (
	"math"
	"strconv"
	"strings"
)

var nan = math.NaN()

// Field is one column of a Schema.
type Field struct {
	// Name is the column's header.
	Name string `json:"name"`
	// Kind is the column's logical type.
	Kind Kind `json:"kind"`
}

// Schema lists a table's columns and their kinds.
type Schema struct {
	// Fields in column order.
	Fields []Field `json:"fields"`
}

// Schema returns the schema of t.
func (t *Table) Schema() Schema {
	s := Schema{Fields: make([]Field, len(t.Columns))}
	for i, c := range t.Columns {
		s.Fields[i] = Field{Name: c.Name, Kind: c.Kind}
	}
	return s
}

// InferSchema chooses a kind for each column of text records: bool if every non-missing cell
// is true or false (any case), int if every one parses as a base-10 integer, float if every
// one parses as a number, and string otherwise. A column with no non-missing value is float.
// opts.Kinds overrides the inferred kind of the columns it names.
func InferSchema(header []string, records [][]string, opts CSVOptions) Schema {
	missing := opts.missingSet()
	s := Schema{Fields: make([]Field, len(header))}
	for j, name := range header {
		if k, ok := opts.Kinds[name]; ok {
			s.Fields[j] = Field{Name: name, Kind: k}
			continue
		}
		isBool, isInt, isFloat := true, true, true
		for _, rec := range records {
			if j >= len(rec) {
				continue
			}
			cell := strings.TrimSpace(rec[j])
			if missing[strings.ToLower(cell)] {
				continue
			}
			if isBool {
				_, isBool = parseBool(cell)
			}
			if isInt {
				_, err := strconv.ParseInt(cell, 10, 64)
				isInt = err == nil
			}
			if isFloat {
				_, err := strconv.ParseFloat(cell, 64)
				isFloat = err == nil
			}
			if !isBool && !isFloat {
				break
			}
		}
		kind := KindString
		switch {
		case isBool && len(records) > 0 && !allMissing(records, j, missing):
			kind = KindBool
		case isInt && !allMissing(records, j, missing):
			kind = KindInt
		case isFloat:
			kind = KindFloat
		}
		s.Fields[j] = Field{Name: name, Kind: kind}
	}
	return s
}

func allMissing(records [][]string, j int, missing map[string]bool) bool {
	for _, rec := range records {
		if j < len(rec) && !missing[strings.ToLower(strings.TrimSpace(rec[j]))] {
			return false
		}
	}
	return true
}

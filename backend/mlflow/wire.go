package mlflow

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
)

// int64s is an int64 that protobuf's JSON mapping may send as a number or a string.
type int64s int64

// UnmarshalJSON accepts a number or a string holding one.
func (n *int64s) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
	} else {
		s = string(b)
	}
	if s == "null" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
			return fmt.Errorf("%q is not an integer", s)
		}
		v = int64(f)
	}
	*n = int64s(v)
	return nil
}

// float is a double that travels as a JSON number, or as "NaN", "Infinity" or "-Infinity".
type float float64

// UnmarshalJSON accepts a number or "NaN", "Infinity", "-Infinity" (or a numeric string).
func (f *float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = float(math.NaN())
		case "Infinity", "inf":
			*f = float(math.Inf(1))
		case "-Infinity", "-inf":
			*f = float(math.Inf(-1))
		default:
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("%q is not a number", s)
			}
			*f = float(v)
		}
		return nil
	}
	var v float64
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*f = float(v)
	return nil
}

// MarshalJSON writes NaN and infinities as protobuf's JSON mapping does.
func (f float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// strList is a repeated string field; a single string (one query parameter) is a list of one.
type strList []string

// UnmarshalJSON accepts a list of strings or one string.
func (l *strList) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*l = strList{s}
		return nil
	}
	var ss []string
	if err := json.Unmarshal(b, &ss); err != nil {
		return err
	}
	*l = ss
	return nil
}

// millis converts a time to MLflow's milliseconds; the zero time is 0.
func millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// keyValue is MLflow's tag and param shape.
type keyValue struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

func tagsOut(m map[string]string) []keyValue {
	out := make([]keyValue, 0, len(m))
	for k, v := range m {
		out = append(out, keyValue{Key: k, Value: v})
	}
	sortKV(out)
	return out
}

func sortKV(kv []keyValue) {
	slices.SortFunc(kv, func(a, b keyValue) int { return strings.Compare(a.Key, b.Key) })
}

func tagsIn(kv []keyValue) map[string]string {
	if len(kv) == 0 {
		return nil
	}
	m := make(map[string]string, len(kv))
	for _, t := range kv {
		m[t.Key] = t.Value
	}
	return m
}

// Package paramcodec encodes typed parameter values as the strings Argo passes between tasks.
//
// Scalars use their plain text form (strings as-is, ints in decimal, floats in the shortest form
// that round-trips, booleans as true/false) so that Argo `when` expressions and humans read them
// naturally; lists, maps and structs use JSON.
package paramcodec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
)

// Encode returns the wire form of v.
func Encode(v any) (string, error) {
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.String:
		return rv.String(), nil
	case reflect.Bool:
		return strconv.FormatBool(rv.Bool()), nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(rv.Int(), 10), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(rv.Uint(), 10), nil
	case reflect.Float32:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 32), nil
	case reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 64), nil
	}
	b, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("encode %T: %w", v, err)
	}
	return string(b), nil
}

// Decode parses the wire form s into a new value of type t.
//
// Lists are accepted both as JSON arrays of values and as JSON arrays of strings holding encoded
// values, since Argo aggregates the outputs of a loop as a list of strings.
func Decode(s string, t reflect.Type) (any, error) {
	p := reflect.New(t)
	if err := decodeInto(s, p.Elem()); err != nil {
		return nil, err
	}
	return p.Elem().Interface(), nil
}

func decodeInto(s string, v reflect.Value) error {
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
		return nil
	case reflect.Bool:
		b, err := strconv.ParseBool(strings.TrimSpace(s))
		if err != nil {
			return fmt.Errorf("%q is not a bool", s)
		}
		v.SetBool(b)
		return nil
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			// Accept integral floats such as "3.0", which JSON producers emit.
			f, ferr := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if ferr != nil || f != float64(int64(f)) {
				return fmt.Errorf("%q is not an integer", s)
			}
			n = int64(f)
		}
		if v.OverflowInt(n) {
			return fmt.Errorf("%q is not an integer", s)
		}
		v.SetInt(n)
		return nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		n, err := strconv.ParseUint(strings.TrimSpace(s), 10, v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not an unsigned integer", s)
		}
		v.SetUint(n)
		return nil
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(strings.TrimSpace(s), v.Type().Bits())
		if err != nil {
			return fmt.Errorf("%q is not a number", s)
		}
		v.SetFloat(f)
		return nil
	case reflect.Slice:
		if v.Type().Elem().Kind() == reflect.Uint8 {
			break // []byte is JSON base64
		}
		var raw []json.RawMessage
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return fmt.Errorf("%q is not a JSON list: %w", truncate(s), err)
		}
		out := reflect.MakeSlice(v.Type(), len(raw), len(raw))
		for i, r := range raw {
			if err := decodeElem(r, out.Index(i)); err != nil {
				return fmt.Errorf("item %d: %w", i, err)
			}
		}
		v.Set(out)
		return nil
	case reflect.Map:
		if v.Type().Key().Kind() != reflect.String {
			break
		}
		var raw map[string]json.RawMessage
		if err := json.Unmarshal([]byte(s), &raw); err != nil {
			return fmt.Errorf("%q is not a JSON object: %w", truncate(s), err)
		}
		out := reflect.MakeMapWithSize(v.Type(), len(raw))
		for k, r := range raw {
			e := reflect.New(v.Type().Elem()).Elem()
			if err := decodeElem(r, e); err != nil {
				return fmt.Errorf("key %q: %w", k, err)
			}
			out.SetMapIndex(reflect.ValueOf(k).Convert(v.Type().Key()), e)
		}
		v.Set(out)
		return nil
	}
	if err := json.Unmarshal([]byte(s), v.Addr().Interface()); err != nil {
		return fmt.Errorf("%q is not JSON for %s: %w", truncate(s), v.Type(), err)
	}
	return nil
}

// decodeElem decodes one JSON element, which may hold the value itself or its encoded string form.
func decodeElem(r json.RawMessage, v reflect.Value) error {
	if len(r) > 0 && r[0] == '"' && v.Kind() != reflect.String {
		var s string
		if err := json.Unmarshal(r, &s); err != nil {
			return err
		}
		return decodeInto(s, v)
	}
	if len(r) > 0 && r[0] != '"' && v.Kind() == reflect.String {
		v.SetString(string(r))
		return nil
	}
	if err := json.Unmarshal(r, v.Addr().Interface()); err != nil {
		return fmt.Errorf("%s is not a %s: %w", truncate(string(r)), v.Type(), err)
	}
	return nil
}

func truncate(s string) string {
	if len(s) > 60 {
		return s[:57] + "..."
	}
	return s
}

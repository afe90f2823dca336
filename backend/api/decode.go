package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// decodeJSON reads exactly one JSON value from r's body (bounded by MaxBytesReader in the
// handler's middleware) into v, rejecting unknown fields. Every failure is a 400 naming the field.
func decodeJSON(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(ct, "application/json") {
		return &Error{Status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMedia,
			Message: fmt.Sprintf("content type %q is not application/json", ct)}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return invalid("body", "unexpected data after the JSON value")
	}
	if _, err := dec.Token(); err != io.EOF {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return invalid("body", "unexpected data after the JSON value")
	}
	return nil
}

// jsonError maps an encoding/json error to a 400 naming the field it concerns.
func jsonError(err error) error {
	var mbe *http.MaxBytesError
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &mbe):
		return err
	case errors.Is(err, io.EOF):
		return invalid("body", "empty body, expected a JSON object")
	case errors.As(err, &te):
		f := te.Field
		if f == "" {
			f = "body"
		}
		return invalid(f, "expected %s, got JSON %s", te.Type.String(), te.Value)
	case errors.As(err, &se):
		return invalid("body", "malformed JSON at offset %d: %v", se.Offset, err)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return invalid("body", "truncated JSON")
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		f, uerr := strconv.Unquote(name)
		if uerr != nil {
			f = name
		}
		return invalid(f, "unknown field")
	}
	return invalid("body", "%v", err)
}

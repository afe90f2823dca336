package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/kilnml/kiln/backend/runs"
	"github.com/kilnml/kiln/backend/store"
	"github.com/kilnml/kiln/engine"
)

// Error codes carried in ErrorBody.Code.
const (
	CodeInvalidArgument  = "INVALID_ARGUMENT"
	CodeNotFound         = "NOT_FOUND"
	CodeAlreadyExists    = "ALREADY_EXISTS"
	CodeConflict         = "CONFLICT"
	CodeUnauthenticated  = "UNAUTHENTICATED"
	CodePermissionDenied = "PERMISSION_DENIED"
	CodeTooLarge         = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMedia = "UNSUPPORTED_MEDIA_TYPE"
	CodeInternal         = "INTERNAL"
)

// ErrorResponse is the JSON body of every error answer: {"error": {...}}.
type ErrorResponse struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody describes what went wrong; Details name the offending fields.
type ErrorBody struct {
	Code    string        `json:"code"`
	Message string        `json:"message"`
	Details []FieldDetail `json:"details,omitempty"`
}

// FieldDetail is one problem with one field of a request, e.g. "spec.templates[0].name".
type FieldDetail struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// Error is an API error with its status code. Handlers return it (or a store, engine or
// validation error, which statusOf maps) and writeError renders it.
type Error struct {
	Status  int
	Code    string
	Message string
	Details []FieldDetail
}

func (e *Error) Error() string { return e.Message }

// Sentinel errors of the API layer.
var (
	// ErrUnauthenticated reports a missing or unknown bearer token.
	ErrUnauthenticated = errors.New("api: unauthenticated")
	// ErrPermissionDenied reports a user acting on a namespace they were not granted.
	ErrPermissionDenied = errors.New("api: permission denied")
)

// invalid returns a 400 error for one field.
func invalid(fieldPath, format string, args ...any) *Error {
	msg := fmt.Sprintf(format, args...)
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: fieldPath + ": " + msg,
		Details: []FieldDetail{{Field: fieldPath, Message: msg}}}
}

// fromFieldErrors turns a validation error list into a 400 error naming every field.
func fromFieldErrors(prefix string, errs field.ErrorList) *Error {
	e := &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: prefix + ": " + errs.ToAggregate().Error()}
	for _, fe := range errs {
		msg := fe.ErrorBody()
		e.Details = append(e.Details, FieldDetail{Field: fe.Field, Message: msg})
	}
	return e
}

// toAPIError is the one place that maps errors to HTTP status codes.
func toAPIError(err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &mbe):
		return &Error{Status: http.StatusRequestEntityTooLarge, Code: CodeTooLarge,
			Message: fmt.Sprintf("request body exceeds %d bytes", mbe.Limit)}
	case errors.Is(err, store.ErrNotFound), errors.Is(err, engine.ErrRunNotFound), errors.Is(err, engine.ErrNodeNotFound):
		return &Error{Status: http.StatusNotFound, Code: CodeNotFound, Message: err.Error()}
	case errors.Is(err, store.ErrAlreadyExists):
		return &Error{Status: http.StatusConflict, Code: CodeAlreadyExists, Message: err.Error()}
	case errors.Is(err, store.ErrConflict), errors.Is(err, engine.ErrRunActive), errors.Is(err, runs.ErrFinished), errors.Is(err, runs.ErrNotRetryable):
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Message: err.Error()}
	case errors.Is(err, store.ErrInvalidArgument), errors.Is(err, runs.ErrInvalidSpec):
		return &Error{Status: http.StatusBadRequest, Code: CodeInvalidArgument, Message: err.Error()}
	case errors.Is(err, ErrUnauthenticated):
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthenticated, Message: err.Error()}
	case errors.Is(err, ErrPermissionDenied):
		return &Error{Status: http.StatusForbidden, Code: CodePermissionDenied, Message: err.Error()}
	}
	return &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Message: "internal error"}
}

// writeError answers r with err mapped to a status code; internal errors are logged, not shown.
func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := toAPIError(err)
	if ae.Status >= 500 {
		h.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		h.log.DebugContext(r.Context(), "request rejected", "method", r.Method, "path", r.URL.Path, "status", ae.Status, "err", err)
	}
	if ae.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="kiln"`)
	}
	writeJSON(w, ae.Status, ErrorResponse{Error: ErrorBody{Code: ae.Code, Message: ae.Message, Details: ae.Details}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	_ = enc.Encode(v)
}

// logger returns l or a discarding logger.
func logger(l *slog.Logger) *slog.Logger {
	if l == nil {
		return slog.New(slog.DiscardHandler)
	}
	return l
}

package mlflow

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/kilnml/kiln/backend/filter"
	"github.com/kilnml/kiln/backend/store"
)

// MLflow's error codes (databricks.ErrorCode) used by this API.
const (
	codeInvalidParameter  = "INVALID_PARAMETER_VALUE"
	codeNotFound          = "RESOURCE_DOES_NOT_EXIST"
	codeAlreadyExists     = "RESOURCE_ALREADY_EXISTS"
	codeBadRequest        = "BAD_REQUEST"
	codeInvalidState      = "INVALID_STATE"
	codeEndpointNotFound  = "ENDPOINT_NOT_FOUND"
	codeUnauthenticated   = "UNAUTHENTICATED"
	codePermissionDenied  = "PERMISSION_DENIED"
	codeInternal          = "INTERNAL_ERROR"
	codeResourceExhausted = "RESOURCE_EXHAUSTED"
)

// statusOf maps an MLflow error code to its HTTP status, as MLflow's server does.
func statusOf(code string) int {
	switch code {
	case codeNotFound, codeEndpointNotFound:
		return http.StatusNotFound
	case codeUnauthenticated:
		return http.StatusUnauthorized
	case codePermissionDenied:
		return http.StatusForbidden
	case codeResourceExhausted:
		return http.StatusTooManyRequests
	case codeInternal:
		return http.StatusInternalServerError
	default: // INVALID_PARAMETER_VALUE, RESOURCE_ALREADY_EXISTS, BAD_REQUEST, INVALID_STATE
		return http.StatusBadRequest
	}
}

// apiError is an error with its MLflow code.
type apiError struct {
	code string
	msg  string
}

// Error returns the message MLflow clients show.
func (e *apiError) Error() string { return e.msg }

// errorBody is MLflow's error response.
type errorBody struct {
	ErrorCode string `json:"error_code"`
	Message   string `json:"message"`
}

func invalidParam(format string, args ...any) *apiError {
	return &apiError{code: codeInvalidParameter, msg: fmt.Sprintf(format, args...)}
}

func notFound(format string, args ...any) *apiError {
	return &apiError{code: codeNotFound, msg: fmt.Sprintf(format, args...)}
}

// asAPIError classifies err: an apiError as is, store and filter sentinels by their meaning,
// anything else as an internal error.
func asAPIError(err error) *apiError {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae
	case errors.Is(err, store.ErrNotFound):
		return &apiError{code: codeNotFound, msg: err.Error()}
	case errors.Is(err, store.ErrAlreadyExists):
		return &apiError{code: codeAlreadyExists, msg: err.Error()}
	case errors.Is(err, store.ErrConflict), errors.Is(err, store.ErrInvalidArgument), errors.Is(err, filter.ErrInvalid):
		return &apiError{code: codeInvalidParameter, msg: err.Error()}
	}
	return &apiError{code: codeInternal, msg: "internal error"}
}

func (h *Handler) writeError(w http.ResponseWriter, r *http.Request, err error) {
	ae := asAPIError(err)
	status := statusOf(ae.code)
	if status >= 500 {
		h.log.ErrorContext(r.Context(), "mlflow request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeJSON(w, status, errorBody{ErrorCode: ae.code, Message: ae.msg})
}

package store

import "errors"

// Sentinel errors returned (wrapped) by every Store implementation. Callers test them with
// errors.Is; the API layer maps them to status codes in one place.
var (
	// ErrNotFound reports that the named resource does not exist in the namespace.
	ErrNotFound = errors.New("store: not found")
	// ErrAlreadyExists reports that a resource with the same unique name already exists.
	ErrAlreadyExists = errors.New("store: already exists")
	// ErrConflict reports a write that contradicts stored state: re-logging a param with a
	// different value (params are write-once), deleting an experiment that still has runs, or
	// changing an immutable field.
	ErrConflict = errors.New("store: conflict")
	// ErrInvalidArgument reports a malformed request: a bad page token, an unknown order-by key,
	// a missing required field.
	ErrInvalidArgument = errors.New("store: invalid argument")
)

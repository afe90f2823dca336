// Package api is Kiln's REST/JSON API under /api/v1: pipelines and their immutable versions,
// experiments, runs (create with type-checked parameters, list with CEL filters and keyset page
// tokens, get with the node graph, logs, cancel, retry, archive, delete), recurring runs,
// tracking (params, metrics, tags in batches; metric history), artifacts with lineage and the
// model registry. GET /api/v1/openapi.json serves the OpenAPI document, built from the same
// table of operations the routes are registered from.
//
// # Requests
//
// Every request names its namespace with the query parameter "namespace" (default "default").
// Bodies are JSON, decoded strictly (unknown fields are errors) and bounded in size; pipeline
// uploads also accept multipart/form-data with the compiled YAML as the file part "spec".
//
// # Errors
//
// toAPIError is the one place errors become status codes: store.ErrNotFound → 404,
// ErrAlreadyExists and ErrConflict → 409, ErrInvalidArgument and validation → 400,
// ErrUnauthenticated → 401, ErrPermissionDenied → 403, oversized bodies → 413. Every error
// answer is an ErrorResponse:
//
//	{"error": {"code": "INVALID_ARGUMENT", "message": "...",
//	           "details": [{"field": "spec.spec.templates[0].name", "message": "Required value"}]}}
//
// # Authentication
//
// With Options.AuthDisabled every request is LocalUser with access to every namespace (the
// embedded single-user default). Otherwise a bearer token is looked up by its SHA-256 in the
// store and the user's membership of the namespace decides: viewers read, editors and admins
// also write.
package api

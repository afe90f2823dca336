// Package mlflow serves MLflow's tracking REST API 2.0 over Kiln's store, so MLflow clients
// (the Python client, the UI's ajax calls, other language clients) pointed at a Kiln server work
// unchanged. NewHandler answers under both /api/2.0/mlflow/ and /ajax-api/2.0/mlflow/.
//
// # Mapping
//
//   - An MLflow experiment is a store.Experiment; lifecycle_stage "deleted" is Archived. Deleting
//     or restoring an experiment deletes or restores its runs too, as MLflow does. The experiment
//     id "0" (MLflow's default experiment, which clients use when none is set) names the
//     experiment called "Default" in the namespace, created on first use; answers carry its real
//     id.
//   - An MLflow run is a store.Run without a pipeline (a tracking-only run), or any Kiln run:
//     pipeline runs can be read, searched and logged to through this API as well. Status maps
//     with store.Phase.MLflowStatus; lifecycle_stage "deleted" is Archived.
//   - Params, metrics and tags are the store's write-once params, append-only metric points and
//     mutable tags. The run name is also kept in the tag mlflow.runName, as MLflow does.
//   - Registered models, model versions and aliases are the store's model registry. Kiln has
//     no model stages: current_stage is always "None".
//
// # Semantics followed
//
// Errors are {"error_code": "...", "message": "..."} with MLflow's codes and statuses:
// RESOURCE_DOES_NOT_EXIST 404, RESOURCE_ALREADY_EXISTS 400, INVALID_PARAMETER_VALUE 400,
// ENDPOINT_NOT_FOUND 404, UNAUTHENTICATED 401, PERMISSION_DENIED 403, INTERNAL_ERROR 500.
// Ids are strings, times are milliseconds since the epoch, int64 fields are JSON numbers (and
// accepted as numbers or strings, as protobuf's JSON mapping allows), NaN and infinite metric
// values travel as "NaN", "Infinity" and "-Infinity". GET endpoints take query parameters;
// other methods take a JSON body (or query parameters when the body is empty). Params are
// write-once: logging a key again with another value is INVALID_PARAMETER_VALUE. log-batch
// enforces MLflow's limits (1000 metrics, 100 params, 100 tags, 1000 items in all) and key and
// value lengths.
//
// # Search
//
// runs/search accepts MLflow's filter syntax for the common subset: comparisons joined by AND on
// metrics.<key> (= != > >= < <=, numbers), params.<key> and tags.<key> (= != LIKE IN, strings),
// and attributes run_id, run_name, status, user_id (= != IN, LIKE on run_name) and start_time,
// end_time, created (numbers, milliseconds). Keys with special characters are quoted with
// backticks or double quotes. LIKE patterns are limited to a prefix ('abc%'), suffix ('%abc'),
// substring ('%abc%') or exact match, and '_' in them matches itself (in MLflow it matches any
// one character); ILIKE and OR are rejected with INVALID_PARAMETER_VALUE.
// The filter is translated to Kiln's filter language (package backend/filter) and evaluated by
// the store. order_by takes one key: attributes.start_time, end_time, run_name, created, or
// metrics.<key>, with ASC or DESC.
//
// experiments/search and registered-models/search filter and sort in memory (name = / != /
// LIKE, tags.<key> = for experiments; name = / LIKE for models), which is fine for the
// hundreds of experiments and models a namespace holds.
//
// # Not served
//
// Traces, logged models (MLflow 3), multipart artifact uploads, model
// stages, registered-model rename and metrics/get-history-bulk-interval answer
// ENDPOINT_NOT_FOUND. Dataset inputs (runs/log-inputs) and runs/log-model are kept in run tags
// under "kiln.mlflow/" and "mlflow.log-model.history"; tags starting with "kiln.mlflow/" are
// reserved and hidden from data.tags. Artifact URIs point under the
// artifact root (default "mlflow-artifacts:", the server's artifact proxy, which WithArtifactDir
// enables under ArtifactsPrefixes); WithArtifactRoot gives clients another root they write to
// themselves, such as a bucket.
package mlflow

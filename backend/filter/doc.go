// Package filter compiles CEL run filters, such as
//
//	metrics.accuracy > 0.9 && params.optimizer == "adam" && created_at > timestamp("2026-01-01T00:00:00Z")
//
// and translates them to parameterized SQL WHERE fragments for the store. Values from the
// expression are always passed as query arguments, never written into the SQL text.
//
// # Variables
//
//   - Run fields: id, name, description, phase, experiment_id, pipeline_id, pipeline_version_id,
//     recurring_run_id, created_by (string; an unset reference is ""); created_at, started_at,
//     finished_at (timestamp, compared with timestamp("RFC 3339") literals; a run that has not
//     started or finished matches no comparison of that field); archived (bool).
//   - params: map(string, string). Params are strings, as MLflow logs them. Compare them as
//     strings (params.optimizer == "adam") or as numbers: a comparison with a number literal
//     compares the param's numeric value (params.lr < 0.1 means double(params.lr) < 0.1).
//     double() of a param that is not a number is absent, so the comparison is false. The store
//     parses numbers when params are logged, so numeric comparisons need no SQL cast.
//   - metrics: map(string, double), the latest value of each metric (highest step).
//   - tags: map(string, string).
//
// Keys that are not identifiers are written with an index: metrics["val-loss"].
//
// # Supported constructs
//
// Comparisons (== != < <= > >=), && || !, `x in [literal, ...]`, `"k" in params`, has(params.k),
// and the string functions startsWith, endsWith and contains. Anything else — arithmetic,
// macros such as exists/all, size() — is rejected by Parse with its position.
//
// # Missing keys
//
// A comparison that involves a key the run does not have is false, and so is its negation's
// operand: !(params.x == "a") matches runs whose param x is absent or differs. (CEL would report
// an evaluation error for the missing key; SQL cannot, so the filter uses two-valued logic.)
//
// # Schema contract
//
// The fragment refers to the runs table as r (columns as named above, timestamps as BIGINT
// Unix nanoseconds, NULL when unset) and to the tables params(run_id, key, value, num_value),
// latest_metrics(run_id, key, value) and tags(run_id, key, value), each unique on (run_id, key).
// The store owns that schema.
//
// # Cost
//
// Conditions on params, metrics and tags are correlated EXISTS lookups on (run_id, key): the
// store walks runs in page order and stops after one page of matches, which is fast when matches
// are common. A filter that matches almost nothing walks the whole namespace.
package filter

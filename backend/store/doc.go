// Package store defines Kiln's persistence layer: the domain types the backend keeps (pipelines and
// their versions, experiments, runs and their node graphs, tracking data, artifacts with lineage,
// recurring runs and the model registry), the sentinel errors callers map to API status codes, and
// the Store interface that the SQLite and PostgreSQL implementations satisfy.
//
// Every resource belongs to a namespace. Reads and writes of namespaced resources name the
// namespace; a resource in another namespace is reported as ErrNotFound, never as a permission
// error, so that IDs do not leak across namespaces. Tracking calls (LogBatch, MetricHistory, nodes)
// take a run ID only: the API checks the run's namespace with GetRun first.
//
// Lists use keyset pagination. A page token is opaque base64 encoding the sort key and the ID of
// the last item returned, so pages stay stable while new rows are inserted: an item is never
// returned twice and no item that existed when the first page was read is skipped.
//
// Runs ordered by a metric ("metrics.<key> asc|desc") sort by the metric's latest value, ties by
// run ID in the same direction, and runs without the metric (or whose latest value is NaN) come
// after all others in both directions, in ID order. The SQL stores read such a page by walking
// the latest_metrics index (key, value, run_id) from the page token and joining each entry to its
// run, then the runs without the metric in ID order, so a page of 50 reads about 50 index entries
// whatever the namespace's size (more when a filter or other namespaces' runs with the same key
// reject entries: the walk goes on until the page is full). With 100k runs (storetest.BenchmarkListRuns, by-metric cases:
// first, deep, among the runs without the metric, filtered) a page takes 0.36–0.74 ms p50 on
// SQLite and 0.45–1.5 ms on PostgreSQL, 1.2 ms through the HTTP API, where scoring every run of
// the namespace and sorting them took 117 ms on SQLite and 198 ms on PostgreSQL.
//
// The shapes are chosen so the MLflow tracking API maps onto them without tables of its own: an
// MLflow experiment is an Experiment (lifecycle_stage "deleted" is Archived), an MLflow run is a Run
// whose PipelineVersionID is empty (its status maps from Phase, see Phase.MLflowStatus), params are
// write-once, metrics carry step and timestamp, and registered models, versions and aliases match
// MLflow's model registry.
package store

-- Ordering runs by a metric walks latest_metrics in (key, value, run_id) order and joins each row
-- to its run, so a page reads about a page of index entries instead of sorting the namespace.
-- The new index serves everything the (key, value) one did, which is dropped to keep metric
-- ingestion from maintaining both.
CREATE INDEX latest_metrics_key_value_run ON latest_metrics (key, value, run_id);
DROP INDEX latest_metrics_key_value;

-- Runs without the metric follow in ID order within the namespace.
CREATE INDEX runs_ns_id ON runs (namespace, id);

-- Run filters on a metric look up (run_id, key) per run. Without statistics SQLite's planner
-- would rather range-scan the covering (key, value, run_id) index for each run — all of the
-- key's runs every time — so this index covers the per-run lookup too.
CREATE INDEX latest_metrics_run_key_value ON latest_metrics (run_id, key, value);

-- Orderings by start and finish time sort unset times as 0 (COALESCE), so they need expression
-- indexes to walk pages in order instead of sorting the namespace.
CREATE INDEX runs_ns_started ON runs (namespace, (COALESCE(started_at, 0)), id);
CREATE INDEX runs_ns_finished ON runs (namespace, (COALESCE(finished_at, 0)), id);

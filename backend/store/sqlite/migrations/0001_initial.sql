-- Kiln store schema, version 1. Times are Unix nanoseconds (metric timestamps: milliseconds).
-- Shipped migrations are never edited; add a new numbered file instead.

CREATE TABLE pipelines (
  id          TEXT PRIMARY KEY,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  created_at  INTEGER NOT NULL,
  UNIQUE (namespace, name)
);
CREATE INDEX pipelines_ns_created ON pipelines (namespace, created_at, id);

CREATE TABLE pipeline_versions (
  id                TEXT PRIMARY KEY,
  namespace         TEXT NOT NULL,
  pipeline_id       TEXT NOT NULL REFERENCES pipelines (id) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  description       TEXT NOT NULL DEFAULT '',
  spec              BLOB NOT NULL,
  parameters_schema TEXT,
  created_at        INTEGER NOT NULL,
  UNIQUE (pipeline_id, name)
);
CREATE INDEX pipeline_versions_created ON pipeline_versions (pipeline_id, created_at, id);

CREATE TABLE experiments (
  id          TEXT PRIMARY KEY,
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  tags        TEXT NOT NULL DEFAULT '{}',
  archived    INTEGER NOT NULL DEFAULT 0,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  UNIQUE (namespace, name)
);
CREATE INDEX experiments_ns_created ON experiments (namespace, created_at, id);

CREATE TABLE recurring_runs (
  id                  TEXT PRIMARY KEY,
  namespace           TEXT NOT NULL,
  name                TEXT NOT NULL,
  description         TEXT NOT NULL DEFAULT '',
  experiment_id       TEXT REFERENCES experiments (id) ON DELETE SET NULL,
  pipeline_version_id TEXT REFERENCES pipeline_versions (id) ON DELETE SET NULL,
  parameters          TEXT NOT NULL DEFAULT '{}',
  cron                TEXT NOT NULL DEFAULT '',
  interval_ns         INTEGER NOT NULL DEFAULT 0,
  time_zone           TEXT NOT NULL DEFAULT '',
  enabled             INTEGER NOT NULL,
  max_concurrency     INTEGER NOT NULL DEFAULT 0,
  catch_up            INTEGER NOT NULL DEFAULT 0,
  start_at            INTEGER,
  end_at              INTEGER,
  last_run_at         INTEGER,
  created_at          INTEGER NOT NULL,
  updated_at          INTEGER NOT NULL,
  UNIQUE (namespace, name)
);
CREATE INDEX recurring_runs_ns_created ON recurring_runs (namespace, created_at, id);

CREATE TABLE runs (
  id                  TEXT PRIMARY KEY,
  namespace           TEXT NOT NULL,
  experiment_id       TEXT REFERENCES experiments (id),
  pipeline_id         TEXT REFERENCES pipelines (id) ON DELETE SET NULL,
  pipeline_version_id TEXT REFERENCES pipeline_versions (id) ON DELETE SET NULL,
  recurring_run_id    TEXT REFERENCES recurring_runs (id) ON DELETE SET NULL,
  name                TEXT NOT NULL DEFAULT '',
  description         TEXT NOT NULL DEFAULT '',
  phase               TEXT NOT NULL,
  message             TEXT NOT NULL DEFAULT '',
  parameters          TEXT NOT NULL DEFAULT '{}',
  spec                BLOB,
  created_by          TEXT NOT NULL DEFAULT '',
  created_at          INTEGER NOT NULL,
  started_at          INTEGER,
  finished_at         INTEGER,
  archived            INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX runs_ns_archived_created ON runs (namespace, archived, created_at, id);
CREATE INDEX runs_ns_created ON runs (namespace, created_at, id);
CREATE INDEX runs_ns_name ON runs (namespace, name, id);
CREATE INDEX runs_experiment_created ON runs (experiment_id, created_at, id);
CREATE INDEX runs_phase ON runs (phase);

CREATE TABLE run_nodes (
  run_id       TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node_id      TEXT NOT NULL,
  name         TEXT NOT NULL DEFAULT '',
  display_name TEXT NOT NULL DEFAULT '',
  type         TEXT NOT NULL DEFAULT '',
  template     TEXT NOT NULL DEFAULT '',
  phase        TEXT NOT NULL DEFAULT '',
  message      TEXT NOT NULL DEFAULT '',
  inputs       TEXT,
  outputs      TEXT,
  children     TEXT NOT NULL DEFAULT '[]',
  started_at   INTEGER,
  finished_at  INTEGER,
  PRIMARY KEY (run_id, node_id)
);

CREATE TABLE params (
  run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key       TEXT NOT NULL,
  value     TEXT NOT NULL,
  num_value REAL, -- value parsed as a number, NULL when it is not one (for filters)
  PRIMARY KEY (run_id, key)
);
CREATE INDEX params_key_value ON params (key, value);
CREATE INDEX params_key_num ON params (key, num_value);

CREATE TABLE tags (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key    TEXT NOT NULL,
  value  TEXT NOT NULL,
  PRIMARY KEY (run_id, key)
);
CREATE INDEX tags_key_value ON tags (key, value);

-- latest_metrics is one row per metric series (run, key): its ID numbers the series' points and
-- it holds the latest point (highest step, then timestamp), which run filters compare. value is
-- NULL for NaN, which SQLite cannot store.
CREATE TABLE latest_metrics (
  id        INTEGER PRIMARY KEY,
  run_id    TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  key       TEXT NOT NULL,
  value     REAL,
  step      INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  UNIQUE (run_id, key)
);
CREATE INDEX latest_metrics_key_value ON latest_metrics (key, value);

-- metrics is append-only; the rowid orders points that share a step. Rows are kept small (no
-- run ID or key) because metric ingestion is the store's hottest write path.
CREATE TABLE metrics (
  series_id INTEGER NOT NULL REFERENCES latest_metrics (id) ON DELETE CASCADE,
  step      INTEGER NOT NULL,
  timestamp INTEGER NOT NULL,
  value     REAL
);
CREATE INDEX metrics_series_step ON metrics (series_id, step);

CREATE TABLE artifacts (
  id         TEXT PRIMARY KEY,
  namespace  TEXT NOT NULL,
  run_id     TEXT REFERENCES runs (id) ON DELETE SET NULL,
  node_id    TEXT NOT NULL DEFAULT '',
  name       TEXT NOT NULL DEFAULT '',
  uri        TEXT NOT NULL,
  type       TEXT NOT NULL DEFAULT '',
  digest     TEXT NOT NULL DEFAULT '',
  size       INTEGER NOT NULL DEFAULT 0,
  metadata   TEXT NOT NULL DEFAULT '{}',
  created_at INTEGER NOT NULL
);
CREATE INDEX artifacts_ns_created ON artifacts (namespace, created_at, id);
CREATE INDEX artifacts_run ON artifacts (run_id);

CREATE TABLE lineage (
  artifact_id TEXT NOT NULL REFERENCES artifacts (id) ON DELETE CASCADE,
  run_id      TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  node_id     TEXT NOT NULL DEFAULT '',
  kind        TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  PRIMARY KEY (artifact_id, run_id, node_id, kind)
);
CREATE INDEX lineage_run ON lineage (run_id);

CREATE TABLE registered_models (
  namespace   TEXT NOT NULL,
  name        TEXT NOT NULL,
  description TEXT NOT NULL DEFAULT '',
  tags        TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (namespace, name)
);
CREATE INDEX registered_models_created ON registered_models (namespace, created_at, name);

CREATE TABLE model_versions (
  namespace   TEXT NOT NULL,
  model_name  TEXT NOT NULL,
  version     INTEGER NOT NULL,
  source      TEXT NOT NULL DEFAULT '',
  artifact_id TEXT REFERENCES artifacts (id) ON DELETE SET NULL,
  run_id      TEXT REFERENCES runs (id) ON DELETE SET NULL,
  description TEXT NOT NULL DEFAULT '',
  tags        TEXT NOT NULL DEFAULT '{}',
  status      TEXT NOT NULL,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  PRIMARY KEY (namespace, model_name, version),
  FOREIGN KEY (namespace, model_name) REFERENCES registered_models (namespace, name) ON DELETE CASCADE
);

CREATE TABLE model_aliases (
  namespace  TEXT NOT NULL,
  model_name TEXT NOT NULL,
  alias      TEXT NOT NULL,
  version    INTEGER NOT NULL,
  PRIMARY KEY (namespace, model_name, alias),
  FOREIGN KEY (namespace, model_name, version) REFERENCES model_versions (namespace, model_name, version) ON DELETE CASCADE
);

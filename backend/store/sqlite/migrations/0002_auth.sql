-- Bearer tokens (stored as SHA-256 hashes) and namespace membership.

CREATE TABLE tokens (
  hash       TEXT PRIMARY KEY,
  user_name  TEXT NOT NULL,
  name       TEXT NOT NULL DEFAULT '',
  created_at BIGINT NOT NULL,
  expires_at BIGINT
);
CREATE INDEX tokens_user ON tokens (user_name, created_at);

CREATE TABLE namespace_members (
  namespace TEXT NOT NULL,
  user_name TEXT NOT NULL,
  role      TEXT NOT NULL,
  PRIMARY KEY (namespace, user_name)
);
CREATE INDEX namespace_members_user ON namespace_members (user_name, namespace);

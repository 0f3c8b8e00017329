-- Latch schema, version 1.
--
-- Conventions (see the package doc):
--   * times are INTEGER unix nanoseconds UTC; NULL is the zero time.
--   * []string columns are JSON arrays as TEXT ('[]' when empty).
--   * durations are INTEGER nanoseconds.
--   * secrets are never stored: codes, refresh tokens, session ids and
--     client secrets arrive already hashed.
-- Foreign keys (enabled on every connection) cascade deletes, so deleting a
-- user or a client removes everything issued to it.

CREATE TABLE clients (
	id                        TEXT PRIMARY KEY,
	secret_hash               TEXT NOT NULL,
	public                    INTEGER NOT NULL,
	name                      TEXT NOT NULL,
	redirect_uris             TEXT NOT NULL,
	post_logout_redirect_uris TEXT NOT NULL,
	allowed_origins           TEXT NOT NULL,
	grant_types               TEXT NOT NULL,
	scopes                    TEXT NOT NULL,
	audiences                 TEXT NOT NULL,
	first_party               INTEGER NOT NULL,
	require_dpop              INTEGER NOT NULL,
	id_token_alg              TEXT NOT NULL,
	refresh_grace             INTEGER NOT NULL,
	refresh_idle              INTEGER NOT NULL,
	refresh_absolute          INTEGER NOT NULL,
	access_token_ttl          INTEGER NOT NULL,
	revoke_refresh_on_logout  INTEGER NOT NULL,
	created_at                INTEGER
) STRICT;

CREATE TABLE users (
	id             TEXT PRIMARY KEY,
	username       TEXT NOT NULL UNIQUE, -- BINARY collation: case-sensitive
	email          TEXT NOT NULL,
	email_verified INTEGER NOT NULL,
	name           TEXT NOT NULL,
	password_hash  TEXT NOT NULL,
	created_at     INTEGER
) STRICT;

CREATE TABLE sessions (
	id         TEXT PRIMARY KEY,
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	auth_time  INTEGER,
	created_at INTEGER,
	expires_at INTEGER,
	amr        TEXT NOT NULL
) STRICT;
CREATE INDEX sessions_user ON sessions(user_id);
CREATE INDEX sessions_expires ON sessions(expires_at);

CREATE TABLE consents (
	user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	client_id  TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
	scopes     TEXT NOT NULL,
	granted_at INTEGER,
	PRIMARY KEY (user_id, client_id)
) STRICT;
CREATE INDEX consents_client ON consents(client_id);

CREATE TABLE auth_codes (
	hash                  TEXT PRIMARY KEY,
	client_id             TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
	user_id               TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	session_id            TEXT NOT NULL,
	grant_id              TEXT NOT NULL,
	redirect_uri          TEXT NOT NULL,
	scopes                TEXT NOT NULL,
	audiences             TEXT NOT NULL,
	nonce                 TEXT NOT NULL,
	code_challenge        TEXT NOT NULL,
	code_challenge_method TEXT NOT NULL,
	dpop_jkt              TEXT NOT NULL,
	auth_time             INTEGER,
	amr                   TEXT NOT NULL,
	created_at            INTEGER,
	expires_at            INTEGER,
	used_at               INTEGER -- NULL until consumed; set once, never cleared
) STRICT;
CREATE INDEX auth_codes_client ON auth_codes(client_id);
CREATE INDEX auth_codes_user ON auth_codes(user_id);
CREATE INDEX auth_codes_expires ON auth_codes(expires_at);

CREATE TABLE grants (
	id                  TEXT PRIMARY KEY,
	client_id           TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
	user_id             TEXT REFERENCES users(id) ON DELETE CASCADE, -- NULL for client credentials
	session_id          TEXT NOT NULL,
	scopes              TEXT NOT NULL,
	audiences           TEXT NOT NULL,
	auth_time           INTEGER,
	amr                 TEXT NOT NULL,
	nonce               TEXT NOT NULL,
	dpop_jkt            TEXT NOT NULL,
	created_at          INTEGER,
	absolute_expires_at INTEGER, -- NULL: no absolute bound, never swept
	revoked_at          INTEGER  -- NULL unless revoked; set once, never cleared
) STRICT;
CREATE INDEX grants_user ON grants(user_id, client_id);
CREATE INDEX grants_client ON grants(client_id);
CREATE INDEX grants_expires ON grants(absolute_expires_at);

CREATE TABLE refresh_tokens (
	hash           TEXT PRIMARY KEY,
	grant_id       TEXT NOT NULL REFERENCES grants(id) ON DELETE CASCADE,
	client_id      TEXT NOT NULL,
	user_id        TEXT NOT NULL,
	scopes         TEXT NOT NULL,
	created_at     INTEGER,
	expires_at     INTEGER,
	rotated_at     INTEGER, -- NULL until exchanged
	successor_hash TEXT NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_grant ON refresh_tokens(grant_id);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);

CREATE TABLE revoked_access_tokens (
	jti        TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens(expires_at);

CREATE TABLE signing_keys (
	id         TEXT PRIMARY KEY,
	alg        TEXT NOT NULL,
	private    BLOB NOT NULL,
	public     BLOB NOT NULL,
	active     INTEGER NOT NULL,
	created_at INTEGER,
	retired_at INTEGER
) STRICT;
-- One active key per algorithm, enforced by the database itself.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(alg) WHERE active;

CREATE TABLE once_values (
	key        TEXT PRIMARY KEY,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX once_values_expires ON once_values(expires_at);

-- One row per failure; expires_at = at + the window it was recorded with.
CREATE TABLE failures (
	id         INTEGER PRIMARY KEY,
	key        TEXT NOT NULL,
	at         INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX failures_key ON failures(key, at);
CREATE INDEX failures_expires ON failures(expires_at);

-- 0001_init: Latch's initial schema.
--
-- Conventions (see ../doc.go):
--   * Times are bigint Unix nanoseconds, UTC. A required time stores the
--     zero time.Time as 0; an event time that may not have happened yet
--     (used_at, rotated_at, revoked_at, retired_at) is NULL until it does.
--   * Durations are bigint nanoseconds.
--   * Lists are text[]; NULL and '{}' both read back as a nil slice.
--   * There are no foreign keys: the Store methods that delete a parent
--     (DeleteUser) delete its children in the same transaction, and the
--     sweeper (DeleteExpired) removes rows independently in batches.

CREATE TABLE clients (
    id                        text    PRIMARY KEY,
    secret_hash               text    NOT NULL DEFAULT '',
    public                    boolean NOT NULL DEFAULT false,
    name                      text    NOT NULL DEFAULT '',
    redirect_uris             text[],
    post_logout_redirect_uris text[],
    allowed_origins           text[],
    grant_types               text[],
    scopes                    text[],
    audiences                 text[],
    first_party               boolean NOT NULL DEFAULT false,
    require_dpop              boolean NOT NULL DEFAULT false,
    id_token_alg              text    NOT NULL DEFAULT '',
    refresh_grace             bigint  NOT NULL DEFAULT 0,
    refresh_idle              bigint  NOT NULL DEFAULT 0,
    refresh_absolute          bigint  NOT NULL DEFAULT 0,
    access_token_ttl          bigint  NOT NULL DEFAULT 0,
    revoke_refresh_on_logout  boolean NOT NULL DEFAULT false,
    created_at                bigint  NOT NULL DEFAULT 0
);

CREATE TABLE users (
    id             text    PRIMARY KEY,
    -- Unique as stored (case-sensitive): the Store contract.
    username       text    NOT NULL UNIQUE,
    email          text    NOT NULL DEFAULT '',
    email_verified boolean NOT NULL DEFAULT false,
    name           text    NOT NULL DEFAULT '',
    password_hash  text    NOT NULL DEFAULT '',
    created_at     bigint  NOT NULL DEFAULT 0
);

CREATE TABLE sessions (
    id         text   PRIMARY KEY, -- hash of the cookie value
    user_id    text   NOT NULL,
    auth_time  bigint NOT NULL DEFAULT 0,
    created_at bigint NOT NULL DEFAULT 0,
    expires_at bigint NOT NULL,
    amr        text[]
);
CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

CREATE TABLE consents (
    user_id    text   NOT NULL,
    client_id  text   NOT NULL,
    scopes     text[],
    granted_at bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (user_id, client_id)
);

CREATE TABLE auth_codes (
    hash                  text   PRIMARY KEY, -- hash of the code
    client_id             text   NOT NULL,
    user_id               text   NOT NULL DEFAULT '',
    session_id            text   NOT NULL DEFAULT '',
    grant_id              text   NOT NULL DEFAULT '',
    redirect_uri          text   NOT NULL DEFAULT '',
    scopes                text[],
    audiences             text[],
    nonce                 text   NOT NULL DEFAULT '',
    code_challenge        text   NOT NULL DEFAULT '',
    code_challenge_method text   NOT NULL DEFAULT '',
    dpop_jkt              text   NOT NULL DEFAULT '',
    auth_time             bigint NOT NULL DEFAULT 0,
    amr                   text[],
    created_at            bigint NOT NULL DEFAULT 0,
    expires_at            bigint NOT NULL,
    used_at               bigint -- NULL until consumed
);
CREATE INDEX auth_codes_expires_at ON auth_codes (expires_at);
CREATE INDEX auth_codes_user_id ON auth_codes (user_id);

CREATE TABLE grants (
    id                  text   PRIMARY KEY,
    client_id           text   NOT NULL,
    user_id             text   NOT NULL DEFAULT '', -- '' for client credentials
    session_id          text   NOT NULL DEFAULT '',
    scopes              text[],
    audiences           text[],
    auth_time           bigint NOT NULL DEFAULT 0,
    amr                 text[],
    nonce               text   NOT NULL DEFAULT '',
    dpop_jkt            text   NOT NULL DEFAULT '',
    created_at          bigint NOT NULL DEFAULT 0,
    absolute_expires_at bigint NOT NULL DEFAULT 0,
    revoked_at          bigint -- NULL unless revoked
);
CREATE INDEX grants_user_id ON grants (user_id, client_id);
CREATE INDEX grants_absolute_expires_at ON grants (absolute_expires_at);

CREATE TABLE refresh_tokens (
    hash           text   PRIMARY KEY, -- hash of the token
    grant_id       text   NOT NULL,
    client_id      text   NOT NULL,
    user_id        text   NOT NULL DEFAULT '',
    scopes         text[],
    created_at     bigint NOT NULL DEFAULT 0,
    expires_at     bigint NOT NULL, -- idle expiry
    rotated_at     bigint,          -- NULL until exchanged
    successor_hash text   NOT NULL DEFAULT ''
);
CREATE INDEX refresh_tokens_grant_id ON refresh_tokens (grant_id);
CREATE INDEX refresh_tokens_user_id ON refresh_tokens (user_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE revoked_access_tokens (
    jti        text   PRIMARY KEY,
    expires_at bigint NOT NULL
);
CREATE INDEX revoked_access_tokens_expires_at ON revoked_access_tokens (expires_at);

CREATE TABLE signing_keys (
    id         text    PRIMARY KEY, -- kid
    alg        text    NOT NULL,
    private    bytea,               -- encrypted by the token package
    public     bytea,
    active     boolean NOT NULL DEFAULT false,
    created_at bigint  NOT NULL DEFAULT 0,
    retired_at bigint               -- NULL while active or never active
);
-- Invariant: at most one active key per algorithm.
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE active;

CREATE TABLE used_once (
    key        text   PRIMARY KEY,
    expires_at bigint NOT NULL
);
CREATE INDEX used_once_expires_at ON used_once (expires_at);

-- Throttle counters. failure_keys holds one row per key: RecordFailure
-- locks it (upsert) so that concurrent callers on any instance count in a
-- single order. failures holds one row per failure.
CREATE TABLE failure_keys (
    key        text   PRIMARY KEY,
    expires_at bigint NOT NULL -- latest expiry of any of its failures
);
CREATE INDEX failure_keys_expires_at ON failure_keys (expires_at);

CREATE TABLE failures (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    key        text   NOT NULL,
    at         bigint NOT NULL,
    expires_at bigint NOT NULL -- at + the window it was recorded with
);
CREATE INDEX failures_key_at ON failures (key, at);
CREATE INDEX failures_expires_at ON failures (expires_at);

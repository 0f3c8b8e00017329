-- Latch schema: device authorizations (RFC 8628).
--
-- Keyed by the hash of the device_code; user_code_hash (the hash of the
-- normalised user code) is unique, the /device page looks records up by
-- it. status is 'pending', 'approved' or 'denied' (set once); used_at is
-- set when an approved record is redeemed (once, never cleared).
-- interval_ns grows by slow_down (RFC 8628 §3.5).
CREATE TABLE device_codes (
	hash           TEXT PRIMARY KEY,
	user_code_hash TEXT NOT NULL UNIQUE,
	client_id      TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
	scopes         TEXT NOT NULL,
	grant_id       TEXT NOT NULL,
	interval_ns    INTEGER NOT NULL,
	last_polled_at INTEGER,
	created_at     INTEGER NOT NULL,
	expires_at     INTEGER NOT NULL,
	status         TEXT NOT NULL,
	user_id        TEXT REFERENCES users(id) ON DELETE CASCADE,
	session_id     TEXT NOT NULL,
	auth_time      INTEGER,
	amr            TEXT NOT NULL,
	decided_at     INTEGER,
	used_at        INTEGER
) STRICT;
CREATE INDEX device_codes_client ON device_codes(client_id);
CREATE INDEX device_codes_user ON device_codes(user_id);
CREATE INDEX device_codes_expires ON device_codes(expires_at);

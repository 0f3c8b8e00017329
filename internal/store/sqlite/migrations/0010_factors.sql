-- Latch schema: sign-in factors besides the password (TOTP, recovery
-- codes, later passkeys) and the per-user second-factor requirement.
ALTER TABLE users ADD COLUMN mfa_required INTEGER NOT NULL DEFAULT 0;

CREATE TABLE factors (
	user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	id           TEXT NOT NULL,
	kind         TEXT NOT NULL,
	name         TEXT NOT NULL,
	secret       BLOB,
	counter      INTEGER NOT NULL,
	created_at   INTEGER,
	last_used_at INTEGER,
	PRIMARY KEY (user_id, id)
) STRICT;

-- A client's authentication policy ('' = the server's).
ALTER TABLE clients ADD COLUMN authentication_policy TEXT NOT NULL DEFAULT '';

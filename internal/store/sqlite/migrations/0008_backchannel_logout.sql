-- Latch schema: OpenID Connect Back-Channel Logout 1.0.
--
-- clients get backchannel_logout_uri and backchannel_logout_session_required
-- (§2.2). backchannel_logouts is the durable outbox: EndSession and
-- EndUserSessions insert one row per notified client in the transaction
-- that deletes the session, and the delivery worker of any instance
-- claims rows by setting lease_until (one writer at a time in SQLite, so
-- the claiming UPDATE is atomic), deletes them when delivered or given
-- up, and records failed attempts. The grants_session index finds the
-- clients that received tokens in a session; auth_codes_session the
-- unredeemed codes that die with it.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required INTEGER NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS grants_session ON grants(session_id);
CREATE TABLE backchannel_logouts (
	id              TEXT PRIMARY KEY, -- the Logout Token's jti
	client_id       TEXT NOT NULL,
	uri             TEXT NOT NULL,
	subject         TEXT NOT NULL,
	sid             TEXT NOT NULL,
	created_at      INTEGER NOT NULL,
	next_attempt_at INTEGER NOT NULL,
	attempts        INTEGER NOT NULL DEFAULT 0,
	last_error      TEXT NOT NULL DEFAULT '',
	lease_until     INTEGER NOT NULL DEFAULT 0 -- unix ns; 0: not claimed
) STRICT;
CREATE INDEX backchannel_logouts_due ON backchannel_logouts(next_attempt_at);
CREATE INDEX auth_codes_session ON auth_codes(session_id);

-- Latch schema, version 6: why a grant ended, and fresh challenges.
--
-- grants.revoked_reason is a stable code (store.Reason) set with
-- revoked_at, once: '' unless revoked (and for grants revoked before this
-- version). grants_session finds the grants of an ended SSO session
-- (RevokeSessionGrants). clients.require_fresh_challenge refuses an
-- authorization request that reuses a code_challenge or nonce
-- (RFC 9700 §2.1.1).
ALTER TABLE grants ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';
CREATE INDEX grants_session ON grants(session_id);
ALTER TABLE clients ADD COLUMN require_fresh_challenge INTEGER NOT NULL DEFAULT 0;

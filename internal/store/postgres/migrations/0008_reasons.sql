-- 0008_reasons: why a grant ended, and fresh challenges.
--
-- grants.revoked_reason is a stable code (store.Reason) set with
-- revoked_at, once: '' unless revoked (and for grants revoked before this
-- version). grants_session_id finds the grants of an ended SSO session
-- (RevokeSessionGrants). clients.require_fresh_challenge refuses an
-- authorization request that reuses a code_challenge or nonce
-- (RFC 9700 §2.1.1).
ALTER TABLE grants ADD COLUMN revoked_reason text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_fresh_challenge boolean NOT NULL DEFAULT false;

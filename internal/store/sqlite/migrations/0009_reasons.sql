-- Latch schema, version 9: why a grant ended, and fresh challenges.
--
-- grants.revoked_reason is a stable code (store.Reason) set with
-- revoked_at, once: '' unless revoked (and for grants revoked before this
-- version); RevokeSessionGrants finds an ended SSO session's grants
-- through the grants_session index of the back-channel logout migration.
-- clients.require_fresh_challenge refuses an authorization request that
-- reuses a code_challenge or nonce (RFC 9700 §2.1.1).
ALTER TABLE grants ADD COLUMN revoked_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_fresh_challenge INTEGER NOT NULL DEFAULT 0;

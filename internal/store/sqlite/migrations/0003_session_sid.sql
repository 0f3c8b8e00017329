-- Latch schema, version 3: a public session id (sid).
--
-- sessions.id is the hash of the cookie value and the lookup key, so it
-- must never leave the server. sid is a separate random identifier that
-- ID tokens carry (OIDC Front-/Back-Channel Logout "sid") and that an
-- id_token_hint is matched against at logout. Existing sessions get one
-- now; codes and grants, which recorded the session by its id, are
-- rewritten to its sid ('' when the session is gone), so no ID token
-- minted after this migration can carry a cookie hash.
ALTER TABLE sessions ADD COLUMN sid TEXT NOT NULL DEFAULT '';
UPDATE sessions SET sid = lower(hex(randomblob(16)));
UPDATE auth_codes SET session_id = COALESCE((SELECT sid FROM sessions WHERE sessions.id = auth_codes.session_id), '');
UPDATE grants SET session_id = COALESCE((SELECT sid FROM sessions WHERE sessions.id = grants.session_id), '');

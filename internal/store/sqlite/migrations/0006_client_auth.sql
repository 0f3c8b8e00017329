-- Latch schema: private_key_jwt client keys, pushed authorization requests.
--
-- clients.token_endpoint_auth_method is "" (secret or none, by the client
-- type) or "private_key_jwt" (RFC 7523 §2.2), whose keys are jwks (an
-- inline JWK Set) or jwks_uri. clients.require_par makes /authorize
-- accept only pushed requests from the client (RFC 9126 §6).
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN jwks TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN jwks_uri TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_par INTEGER NOT NULL DEFAULT 0;

-- Pushed authorization requests (RFC 9126), keyed by the hash of the
-- request_uri's random part; a row is deleted when it is redeemed.
CREATE TABLE pushed_requests (
	hash       TEXT PRIMARY KEY,
	client_id  TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
	params     TEXT NOT NULL,
	created_at INTEGER NOT NULL,
	expires_at INTEGER NOT NULL
) STRICT;
CREATE INDEX pushed_requests_client ON pushed_requests(client_id);
CREATE INDEX pushed_requests_expires ON pushed_requests(expires_at);

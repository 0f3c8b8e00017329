-- 0010_client_registration: client origins and dynamic client registration.
--
-- clients.origin: who registered the client ('' operator, 'dcr' RFC 7591,
-- 'cimd' a client ID metadata document). clients.registration_token_hash:
-- the SHA-256 of a DCR client's registration access token (RFC 7592),
-- never the token. initial_access_tokens: hashes of the tokens that
-- authorise registrations (RFC 7591 §3), with their remaining uses.
ALTER TABLE clients ADD COLUMN origin text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN registration_token_hash text NOT NULL DEFAULT '';
CREATE TABLE initial_access_tokens (
	hash       text PRIMARY KEY,
	created_at bigint NOT NULL,
	expires_at bigint NOT NULL,
	uses_left  integer NOT NULL
);
CREATE INDEX initial_access_tokens_expires_at ON initial_access_tokens (expires_at);

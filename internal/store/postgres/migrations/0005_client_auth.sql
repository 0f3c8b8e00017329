-- 0005_client_auth: private_key_jwt client keys, pushed authorization requests.
--
-- clients.token_endpoint_auth_method is '' (secret or none, by the client
-- type) or 'private_key_jwt' (RFC 7523 §2.2), whose keys are jwks (an
-- inline JWK Set) or jwks_uri. clients.require_par makes /authorize
-- accept only pushed requests from the client (RFC 9126 §6).
ALTER TABLE clients ADD COLUMN token_endpoint_auth_method text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN jwks text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN jwks_uri text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_par boolean NOT NULL DEFAULT false;

-- Pushed authorization requests (RFC 9126), keyed by the hash of the
-- request_uri's random part; a row is deleted when it is redeemed.
CREATE TABLE pushed_requests (
    hash       text   PRIMARY KEY,
    client_id  text   NOT NULL,
    params     text   NOT NULL,
    created_at bigint NOT NULL,
    expires_at bigint NOT NULL
);
CREATE INDEX pushed_requests_client ON pushed_requests (client_id);
CREATE INDEX pushed_requests_expires_at ON pushed_requests (expires_at);

-- 0002_code_failures: refused code redemptions are counted.
--
-- A redemption that fails the client, redirect URI, PKCE or DPoP checks
-- no longer consumes the code; RecordCodeFailure counts it here and kills
-- the code (expires_at = now) at the limit.
ALTER TABLE auth_codes ADD COLUMN failures integer NOT NULL DEFAULT 0;

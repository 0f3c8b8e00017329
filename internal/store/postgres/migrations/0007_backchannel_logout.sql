-- 0005_backchannel_logout: OpenID Connect Back-Channel Logout 1.0.
--
-- clients get backchannel_logout_uri and backchannel_logout_session_required
-- (§2.2). backchannel_logouts is the durable outbox: EndSession and
-- EndUserSessions insert one row per notified client in the transaction
-- that deletes the session, and the delivery worker of any instance
-- claims rows with FOR UPDATE SKIP LOCKED and a lease (lease_until), so
-- two instances never send one row at once; rows are deleted when
-- delivered or given up. The grants_session_id index finds the clients
-- that received tokens in a session; auth_codes_session_id the unredeemed
-- codes that die with it.
ALTER TABLE clients ADD COLUMN backchannel_logout_uri text NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN backchannel_logout_session_required boolean NOT NULL DEFAULT false;
CREATE INDEX IF NOT EXISTS grants_session_id ON grants (session_id);
CREATE TABLE backchannel_logouts (
    id              text   PRIMARY KEY, -- the Logout Token's jti
    client_id       text   NOT NULL,
    uri             text   NOT NULL,
    subject         text   NOT NULL,
    sid             text   NOT NULL,
    created_at      bigint NOT NULL,
    next_attempt_at bigint NOT NULL,
    attempts        integer NOT NULL DEFAULT 0,
    last_error      text   NOT NULL DEFAULT '',
    lease_until     bigint NOT NULL DEFAULT 0 -- unix ns; 0: not claimed
);
CREATE INDEX backchannel_logouts_due ON backchannel_logouts (next_attempt_at);
CREATE INDEX auth_codes_session_id ON auth_codes (session_id);

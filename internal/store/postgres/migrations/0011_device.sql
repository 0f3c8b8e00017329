-- 0011_device: device authorizations (RFC 8628).
--
-- Keyed by the hash of the device_code; user_code_hash (the hash of the
-- normalised user code) is unique, the /device page looks records up by
-- it. status is 'pending', 'approved' or 'denied' (set once); used_at is
-- set when an approved record is redeemed (once, never cleared).
-- interval_ns grows by slow_down (RFC 8628 §3.5).
CREATE TABLE device_codes (
    hash           text   PRIMARY KEY,
    user_code_hash text   NOT NULL UNIQUE,
    client_id      text   NOT NULL,
    scopes         text[],
    grant_id       text   NOT NULL,
    interval_ns    bigint NOT NULL,
    last_polled_at bigint NOT NULL DEFAULT 0,
    created_at     bigint NOT NULL DEFAULT 0,
    expires_at     bigint NOT NULL,
    status         text   NOT NULL,
    user_id        text   NOT NULL DEFAULT '',
    session_id     text   NOT NULL DEFAULT '',
    auth_time      bigint NOT NULL DEFAULT 0,
    amr            text[],
    decided_at     bigint NOT NULL DEFAULT 0,
    used_at        bigint -- NULL until redeemed
);
CREATE INDEX device_codes_client_id ON device_codes (client_id);
CREATE INDEX device_codes_user_id ON device_codes (user_id);
CREATE INDEX device_codes_expires_at ON device_codes (expires_at);

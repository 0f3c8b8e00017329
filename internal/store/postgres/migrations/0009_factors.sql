-- 0009_factors: sign-in factors besides the password (TOTP, recovery
-- codes, later passkeys) and the per-user second-factor requirement.
-- DeleteUser deletes a user's factors in its transaction (no foreign keys,
-- see 0001_init).
ALTER TABLE users ADD COLUMN mfa_required boolean NOT NULL DEFAULT false;

CREATE TABLE factors (
    user_id      text   NOT NULL,
    id           text   NOT NULL,
    kind         text   NOT NULL,
    name         text   NOT NULL DEFAULT '',
    secret       bytea,
    counter      bigint NOT NULL DEFAULT 0,
    created_at   bigint NOT NULL DEFAULT 0,
    last_used_at bigint,
    PRIMARY KEY (user_id, id)
);

-- A client's authentication policy ('' = the server's).
ALTER TABLE clients ADD COLUMN authentication_policy text NOT NULL DEFAULT '';

-- 0012_upstreams: upstream OpenID Providers users sign in through
-- (federation) and the links of their subjects to Latch users. DeleteUser
-- and DeleteUpstream delete links in their transactions (no foreign keys,
-- see 0001_init).
CREATE TABLE upstreams (
    id             text PRIMARY KEY,
    issuer         text   NOT NULL,
    client_id      text   NOT NULL,
    client_secret  bytea,
    scopes         text[],
    display_name   text   NOT NULL DEFAULT '',
    username_claim text   NOT NULL DEFAULT '',
    email_claim    text   NOT NULL DEFAULT '',
    name_claim     text   NOT NULL DEFAULT '',
    link_policy    text   NOT NULL,
    created_at     bigint NOT NULL DEFAULT 0,
    updated_at     bigint NOT NULL DEFAULT 0
);

CREATE TABLE upstream_links (
    upstream_id text   NOT NULL,
    subject     text   NOT NULL,
    user_id     text   NOT NULL,
    created_at  bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (upstream_id, subject)
);

CREATE INDEX upstream_links_user ON upstream_links (user_id);

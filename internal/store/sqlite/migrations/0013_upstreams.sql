-- Latch schema: upstream OpenID Providers users sign in through
-- (federation) and the links of their subjects to Latch users.
CREATE TABLE upstreams (
	id             TEXT PRIMARY KEY,
	issuer         TEXT NOT NULL,
	client_id      TEXT NOT NULL,
	client_secret  BLOB,
	scopes         TEXT NOT NULL,
	display_name   TEXT NOT NULL,
	username_claim TEXT NOT NULL,
	email_claim    TEXT NOT NULL,
	name_claim     TEXT NOT NULL,
	link_policy    TEXT NOT NULL,
	created_at     INTEGER,
	updated_at     INTEGER
) STRICT;

CREATE TABLE upstream_links (
	upstream_id TEXT NOT NULL REFERENCES upstreams(id) ON DELETE CASCADE,
	subject     TEXT NOT NULL,
	user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
	created_at  INTEGER,
	PRIMARY KEY (upstream_id, subject)
) STRICT;

CREATE INDEX upstream_links_user ON upstream_links(user_id);

package sqlite

import (
	"context"
	"database/sql"

	"github.com/latchauth/latch/internal/store"
)

// --- upstream providers (federation) ---------------------------------------

const upstreamCols = `id, issuer, client_id, client_secret, scopes, display_name,
	username_claim, email_claim, name_claim, link_policy, created_at, updated_at`

func scanUpstream(r scanner) (store.Upstream, error) {
	var u store.Upstream
	err := r.Scan(&u.ID, &u.Issuer, &u.ClientID, &u.ClientSecret, lscan{&u.Scopes}, &u.DisplayName,
		&u.UsernameClaim, &u.EmailClaim, &u.NameClaim, &u.LinkPolicy, tscan{&u.CreatedAt}, tscan{&u.UpdatedAt})
	return u, mapErr(err)
}

// CreateUpstream inserts u; store.ErrAlreadyExists on a taken ID.
func (s *Store) CreateUpstream(ctx context.Context, u store.Upstream) error {
	_, err := s.exec(ctx, `INSERT INTO upstreams (`+upstreamCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`,
		u.ID, u.Issuer, u.ClientID, u.ClientSecret, lv(u.Scopes), u.DisplayName,
		u.UsernameClaim, u.EmailClaim, u.NameClaim, u.LinkPolicy, tv(u.CreatedAt), tv(u.UpdatedAt))
	return wrap("create upstream", mapErr(err))
}

// GetUpstream returns one upstream; store.ErrNotFound.
func (s *Store) GetUpstream(ctx context.Context, id string) (store.Upstream, error) {
	u, err := scanUpstream(s.queryRow(ctx, `SELECT `+upstreamCols+` FROM upstreams WHERE id = ?`, id))
	return u, wrap("get upstream", err)
}

// ListUpstreams returns every upstream by ID.
func (s *Store) ListUpstreams(ctx context.Context) ([]store.Upstream, error) {
	rows, err := s.query(ctx, `SELECT `+upstreamCols+` FROM upstreams ORDER BY id`)
	if err != nil {
		return nil, wrap("list upstreams", err)
	}
	defer rows.Close()
	var out []store.Upstream
	for rows.Next() {
		u, err := scanUpstream(rows)
		if err != nil {
			return nil, wrap("list upstreams", err)
		}
		out = append(out, u)
	}
	return out, wrap("list upstreams", rows.Err())
}

// UpdateUpstream replaces every field but CreatedAt; store.ErrNotFound.
func (s *Store) UpdateUpstream(ctx context.Context, u store.Upstream) error {
	n, err := rowsAffected(s.exec(ctx, `UPDATE upstreams SET issuer = ?, client_id = ?, client_secret = ?,
		scopes = ?, display_name = ?, username_claim = ?, email_claim = ?, name_claim = ?, link_policy = ?,
		updated_at = ? WHERE id = ?`,
		u.Issuer, u.ClientID, u.ClientSecret, lv(u.Scopes), u.DisplayName,
		u.UsernameClaim, u.EmailClaim, u.NameClaim, u.LinkPolicy, tv(u.UpdatedAt), u.ID))
	return wrap("update upstream", oneRow(n, err))
}

// DeleteUpstream deletes the upstream; its links go by the foreign key's
// ON DELETE CASCADE. store.ErrNotFound.
func (s *Store) DeleteUpstream(ctx context.Context, id string) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM upstreams WHERE id = ?`, id))
	return wrap("delete upstream", oneRow(n, err))
}

// LinkUpstream inserts the link. Atomicity: the primary key (upstream_id,
// subject) on the single writer; a second insert of one subject is a
// constraint error (store.ErrAlreadyExists), an unknown user or upstream
// a foreign-key error (store.ErrNotFound).
func (s *Store) LinkUpstream(ctx context.Context, l store.UpstreamLink) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO upstream_links (upstream_id, subject, user_id, created_at) VALUES (?,?,?,?)`,
			l.UpstreamID, l.Subject, l.UserID, tv(l.CreatedAt))
		return mapErr(err)
	})
	return wrap("link upstream", err)
}

const upstreamLinkCols = `upstream_id, subject, user_id, created_at`

func scanUpstreamLink(r scanner) (store.UpstreamLink, error) {
	var l store.UpstreamLink
	err := r.Scan(&l.UpstreamID, &l.Subject, &l.UserID, tscan{&l.CreatedAt})
	return l, mapErr(err)
}

// GetUpstreamLink returns the link of the upstream's subject;
// store.ErrNotFound.
func (s *Store) GetUpstreamLink(ctx context.Context, upstreamID, subject string) (store.UpstreamLink, error) {
	l, err := scanUpstreamLink(s.queryRow(ctx, `SELECT `+upstreamLinkCols+` FROM upstream_links
		WHERE upstream_id = ? AND subject = ?`, upstreamID, subject))
	return l, wrap("get upstream link", err)
}

// ListUserUpstreamLinks returns the user's links by upstream ID.
func (s *Store) ListUserUpstreamLinks(ctx context.Context, userID string) ([]store.UpstreamLink, error) {
	rows, err := s.query(ctx, `SELECT `+upstreamLinkCols+` FROM upstream_links WHERE user_id = ?
		ORDER BY upstream_id, subject`, userID)
	if err != nil {
		return nil, wrap("list user upstream links", err)
	}
	defer rows.Close()
	var out []store.UpstreamLink
	for rows.Next() {
		l, err := scanUpstreamLink(rows)
		if err != nil {
			return nil, wrap("list user upstream links", err)
		}
		out = append(out, l)
	}
	return out, wrap("list user upstream links", rows.Err())
}

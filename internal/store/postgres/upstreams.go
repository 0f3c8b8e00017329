package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

// Upstream providers (federation).

const upstreamCols = `id, issuer, client_id, client_secret, scopes, display_name,
	username_claim, email_claim, name_claim, link_policy, created_at, updated_at`

func scanUpstream(row pgx.Row) (store.Upstream, error) {
	var (
		u                store.Upstream
		created, updated int64
	)
	if err := row.Scan(&u.ID, &u.Issuer, &u.ClientID, &u.ClientSecret, &u.Scopes, &u.DisplayName,
		&u.UsernameClaim, &u.EmailClaim, &u.NameClaim, &u.LinkPolicy, &created, &updated); err != nil {
		return store.Upstream{}, err
	}
	u.Scopes = list(u.Scopes)
	u.CreatedAt, u.UpdatedAt = fromNanos(created), fromNanos(updated)
	return u, nil
}

// CreateUpstream inserts u; ErrAlreadyExists on a taken ID.
func (s *Store) CreateUpstream(ctx context.Context, u store.Upstream) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO upstreams (`+upstreamCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		u.ID, u.Issuer, u.ClientID, u.ClientSecret, u.Scopes, u.DisplayName,
		u.UsernameClaim, u.EmailClaim, u.NameClaim, u.LinkPolicy, toNanos(u.CreatedAt), toNanos(u.UpdatedAt))
	return mapErr("create upstream", err)
}

// GetUpstream returns one upstream; ErrNotFound.
func (s *Store) GetUpstream(ctx context.Context, id string) (store.Upstream, error) {
	u, err := scanUpstream(s.pool.QueryRow(ctx, `SELECT `+upstreamCols+` FROM upstreams WHERE id = $1`, id))
	return u, mapErr("get upstream", err)
}

// ListUpstreams returns every upstream by ID.
func (s *Store) ListUpstreams(ctx context.Context) ([]store.Upstream, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+upstreamCols+` FROM upstreams ORDER BY id COLLATE "C"`)
	if err != nil {
		return nil, mapErr("list upstreams", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Upstream, error) { return scanUpstream(r) })
	return us, mapErr("list upstreams", err)
}

// UpdateUpstream replaces every field but CreatedAt; ErrNotFound.
func (s *Store) UpdateUpstream(ctx context.Context, u store.Upstream) error {
	tag, err := s.pool.Exec(ctx, `UPDATE upstreams SET issuer = $2, client_id = $3, client_secret = $4,
		scopes = $5, display_name = $6, username_claim = $7, email_claim = $8, name_claim = $9,
		link_policy = $10, updated_at = $11 WHERE id = $1`,
		u.ID, u.Issuer, u.ClientID, u.ClientSecret, u.Scopes, u.DisplayName,
		u.UsernameClaim, u.EmailClaim, u.NameClaim, u.LinkPolicy, toNanos(u.UpdatedAt))
	if err != nil {
		return mapErr("update upstream", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("update upstream")
	}
	return nil
}

// DeleteUpstream deletes the upstream and its links in one transaction.
// ErrNotFound.
func (s *Store) DeleteUpstream(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `DELETE FROM upstream_links WHERE upstream_id = $1`, id); err != nil {
			return mapErr("delete upstream", err)
		}
		tag, err := tx.Exec(ctx, `DELETE FROM upstreams WHERE id = $1`, id)
		if err != nil {
			return mapErr("delete upstream", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("delete upstream")
		}
		return nil
	}, nil)
}

// LinkUpstream inserts the link. Atomicity: the primary key (upstream_id,
// subject) makes a second insert of one subject a unique violation
// (ErrAlreadyExists). The user and upstream rows are locked FOR SHARE
// first, so a concurrent DeleteUser or DeleteUpstream cannot leave a link
// behind (there are no foreign keys, see 0001_init).
func (s *Store) LinkUpstream(ctx context.Context, l store.UpstreamLink) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR SHARE`, l.UserID).Scan(&one); err != nil {
			return mapErr("link upstream: user", err)
		}
		if err := tx.QueryRow(ctx, `SELECT 1 FROM upstreams WHERE id = $1 FOR SHARE`, l.UpstreamID).Scan(&one); err != nil {
			return mapErr("link upstream: upstream", err)
		}
		_, err := tx.Exec(ctx, `INSERT INTO upstream_links (upstream_id, subject, user_id, created_at) VALUES ($1, $2, $3, $4)`,
			l.UpstreamID, l.Subject, l.UserID, toNanos(l.CreatedAt))
		return mapErr("link upstream", err)
	}, nil)
}

const upstreamLinkCols = `upstream_id, subject, user_id, created_at`

func scanUpstreamLink(row pgx.Row) (store.UpstreamLink, error) {
	var (
		l       store.UpstreamLink
		created int64
	)
	if err := row.Scan(&l.UpstreamID, &l.Subject, &l.UserID, &created); err != nil {
		return store.UpstreamLink{}, err
	}
	l.CreatedAt = fromNanos(created)
	return l, nil
}

// GetUpstreamLink returns the link of the upstream's subject; ErrNotFound.
func (s *Store) GetUpstreamLink(ctx context.Context, upstreamID, subject string) (store.UpstreamLink, error) {
	l, err := scanUpstreamLink(s.pool.QueryRow(ctx, `SELECT `+upstreamLinkCols+` FROM upstream_links
		WHERE upstream_id = $1 AND subject = $2`, upstreamID, subject))
	return l, mapErr("get upstream link", err)
}

// ListUserUpstreamLinks returns the user's links by upstream ID.
func (s *Store) ListUserUpstreamLinks(ctx context.Context, userID string) ([]store.UpstreamLink, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+upstreamLinkCols+` FROM upstream_links WHERE user_id = $1
		ORDER BY upstream_id COLLATE "C", subject COLLATE "C"`, userID)
	if err != nil {
		return nil, mapErr("list user upstream links", err)
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.UpstreamLink, error) { return scanUpstreamLink(r) })
	return ls, mapErr("list user upstream links", err)
}

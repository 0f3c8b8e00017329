package postgres

import (
	"context"
	"strings"

	"github.com/latchauth/latch/internal/store"
)

// GetRefreshGrant reads the token and its grant with one join (primary
// keys: refresh_tokens.hash, grants.id).
func (s *Store) GetRefreshGrant(ctx context.Context, hash string) (store.RefreshToken, store.Grant, error) {
	var (
		t                                    store.RefreshToken
		g                                    store.Grant
		tCreated, tExpires                   int64
		tRotated                             *int64
		authTime, created, absoluteExpiresAt int64
		revoked                              *int64
	)
	err := s.pool.QueryRow(ctx, `SELECT `+qualify("t.", refreshTokenCols)+`, `+qualify("g.", grantCols)+`
		FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = $1`, hash).Scan(
		&t.Hash, &t.GrantID, &t.ClientID, &t.UserID, &t.Scopes, &tCreated, &tExpires, &tRotated, &t.SuccessorHash,
		&g.ID, &g.ClientID, &g.UserID, &g.SessionID, &g.Scopes, &g.Audiences, &authTime, &g.AMR,
		&g.Nonce, &g.DPoPJKT, &created, &absoluteExpiresAt, &revoked, &g.RevokedReason)
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, mapErr("get refresh grant", err)
	}
	// The same conversions as scanRefreshToken and scanGrant.
	t.Scopes = list(t.Scopes)
	t.CreatedAt, t.ExpiresAt, t.RotatedAt = fromNanos(tCreated), fromNanos(tExpires), fromNullNanos(tRotated)
	g.Scopes, g.Audiences, g.AMR = list(g.Scopes), list(g.Audiences), list(g.AMR)
	g.AuthTime, g.CreatedAt = fromNanos(authTime), fromNanos(created)
	g.AbsoluteExpiresAt, g.RevokedAt = fromNanos(absoluteExpiresAt), fromNullNanos(revoked)
	return t, g, nil
}

// qualify prefixes every column of a comma-separated list.
func qualify(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

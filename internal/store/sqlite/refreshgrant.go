package sqlite

import (
	"context"
	"strings"

	"github.com/latchauth/latch/internal/store"
)

// GetRefreshGrant reads the token and its grant with one join (primary
// keys: refresh_tokens.hash, grants.id).
func (s *Store) GetRefreshGrant(ctx context.Context, hash string) (store.RefreshToken, store.Grant, error) {
	var g store.Grant
	t, err := scanRefresh(s.queryRow(ctx, selectRefreshGrant, hash),
		&g.ID, &g.ClientID, nscan{&g.UserID}, &g.SessionID, lscan{&g.Scopes}, lscan{&g.Audiences}, tscan{&g.AuthTime},
		lscan{&g.AMR}, &g.Nonce, &g.DPoPJKT, tscan{&g.CreatedAt}, tscan{&g.AbsoluteExpiresAt}, tscan{&g.RevokedAt}, &g.RevokedReason)
	if err != nil {
		return store.RefreshToken{}, store.Grant{}, wrap("get refresh grant", err)
	}
	return t, g, nil
}

var selectRefreshGrant = `SELECT ` + qualify("t.", refreshCols) + `, ` + qualify("g.", grantCols) + `
	FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = ?`

// qualify prefixes every column of a comma-separated list.
func qualify(prefix, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

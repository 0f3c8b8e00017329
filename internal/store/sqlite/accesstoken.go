package sqlite

import (
	"context"

	"github.com/latchauth/latch/internal/store"
)

// AccessTokenState answers the three questions in one statement on the
// reader pool (primary-key lookups: revoked_access_tokens.jti, grants.id).
func (s *Store) AccessTokenState(ctx context.Context, jti, grantID string) (store.AccessTokenState, error) {
	var revoked, exists, grantRevoked bool
	err := s.queryRow(ctx, selectAccessTokenState, jti, grantID).Scan(&revoked, &exists, &grantRevoked)
	if err != nil {
		return store.AccessTokenState{}, wrap("access token state", err)
	}
	return store.AccessTokenState{Revoked: revoked, GrantMissing: grantID != "" && !exists, GrantRevoked: grantRevoked}, nil
}

const selectAccessTokenState = `SELECT
	EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = ?1),
	EXISTS (SELECT 1 FROM grants WHERE id = ?2),
	EXISTS (SELECT 1 FROM grants WHERE id = ?2 AND revoked_at IS NOT NULL)`

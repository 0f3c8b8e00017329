package postgres

import (
	"context"

	"github.com/latchauth/latch/internal/store"
)

// AccessTokenState answers the three questions in one statement
// (primary-key lookups: revoked_access_tokens.jti, grants.id).
func (s *Store) AccessTokenState(ctx context.Context, jti, grantID string) (store.AccessTokenState, error) {
	var revoked, exists, grantRevoked bool
	err := s.pool.QueryRow(ctx, `SELECT
		EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1),
		EXISTS (SELECT 1 FROM grants WHERE id = $2),
		EXISTS (SELECT 1 FROM grants WHERE id = $2 AND revoked_at IS NOT NULL)`, jti, grantID).Scan(&revoked, &exists, &grantRevoked)
	if err != nil {
		return store.AccessTokenState{}, mapErr("access token state", err)
	}
	return store.AccessTokenState{Revoked: revoked, GrantMissing: grantID != "" && !exists, GrantRevoked: grantRevoked}, nil
}

package postgres

import (
	"context"
	"time"
)

// --- passkeys -------------------------------------------------------------

// TouchFactor sets the factor's last use; store.ErrNotFound.
func (s *Store) TouchFactor(ctx context.Context, userID, id string, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE factors SET last_used_at = $3 WHERE user_id = $1 AND id = $2`, userID, id, toNanos(now))
	if err != nil {
		return mapErr("touch factor", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("touch factor")
	}
	return nil
}

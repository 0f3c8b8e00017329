package sqlite

import (
	"context"
	"time"
)

// --- passkeys -------------------------------------------------------------

// TouchFactor sets the factor's last use; store.ErrNotFound.
func (s *Store) TouchFactor(ctx context.Context, userID, id string, now time.Time) error {
	n, err := rowsAffected(s.exec(ctx, `UPDATE factors SET last_used_at = ? WHERE user_id = ? AND id = ?`, tv(now), userID, id))
	return wrap("touch factor", oneRow(n, err))
}

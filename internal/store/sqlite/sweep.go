package sqlite

import (
	"context"
	"time"
)

// --- sweeping -----------------------------------------------------------------

// sweeps lists, per kind, the expiry column DeleteExpired compares with now.
// Rows whose expiry is NULL (a grant with no absolute bound) never match.
var sweeps = []struct{ table, column string }{
	{"auth_codes", "expires_at"},
	{"sessions", "expires_at"},
	{"refresh_tokens", "expires_at"},
	{"grants", "absolute_expires_at"}, // cascades to its refresh tokens
	{"revoked_access_tokens", "expires_at"},
	{"once_values", "expires_at"},
	{"pushed_requests", "expires_at"},
	{"device_codes", "expires_at"},
	{"failures", "expires_at"},
}

// DeleteExpired removes up to batch rows of each kind whose expiry is before
// now (batch <= 0: no limit). Each kind is one short autocommit statement,
// so the write lock is never held for long and concurrent sweepers simply
// delete disjoint or already-gone rows. The count excludes rows removed by
// cascade (refresh tokens of a swept grant).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, batch int) (int, error) {
	limit := batch
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	total := 0
	for _, sw := range sweeps {
		n, err := rowsAffected(s.exec(ctx, `DELETE FROM `+sw.table+` WHERE rowid IN (SELECT rowid FROM `+sw.table+
			` WHERE `+sw.column+` < ? LIMIT ?)`, now.UnixNano(), limit))
		if err != nil {
			return total, wrap("delete expired "+sw.table, err)
		}
		total += n
	}
	return total, nil
}

package sqlite

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- sweeping -----------------------------------------------------------------

// sweeps lists, per kind, the expiry column DeleteExpired compares with
// now minus keep, and a condition the rows must also meet ("" none). Rows
// whose expiry is NULL (a grant with no absolute bound) never match.
var sweeps = []struct {
	table, column, where string
	keep                 time.Duration
}{
	{"auth_codes", "expires_at", "", 0},
	{"sessions", "expires_at", "", 0},
	{"refresh_tokens", "expires_at", "rotated_at IS NOT NULL", 0},
	// The head of a chain stays a while, for its idle_expired answer.
	{"refresh_tokens", "expires_at", "rotated_at IS NULL", store.ExpiredRefreshRetention},
	{"grants", "absolute_expires_at", "", 0}, // cascades to its refresh tokens
	{"revoked_access_tokens", "expires_at", "", 0},
	{"once_values", "expires_at", "", 0},
	{"pushed_requests", "expires_at", "", 0},
	{"device_codes", "expires_at", "", 0},
	{"failures", "expires_at", "", 0},
	{"initial_access_tokens", "expires_at", "", 0},
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
		where := ""
		if sw.where != "" {
			where = ` AND ` + sw.where
		}
		n, err := rowsAffected(s.exec(ctx, `DELETE FROM `+sw.table+` WHERE rowid IN (SELECT rowid FROM `+sw.table+
			` WHERE `+sw.column+` < ?`+where+` LIMIT ?)`, now.Add(-sw.keep).UnixNano(), limit))
		if err != nil {
			return total, wrap("delete expired "+sw.table, err)
		}
		total += n
	}
	return total, nil
}

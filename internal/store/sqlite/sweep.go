package sqlite

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- sweeping -----------------------------------------------------------------

// sweeps lists, per kind, the expiry column DeleteExpired compares with
// now minus keep, and a condition the rows must also meet ("" none). Rows
// whose expiry is NULL (a grant with no absolute bound) never match. With
// no column, the condition alone selects the rows and compares with now
// minus keep itself (its one "?").
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
	// Spent factors (store.Factor): a reset link once used or
	// ResetLinkTTL after its creation, a recovery code once used
	// (Counter 1). Never an unused recovery code, a TOTP or a passkey.
	{"factors", "", spentFactors, store.ResetLinkTTL},
}

// spentFactors selects the factors no sign-in or reset can accept any
// more (internal/server reset.go and mfa.go refuse them); its "?" is now
// minus store.ResetLinkTTL. A link without CreatedAt (NULL) counts as
// expired, as it does for the reset page and on PostgreSQL.
const spentFactors = `((kind = '` + store.FactorResetLink + `' AND (counter > 0 OR coalesce(created_at, 0) < ?))
	OR (kind = '` + store.FactorRecovery + `' AND counter > 0))`

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
		cond := sw.where
		if sw.column != "" {
			cond = sw.column + ` < ?`
			if sw.where != "" {
				cond += ` AND ` + sw.where
			}
		}
		n, err := rowsAffected(s.exec(ctx, `DELETE FROM `+sw.table+` WHERE rowid IN (SELECT rowid FROM `+sw.table+
			` WHERE `+cond+` LIMIT ?)`, now.Add(-sw.keep).UnixNano(), limit))
		if err != nil {
			return total, wrap("delete expired "+sw.table, err)
		}
		total += n
	}
	return total, nil
}

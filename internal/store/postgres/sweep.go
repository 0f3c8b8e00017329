package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// sweeps are DeleteExpired's statements, one per kind of expiring row.
// Each deletes at most $2 rows whose expiry is before $1, now minus keep
// (a strict inequality: a row expiring exactly then is kept).
//
// What makes them safe on many instances at once: each is one statement
// whose subselect picks rows with FOR UPDATE SKIP LOCKED, so two sweepers
// never wait on each other (each takes rows the other has not locked) and
// a row is deleted once. Sweeping also never blocks behind a live
// ConsumeAuthCode or RotateRefreshToken: their locked rows are skipped and
// swept next time. Each statement commits on its own, so the locks are
// short and a crash loses at most one batch of work.
var sweeps = []struct {
	kind string
	sql  string
	keep time.Duration // $1 is now minus keep
}{
	{"auth codes", `DELETE FROM auth_codes WHERE hash IN (
		SELECT hash FROM auth_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"sessions", `DELETE FROM sessions WHERE id IN (
		SELECT id FROM sessions WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"refresh tokens", `DELETE FROM refresh_tokens WHERE hash IN (
		SELECT hash FROM refresh_tokens WHERE expires_at < $1 AND rotated_at IS NOT NULL LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	// The head of a chain stays a while, for its idle_expired answer.
	{"refresh token heads", `DELETE FROM refresh_tokens WHERE hash IN (
		SELECT hash FROM refresh_tokens WHERE expires_at < $1 AND rotated_at IS NULL LIMIT $2 FOR UPDATE SKIP LOCKED)`,
		store.ExpiredRefreshRetention},
	// A zero AbsoluteExpiresAt (stored as 0) is read as "no absolute
	// expiry" here, so a grant without one is never swept.
	{"grants", `DELETE FROM grants WHERE id IN (
		SELECT id FROM grants WHERE absolute_expires_at <> 0 AND absolute_expires_at < $1
		LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	// A head kept for its answer goes with its grant (no foreign key
	// cascades here): once the grant is swept, expired tokens of no grant.
	{"refresh tokens of swept grants", `DELETE FROM refresh_tokens WHERE hash IN (
		SELECT hash FROM refresh_tokens t WHERE expires_at < $1
		AND NOT EXISTS (SELECT 1 FROM grants g WHERE g.id = t.grant_id) LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"revoked access tokens", `DELETE FROM revoked_access_tokens WHERE jti IN (
		SELECT jti FROM revoked_access_tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"one-time values", `DELETE FROM used_once WHERE key IN (
		SELECT key FROM used_once WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"pushed requests", `DELETE FROM pushed_requests WHERE hash IN (
		SELECT hash FROM pushed_requests WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"device codes", `DELETE FROM device_codes WHERE hash IN (
		SELECT hash FROM device_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"failures", `DELETE FROM failures WHERE id IN (
		SELECT id FROM failures WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	// A key row expires with its last failure; RecordFailure re-creates it.
	{"failure keys", `DELETE FROM failure_keys WHERE key IN (
		SELECT key FROM failure_keys WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	{"initial access tokens", `DELETE FROM initial_access_tokens WHERE hash IN (
		SELECT hash FROM initial_access_tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, 0},
	// Spent factors (store.Factor), which no sign-in or reset accepts any
	// more (internal/server reset.go and mfa.go): a reset link once used
	// (counter > 0) or ResetLinkTTL after its creation, a recovery code
	// once used. Never an unused recovery code, a TOTP or a passkey.
	{"spent factors", `DELETE FROM factors WHERE (user_id, id) IN (
		SELECT user_id, id FROM factors
		WHERE (kind = '` + store.FactorResetLink + `' AND (counter > 0 OR created_at < $1))
		OR (kind = '` + store.FactorRecovery + `' AND counter > 0)
		LIMIT $2 FOR UPDATE SKIP LOCKED)`, store.ResetLinkTTL},
}

// DeleteExpired removes at most batch rows of each expiring kind whose
// expiry is before now, and returns how many rows it removed. Call it
// again while it returns a full batch to catch up. Safe on every instance
// at once (see sweeps).
func (s *Store) DeleteExpired(ctx context.Context, now time.Time, batch int) (int, error) {
	if batch <= 0 {
		return 0, errors.New("postgres: delete expired: batch must be positive")
	}
	total := 0
	for _, sw := range sweeps {
		tag, err := s.pool.Exec(ctx, sw.sql, toNanos(now.Add(-sw.keep)), batch)
		if err != nil {
			return total, mapErr("delete expired "+sw.kind, err)
		}
		total += int(tag.RowsAffected())
	}
	return total, nil
}

package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

// Back-channel logout outbox.

// enqueueLogouts inserts one notification per client that holds a grant
// issued in a live session matching the condition appended to it
// (sessions alias s). It runs in the transaction that deletes those
// sessions, so the notifications commit exactly when the sessions end
// (OpenID Connect Back-Channel Logout 1.0 §2.5). gen_random_uuid is
// built in since PostgreSQL 13.
const enqueueLogouts = `INSERT INTO backchannel_logouts
	(id, client_id, uri, subject, sid, created_at, next_attempt_at, attempts, last_error, lease_until)
	SELECT replace(gen_random_uuid()::text, '-', ''), c.id, c.backchannel_logout_uri, s.user_id, s.sid, $1, $1, 0, '', 0
	FROM sessions s JOIN clients c ON c.backchannel_logout_uri <> ''
	WHERE s.expires_at > $1 AND s.sid <> ''
	AND c.id IN (SELECT g.client_id FROM grants g WHERE g.session_id = s.sid)
	AND `

// killSessionCodes expires, at now, every unredeemed authorization code
// issued in the sessions matching the condition appended to it: a code
// redeemed after its session ended would give a client tokens for a
// session whose logout it was never told of. It runs before the enqueue:
// a redemption that wins the code's row lock commits its grant first, and
// the enqueue statement, which starts later, sees that grant.
const killSessionCodes = `UPDATE auth_codes SET expires_at = LEAST(expires_at, $1)
	WHERE used_at IS NULL AND session_id <> '' AND session_id IN (SELECT sid FROM sessions WHERE `

// EndSession deletes the session and enqueues its back-channel logouts
// in one transaction. The session row is locked first (FOR UPDATE), so
// two concurrent EndSession calls for one session enqueue once: the
// second waits, then finds no row and answers ErrNotFound.
func (s *Store) EndSession(ctx context.Context, id string, now time.Time) (int, error) {
	var queued int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, id).Scan(&one); err != nil {
			return mapErr("end session", err)
		}
		if _, err := tx.Exec(ctx, killSessionCodes+`id = $2)`, now.UnixNano(), id); err != nil {
			return mapErr("end session", err)
		}
		tag, err := tx.Exec(ctx, enqueueLogouts+`s.id = $2`, now.UnixNano(), id)
		if err != nil {
			return mapErr("end session", err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id); err != nil {
			return mapErr("end session", err)
		}
		queued = int(tag.RowsAffected())
		return nil
	}, nil)
	return queued, err
}

// EndUserSessions deletes every session of the user and enqueues the
// back-channel logouts of the live ones, in one transaction; the
// sessions are locked first, as in EndSession.
func (s *Store) EndUserSessions(ctx context.Context, userID string, now time.Time) (int, int, error) {
	var ended, queued int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM sessions WHERE user_id = $1 FOR UPDATE`, userID); err != nil {
			return mapErr("end user sessions", err)
		}
		if _, err := tx.Exec(ctx, killSessionCodes+`user_id = $2)`, now.UnixNano(), userID); err != nil {
			return mapErr("end user sessions", err)
		}
		tag, err := tx.Exec(ctx, enqueueLogouts+`s.user_id = $2`, now.UnixNano(), userID)
		if err != nil {
			return mapErr("end user sessions", err)
		}
		del, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
		if err != nil {
			return mapErr("end user sessions", err)
		}
		ended, queued = int(del.RowsAffected()), int(tag.RowsAffected())
		return nil
	}, nil)
	return ended, queued, err
}

const logoutCols = `id, client_id, uri, subject, sid, created_at, next_attempt_at, attempts, last_error, lease_until`

// ClaimBackchannelLogouts leases due notifications. Atomicity: FOR UPDATE
// SKIP LOCKED makes concurrent claimers take disjoint rows, and a row
// leased before (lease_until after now) is not due for anyone.
func (s *Store) ClaimBackchannelLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.BackchannelLogout, error) {
	rows, err := s.pool.Query(ctx, `UPDATE backchannel_logouts SET lease_until = $2
		WHERE id IN (SELECT id FROM backchannel_logouts WHERE next_attempt_at <= $1 AND lease_until <= $1
			ORDER BY next_attempt_at, id LIMIT $3 FOR UPDATE SKIP LOCKED)
		RETURNING `+logoutCols, now.UnixNano(), now.Add(lease).UnixNano(), limit)
	if err != nil {
		return nil, mapErr("claim backchannel logouts", err)
	}
	defer rows.Close()
	var out []store.BackchannelLogout
	for rows.Next() {
		var (
			l                      store.BackchannelLogout
			created, next, leaseNs int64
		)
		if err := rows.Scan(&l.ID, &l.ClientID, &l.URI, &l.Subject, &l.SID, &created, &next, &l.Attempts, &l.LastError, &leaseNs); err != nil {
			return nil, mapErr("claim backchannel logouts", err)
		}
		l.CreatedAt, l.NextAttemptAt, l.LeaseUntil = fromNanos(created), fromNanos(next), fromNanos(leaseNs)
		out = append(out, l)
	}
	return out, mapErr("claim backchannel logouts", rows.Err())
}

// FinishBackchannelLogout deletes the notification under the caller's lease.
func (s *Store) FinishBackchannelLogout(ctx context.Context, id string, leaseUntil time.Time) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM backchannel_logouts WHERE id = $1 AND lease_until = $2`, id, toNanos(leaseUntil))
	if err != nil {
		return mapErr("finish backchannel logout", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("finish backchannel logout")
	}
	return nil
}

// RetryBackchannelLogout records a failed attempt under the caller's lease.
func (s *Store) RetryBackchannelLogout(ctx context.Context, id string, leaseUntil, next time.Time, lastError string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE backchannel_logouts SET attempts = attempts + 1, last_error = $3,
		next_attempt_at = $4, lease_until = 0 WHERE id = $1 AND lease_until = $2`, id, toNanos(leaseUntil), lastError, toNanos(next))
	if err != nil {
		return mapErr("retry backchannel logout", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("retry backchannel logout")
	}
	return nil
}

// PendingBackchannelLogouts counts the outbox.
func (s *Store) PendingBackchannelLogouts(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, `SELECT count(*) FROM backchannel_logouts`).Scan(&n)
	return n, mapErr("pending backchannel logouts", err)
}

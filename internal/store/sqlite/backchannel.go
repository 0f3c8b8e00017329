package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- back-channel logout outbox -------------------------------------------

// enqueueLogouts inserts one notification per client that holds a grant
// issued in a live session matching where (sessions alias s). It runs in
// the transaction that deletes those sessions, so the notifications are
// committed exactly when the sessions end (OpenID Connect Back-Channel
// Logout 1.0 §2.5: the OP notifies every RP with a session at it).
const enqueueLogouts = `INSERT INTO backchannel_logouts
	(id, client_id, uri, subject, sid, created_at, next_attempt_at, attempts, last_error, lease_until)
	SELECT lower(hex(randomblob(16))), c.id, c.backchannel_logout_uri, s.user_id, s.sid, ?1, ?1, 0, '', 0
	FROM sessions s JOIN clients c ON c.backchannel_logout_uri <> ''
	WHERE s.expires_at > ?1 AND s.sid <> ''
	AND c.id IN (SELECT g.client_id FROM grants g WHERE g.session_id = s.sid)
	AND `

// killSessionCodes expires, at now, every unredeemed authorization code
// issued in the sessions matching the condition appended to it: a code
// redeemed after its session ended would give a client tokens for a
// session whose logout it was never told of. Dead codes answer ErrExpired
// (as RecordCodeFailure's do).
const killSessionCodes = `UPDATE auth_codes SET expires_at = MIN(expires_at, ?1)
	WHERE used_at IS NULL AND session_id <> '' AND session_id IN (SELECT sid FROM sessions WHERE `

// EndSession deletes the session and enqueues its back-channel logouts in
// one write transaction (store.Store.EndSession).
func (s *Store) EndSession(ctx context.Context, id string, now time.Time) (int, error) {
	var queued int
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, killSessionCodes+`id = ?2)`, now.UnixNano(), id); err != nil {
			return mapErr(err)
		}
		n, err := rowsAffected(tx.ExecContext(ctx, enqueueLogouts+`s.id = ?2`, now.UnixNano(), id))
		if err != nil {
			return mapErr(err)
		}
		d, err := rowsAffected(tx.ExecContext(ctx, `DELETE FROM sessions WHERE id = ?`, id))
		if err != nil {
			return mapErr(err)
		}
		if d == 0 {
			return store.ErrNotFound
		}
		queued = n
		return nil
	})
	return queued, wrap("end session", err)
}

// EndUserSessions deletes every session of the user and enqueues the
// back-channel logouts of the live ones, in one write transaction.
func (s *Store) EndUserSessions(ctx context.Context, userID string, now time.Time) (int, int, error) {
	var ended, queued int
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, killSessionCodes+`user_id = ?2)`, now.UnixNano(), userID); err != nil {
			return mapErr(err)
		}
		n, err := rowsAffected(tx.ExecContext(ctx, enqueueLogouts+`s.user_id = ?2`, now.UnixNano(), userID))
		if err != nil {
			return mapErr(err)
		}
		d, err := rowsAffected(tx.ExecContext(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID))
		if err != nil {
			return mapErr(err)
		}
		ended, queued = d, n
		return nil
	})
	return ended, queued, wrap("end user sessions", err)
}

const logoutCols = `id, client_id, uri, subject, sid, created_at, next_attempt_at, attempts, last_error, lease_until`

func scanLogout(r scanner) (store.BackchannelLogout, error) {
	var l store.BackchannelLogout
	err := r.Scan(&l.ID, &l.ClientID, &l.URI, &l.Subject, &l.SID, tscan{&l.CreatedAt}, tscan{&l.NextAttemptAt},
		&l.Attempts, &l.LastError, tscan{&l.LeaseUntil})
	return l, mapErr(err)
}

// ClaimBackchannelLogouts leases due notifications. Atomicity: SQLite has
// one writer at a time, so the UPDATE's subquery and its writes see no
// other claim in between; a row leased by another caller has lease_until
// after now and is skipped.
func (s *Store) ClaimBackchannelLogouts(ctx context.Context, now time.Time, lease time.Duration, limit int) ([]store.BackchannelLogout, error) {
	var out []store.BackchannelLogout
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		out = nil // the batch may be retried
		rows, err := tx.QueryContext(ctx, `UPDATE backchannel_logouts SET lease_until = ?2
			WHERE id IN (SELECT id FROM backchannel_logouts WHERE next_attempt_at <= ?1 AND lease_until <= ?1
				ORDER BY next_attempt_at, id LIMIT ?3)
			RETURNING `+logoutCols, now.UnixNano(), now.Add(lease).UnixNano(), limit)
		if err != nil {
			return mapErr(err)
		}
		defer rows.Close()
		for rows.Next() {
			l, err := scanLogout(rows)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return mapErr(rows.Err())
	})
	return out, wrap("claim backchannel logouts", err)
}

// FinishBackchannelLogout deletes the notification under the caller's lease.
func (s *Store) FinishBackchannelLogout(ctx context.Context, id string, leaseUntil time.Time) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM backchannel_logouts WHERE id = ? AND lease_until = ?`, id, leaseUntil.UnixNano()))
	return wrap("finish backchannel logout", oneRow(n, err))
}

// RetryBackchannelLogout records a failed attempt under the caller's lease.
func (s *Store) RetryBackchannelLogout(ctx context.Context, id string, leaseUntil, next time.Time, lastError string) error {
	n, err := rowsAffected(s.exec(ctx, `UPDATE backchannel_logouts SET attempts = attempts + 1, last_error = ?,
		next_attempt_at = ?, lease_until = 0 WHERE id = ? AND lease_until = ?`, lastError, next.UnixNano(), id, leaseUntil.UnixNano()))
	return wrap("retry backchannel logout", oneRow(n, err))
}

// PendingBackchannelLogouts counts the outbox.
func (s *Store) PendingBackchannelLogouts(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM backchannel_logouts`).Scan(&n)
	return n, wrap("pending backchannel logouts", mapErr(err))
}

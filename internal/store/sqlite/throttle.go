package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- throttling ---------------------------------------------------------------

// RecordFailure adds a failure at now and counts those in (now-window,
// now]. The insert and the count share one write transaction, so the count
// includes every failure committed before it, in any process.
func (s *Store) RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var n int
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		ins, err := s.txStmt(ctx, tx, insertFailure)
		if err != nil {
			return err
		}
		if _, err := ins.ExecContext(ctx, key, now.UnixNano(), now.Add(window).UnixNano()); err != nil {
			return mapErr(err)
		}
		cnt, err := s.txStmt(ctx, tx, countFailures)
		if err != nil {
			return err
		}
		return cnt.QueryRowContext(ctx, key, now.Add(-window).UnixNano(), now.UnixNano()).Scan(&n)
	})
	return n, wrap("record failure", err)
}

const insertFailure = `INSERT INTO failures (key, at, expires_at) VALUES (?, ?, ?)`

// countFailures counts key's rows at times in (from, now] that expire
// after now: failures and unexpired reservations (args: key, from, now).
const countFailures = `SELECT count(*) FROM failures WHERE key = ?1 AND at > ?2 AND at <= ?3 AND expires_at > ?3`

// countLeases counts, of those, the reservations: rows whose expiry is
// before at+window (a failure's is at+window) (args: key, from, now,
// window in nanoseconds).
const countLeases = `SELECT count(*) FROM failures WHERE key = ?1 AND at > ?2 AND at <= ?3 AND expires_at > ?3
	AND expires_at < at + ?4`

// Failures counts the failures for key in (now-window, now], unexpired
// reservations included.
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var n int
	err := s.queryRow(ctx, countFailures, key, now.Add(-window).UnixNano(), now.UnixNano()).Scan(&n)
	return n, wrap("failures", err)
}

// ReserveAttempt records one reservation, a lease until now+lease, for
// every budget's key when each is below its limit in (now-window, now],
// and nothing otherwise (see store.Store). The counts and the inserts
// share one write transaction (BEGIN IMMEDIATE on the one writer), so
// reservations are serialised across goroutines and processes: no two
// callers can both take the last unit of a budget.
func (s *Store) ReserveAttempt(ctx context.Context, now time.Time, window, lease time.Duration, budgets ...store.Budget) ([]int, bool, bool, error) {
	if window <= 0 || lease <= 0 {
		return nil, false, false, fmt.Errorf("sqlite: reserve attempt: window and lease must be positive, got %v, %v", window, lease)
	}
	lease = min(lease, window)
	from, to := now.Add(-window).UnixNano(), now.UnixNano()
	var counts []int
	var ok, busy bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		counts, ok, busy = make([]int, len(budgets)), true, true
		cnt, err := s.txStmt(ctx, tx, countFailures)
		if err != nil {
			return err
		}
		for i, b := range budgets {
			if err := cnt.QueryRowContext(ctx, b.Key, from, to).Scan(&counts[i]); err != nil {
				return mapErr(err)
			}
			if counts[i] < b.Limit {
				continue
			}
			ok = false
			// Full: busy only while it would have room without its leases.
			var leases int
			if err := tx.QueryRowContext(ctx, countLeases, b.Key, from, to, window.Nanoseconds()).Scan(&leases); err != nil {
				return mapErr(err)
			}
			busy = busy && counts[i]-leases < b.Limit
		}
		if !ok {
			return nil
		}
		busy = false
		ins, err := s.txStmt(ctx, tx, insertFailure)
		if err != nil {
			return err
		}
		for i, b := range budgets {
			if _, err := ins.ExecContext(ctx, b.Key, to, now.Add(lease).UnixNano()); err != nil {
				return mapErr(err)
			}
			counts[i]++
		}
		return nil
	})
	if err != nil {
		return nil, false, false, wrap("reserve attempt", err)
	}
	return counts, ok, busy, nil
}

// ConfirmAttempt turns one reservation made at exactly at into a failure
// until at+window for each key, or records a failure at at for a key
// without one, and counts the key's failures (see store.Store), in one
// write transaction (serialised with every other writer); each update
// changes at most one row (by rowid).
func (s *Store) ConfirmAttempt(ctx context.Context, now, at time.Time, window time.Duration, keys ...string) ([]int, error) {
	if window <= 0 {
		return nil, fmt.Errorf("sqlite: confirm attempt: window must be positive, got %v", window)
	}
	t, expires := at.UnixNano(), at.Add(window).UnixNano()
	counts := make([]int, len(keys))
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		for i, k := range keys {
			if err := tx.QueryRowContext(ctx, countConfirmed, k, now.Add(-window).UnixNano(), now.UnixNano(), window.Nanoseconds()).Scan(&counts[i]); err != nil {
				return mapErr(err)
			}
			counts[i]++ // this one, confirmed below
			res, err := tx.ExecContext(ctx, confirmAttempt, expires, k, t)
			if err != nil {
				return mapErr(err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return mapErr(err)
			} else if n > 0 {
				continue
			}
			if _, err := tx.ExecContext(ctx, insertFailure, k, t, expires); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, wrap("confirm attempt", err)
	}
	return counts, nil
}

// countConfirmed counts key's failures at times in (from, now] that
// expire after now, leases left out (args: key, from, now, window in
// nanoseconds).
const countConfirmed = `SELECT count(*) FROM failures WHERE key = ?1 AND at > ?2 AND at <= ?3 AND expires_at > ?3
	AND expires_at >= at + ?4`

const confirmAttempt = `UPDATE failures SET expires_at = ?1 WHERE rowid = (
	SELECT rowid FROM failures WHERE key = ?2 AND at = ?3 AND expires_at < ?1 LIMIT 1)`

// ReleaseAttempt removes one attempt recorded at exactly at for each key,
// in one write transaction; each statement deletes at most one row (by
// rowid).
func (s *Store) ReleaseAttempt(ctx context.Context, at time.Time, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		del, err := s.txStmt(ctx, tx, releaseAttempt)
		if err != nil {
			return err
		}
		for _, k := range keys {
			if _, err := del.ExecContext(ctx, k, at.UnixNano()); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	return wrap("release attempt", err)
}

// releaseAttempt deletes the row of key at at that expires first: a
// reservation's lease ends before a confirmed failure of the same instant
// does, so a release never takes a failure's place.
const releaseAttempt = `DELETE FROM failures WHERE rowid = (
	SELECT rowid FROM failures WHERE key = ? AND at = ? ORDER BY expires_at LIMIT 1)`

// ClearFailures forgets every failure for key.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	_, err := s.exec(ctx, `DELETE FROM failures WHERE key = ?`, key)
	return wrap("clear failures", err)
}

package sqlite

import (
	"context"
	"database/sql"
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

const countFailures = `SELECT count(*) FROM failures WHERE key = ? AND at > ? AND at <= ?`

// Failures counts the failures for key in (now-window, now].
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var n int
	err := s.queryRow(ctx, countFailures, key, now.Add(-window).UnixNano(), now.UnixNano()).Scan(&n)
	return n, wrap("failures", err)
}

// ReserveAttempt records one attempt for every budget's key when each is
// below its limit in (now-window, now], and nothing otherwise (see
// store.Store). The counts and the inserts share one write transaction
// (BEGIN IMMEDIATE on the one writer), so reservations are serialised
// across goroutines and processes: no two callers can both take the last
// unit of a budget.
func (s *Store) ReserveAttempt(ctx context.Context, now time.Time, window time.Duration, budgets ...store.Budget) ([]int, bool, error) {
	var counts []int
	var ok bool
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		counts, ok = make([]int, len(budgets)), true
		cnt, err := s.txStmt(ctx, tx, countFailures)
		if err != nil {
			return err
		}
		for i, b := range budgets {
			if err := cnt.QueryRowContext(ctx, b.Key, now.Add(-window).UnixNano(), now.UnixNano()).Scan(&counts[i]); err != nil {
				return mapErr(err)
			}
			if counts[i] >= b.Limit {
				ok = false
			}
		}
		if !ok {
			return nil
		}
		ins, err := s.txStmt(ctx, tx, insertFailure)
		if err != nil {
			return err
		}
		for i, b := range budgets {
			if _, err := ins.ExecContext(ctx, b.Key, now.UnixNano(), now.Add(window).UnixNano()); err != nil {
				return mapErr(err)
			}
			counts[i]++
		}
		return nil
	})
	if err != nil {
		return nil, false, wrap("reserve attempt", err)
	}
	return counts, ok, nil
}

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

const releaseAttempt = `DELETE FROM failures WHERE rowid = (
	SELECT rowid FROM failures WHERE key = ? AND at = ? LIMIT 1)`

// ClearFailures forgets every failure for key.
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	_, err := s.exec(ctx, `DELETE FROM failures WHERE key = ?`, key)
	return wrap("clear failures", err)
}

package postgres

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

// RecordFailure adds one failure for key at now and returns the number of
// failures at times in (now-window, now], this one included.
//
// What makes it atomic: one transaction that first upserts the key's row
// in failure_keys, which takes that row's lock until commit, then inserts
// the failure and counts. Concurrent callers for one key (on any instance)
// therefore run one after another, and under READ COMMITTED each count
// statement sees every failure committed before it: N concurrent calls
// return N distinct counts.
//
// The failure counts until now+window (its expires_at), after which
// DeleteExpired may sweep it; a later call with a wider window than the
// one it was recorded with does not count it past then.
func (s *Store) RecordFailure(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	const op = "record failure"
	if window <= 0 {
		return 0, fmt.Errorf("postgres: %s: window must be positive, got %v", op, window)
	}
	at := toNanos(now)
	expires := toNanos(now.Add(window))
	var count int
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO failure_keys (key, expires_at) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET expires_at = GREATEST(failure_keys.expires_at, excluded.expires_at)`,
			key, expires); err != nil {
			return mapErr(op, err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO failures (key, at, expires_at) VALUES ($1, $2, $3)`,
			key, at, expires); err != nil {
			return mapErr(op, err)
		}
		return mapErr(op, countFailures(ctx, tx, key, now, window, &count))
	}, nil)
	if err != nil {
		return 0, err
	}
	return count, nil
}

// Failures returns the number of failures for key at times in
// (now-window, now] that expire after now (unexpired leases included).
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var count int
	err := countFailures(ctx, s.pool, key, now, window, &count)
	return count, mapErr("failures", err)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// countFailures counts key's rows at times in (now-window, now] that
// expire after now: failures and unexpired reservations.
func countFailures(ctx context.Context, q querier, key string, now time.Time, window time.Duration, count *int) error {
	return q.QueryRow(ctx, `SELECT count(*) FROM failures WHERE key = $1 AND at > $2 AND at <= $3 AND expires_at > $3`,
		key, toNanos(now.Add(-window)), toNanos(now)).Scan(count)
}

// countLeases counts, of the rows countFailures counts, the reservations:
// those whose expiry is before their time plus window (a failure's is
// exactly that).
func countLeases(ctx context.Context, q querier, key string, now time.Time, window time.Duration, count *int) error {
	return q.QueryRow(ctx, `SELECT count(*) FROM failures WHERE key = $1 AND at > $2 AND at <= $3 AND expires_at > $3
		AND expires_at < at + $4`,
		key, toNanos(now.Add(-window)), toNanos(now), window.Nanoseconds()).Scan(count)
}

// ClearFailures forgets every failure of key (after a successful login).
func (s *Store) ClearFailures(ctx context.Context, key string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		// Same lock order as RecordFailure: the key row first.
		if _, err := tx.Exec(ctx, `DELETE FROM failure_keys WHERE key = $1`, key); err != nil {
			return mapErr("clear failures", err)
		}
		_, err := tx.Exec(ctx, `DELETE FROM failures WHERE key = $1`, key)
		return mapErr("clear failures", err)
	}, nil)
}

// ReserveAttempt records one reservation, a lease until now+lease, for
// every budget's key when each is below its limit in (now-window, now],
// and nothing otherwise (see store.Store).
//
// What makes it atomic: one transaction that first upserts every key's
// row in failure_keys, in sorted order (so two reservations sharing keys
// cannot deadlock), which holds those rows' locks until commit; only then
// does it count and insert. Concurrent reservations of one key, on any
// instance, therefore run one after another, and under READ COMMITTED
// each count sees every attempt committed before it: no two callers can
// both take the last unit of a budget.
func (s *Store) ReserveAttempt(ctx context.Context, now time.Time, window, lease time.Duration, budgets ...store.Budget) ([]int, bool, bool, error) {
	const op = "reserve attempt"
	if window <= 0 || lease <= 0 {
		return nil, false, false, fmt.Errorf("postgres: %s: window and lease must be positive, got %v, %v", op, window, lease)
	}
	lease = min(lease, window)
	at, expires := toNanos(now), toNanos(now.Add(window))
	var counts []int
	var ok, busy bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		counts, ok, busy = make([]int, len(budgets)), true, true
		if err := lockFailureKeys(ctx, tx, op, expires, budgetKeys(budgets)); err != nil {
			return err
		}
		for i, b := range budgets {
			if err := countFailures(ctx, tx, b.Key, now, window, &counts[i]); err != nil {
				return mapErr(op, err)
			}
			if counts[i] < b.Limit {
				continue
			}
			ok = false
			// Full: busy only while it would have room without its leases.
			var leases int
			if err := countLeases(ctx, tx, b.Key, now, window, &leases); err != nil {
				return mapErr(op, err)
			}
			busy = busy && counts[i]-leases < b.Limit
		}
		if !ok {
			return nil // commits only the key rows' expiry, harmless
		}
		busy = false
		for i, b := range budgets {
			if _, err := tx.Exec(ctx, `INSERT INTO failures (key, at, expires_at) VALUES ($1, $2, $3)`,
				b.Key, at, toNanos(now.Add(lease))); err != nil {
				return mapErr(op, err)
			}
			counts[i]++
		}
		return nil
	}, nil)
	if err != nil {
		return nil, false, false, err
	}
	return counts, ok, busy, nil
}

func budgetKeys(budgets []store.Budget) []string {
	keys := make([]string, len(budgets))
	for i, b := range budgets {
		keys[i] = b.Key
	}
	return keys
}

// lockFailureKeys upserts the failure_keys row of every key, in sorted
// order (so two transactions sharing keys cannot deadlock), keeping the
// later expiry; each row stays locked until the transaction ends.
func lockFailureKeys(ctx context.Context, tx pgx.Tx, op string, expires int64, keys []string) error {
	keys = slices.Clone(keys)
	slices.Sort(keys)
	for _, k := range keys {
		if _, err := tx.Exec(ctx, `INSERT INTO failure_keys (key, expires_at) VALUES ($1, $2)
			ON CONFLICT (key) DO UPDATE SET expires_at = GREATEST(failure_keys.expires_at, excluded.expires_at)`,
			k, expires); err != nil {
			return mapErr(op, err)
		}
	}
	return nil
}

// ConfirmAttempt turns one reservation made at exactly at into a failure
// until at+window for each key, or records a failure at at for a key
// without one, and counts the key's failures (see store.Store).
//
// What makes it atomic: the same lock discipline as ReserveAttempt (every
// key's failure_keys row, in sorted order, first), so confirmations of
// one key run one after another: two of reservations made at one instant
// cannot both pick the same row, and each count sees every confirmation
// committed before it.
func (s *Store) ConfirmAttempt(ctx context.Context, now, at time.Time, window time.Duration, keys ...string) ([]int, error) {
	const op = "confirm attempt"
	if window <= 0 {
		return nil, fmt.Errorf("postgres: %s: window must be positive, got %v", op, window)
	}
	t, expires := toNanos(at), toNanos(at.Add(window))
	counts := make([]int, len(keys))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lockFailureKeys(ctx, tx, op, expires, keys); err != nil {
			return err
		}
		for i, k := range keys {
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM failures WHERE key = $1 AND at > $2 AND at <= $3 AND expires_at > $3
				AND expires_at >= at + $4`,
				k, toNanos(now.Add(-window)), toNanos(now), window.Nanoseconds()).Scan(&counts[i]); err != nil {
				return mapErr(op, err)
			}
			counts[i]++ // this one, confirmed below
			tag, err := tx.Exec(ctx, `UPDATE failures SET expires_at = $1 WHERE id = (
				SELECT min(id) FROM failures WHERE key = $2 AND at = $3 AND expires_at < $1)`,
				expires, k, t)
			if err != nil {
				return mapErr(op, err)
			}
			if tag.RowsAffected() > 0 {
				continue
			}
			if _, err := tx.Exec(ctx, `INSERT INTO failures (key, at, expires_at) VALUES ($1, $2, $3)`,
				k, t, expires); err != nil {
				return mapErr(op, err)
			}
		}
		return nil
	}, nil)
	if err != nil {
		return nil, err
	}
	return counts, nil
}

// ReleaseAttempt removes one attempt recorded at exactly at for each key,
// in one statement that deletes at most one row per key: the one that
// expires first (a reservation's lease ends before a confirmed failure of
// the same instant does, so a release never takes a failure's place),
// the lowest id among equals. Two reservations of one key at the very
// same nanosecond released at once may leave one counted until its lease
// ends: an over-count, never an under-count.
func (s *Store) ReleaseAttempt(ctx context.Context, at time.Time, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM failures WHERE id IN (
		SELECT DISTINCT ON (key) id FROM failures WHERE key = ANY($1) AND at = $2
		ORDER BY key, expires_at, id)`,
		keys, toNanos(at))
	return mapErr("release attempt", err)
}

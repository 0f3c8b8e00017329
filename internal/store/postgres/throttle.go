package postgres

import (
	"context"
	"fmt"
	"slices"
	"strings"
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
// The failure is kept until now+window (its expires_at), after which
// DeleteExpired may sweep it; a later call with a wider window than the
// one it was recorded with may thus miss it once swept.
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
// (now-window, now].
func (s *Store) Failures(ctx context.Context, key string, now time.Time, window time.Duration) (int, error) {
	var count int
	err := countFailures(ctx, s.pool, key, now, window, &count)
	return count, mapErr("failures", err)
}

type querier interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

func countFailures(ctx context.Context, q querier, key string, now time.Time, window time.Duration, count *int) error {
	return q.QueryRow(ctx, `SELECT count(*) FROM failures WHERE key = $1 AND at > $2 AND at <= $3`,
		key, toNanos(now.Add(-window)), toNanos(now)).Scan(count)
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

// ReserveAttempt records one attempt for every budget's key when each is
// below its limit in (now-window, now], and nothing otherwise (see
// store.Store).
//
// What makes it atomic: one transaction that first upserts every key's
// row in failure_keys, in sorted order (so two reservations sharing keys
// cannot deadlock), which holds those rows' locks until commit; only then
// does it count and insert. Concurrent reservations of one key, on any
// instance, therefore run one after another, and under READ COMMITTED
// each count sees every attempt committed before it: no two callers can
// both take the last unit of a budget.
func (s *Store) ReserveAttempt(ctx context.Context, now time.Time, window time.Duration, budgets ...store.Budget) ([]int, bool, error) {
	const op = "reserve attempt"
	if window <= 0 {
		return nil, false, fmt.Errorf("postgres: %s: window must be positive, got %v", op, window)
	}
	order := make([]int, len(budgets))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(a, b int) int { return strings.Compare(budgets[a].Key, budgets[b].Key) })
	at, expires := toNanos(now), toNanos(now.Add(window))
	var counts []int
	var ok bool
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		counts, ok = make([]int, len(budgets)), true
		for _, i := range order {
			if _, err := tx.Exec(ctx, `INSERT INTO failure_keys (key, expires_at) VALUES ($1, $2)
				ON CONFLICT (key) DO UPDATE SET expires_at = GREATEST(failure_keys.expires_at, excluded.expires_at)`,
				budgets[i].Key, expires); err != nil {
				return mapErr(op, err)
			}
		}
		for i, b := range budgets {
			if err := countFailures(ctx, tx, b.Key, now, window, &counts[i]); err != nil {
				return mapErr(op, err)
			}
			if counts[i] >= b.Limit {
				ok = false
			}
		}
		if !ok {
			return nil // commits only the key rows' expiry, harmless
		}
		for i, b := range budgets {
			if _, err := tx.Exec(ctx, `INSERT INTO failures (key, at, expires_at) VALUES ($1, $2, $3)`,
				b.Key, at, expires); err != nil {
				return mapErr(op, err)
			}
			counts[i]++
		}
		return nil
	}, nil)
	if err != nil {
		return nil, false, err
	}
	return counts, ok, nil
}

// ReleaseAttempt removes one attempt recorded at exactly at for each key,
// in one statement that deletes at most one row (the lowest id) per key.
// Two reservations of one key at the very same nanosecond released at
// once may leave one counted: an over-count, never an under-count.
func (s *Store) ReleaseAttempt(ctx context.Context, at time.Time, keys ...string) error {
	if len(keys) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM failures WHERE id IN (
		SELECT min(id) FROM failures WHERE key = ANY($1) AND at = $2 GROUP BY key)`,
		keys, toNanos(at))
	return mapErr("release attempt", err)
}

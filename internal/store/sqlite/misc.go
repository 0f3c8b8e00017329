package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- signing keys -----------------------------------------------------------

const keyCols = `id, alg, private, public, active, created_at, retired_at`

// CreateKey stores a key. A duplicate ID, or a second Active key for one
// Alg (the signing_keys_one_active index), fails with store.ErrAlreadyExists.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	priv, pub := k.Private, k.Public
	if priv == nil {
		priv = []byte{}
	}
	if pub == nil {
		pub = []byte{}
	}
	_, err := s.exec(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES (?,?,?,?,?,?,?)`,
		k.ID, k.Alg, priv, pub, bv(k.Active), tv(k.CreatedAt), tv(k.RetiredAt))
	return wrap("create key", err)
}

// ListKeys returns every key, newest first (CreatedAt, then ID, both
// descending).
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.query(ctx, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, wrap("list keys", err)
	}
	defer rows.Close()
	var out []store.SigningKey
	for rows.Next() {
		var k store.SigningKey
		if err := rows.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, &k.Active, tscan{&k.CreatedAt}, tscan{&k.RetiredAt}); err != nil {
			return nil, wrap("list keys", err)
		}
		out = append(out, k)
	}
	return out, wrap("list keys", rows.Err())
}

// ActivateKey makes the key the active one of its Alg, retiring the
// previous active key of that Alg at now.
//
// Atomicity: one write transaction; the partial unique index
// signing_keys_one_active makes "two active keys of one Alg" impossible
// even if a future change got the order wrong.
func (s *Store) ActivateKey(ctx context.Context, id string, now time.Time) error {
	return wrap("activate key", s.writeTx(ctx, func(tx *sql.Tx) error {
		var (
			alg    string
			active bool
		)
		if err := tx.QueryRowContext(ctx, `SELECT alg, active FROM signing_keys WHERE id = ?`, id).Scan(&alg, &active); err != nil {
			return mapErr(err)
		}
		if active {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET active = 0, retired_at = ? WHERE alg = ? AND active`,
			now.UnixNano(), alg); err != nil {
			return mapErr(err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE signing_keys SET active = 1, retired_at = NULL WHERE id = ?`, id)
		return mapErr(err)
	}))
}

// DeleteKey deletes the key; store.ErrNotFound for an unknown ID.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM signing_keys WHERE id = ?`, id))
	return wrap("delete key", oneRow(n, err))
}

// --- one-time values ----------------------------------------------------------

// UseOnce records key until expiresAt. Atomicity: the PRIMARY KEY makes the
// INSERT succeed for exactly one caller; ON CONFLICT DO NOTHING turns the
// others into "0 rows", reported as store.ErrAlreadyExists.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	n, err := rowsAffected(s.exec(ctx, `INSERT INTO once_values (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		key, expiresAt.UnixNano()))
	if err != nil {
		return wrap("use once", err)
	}
	if n == 0 {
		return store.ErrAlreadyExists
	}
	return nil
}

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

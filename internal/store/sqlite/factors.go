package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- sign-in factors ------------------------------------------------------

const factorCols = `user_id, id, kind, name, secret, counter, created_at, last_used_at`

func scanFactor(r scanner) (store.Factor, error) {
	var f store.Factor
	err := r.Scan(&f.UserID, &f.ID, &f.Kind, &f.Name, &f.Secret, &f.Counter, tscan{&f.CreatedAt}, tscan{&f.LastUsedAt})
	return f, mapErr(err)
}

// SetUserMFARequired sets users.mfa_required; store.ErrNotFound.
func (s *Store) SetUserMFARequired(ctx context.Context, id string, required bool) error {
	n, err := rowsAffected(s.exec(ctx, `UPDATE users SET mfa_required = ? WHERE id = ?`, bv(required), id))
	return wrap("set user mfa required", oneRow(n, err))
}

// SaveFactors deletes the user's factors of the replaced kinds and inserts
// fs in one write transaction, so a reader sees the old set or the new
// one. The user row is checked inside it (the foreign key would report a
// missing user only on the first insert, not for an empty fs).
func (s *Store) SaveFactors(ctx context.Context, userID string, replace []string, fs ...store.Factor) error {
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM users WHERE id = ?`, userID).Scan(&one); err != nil {
			return mapErr(err)
		}
		for _, k := range replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM factors WHERE user_id = ? AND kind = ?`, userID, k); err != nil {
				return err
			}
		}
		for _, f := range fs {
			if f.UserID != userID {
				return store.ErrNotFound
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO factors (`+factorCols+`) VALUES (?,?,?,?,?,?,?,?)`,
				f.UserID, f.ID, f.Kind, f.Name, f.Secret, f.Counter, tv(f.CreatedAt), tv(f.LastUsedAt)); err != nil {
				return mapErr(err)
			}
		}
		return nil
	})
	return wrap("save factors", err)
}

// ListFactors returns the user's factors, oldest first.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	rows, err := s.query(ctx, `SELECT `+factorCols+` FROM factors WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrap("list factors", err)
	}
	defer rows.Close()
	var out []store.Factor
	for rows.Next() {
		f, err := scanFactor(rows)
		if err != nil {
			return nil, wrap("list factors", err)
		}
		out = append(out, f)
	}
	return out, wrap("list factors", rows.Err())
}

// AdvanceFactor moves the factor's counter forward. Atomicity: one
// conditional UPDATE (counter < ?) on the single writer; of concurrent
// callers with one counter the first changes the row and the others match
// none.
func (s *Store) AdvanceFactor(ctx context.Context, userID, id string, counter int64, now time.Time) error {
	n, err := rowsAffected(s.exec(ctx, `UPDATE factors SET counter = ?, last_used_at = ?
		WHERE user_id = ? AND id = ? AND counter < ?`, counter, tv(now), userID, id, counter))
	if err != nil {
		return wrap("advance factor", err)
	}
	if n == 1 {
		return nil
	}
	var one int
	if err := s.queryRow(ctx, `SELECT 1 FROM factors WHERE user_id = ? AND id = ?`, userID, id).Scan(&one); err != nil {
		return wrap("advance factor", mapErr(err))
	}
	return wrap("advance factor", store.ErrAlreadyExists)
}

// DeleteFactor deletes one factor; store.ErrNotFound.
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM factors WHERE user_id = ? AND id = ?`, userID, id))
	return wrap("delete factor", oneRow(n, err))
}

package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

// Sign-in factors.

const factorCols = `user_id, id, kind, name, secret, counter, created_at, last_used_at`

func scanFactor(row pgx.Row) (store.Factor, error) {
	var (
		f       store.Factor
		created int64
		used    *int64
	)
	if err := row.Scan(&f.UserID, &f.ID, &f.Kind, &f.Name, &f.Secret, &f.Counter, &created, &used); err != nil {
		return store.Factor{}, err
	}
	f.CreatedAt = fromNanos(created)
	if used != nil {
		f.LastUsedAt = fromNanos(*used)
	}
	return f, nil
}

// SetUserMFARequired sets users.mfa_required; ErrNotFound.
func (s *Store) SetUserMFARequired(ctx context.Context, id string, required bool) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET mfa_required = $2 WHERE id = $1`, id, required)
	if err != nil {
		return mapErr("set user mfa required", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("set user mfa required")
	}
	return nil
}

// SaveFactors deletes the user's factors of the replaced kinds and inserts
// fs in one transaction. The user row is locked (FOR SHARE) first, so a
// concurrent DeleteUser cannot leave factors of a deleted user behind.
func (s *Store) SaveFactors(ctx context.Context, userID string, replace []string, fs ...store.Factor) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var one int
		if err := tx.QueryRow(ctx, `SELECT 1 FROM users WHERE id = $1 FOR SHARE`, userID).Scan(&one); err != nil {
			return mapErr("save factors", err)
		}
		if len(replace) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM factors WHERE user_id = $1 AND kind = ANY($2)`, userID, replace); err != nil {
				return mapErr("save factors", err)
			}
		}
		for _, f := range fs {
			if f.UserID != userID {
				return fmt.Errorf("postgres: save factors: factor of user %q: %w", f.UserID, store.ErrNotFound)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO factors (`+factorCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
				f.UserID, f.ID, f.Kind, f.Name, f.Secret, f.Counter, toNanos(f.CreatedAt), toNullNanos(f.LastUsedAt)); err != nil {
				return mapErr("save factors", err)
			}
		}
		return nil
	}, nil)
}

// ListFactors returns the user's factors, oldest first.
func (s *Store) ListFactors(ctx context.Context, userID string) ([]store.Factor, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+factorCols+` FROM factors WHERE user_id = $1 ORDER BY created_at, id COLLATE "C"`, userID)
	if err != nil {
		return nil, mapErr("list factors", err)
	}
	fs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Factor, error) { return scanFactor(r) })
	return fs, mapErr("list factors", err)
}

// AdvanceFactor moves the factor's counter forward.
//
// What makes it atomic: one conditional UPDATE (counter < $3). Concurrent
// updates of the row serialise on its row lock; under READ COMMITTED the
// later ones re-evaluate the condition against the committed counter and
// match nothing, so exactly one of them reports a row affected.
func (s *Store) AdvanceFactor(ctx context.Context, userID, id string, counter int64, now time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE factors SET counter = $3, last_used_at = $4
		WHERE user_id = $1 AND id = $2 AND counter < $3`, userID, id, counter, toNanos(now))
	if err != nil {
		return mapErr("advance factor", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var one int
	if err := s.pool.QueryRow(ctx, `SELECT 1 FROM factors WHERE user_id = $1 AND id = $2`, userID, id).Scan(&one); err != nil {
		return mapErr("advance factor", err)
	}
	return fmt.Errorf("postgres: advance factor: %w", store.ErrAlreadyExists)
}

// DeleteFactor deletes one factor; ErrNotFound.
func (s *Store) DeleteFactor(ctx context.Context, userID, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM factors WHERE user_id = $1 AND id = $2`, userID, id)
	if err != nil {
		return mapErr("delete factor", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete factor")
	}
	return nil
}

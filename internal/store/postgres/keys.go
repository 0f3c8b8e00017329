package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

const keyCols = `id, alg, private, public, active, created_at, retired_at`

func scanKey(row pgx.Row) (store.SigningKey, error) {
	var (
		k       store.SigningKey
		created int64
		retired *int64
	)
	if err := row.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, &k.Active, &created, &retired); err != nil {
		return store.SigningKey{}, err
	}
	k.Private = blob(k.Private)
	k.Public = blob(k.Public)
	k.CreatedAt = fromNanos(created)
	k.RetiredAt = fromNullNanos(retired)
	return k, nil
}

// CreateKey inserts k; ErrAlreadyExists if its ID is taken, or if k is
// Active and another key of its Alg already is (the partial unique index
// signing_keys_one_active keeps one active key per algorithm; use
// ActivateKey to switch).
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		k.ID, k.Alg, k.Private, k.Public, k.Active, toNanos(k.CreatedAt), toNullNanos(k.RetiredAt))
	return mapErr("create key", err)
}

// ListKeys returns every key, newest first (CreatedAt descending, then ID
// descending).
func (s *Store) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+keyCols+` FROM signing_keys ORDER BY created_at DESC, id COLLATE "C" DESC`)
	if err != nil {
		return nil, mapErr("list keys", err)
	}
	ks, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.SigningKey, error) { return scanKey(r) })
	return ks, mapErr("list keys", err)
}

// ActivateKey makes the key the active one of its Alg and retires (Active
// false, RetiredAt now) the key of that Alg that was active before.
// Activating the active key changes nothing. ErrNotFound.
//
// What makes it atomic: one transaction that locks every key row of the
// algorithm (SELECT ... FOR UPDATE, in ID order so concurrent activations
// cannot deadlock) before retiring the old key and activating the new one;
// a concurrent ActivateKey for the same algorithm waits, then sees this
// one's result. The partial unique index on (alg) WHERE active is the
// backstop: no interleaving can commit two active keys of one algorithm.
func (s *Store) ActivateKey(ctx context.Context, id string, now time.Time) error {
	const op = "activate key"
	return s.inTx(ctx, func(tx pgx.Tx) error {
		type keyState struct {
			ID     string
			Active bool
		}
		rows, err := tx.Query(ctx, `SELECT id, active FROM signing_keys
			WHERE alg = (SELECT alg FROM signing_keys WHERE id = $1)
			ORDER BY id FOR UPDATE`, id)
		if err != nil {
			return mapErr(op, err)
		}
		keys, err := pgx.CollectRows(rows, pgx.RowToStructByPos[keyState])
		if err != nil {
			return mapErr(op, err)
		}
		i := slices.IndexFunc(keys, func(k keyState) bool { return k.ID == id })
		switch {
		case i < 0:
			// Unknown, or deleted before we took the locks.
			return notFound(op)
		case keys[i].Active:
			return nil
		}
		// Retire first: the unique index is checked row by row.
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET active = false, retired_at = $2
			WHERE alg = (SELECT alg FROM signing_keys WHERE id = $1) AND active`, id, toNanos(now)); err != nil {
			return mapErr(op, err)
		}
		if _, err := tx.Exec(ctx, `UPDATE signing_keys SET active = true, retired_at = NULL WHERE id = $1`, id); err != nil {
			return mapErr(op, err)
		}
		return nil
	}, nil)
}

// DeleteKey deletes the key; ErrNotFound.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM signing_keys WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete key", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete key")
	}
	return nil
}

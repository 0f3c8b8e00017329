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

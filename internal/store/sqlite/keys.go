package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- signing keys -----------------------------------------------------------

const keyCols = `id, alg, private, public, created_at, activate_at`

// CreateKey stores a key. A duplicate ID, or a second key of one Alg with
// the same ActivateAt (the signing_keys_schedule index), fails with
// store.ErrAlreadyExists.
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.exec(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES (?,?,?,?,?,?)`, keyArgs(k)...)
	return wrap("create key", err)
}

func keyArgs(k store.SigningKey) []any {
	priv, pub := k.Private, k.Public
	if priv == nil {
		priv = []byte{}
	}
	if pub == nil {
		pub = []byte{}
	}
	return []any{k.ID, k.Alg, priv, pub, tv(k.CreatedAt), tv(k.ActivateAt)}
}

// ScheduleKey stores k unless a key of k.Alg activates after `after` (any
// ActivateAt when after is zero); store.ErrAlreadyExists then.
//
// Atomicity: the check and the insert are one BEGIN IMMEDIATE write
// transaction, which holds the database's write lock from its first
// statement, so concurrent schedulers (in this process or another one on
// the same file) run one after another and each sees the others' keys.
func (s *Store) ScheduleKey(ctx context.Context, k store.SigningKey, after time.Time) error {
	return wrap("schedule key", s.writeTx(ctx, func(tx *sql.Tx) error {
		var taken bool
		q := `SELECT EXISTS (SELECT 1 FROM signing_keys WHERE alg = ? AND activate_at IS NOT NULL`
		args := []any{k.Alg}
		if !after.IsZero() {
			q += ` AND activate_at > ?`
			args = append(args, after.UnixNano())
		}
		if err := tx.QueryRowContext(ctx, q+`)`, args...).Scan(&taken); err != nil {
			return mapErr(err)
		}
		if taken {
			return store.ErrAlreadyExists
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+keyCols+`) VALUES (?,?,?,?,?,?)`, keyArgs(k)...)
		return mapErr(err)
	}))
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
		if err := rows.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, tscan{&k.CreatedAt}, tscan{&k.ActivateAt}); err != nil {
			return nil, wrap("list keys", err)
		}
		out = append(out, k)
	}
	return out, wrap("list keys", rows.Err())
}

// DeleteKey deletes the key; store.ErrNotFound for an unknown ID.
func (s *Store) DeleteKey(ctx context.Context, id string) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM signing_keys WHERE id = ?`, id))
	return wrap("delete key", oneRow(n, err))
}

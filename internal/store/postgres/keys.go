package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

const keyCols = `id, alg, private, public, created_at, activate_at`

func scanKey(row pgx.Row) (store.SigningKey, error) {
	var (
		k        store.SigningKey
		created  int64
		activate *int64
	)
	if err := row.Scan(&k.ID, &k.Alg, &k.Private, &k.Public, &created, &activate); err != nil {
		return store.SigningKey{}, err
	}
	k.Private = blob(k.Private)
	k.Public = blob(k.Public)
	k.CreatedAt = fromNanos(created)
	k.ActivateAt = fromNullNanos(activate)
	return k, nil
}

const insertKey = `INSERT INTO signing_keys (` + keyCols + `) VALUES ($1, $2, $3, $4, $5, $6)`

func keyArgs(k store.SigningKey) []any {
	return []any{k.ID, k.Alg, k.Private, k.Public, toNanos(k.CreatedAt), toNullNanos(k.ActivateAt)}
}

// CreateKey inserts k; ErrAlreadyExists if its ID is taken, or if a key
// of its Alg already activates at k.ActivateAt (the unique index
// signing_keys_schedule: one key per schedule slot).
func (s *Store) CreateKey(ctx context.Context, k store.SigningKey) error {
	_, err := s.pool.Exec(ctx, insertKey, keyArgs(k)...)
	return mapErr("create key", err)
}

// ScheduleKey stores k unless a key of k.Alg activates after `after` (any
// ActivateAt when after is zero); ErrAlreadyExists then.
//
// What makes it atomic: the transaction first takes signing_keys in SHARE
// ROW EXCLUSIVE mode, which conflicts with itself (and with every write
// to the table) but not with reads, so concurrent ScheduleKey calls from
// any number of instances run one after another, and each one's check
// sees the keys the ones before it committed. Row locks would not do: the
// rows that matter are the ones not yet inserted.
func (s *Store) ScheduleKey(ctx context.Context, k store.SigningKey, after time.Time) error {
	const op = "schedule key"
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return mapErr(op, err)
		}
		var taken bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys
			WHERE alg = $1 AND activate_at IS NOT NULL AND ($2::bigint IS NULL OR activate_at > $2))`,
			k.Alg, toNullNanos(after)).Scan(&taken); err != nil {
			return mapErr(op, err)
		}
		if taken {
			return mapErr(op, store.ErrAlreadyExists)
		}
		_, err := tx.Exec(ctx, insertKey, keyArgs(k)...)
		return mapErr(op, err)
	}, nil)
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

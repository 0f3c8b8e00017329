package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

// CreateInitialAccessToken inserts t; ErrAlreadyExists if its hash is taken.
func (s *Store) CreateInitialAccessToken(ctx context.Context, t store.InitialAccessToken) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO initial_access_tokens (hash, created_at, expires_at, uses_left)
		VALUES ($1, $2, $3, $4)`, t.Hash, toNanos(t.CreatedAt), toNanos(t.ExpiresAt), t.UsesLeft)
	return mapErr("create initial access token", err)
}

// UseInitialAccessToken spends one use of the token.
//
// What makes it atomic: one conditional UPDATE. Concurrent updates of the
// row serialise on its lock, and each re-evaluates uses_left > 0 against
// the committed value (READ COMMITTED re-check), so exactly min(N, k)
// succeed and uses_left never goes below zero.
func (s *Store) UseInitialAccessToken(ctx context.Context, hash string, now time.Time) (store.InitialAccessToken, error) {
	t := store.InitialAccessToken{Hash: hash}
	var created, expires int64
	err := s.pool.QueryRow(ctx, `UPDATE initial_access_tokens SET uses_left = uses_left - 1
		WHERE hash = $1 AND uses_left > 0 AND expires_at > $2 RETURNING created_at, expires_at, uses_left`,
		hash, toNanos(now)).Scan(&created, &expires, &t.UsesLeft)
	if errors.Is(err, pgx.ErrNoRows) {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM initial_access_tokens WHERE hash = $1`, hash).Scan(&n); err != nil {
			return t, mapErr("use initial access token", err)
		}
		if n == 0 {
			return t, notFound("use initial access token")
		}
		return t, mapErr("use initial access token", store.ErrExpired)
	}
	if err != nil {
		return t, mapErr("use initial access token", err)
	}
	t.CreatedAt, t.ExpiresAt = fromNanos(created), fromNanos(expires)
	return t, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- initial access tokens (RFC 7591 §3) -------------------------------------

// CreateInitialAccessToken inserts t; a duplicate hash is store.ErrAlreadyExists.
func (s *Store) CreateInitialAccessToken(ctx context.Context, t store.InitialAccessToken) error {
	_, err := s.exec(ctx, `INSERT INTO initial_access_tokens (hash, created_at, expires_at, uses_left) VALUES (?, ?, ?, ?)`,
		t.Hash, t.CreatedAt.UnixNano(), t.ExpiresAt.UnixNano(), t.UsesLeft)
	return wrap("create initial access token", err)
}

// UseInitialAccessToken spends one use. Atomicity: one write transaction
// on SQLite's single writer (BEGIN IMMEDIATE) holds a conditional UPDATE
// (uses left, unexpired), so concurrent callers decrement one after
// another and never below zero.
func (s *Store) UseInitialAccessToken(ctx context.Context, hash string, now time.Time) (store.InitialAccessToken, error) {
	t := store.InitialAccessToken{Hash: hash}
	var created, expires int64
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE initial_access_tokens SET uses_left = uses_left - 1
			WHERE hash = ? AND uses_left > 0 AND expires_at > ? RETURNING created_at, expires_at, uses_left`,
			hash, now.UnixNano()).Scan(&created, &expires, &t.UsesLeft)
		if !errors.Is(err, sql.ErrNoRows) {
			return mapErr(err)
		}
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM initial_access_tokens WHERE hash = ?`, hash).Scan(&n); err != nil {
			return mapErr(err)
		}
		if n == 0 {
			return store.ErrNotFound
		}
		return store.ErrExpired
	})
	if err != nil {
		return t, wrap("use initial access token", err)
	}
	t.CreatedAt, t.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
	return t, nil
}

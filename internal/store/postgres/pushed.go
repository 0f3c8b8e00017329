package postgres

import (
	"context"

	"time"

	"github.com/latchauth/latch/internal/store"
)

// CreatePushedRequest stores p (RFC 9126); ErrAlreadyExists on a taken hash.
func (s *Store) CreatePushedRequest(ctx context.Context, p store.PushedRequest) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO pushed_requests (hash, client_id, params, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5)`, p.Hash, p.ClientID, p.Params, toNanos(p.CreatedAt), toNanos(p.ExpiresAt))
	return mapErr("create pushed request", err)
}

// ConsumePushedRequest removes the request and returns it.
//
// What makes it single-use: one DELETE ... RETURNING. Concurrent deletes
// of one row serialise on its row lock; the later ones re-check the row
// after the first commits, find it gone and return no row
// (ErrNotFound). An expired row is deleted too and reported ErrExpired.
func (s *Store) ConsumePushedRequest(ctx context.Context, hash string, now time.Time) (store.PushedRequest, error) {
	var p store.PushedRequest
	var created, expires int64
	err := s.pool.QueryRow(ctx, `DELETE FROM pushed_requests WHERE hash = $1
		RETURNING hash, client_id, params, created_at, expires_at`, hash).
		Scan(&p.Hash, &p.ClientID, &p.Params, &created, &expires)
	if err != nil {
		return store.PushedRequest{}, mapErr("consume pushed request", err)
	}
	p.CreatedAt, p.ExpiresAt = fromNanos(created), fromNanos(expires)
	if !p.ExpiresAt.After(now) {
		return store.PushedRequest{}, mapErr("consume pushed request", store.ErrExpired)
	}
	return p, nil
}

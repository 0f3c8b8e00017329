package sqlite

import (
	"context"
	"database/sql"

	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- pushed authorization requests (RFC 9126) ---------------------------------

const pushedCols = `hash, client_id, params, created_at, expires_at`

// CreatePushedRequest stores p; a taken hash is store.ErrAlreadyExists,
// an unknown client store.ErrNotFound (foreign key).
func (s *Store) CreatePushedRequest(ctx context.Context, p store.PushedRequest) error {
	_, err := s.exec(ctx, `INSERT INTO pushed_requests (`+pushedCols+`) VALUES (?,?,?,?,?)`,
		p.Hash, p.ClientID, p.Params, p.CreatedAt.UnixNano(), p.ExpiresAt.UnixNano())
	return wrap("create pushed request", err)
}

// ConsumePushedRequest removes the request and returns it.
//
// What makes it single-use: one DELETE ... RETURNING under SQLite's write
// lock; of any number of callers in any process exactly one deletes the
// row and gets it back, the others find nothing (store.ErrNotFound). An
// expired row is deleted as well and reported as store.ErrExpired.
func (s *Store) ConsumePushedRequest(ctx context.Context, hash string, now time.Time) (store.PushedRequest, error) {
	// Prepared outside the write transaction (see exec).
	del, err := s.prepared(ctx, s.w, `DELETE FROM pushed_requests WHERE hash = ? RETURNING `+pushedCols)
	if err != nil {
		return store.PushedRequest{}, wrap("consume pushed request", err)
	}
	var p store.PushedRequest
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		var created, expires int64
		err := tx.StmtContext(ctx, del).QueryRowContext(ctx, hash).Scan(&p.Hash, &p.ClientID, &p.Params, &created, &expires)
		p.CreatedAt, p.ExpiresAt = time.Unix(0, created).UTC(), time.Unix(0, expires).UTC()
		return mapErr(err)
	})
	if err != nil {
		return store.PushedRequest{}, wrap("consume pushed request", err)
	}
	if !p.ExpiresAt.After(now) {
		return store.PushedRequest{}, wrap("consume pushed request", store.ErrExpired)
	}
	return p, nil
}

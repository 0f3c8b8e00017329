package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// UseOnce records key until expiresAt; ErrAlreadyExists if it is recorded
// already (and not yet swept by DeleteExpired).
//
// What makes it atomic: one INSERT ... ON CONFLICT DO NOTHING on the
// primary key. Concurrent inserts of one key serialise on the unique index
// (the later one waits for the earlier to commit or roll back), and
// exactly one of them reports a row affected.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO used_once (key, expires_at) VALUES ($1, $2)
		ON CONFLICT (key) DO NOTHING`, key, toNanos(expiresAt))
	if err != nil {
		return mapErr("use once", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: use once: %w", store.ErrAlreadyExists)
	}
	return nil
}

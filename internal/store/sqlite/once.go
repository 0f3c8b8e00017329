package sqlite

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- one-time values ----------------------------------------------------------

// UseOnce records key until expiresAt. Atomicity: the PRIMARY KEY makes the
// INSERT succeed for exactly one caller; ON CONFLICT DO NOTHING turns the
// others into "0 rows", reported as store.ErrAlreadyExists.
func (s *Store) UseOnce(ctx context.Context, key string, expiresAt time.Time) error {
	n, err := rowsAffected(s.exec(ctx, `INSERT INTO once_values (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`,
		key, expiresAt.UnixNano()))
	if err != nil {
		return wrap("use once", err)
	}
	if n == 0 {
		return store.ErrAlreadyExists
	}
	return nil
}

package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"
)

// FailureKeys lists the distinct keys starting with prefix with a row
// expiring after now. starts_with compares bytes whatever the database's
// collation (a range on key would not, under a linguistic collation);
// the scan is bounded by the unexpired rows (failures_expires_at).
func (s *Store) FailureKeys(ctx context.Context, prefix string, now time.Time) ([]string, error) {
	const op = "failure keys"
	if prefix == "" {
		return nil, errors.New("postgres: failure keys: prefix must not be empty")
	}
	rows, err := s.pool.Query(ctx, `SELECT DISTINCT key COLLATE "C" AS key FROM failures
		WHERE expires_at > $2 AND starts_with(key, $1) ORDER BY 1`,
		prefix, toNanos(now))
	if err != nil {
		return nil, mapErr(op, err)
	}
	keys, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return keys, mapErr(op, err)
}

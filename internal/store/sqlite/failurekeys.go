package sqlite

import (
	"context"
	"errors"
	"time"
)

// FailureKeys lists the distinct keys in [prefix, prefixEnd(prefix))
// with a row expiring after now: a range scan of the failures_key index.
func (s *Store) FailureKeys(ctx context.Context, prefix string, now time.Time) ([]string, error) {
	if prefix == "" {
		return nil, errors.New("sqlite: failure keys: prefix must not be empty")
	}
	rows, err := s.query(ctx, selectFailureKeys, prefix, prefixEnd(prefix), now.UnixNano())
	if err != nil {
		return nil, wrap("failure keys", err)
	}
	defer rows.Close()
	var keys []string
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			return nil, wrap("failure keys", err)
		}
		keys = append(keys, k)
	}
	return keys, wrap("failure keys", rows.Err())
}

const selectFailureKeys = `SELECT DISTINCT key FROM failures WHERE key >= ?1 AND key < ?2 AND expires_at > ?3 ORDER BY key`

// prefixEnd is the least string greater than every string starting with
// p: p with its last byte below 0xff incremented (and what followed it
// dropped); "" when there is none (all 0xff: no upper bound is needed,
// and the query's bound "" would exclude everything, so callers never
// pass such a prefix — keys are ASCII).
func prefixEnd(p string) string {
	b := []byte(p)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < 0xff {
			b[i]++
			return string(b[:i+1])
		}
	}
	return ""
}

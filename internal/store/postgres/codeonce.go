package postgres

import (
	"context"
	"slices"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- an authorization code with its one-time values ---------------------------

// createAuthCodeOnce is one statement: marks inserts the keys ($19, in
// sorted order) that are not recorded yet and returns them; code inserts
// the code ($1–$18) unless $21 (exclusive) is set and a key was found
// (fewer rows in marks than keys). RETURNING is how the data-modifying
// sub-statements of one WITH see each other's work. The parameters are
// cast because an INSERT ... SELECT does not take their types from the
// target columns.
const createAuthCodeOnce = `WITH marks AS (
		INSERT INTO used_once (key, expires_at)
		SELECT k, $20::bigint FROM unnest($19::text[]) AS k ORDER BY k
		ON CONFLICT (key) DO NOTHING
		RETURNING key
	), code AS (
		INSERT INTO auth_codes (` + authCodeCols + `)
		SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text[], $8::text[],
			$9::text, $10::text, $11::text, $12::text, $13::bigint, $14::text[],
			$15::bigint, $16::bigint, $17::bigint, $18::integer
		WHERE NOT $21::boolean OR (SELECT count(*) FROM marks) = cardinality($19::text[])
	)
	SELECT coalesce(array_agg(key), '{}') FROM marks`

// CreateAuthCodeOnce records keys and stores c in one transaction
// (store.Store).
//
// What makes it atomic: it is one statement, so one transaction. Each key
// is an INSERT ... ON CONFLICT DO NOTHING on used_once's primary key: a
// concurrent insert of the same key (any connection, any instance) waits
// for the first to commit or roll back, and exactly one of them inserts
// it. The keys are inserted in sorted order, so two calls sharing two keys
// cannot deadlock. A unique violation on the code's hash fails the whole
// statement: nothing is written.
func (s *Store) CreateAuthCodeOnce(ctx context.Context, c store.AuthCode, keys []string, keysExpire time.Time, exclusive bool) ([]bool, error) {
	if keys == nil {
		keys = []string{} // cardinality of an empty array, not of NULL
	}
	var inserted []string
	err := s.pool.QueryRow(ctx, createAuthCodeOnce,
		c.Hash, c.ClientID, c.UserID, c.SessionID, c.GrantID, c.RedirectURI, c.Scopes, c.Audiences,
		c.Nonce, c.CodeChallenge, c.CodeChallengeMethod, c.DPoPJKT, toNanos(c.AuthTime), c.AMR,
		toNanos(c.CreatedAt), toNanos(c.ExpiresAt), toNullNanos(c.UsedAt), c.Failures,
		keys, toNanos(keysExpire), exclusive).Scan(&inserted)
	if err != nil {
		return nil, mapErr("create auth code once", err)
	}
	seen := make([]bool, len(keys))
	for i, k := range keys {
		seen[i] = !slices.Contains(inserted, k)
	}
	return seen, nil
}

package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- an authorization code with its one-time values ---------------------------

const (
	insertOnce = `INSERT INTO once_values (key, expires_at) VALUES (?, ?) ON CONFLICT (key) DO NOTHING`
	insertCode = `INSERT INTO auth_codes (` + codeCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`
)

// CreateAuthCodeOnce records keys and stores c in one write transaction
// (store.Store).
//
// Atomicity: every INSERT runs in one transaction on the single writer,
// under SQLite's write lock (in a group-commit batch, one savepoint undone
// whole on failure), so of concurrent callers in any process exactly one
// inserts a key; the others run after it and find it (ON CONFLICT DO
// NOTHING: 0 rows). A failing code insert undoes the keys too.
func (s *Store) CreateAuthCodeOnce(ctx context.Context, c store.AuthCode, keys []string, keysExpire time.Time, exclusive bool) ([]bool, error) {
	// Prepared outside the write transaction (see exec).
	once, err := s.prepared(ctx, s.w, insertOnce)
	if err != nil {
		return nil, wrap("create auth code once", mapErr(err))
	}
	code, err := s.prepared(ctx, s.w, insertCode)
	if err != nil {
		return nil, wrap("create auth code once", mapErr(err))
	}
	seen := make([]bool, len(keys))
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		ctx := uncancelled(ctx)
		refuse := false
		for i, k := range keys {
			n, err := rowsAffected(tx.StmtContext(ctx, once).ExecContext(ctx, k, keysExpire.UnixNano()))
			if err != nil {
				return mapErr(err)
			}
			seen[i] = n == 0
			refuse = refuse || (exclusive && seen[i])
		}
		if refuse {
			return nil // the keys commit, the code is not stored
		}
		_, err := tx.StmtContext(ctx, code).ExecContext(ctx,
			c.Hash, c.ClientID, c.UserID, c.SessionID, c.GrantID, c.RedirectURI, lv(c.Scopes), lv(c.Audiences), c.Nonce,
			c.CodeChallenge, c.CodeChallengeMethod, c.DPoPJKT, tv(c.AuthTime), lv(c.AMR), tv(c.CreatedAt), tv(c.ExpiresAt), tv(c.UsedAt), c.Failures)
		return mapErr(err)
	})
	if err != nil {
		return nil, wrap("create auth code once", err)
	}
	return seen, nil
}

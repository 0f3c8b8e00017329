package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- authorization codes --------------------------------------------------

const codeCols = `hash, client_id, user_id, session_id, grant_id, redirect_uri, scopes, audiences, nonce,
	code_challenge, code_challenge_method, dpop_jkt, auth_time, amr, created_at, expires_at, used_at, failures`

func scanCode(r scanner) (store.AuthCode, error) {
	var c store.AuthCode
	err := r.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.GrantID, &c.RedirectURI, lscan{&c.Scopes}, lscan{&c.Audiences}, &c.Nonce,
		&c.CodeChallenge, &c.CodeChallengeMethod, &c.DPoPJKT, tscan{&c.AuthTime}, lscan{&c.AMR}, tscan{&c.CreatedAt}, tscan{&c.ExpiresAt}, tscan{&c.UsedAt}, &c.Failures)
	return c, mapErr(err)
}

// CreateAuthCode stores a code; store.ErrAlreadyExists on a duplicate hash.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := s.exec(ctx, `INSERT INTO auth_codes (`+codeCols+`) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.Hash, c.ClientID, c.UserID, c.SessionID, c.GrantID, c.RedirectURI, lv(c.Scopes), lv(c.Audiences), c.Nonce,
		c.CodeChallenge, c.CodeChallengeMethod, c.DPoPJKT, tv(c.AuthTime), lv(c.AMR), tv(c.CreatedAt), tv(c.ExpiresAt), tv(c.UsedAt), c.Failures)
	return wrap("create auth code", err)
}

// ConsumeAuthCode marks the code used at now and returns it (RFC 6749
// §4.1.2: a code is used once). Atomicity: see redeem.
func (s *Store) ConsumeAuthCode(ctx context.Context, hash string, now time.Time) (store.AuthCode, error) {
	c, err := s.redeem(ctx, hash, now, nil)
	return c, wrap("consume auth code", err)
}

// RedeemAuthCode marks the code used at now and stores the grant issued
// from it (and its first refresh token), all or nothing (store.Store).
//
// Atomicity: the conditional UPDATE ... WHERE used_at IS NULL and the
// inserts run in one write transaction on the single writer, under
// SQLite's write lock (BEGIN IMMEDIATE; in a group-commit batch, one
// savepoint that is undone whole on failure). Of any number of callers in
// any process exactly one sees the row unused; the others run after it,
// in the same batch or a later transaction, see used_at set and answer
// ErrCodeUsed — and a caller hears its answer only after the COMMIT
// holding the winner's grant (batch.go), so the grant is visible by then.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time, g store.Grant, rt *store.RefreshToken) (store.AuthCode, error) {
	if rt != nil && rt.GrantID != g.ID {
		return store.AuthCode{}, wrap("redeem auth code", fmt.Errorf("refresh token's grant %q is not %q", rt.GrantID, g.ID))
	}
	c, err := s.redeem(ctx, hash, now, func(tx *sql.Tx, c store.AuthCode) error {
		if c.GrantID != g.ID {
			return fmt.Errorf("grant %q is not the code's grant %q", g.ID, c.GrantID)
		}
		return s.insertGrantWithToken(ctx, tx, g, rt)
	})
	return c, wrap("redeem auth code", err)
}

// redeem is ConsumeAuthCode and RedeemAuthCode: in one write transaction
// it marks the code used at now and, when the code was consumed and then
// is not nil, runs then in the same transaction; an error from then undoes
// everything (the code stays unused).
//
// The single conditional UPDATE ... WHERE used_at IS NULL runs under
// SQLite's write lock, so of any number of callers in any process exactly
// one sees the row still unused and gets it back through RETURNING.
// Everyone else then reads the row (used_at is set once and never
// cleared) to say why: ErrCodeUsed (with the record, so the caller can
// revoke GrantID) takes precedence over ErrExpired.
func (s *Store) redeem(ctx context.Context, hash string, now time.Time, then func(tx *sql.Tx, c store.AuthCode) error) (store.AuthCode, error) {
	// Prepared outside the write transaction (see exec).
	upd, err := s.prepared(ctx, s.w, `UPDATE auth_codes SET used_at = ?
		WHERE hash = ? AND used_at IS NULL AND expires_at > ? RETURNING `+codeCols)
	if err != nil {
		return store.AuthCode{}, err
	}
	sel, err := s.prepared(ctx, s.w, `SELECT `+codeCols+` FROM auth_codes WHERE hash = ?`)
	if err != nil {
		return store.AuthCode{}, err
	}
	var c store.AuthCode
	consumed := false
	err = s.writeTx(ctx, func(tx *sql.Tx) error {
		ctx := uncancelled(ctx)
		var err error
		c, err = scanCode(tx.StmtContext(ctx, upd).QueryRowContext(ctx, now.UnixNano(), hash, now.UnixNano()))
		if err == nil || !errors.Is(err, store.ErrNotFound) {
			consumed = err == nil
			if consumed && then != nil {
				err = then(tx, c)
			}
			return err
		}
		// Not consumed now: unknown, used before, or expired. Read in the
		// write transaction, so the answer reflects the latest commit in
		// any process.
		consumed = false
		c, err = scanCode(tx.StmtContext(ctx, sel).QueryRowContext(ctx, hash))
		return err
	})
	switch {
	case err != nil:
		return store.AuthCode{}, err
	case consumed:
		return c, nil
	case !c.UsedAt.IsZero():
		return c, store.ErrCodeUsed
	case !c.ExpiresAt.After(now):
		return c, store.ErrExpired
	default:
		// Unused and unexpired yet the UPDATE matched nothing: impossible
		// unless the row changed in between, which used_at never undoes.
		return store.AuthCode{}, errors.New("inconsistent state")
	}
}

// GetAuthCode returns the code with no validity checks.
func (s *Store) GetAuthCode(ctx context.Context, hash string) (store.AuthCode, error) {
	c, err := scanCode(s.queryRow(ctx, `SELECT `+codeCols+` FROM auth_codes WHERE hash = ?`, hash))
	return c, wrap("get auth code", err)
}

// RecordCodeFailure counts a refused redemption of an unused code and
// kills the code at the max-th.
//
// Atomicity: one UPDATE ... WHERE used_at IS NULL under SQLite's write
// lock increments the counter and, in the same statement, caps expires_at
// at now once the count reaches max (SET expressions read the row before
// the update). It cannot interleave with ConsumeAuthCode's UPDATE: either
// the code was consumed first (nothing counted, ErrCodeUsed) or it dies
// first (ConsumeAuthCode then finds it expired).
func (s *Store) RecordCodeFailure(ctx context.Context, hash string, now time.Time, max int) (int, error) {
	var n int
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `UPDATE auth_codes SET failures = failures + 1,
			expires_at = CASE WHEN failures + 1 >= ? AND expires_at > ? THEN ? ELSE expires_at END
			WHERE hash = ? AND used_at IS NULL RETURNING failures`, max, now.UnixNano(), now.UnixNano(), hash).Scan(&n)
		if !errors.Is(err, sql.ErrNoRows) {
			return mapErr(err)
		}
		// Unknown, or consumed before: say which.
		var used sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT used_at FROM auth_codes WHERE hash = ?`, hash).Scan(&used); err != nil {
			return mapErr(err)
		}
		return store.ErrCodeUsed
	})
	if err != nil {
		return 0, wrap("record code failure", err)
	}
	return n, nil
}

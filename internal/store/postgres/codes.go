package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

const authCodeCols = `hash, client_id, user_id, session_id, grant_id, redirect_uri, scopes, audiences,
	nonce, code_challenge, code_challenge_method, dpop_jkt, auth_time, amr, created_at, expires_at, used_at, failures`

func scanAuthCode(row pgx.Row) (store.AuthCode, error) {
	var (
		c                          store.AuthCode
		authTime, created, expires int64
		used                       *int64
	)
	err := row.Scan(&c.Hash, &c.ClientID, &c.UserID, &c.SessionID, &c.GrantID, &c.RedirectURI, &c.Scopes, &c.Audiences,
		&c.Nonce, &c.CodeChallenge, &c.CodeChallengeMethod, &c.DPoPJKT, &authTime, &c.AMR, &created, &expires, &used, &c.Failures)
	if err != nil {
		return store.AuthCode{}, err
	}
	c.Scopes = list(c.Scopes)
	c.Audiences = list(c.Audiences)
	c.AMR = list(c.AMR)
	c.AuthTime = fromNanos(authTime)
	c.CreatedAt = fromNanos(created)
	c.ExpiresAt = fromNanos(expires)
	c.UsedAt = fromNullNanos(used)
	return c, nil
}

// CreateAuthCode inserts c; ErrAlreadyExists if its hash is taken.
func (s *Store) CreateAuthCode(ctx context.Context, c store.AuthCode) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO auth_codes (`+authCodeCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`,
		c.Hash, c.ClientID, c.UserID, c.SessionID, c.GrantID, c.RedirectURI, c.Scopes, c.Audiences,
		c.Nonce, c.CodeChallenge, c.CodeChallengeMethod, c.DPoPJKT, toNanos(c.AuthTime), c.AMR,
		toNanos(c.CreatedAt), toNanos(c.ExpiresAt), toNullNanos(c.UsedAt), c.Failures)
	return mapErr("create auth code", err)
}

// consumeAuthCode marks an unused, unexpired code used ($2 is now) and
// returns it; no row when the code is unknown, used or expired.
const consumeAuthCode = `UPDATE auth_codes SET used_at = $2
	WHERE hash = $1 AND used_at IS NULL AND expires_at > $2
	RETURNING ` + authCodeCols

// selectAuthCode reads a code as it is.
const selectAuthCode = `SELECT ` + authCodeCols + ` FROM auth_codes WHERE hash = $1`

// ConsumeAuthCode marks the code used at now and returns it (RFC 6749
// §4.1.2: a code is used at most once).
//
// What makes it atomic: the single conditional UPDATE ... WHERE used_at IS
// NULL. PostgreSQL takes the row lock for the UPDATE; a concurrent UPDATE
// of the same row (from any connection, any instance) waits for it and
// then re-evaluates the WHERE clause on the committed row version (READ
// COMMITTED's EvalPlanQual recheck), finds used_at set and matches
// nothing. So exactly one caller gets the row back.
//
// A caller whose UPDATE matched nothing reads the row to say why: unknown
// (ErrNotFound), used before (the code and ErrCodeUsed, so the caller can
// revoke the grant, RFC 9700 §4.5), or expired (ErrExpired; an expired
// code is not marked used). A used code reports ErrCodeUsed even once
// expired, so replay is detected until the code is swept.
func (s *Store) ConsumeAuthCode(ctx context.Context, hash string, now time.Time) (store.AuthCode, error) {
	n := toNanos(now)
	c, err := scanAuthCode(s.pool.QueryRow(ctx, consumeAuthCode, hash, n))
	if err == nil {
		return c, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return store.AuthCode{}, mapErr("consume auth code", err)
	}
	c, err = scanAuthCode(s.pool.QueryRow(ctx, selectAuthCode, hash))
	switch {
	case err != nil:
		return store.AuthCode{}, mapErr("consume auth code", err)
	case !c.UsedAt.IsZero():
		return c, mapErr("consume auth code", store.ErrCodeUsed)
	default:
		// Unused, so the UPDATE skipped it for its expiry.
		return store.AuthCode{}, mapErr("consume auth code", store.ErrExpired)
	}
}

// RedeemAuthCode marks the code used at now and inserts the grant issued
// from it (and its first refresh token), all or nothing (store.Store).
//
// What makes it atomic: ConsumeAuthCode's conditional UPDATE ... WHERE
// used_at IS NULL ... RETURNING and the inserts run in one READ COMMITTED
// transaction. The UPDATE takes the code's row lock and holds it until
// COMMIT, after the inserts. A concurrent UPDATE of the row (any
// connection, any instance) waits for that lock and then re-evaluates the
// WHERE clause on the committed row version: after a commit it finds
// used_at set and matches nothing, so it reads the row (a new snapshot,
// which includes the winner's grant) and answers ErrCodeUsed; after a
// rollback it finds the row unused and redeems it itself. So exactly one
// caller succeeds, and a loser answers only once the grant is visible.
func (s *Store) RedeemAuthCode(ctx context.Context, hash string, now time.Time, g store.Grant, rt *store.RefreshToken) (store.AuthCode, error) {
	const op = "redeem auth code"
	if rt != nil && rt.GrantID != g.ID {
		return store.AuthCode{}, fmt.Errorf("postgres: %s: refresh token's grant %q is not %q", op, rt.GrantID, g.ID)
	}
	n := toNanos(now)
	var c store.AuthCode
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		c, err = scanAuthCode(tx.QueryRow(ctx, consumeAuthCode, hash, n))
		if errors.Is(err, pgx.ErrNoRows) {
			// Not redeemed now: unknown, used before, or expired. This
			// statement's snapshot follows any commit the UPDATE waited for.
			c, err = scanAuthCode(tx.QueryRow(ctx, selectAuthCode, hash))
			switch {
			case err != nil:
				return mapErr(op, err)
			case !c.UsedAt.IsZero():
				return mapErr(op, store.ErrCodeUsed)
			default:
				// Unused, so the UPDATE skipped it for its expiry.
				c = store.AuthCode{}
				return mapErr(op, store.ErrExpired)
			}
		}
		if err != nil {
			return mapErr(op, err)
		}
		if c.GrantID != g.ID {
			return fmt.Errorf("postgres: %s: grant %q is not the code's grant %q", op, g.ID, c.GrantID)
		}
		return mapErr(op, insertGrantWithToken(ctx, tx, g, rt))
	}, nil)
	switch {
	case err == nil:
		return c, nil
	case errors.Is(err, store.ErrCodeUsed):
		return c, err
	default:
		return store.AuthCode{}, err
	}
}

// GetAuthCode returns the code with no validity checks; ErrNotFound.
func (s *Store) GetAuthCode(ctx context.Context, hash string) (store.AuthCode, error) {
	c, err := scanAuthCode(s.pool.QueryRow(ctx, `SELECT `+authCodeCols+` FROM auth_codes WHERE hash = $1`, hash))
	return c, mapErr("get auth code", err)
}

// RecordCodeFailure counts a refused redemption of an unused code and
// kills the code at the max-th.
//
// What makes it atomic: one conditional UPDATE ... WHERE used_at IS NULL,
// which increments the counter and caps expires_at at now in the same
// statement once the count reaches max (SET expressions read the row
// version being updated). Concurrent UPDATEs of the row — other failures,
// ConsumeAuthCode — wait for the row lock and re-evaluate on the committed
// version, so counts are distinct, and a code consumed first counts
// nothing (ErrCodeUsed) while a code killed first is expired for
// ConsumeAuthCode.
func (s *Store) RecordCodeFailure(ctx context.Context, hash string, now time.Time, max int) (int, error) {
	n := toNanos(now)
	var count int
	err := s.pool.QueryRow(ctx, `UPDATE auth_codes SET failures = failures + 1,
		expires_at = CASE WHEN failures + 1 >= $3 AND expires_at > $2 THEN $2 ELSE expires_at END
		WHERE hash = $1 AND used_at IS NULL RETURNING failures`, hash, n, max).Scan(&count)
	if err == nil {
		return count, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return 0, mapErr("record code failure", err)
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM auth_codes WHERE hash = $1)`, hash).Scan(&exists); err != nil {
		return 0, mapErr("record code failure", err)
	}
	if !exists {
		return 0, notFound("record code failure")
	}
	return 0, mapErr("record code failure", store.ErrCodeUsed)
}

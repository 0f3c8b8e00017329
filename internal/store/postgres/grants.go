package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

const grantCols = `id, client_id, user_id, session_id, scopes, audiences, auth_time, amr, nonce, dpop_jkt,
	created_at, absolute_expires_at, revoked_at, revoked_reason`

func scanGrant(row pgx.Row) (store.Grant, error) {
	var (
		g                                    store.Grant
		authTime, created, absoluteExpiresAt int64
		revoked                              *int64
	)
	err := row.Scan(&g.ID, &g.ClientID, &g.UserID, &g.SessionID, &g.Scopes, &g.Audiences, &authTime, &g.AMR,
		&g.Nonce, &g.DPoPJKT, &created, &absoluteExpiresAt, &revoked, &g.RevokedReason)
	if err != nil {
		return store.Grant{}, err
	}
	g.Scopes = list(g.Scopes)
	g.Audiences = list(g.Audiences)
	g.AMR = list(g.AMR)
	g.AuthTime = fromNanos(authTime)
	g.CreatedAt = fromNanos(created)
	g.AbsoluteExpiresAt = fromNanos(absoluteExpiresAt)
	g.RevokedAt = fromNullNanos(revoked)
	return g, nil
}

// CreateGrant inserts g and, when rt is not nil, its first refresh token,
// in one transaction: either both exist afterwards or neither does.
// ErrAlreadyExists if the grant ID or the token hash is taken.
func (s *Store) CreateGrant(ctx context.Context, g store.Grant, rt *store.RefreshToken) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		return mapErr("create grant", insertGrantWithToken(ctx, tx, g, rt))
	}, nil)
}

// insertGrant inserts g in tx (CreateGrant, RedeemAuthCode).
// insertGrantWithToken inserts g and, when rt is not nil, its first
// refresh token in tx: the step CreateGrant, RedeemAuthCode and
// RedeemDeviceCode share.
func insertGrantWithToken(ctx context.Context, tx pgx.Tx, g store.Grant, rt *store.RefreshToken) error {
	if err := insertGrant(ctx, tx, g); err != nil {
		return err
	}
	if rt == nil {
		return nil
	}
	return insertRefreshToken(ctx, tx, *rt)
}

func insertGrant(ctx context.Context, tx pgx.Tx, g store.Grant) error {
	_, err := tx.Exec(ctx, `INSERT INTO grants (`+grantCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		g.ID, g.ClientID, g.UserID, g.SessionID, g.Scopes, g.Audiences, toNanos(g.AuthTime), g.AMR,
		g.Nonce, g.DPoPJKT, toNanos(g.CreatedAt), toNanos(g.AbsoluteExpiresAt), toNullNanos(g.RevokedAt),
		string(g.RevokedReason))
	return err
}

// GetGrant returns the grant, revoked or not; ErrNotFound.
func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.pool.QueryRow(ctx, `SELECT `+grantCols+` FROM grants WHERE id = $1`, id))
	return g, mapErr("get grant", err)
}

// RevokeGrant marks the grant revoked at now for reason; a grant revoked
// before keeps its first RevokedAt and RevokedReason (both SET
// expressions read the row as it was before this one UPDATE). ErrNotFound.
func (s *Store) RevokeGrant(ctx context.Context, id string, now time.Time, reason store.Reason) error {
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET revoked_at = COALESCE(revoked_at, $2),
		revoked_reason = CASE WHEN revoked_at IS NULL THEN $3 ELSE revoked_reason END WHERE id = $1`,
		id, toNanos(now), string(reason))
	if err != nil {
		return mapErr("revoke grant", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("revoke grant")
	}
	return nil
}

// RevokeUserGrants revokes every unrevoked grant of the user (only those
// of clientID when it is not "") and returns how many it revoked; grants
// revoked before are neither counted nor changed.
func (s *Store) RevokeUserGrants(ctx context.Context, userID, clientID string, now time.Time, reason store.Reason) (int, error) {
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET revoked_at = $3, revoked_reason = $4
		WHERE user_id = $1 AND ($2 = '' OR client_id = $2) AND revoked_at IS NULL`,
		userID, clientID, toNanos(now), string(reason))
	if err != nil {
		return 0, mapErr("revoke user grants", err)
	}
	return int(tag.RowsAffected()), nil
}

// RevokeSessionGrants revokes the live grants issued in session sid
// whose client revokes refresh tokens on logout, except exceptClientID's,
// and returns how many it revoked now. One UPDATE: atomic on its own.
func (s *Store) RevokeSessionGrants(ctx context.Context, sid, exceptClientID string, now time.Time, reason store.Reason) (int, error) {
	if sid == "" {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `UPDATE grants SET revoked_at = $3, revoked_reason = $4
		WHERE session_id = $1 AND client_id <> $2 AND revoked_at IS NULL
		AND client_id IN (SELECT id FROM clients WHERE revoke_refresh_on_logout)`,
		sid, exceptClientID, toNanos(now), string(reason))
	if err != nil {
		return 0, mapErr("revoke session grants", err)
	}
	return int(tag.RowsAffected()), nil
}

// ListUserGrants returns every grant of the user, revoked ones included,
// oldest first (by CreatedAt, then ID).
func (s *Store) ListUserGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+grantCols+` FROM grants WHERE user_id = $1
		ORDER BY created_at, id COLLATE "C"`, userID)
	if err != nil {
		return nil, mapErr("list user grants", err)
	}
	gs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Grant, error) { return scanGrant(r) })
	return gs, mapErr("list user grants", err)
}

// Refresh tokens.

const refreshTokenCols = `hash, grant_id, client_id, user_id, scopes, created_at, expires_at, rotated_at, successor_hash`

func scanRefreshToken(row pgx.Row) (store.RefreshToken, error) {
	var (
		t                store.RefreshToken
		created, expires int64
		rotated          *int64
	)
	err := row.Scan(&t.Hash, &t.GrantID, &t.ClientID, &t.UserID, &t.Scopes, &created, &expires, &rotated, &t.SuccessorHash)
	if err != nil {
		return store.RefreshToken{}, err
	}
	t.Scopes = list(t.Scopes)
	t.CreatedAt = fromNanos(created)
	t.ExpiresAt = fromNanos(expires)
	t.RotatedAt = fromNullNanos(rotated)
	return t, nil
}

func insertRefreshToken(ctx context.Context, tx pgx.Tx, t store.RefreshToken) error {
	_, err := tx.Exec(ctx, `INSERT INTO refresh_tokens (`+refreshTokenCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		t.Hash, t.GrantID, t.ClientID, t.UserID, t.Scopes, toNanos(t.CreatedAt), toNanos(t.ExpiresAt),
		toNullNanos(t.RotatedAt), t.SuccessorHash)
	return err
}

// GetRefreshToken returns the token record with no validity checks;
// ErrNotFound.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	t, err := scanRefreshToken(s.pool.QueryRow(ctx, `SELECT `+refreshTokenCols+` FROM refresh_tokens WHERE hash = $1`, hash))
	return t, mapErr("get refresh token", err)
}

// rotateFast is RotateRefreshToken's common case in one statement: $1
// the presented hash, $2 now (nanoseconds), $3–$11 the successor as in
// insertRefreshToken ($3 its hash). tok locks the presented token's row
// if it is unrotated and its idle expiry is after now; fam then locks its
// grant's row if the grant is unrevoked and its absolute expiry is zero
// (no bound) or after now (the transaction's checks, in nanoseconds).
// Each CTE needs the one before it, so the locks are taken in the
// transaction's order, token then grant. rotated rotates the token only
// when both were found and returns it as updated; succ inserts the
// successor only for a row of rotated. No row: nothing was written. The
// parameters are cast because an INSERT ... SELECT does not take their
// types from the target columns.
const rotateFast = `WITH tok AS (
		SELECT grant_id FROM refresh_tokens
		WHERE hash = $1 AND rotated_at IS NULL AND expires_at > $2::bigint
		FOR UPDATE
	), fam AS (
		SELECT id FROM grants
		WHERE id = (SELECT grant_id FROM tok) AND revoked_at IS NULL
			AND (absolute_expires_at = 0 OR absolute_expires_at > $2::bigint)
		FOR UPDATE
	), rotated AS (
		UPDATE refresh_tokens SET rotated_at = $2::bigint, successor_hash = $3::text
		WHERE hash = $1 AND rotated_at IS NULL AND grant_id = (SELECT id FROM fam)
		RETURNING ` + refreshTokenCols + `
	), succ AS (
		INSERT INTO refresh_tokens (` + refreshTokenCols + `)
		SELECT $3::text, $4::text, $5::text, $6::text, $7::text[], $8::bigint, $9::bigint, $10::bigint, $11::text
		FROM rotated
	)
	SELECT ` + refreshTokenCols + ` FROM rotated`

// RotateRefreshToken is the refresh grant's single atomic step (RFC 6749
// §6, RFC 9700 §4.14.2: rotation with reuse detection).
//
// Two steps. First the fast path, for the common case (an unrotated,
// unexpired token of an unrevoked grant within its absolute bound): one
// autocommit statement, rotateFast, one round trip instead of six (BEGIN,
// two SELECT ... FOR UPDATE, UPDATE, INSERT, COMMIT). It writes either
// the rotation and the successor or, when any condition fails, nothing;
// then the transaction below runs as if the fast path had not, and sorts
// out the failure, grace or reuse from the rows as they are by then.
//
// What makes each step atomic: it locks the presented token's row (SELECT
// ... FOR UPDATE, in a CTE for the fast path) and then its grant's row. A
// concurrent rotation of the same token, from any instance, blocks on the
// token lock until the other statement or transaction ends, and then
// re-reads the committed rotated_at (READ COMMITTED re-checks the WHERE
// on the latest row version; the fast path also updates only WHERE
// rotated_at IS NULL), so exactly one caller takes the "not yet rotated"
// branch. Locking the grant row orders rotation against RevokeGrant and
// RevokeUserGrants: a revoke that commits first is seen here, and one that
// comes later waits for this rotation and then revokes its successor's
// family too. The lock order (token, then grant) is the same in both
// steps and everywhere else, so rotations of sibling tokens of one family
// cannot deadlock.
//
// Branches, in order: unknown hash, ErrNotFound; grant revoked (or gone),
// ErrRevoked; idle ExpiresAt or the grant's AbsoluteExpiresAt (unless
// zero: no absolute bound) not after now, ErrExpired; not rotated, rotate
// and insert next (RotateRotated, returning the token as updated); rotated,
// now-RotatedAt <= grace (grace > 0) and its successor the head (not
// rotated itself), RotateGrace and no change; any other rotated token
// (outside grace, or older than the head's predecessor), revoke the grant
// in this same transaction (committed although an error is returned) and
// ErrRefreshReused. A next.Hash that exists already fails with
// ErrAlreadyExists and rotates nothing (the fast path's one statement
// fails whole).
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, next store.RefreshToken, now time.Time, grace time.Duration) (store.RefreshToken, store.RotateResult, error) {
	const op = "rotate refresh token"
	// The fast path: one statement, one round trip (rotateFast).
	old, err := scanRefreshToken(s.pool.QueryRow(ctx, rotateFast, hash, toNanos(now),
		next.Hash, next.GrantID, next.ClientID, next.UserID, next.Scopes, toNanos(next.CreatedAt),
		toNanos(next.ExpiresAt), toNullNanos(next.RotatedAt), next.SuccessorHash))
	switch {
	case err == nil:
		return old, store.RotateRotated, nil
	case !errors.Is(err, pgx.ErrNoRows):
		// A taken next.Hash fails the whole statement: nothing was written.
		return store.RefreshToken{}, store.RotateFailed, mapErr(op, err)
	}
	// Not rotated, so nothing was written: the transaction below sorts
	// out which failure (or grace) it is, from the rows as they are now.
	result := store.RotateFailed
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		var err error
		old, err = scanRefreshToken(tx.QueryRow(ctx, `SELECT `+refreshTokenCols+` FROM refresh_tokens
			WHERE hash = $1 FOR UPDATE`, hash))
		if err != nil {
			return mapErr(op, err)
		}
		var (
			absoluteExpiresAt int64
			revokedAt         *int64
		)
		err = tx.QueryRow(ctx, `SELECT absolute_expires_at, revoked_at FROM grants WHERE id = $1 FOR UPDATE`,
			old.GrantID).Scan(&absoluteExpiresAt, &revokedAt)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			// The grant was deleted (its user was, or it was swept past
			// its absolute expiry): its tokens are dead.
			return mapErr(op, store.ErrRevoked)
		case err != nil:
			return mapErr(op, err)
		case revokedAt != nil:
			return mapErr(op, store.ErrRevoked)
		case !old.ExpiresAt.After(now),
			absoluteExpiresAt != 0 && !fromNanos(absoluteExpiresAt).After(now):
			// A zero AbsoluteExpiresAt (stored as 0) means no absolute bound.
			return mapErr(op, store.ErrExpired)
		}
		if old.RotatedAt.IsZero() {
			if _, err := tx.Exec(ctx, `UPDATE refresh_tokens SET rotated_at = $2, successor_hash = $3 WHERE hash = $1`,
				hash, toNanos(now), next.Hash); err != nil {
				return mapErr(op, err)
			}
			if err := insertRefreshToken(ctx, tx, next); err != nil {
				return mapErr(op, err)
			}
			old.RotatedAt = fromNanos(toNanos(now))
			old.SuccessorHash = next.Hash
			result = store.RotateRotated
			return nil
		}
		// grace <= 0 disables the window: even at now == RotatedAt a second
		// presentation is a reuse. Grace is only for the immediate
		// predecessor of the head: the successor must not be rotated
		// itself. Its rotation would have to lock the grant row, which
		// this transaction holds, so what this statement reads cannot
		// change before we commit. A successor already swept is not a head.
		if grace > 0 && now.Sub(old.RotatedAt) <= grace {
			var succRotated *int64
			err := tx.QueryRow(ctx, `SELECT rotated_at FROM refresh_tokens WHERE hash = $1`, old.SuccessorHash).Scan(&succRotated)
			switch {
			case err == nil && succRotated == nil:
				result = store.RotateGrace
				return nil
			case err != nil && !errors.Is(err, pgx.ErrNoRows):
				return mapErr(op, err)
			}
		}
		// Reuse outside grace: the token was probably stolen (RFC 9700
		// §4.14.2). Revoke the family before anyone can use its live token.
		if _, err := tx.Exec(ctx, `UPDATE grants SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL`,
			old.GrantID, toNanos(now), string(store.ReasonReused)); err != nil {
			return mapErr(op, err)
		}
		return mapErr(op, store.ErrRefreshReused)
	}, func(err error) bool { return errors.Is(err, store.ErrRefreshReused) })
	switch {
	case err == nil:
		return old, result, nil
	case errors.Is(err, store.ErrRefreshReused):
		return old, store.RotateFailed, err
	default:
		return store.RefreshToken{}, store.RotateFailed, err
	}
}

// Revoked access tokens.

// RevokeAccessToken records the jti as revoked until expiresAt (RFC 7009).
// Idempotent: revoking again keeps the later of the two expiries.
func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2)
		ON CONFLICT (jti) DO UPDATE SET expires_at = GREATEST(revoked_access_tokens.expires_at, excluded.expires_at)`,
		jti, toNanos(expiresAt))
	return mapErr("revoke access token", err)
}

// IsAccessTokenRevoked reports whether the jti was revoked (and not yet
// swept; it is swept only once the token would have expired anyway).
func (s *Store) IsAccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var revoked bool
	err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM revoked_access_tokens WHERE jti = $1)`, jti).Scan(&revoked)
	return revoked, mapErr("is access token revoked", err)
}

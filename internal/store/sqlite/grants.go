package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- grants ---------------------------------------------------------------

const grantCols = `id, client_id, user_id, session_id, scopes, audiences, auth_time, amr, nonce, dpop_jkt,
	created_at, absolute_expires_at, revoked_at, revoked_reason`

func scanGrant(r scanner) (store.Grant, error) {
	var g store.Grant
	err := r.Scan(&g.ID, &g.ClientID, nscan{&g.UserID}, &g.SessionID, lscan{&g.Scopes}, lscan{&g.Audiences}, tscan{&g.AuthTime},
		lscan{&g.AMR}, &g.Nonce, &g.DPoPJKT, tscan{&g.CreatedAt}, tscan{&g.AbsoluteExpiresAt}, tscan{&g.RevokedAt},
		&g.RevokedReason)
	return g, mapErr(err)
}

const insertGrant = `INSERT INTO grants (` + grantCols + `) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)`

func grantArgs(g store.Grant) []any {
	return []any{g.ID, g.ClientID, nullStr(g.UserID), g.SessionID, lv(g.Scopes), lv(g.Audiences), tv(g.AuthTime),
		lv(g.AMR), g.Nonce, g.DPoPJKT, tv(g.CreatedAt), tv(g.AbsoluteExpiresAt), tv(g.RevokedAt), string(g.RevokedReason)}
}

// CreateGrant stores the grant and, when rt is not nil, its first refresh
// token in one write transaction: either both exist afterwards or neither.
func (s *Store) CreateGrant(ctx context.Context, g store.Grant, rt *store.RefreshToken) error {
	if rt == nil {
		_, err := s.exec(ctx, insertGrant, grantArgs(g)...)
		return wrap("create grant", err)
	}
	return wrap("create grant", s.writeTx(ctx, func(tx *sql.Tx) error {
		return s.insertGrantWithToken(ctx, tx, g, rt)
	}))
}

// insertGrantWithToken inserts g and, when rt is not nil, its first
// refresh token in tx: the step CreateGrant, RedeemAuthCode and
// RedeemDeviceCode share.
func (s *Store) insertGrantWithToken(ctx context.Context, tx *sql.Tx, g store.Grant, rt *store.RefreshToken) error {
	st, err := s.txStmt(ctx, tx, insertGrant)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(ctx, grantArgs(g)...); err != nil {
		return mapErr(err)
	}
	if rt == nil {
		return nil
	}
	return s.insertRefresh(ctx, tx, *rt)
}

// GetGrant returns the grant, revoked or not.
func (s *Store) GetGrant(ctx context.Context, id string) (store.Grant, error) {
	g, err := scanGrant(s.queryRow(ctx, `SELECT `+grantCols+` FROM grants WHERE id = ?`, id))
	return g, wrap("get grant", err)
}

// RevokeGrant sets revoked_at and revoked_reason once (a grant revoked
// before keeps its first values).
func (s *Store) RevokeGrant(ctx context.Context, id string, now time.Time, reason store.Reason) error {
	return wrap("revoke grant", s.writeTx(ctx, func(tx *sql.Tx) error {
		var revoked sql.NullInt64
		if err := tx.QueryRowContext(ctx, `SELECT revoked_at FROM grants WHERE id = ?`, id).Scan(&revoked); err != nil {
			return mapErr(err)
		}
		if revoked.Valid {
			return nil
		}
		_, err := tx.ExecContext(ctx, `UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE id = ?`, now.UnixNano(), string(reason), id)
		return mapErr(err)
	}))
}

// RevokeUserGrants revokes the user's live grants (of one client if
// clientID != "") and returns how many it revoked now.
func (s *Store) RevokeUserGrants(ctx context.Context, userID, clientID string, now time.Time, reason store.Reason) (int, error) {
	q := `UPDATE grants SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL`
	args := []any{now.UnixNano(), string(reason), userID}
	if clientID != "" {
		q += ` AND client_id = ?`
		args = append(args, clientID)
	}
	n, err := rowsAffected(s.exec(ctx, q, args...))
	return n, wrap("revoke user grants", err)
}

// RevokeSessionGrants revokes the live grants issued in session sid
// whose client revokes refresh tokens on logout, except exceptClientID's,
// and returns how many it revoked now. One UPDATE: atomic on its own.
func (s *Store) RevokeSessionGrants(ctx context.Context, sid, exceptClientID string, now time.Time, reason store.Reason) (int, error) {
	if sid == "" {
		return 0, nil
	}
	n, err := rowsAffected(s.exec(ctx, `UPDATE grants SET revoked_at = ?, revoked_reason = ?
		WHERE session_id = ? AND client_id <> ? AND revoked_at IS NULL
		AND client_id IN (SELECT id FROM clients WHERE revoke_refresh_on_logout)`,
		now.UnixNano(), string(reason), sid, exceptClientID))
	return n, wrap("revoke session grants", err)
}

// ListUserGrants returns every grant of the user, revoked ones included,
// oldest first.
func (s *Store) ListUserGrants(ctx context.Context, userID string) ([]store.Grant, error) {
	rows, err := s.query(ctx, `SELECT `+grantCols+` FROM grants WHERE user_id = ? ORDER BY created_at, id`, userID)
	if err != nil {
		return nil, wrap("list user grants", err)
	}
	defer rows.Close()
	var out []store.Grant
	for rows.Next() {
		g, err := scanGrant(rows)
		if err != nil {
			return nil, wrap("list user grants", err)
		}
		out = append(out, g)
	}
	return out, wrap("list user grants", rows.Err())
}

// --- refresh tokens -------------------------------------------------------

const refreshCols = `hash, grant_id, client_id, user_id, scopes, created_at, expires_at, rotated_at, successor_hash`

const insertRefresh = `INSERT INTO refresh_tokens (` + refreshCols + `) VALUES (?,?,?,?,?,?,?,?,?)`

func scanRefresh(r scanner, extra ...any) (store.RefreshToken, error) {
	var t store.RefreshToken
	dest := append([]any{&t.Hash, &t.GrantID, &t.ClientID, &t.UserID, lscan{&t.Scopes}, tscan{&t.CreatedAt},
		tscan{&t.ExpiresAt}, tscan{&t.RotatedAt}, &t.SuccessorHash}, extra...)
	err := r.Scan(dest...)
	return t, mapErr(err)
}

func (s *Store) insertRefresh(ctx context.Context, tx *sql.Tx, t store.RefreshToken) error {
	st, err := s.txStmt(ctx, tx, insertRefresh)
	if err != nil {
		return err
	}
	_, err = st.ExecContext(ctx, t.Hash, t.GrantID, t.ClientID, t.UserID, lv(t.Scopes), tv(t.CreatedAt),
		tv(t.ExpiresAt), tv(t.RotatedAt), t.SuccessorHash)
	return mapErr(err)
}

// GetRefreshToken returns the record with no validity checks.
func (s *Store) GetRefreshToken(ctx context.Context, hash string) (store.RefreshToken, error) {
	t, err := scanRefresh(s.queryRow(ctx, `SELECT `+refreshCols+` FROM refresh_tokens WHERE hash = ?`, hash))
	return t, wrap("get refresh token", err)
}

// RotateRefreshToken is the refresh grant's single atomic step (RFC 9700
// §4.14.2: refresh token rotation with reuse detection).
//
// Atomicity: everything runs in one BEGIN IMMEDIATE transaction on the
// writer, so between reading the token and its grant and writing the
// rotation (or the revocation) no other writer, in this or another
// process, can commit. Of concurrent callers presenting one unrotated
// token, the first to get the lock rotates it; the others then find it
// rotated and take the grace or reuse branch. Grace needs the token's
// successor to be the head of the chain (not rotated itself), read in the
// same transaction. The reuse branch revokes the grant and commits that
// before returning ErrRefreshReused.
//
// A grace <= 0 disables the grace window: a rotated token is always a
// reuse. A grant with no AbsoluteExpiresAt has no absolute bound.
func (s *Store) RotateRefreshToken(ctx context.Context, hash string, next store.RefreshToken, now time.Time, grace time.Duration) (store.RefreshToken, store.RotateResult, error) {
	var (
		old    store.RefreshToken
		result = store.RotateFailed
	)
	err := s.writeTx(ctx, func(tx *sql.Tx) error {
		ctx := uncancelled(ctx)
		st, err := s.txStmt(ctx, tx, selectRotate)
		if err != nil {
			return err
		}
		var absolute, revoked time.Time
		old, err = scanRefresh(st.QueryRowContext(ctx, hash), tscan{&absolute}, tscan{&revoked})
		if err != nil {
			return err // ErrNotFound for an unknown hash
		}
		switch {
		case !revoked.IsZero():
			return store.ErrRevoked
		case !old.ExpiresAt.After(now), !absolute.IsZero() && !absolute.After(now):
			return store.ErrExpired
		case old.RotatedAt.IsZero():
			st, err := s.txStmt(ctx, tx, markRotated)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, now.UnixNano(), next.Hash, hash); err != nil {
				return mapErr(err)
			}
			if err := s.insertRefresh(ctx, tx, next); err != nil {
				return err // rolls back the rotation too
			}
			old.RotatedAt, old.SuccessorHash = now, next.Hash
			result = store.RotateRotated
			return nil
		case grace > 0 && now.Sub(old.RotatedAt) <= grace:
			// Grace only for the immediate predecessor of the head: its
			// successor must itself be unrotated. Read in this write
			// transaction, so no rotation of the successor can commit in
			// between. An older token (or a successor already swept) is
			// a reuse.
			st, err := s.txStmt(ctx, tx, selectSuccessorRotated)
			if err != nil {
				return err
			}
			var succRotated time.Time
			err = st.QueryRowContext(ctx, old.SuccessorHash).Scan(tscan{&succRotated})
			if err != nil && !errors.Is(err, sql.ErrNoRows) {
				return mapErr(err)
			}
			if err == nil && succRotated.IsZero() {
				result = store.RotateGrace
				return nil
			}
			fallthrough
		default:
			// Reuse outside grace: revoke the family, commit, then report.
			st, err := s.txStmt(ctx, tx, revokeFamily)
			if err != nil {
				return err
			}
			if _, err := st.ExecContext(ctx, now.UnixNano(), old.GrantID); err != nil {
				return mapErr(err)
			}
			return commitErr{store.ErrRefreshReused}
		}
	})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return store.RefreshToken{}, store.RotateFailed, wrap("rotate refresh token", err)
		}
		return old, store.RotateFailed, wrap("rotate refresh token", err)
	}
	return old, result, nil
}

// Statements of RotateRefreshToken's transaction.
const (
	selectRotate = `SELECT t.hash, t.grant_id, t.client_id, t.user_id, t.scopes, t.created_at, t.expires_at,
		t.rotated_at, t.successor_hash, g.absolute_expires_at, g.revoked_at
		FROM refresh_tokens t JOIN grants g ON g.id = t.grant_id WHERE t.hash = ?`
	selectSuccessorRotated = `SELECT rotated_at FROM refresh_tokens WHERE hash = ?`
	markRotated            = `UPDATE refresh_tokens SET rotated_at = ?, successor_hash = ? WHERE hash = ?`
	revokeFamily           = `UPDATE grants SET revoked_at = ?, revoked_reason = '` + string(store.ReasonReused) + `' WHERE id = ? AND revoked_at IS NULL`
)

// --- access tokens ----------------------------------------------------------

// RevokeAccessToken records the jti until expiresAt (idempotent; a second
// call can only extend the entry's life).
func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)
		ON CONFLICT (jti) DO UPDATE SET expires_at = max(expires_at, excluded.expires_at)`, jti, expiresAt.UnixNano())
	return wrap("revoke access token", err)
}

// IsAccessTokenRevoked reports whether the jti was revoked (and not yet
// swept, which happens only after the token expired anyway).
func (s *Store) IsAccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var one int
	err := s.queryRow(ctx, `SELECT 1 FROM revoked_access_tokens WHERE jti = ?`, jti).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	return err == nil, wrap("is access token revoked", err)
}

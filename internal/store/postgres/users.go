package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store"
)

const userCols = `id, username, email, email_verified, name, password_hash, created_at, mfa_required`

func scanUser(row pgx.Row) (store.User, error) {
	var (
		u       store.User
		created int64
	)
	if err := row.Scan(&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name, &u.PasswordHash, &created, &u.MFARequired); err != nil {
		return store.User{}, err
	}
	u.CreatedAt = fromNanos(created)
	return u, nil
}

// CreateUser inserts u; ErrAlreadyExists when its ID or its Username is
// taken (both are unique keys).
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Username, u.Email, u.EmailVerified, u.Name, u.PasswordHash, toNanos(u.CreatedAt), u.MFARequired)
	return mapErr("create user", err)
}

// GetUser returns the user with that ID; ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1`, id))
	return u, mapErr("get user", err)
}

// GetUserByUsername returns the user with exactly that username
// (case-sensitive); ErrNotFound.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = $1`, username))
	return u, mapErr("get user by username", err)
}

// ListUsers returns every user ordered by Username (bytewise).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY username COLLATE "C"`)
	if err != nil {
		return nil, mapErr("list users", err)
	}
	us, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.User, error) { return scanUser(r) })
	return us, mapErr("list users", err)
}

// SetUserPassword replaces the user's password hash; ErrNotFound.
func (s *Store) SetUserPassword(ctx context.Context, id string, passwordHash string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $2 WHERE id = $1`, id, passwordHash)
	if err != nil {
		return mapErr("set user password", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("set user password")
	}
	return nil
}

// DeleteUser deletes the user with its sessions, consents, authorization
// codes, grants and the grants' refresh tokens, in one transaction, so no
// token of a deleted user survives it. ErrNotFound when there is no such
// user (and then nothing is deleted).
//
// Children are deleted before the user row; refresh tokens before grants,
// the same lock order as RotateRefreshToken (token, then grant), so the
// two cannot deadlock. A successor inserted by a rotation that commits
// while DeleteUser runs may outlive it, but cannot be used: its grant is
// gone, and RotateRefreshToken answers ErrRevoked for it.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	return s.inTx(ctx, func(tx pgx.Tx) error {
		for _, q := range []string{
			`DELETE FROM sessions WHERE user_id = $1`,
			`DELETE FROM consents WHERE user_id = $1`,
			`DELETE FROM auth_codes WHERE user_id = $1`,
			`DELETE FROM device_codes WHERE user_id = $1`,
			`DELETE FROM refresh_tokens WHERE user_id = $1
				OR grant_id IN (SELECT id FROM grants WHERE user_id = $1)`,
			`DELETE FROM grants WHERE user_id = $1`,
			`DELETE FROM factors WHERE user_id = $1`,
			`DELETE FROM upstream_links WHERE user_id = $1`,
		} {
			if _, err := tx.Exec(ctx, q, id); err != nil {
				return mapErr("delete user", err)
			}
		}
		tag, err := tx.Exec(ctx, `DELETE FROM users WHERE id = $1`, id)
		if err != nil {
			return mapErr("delete user", err)
		}
		if tag.RowsAffected() == 0 {
			return notFound("delete user")
		}
		return nil
	}, nil)
}

// Sessions.

const sessionCols = `id, user_id, auth_time, created_at, expires_at, amr, sid`

func scanSession(row pgx.Row) (store.Session, error) {
	var (
		ss                         store.Session
		authTime, created, expires int64
	)
	if err := row.Scan(&ss.ID, &ss.UserID, &authTime, &created, &expires, &ss.AMR, &ss.SID); err != nil {
		return store.Session{}, err
	}
	ss.AuthTime = fromNanos(authTime)
	ss.CreatedAt = fromNanos(created)
	ss.ExpiresAt = fromNanos(expires)
	ss.AMR = list(ss.AMR)
	return ss, nil
}

// CreateSession inserts ss; ErrAlreadyExists if its ID is taken.
func (s *Store) CreateSession(ctx context.Context, ss store.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7)`,
		ss.ID, ss.UserID, toNanos(ss.AuthTime), toNanos(ss.CreatedAt), toNanos(ss.ExpiresAt), ss.AMR, ss.SID)
	return mapErr("create session", err)
}

// GetSession returns the session; ErrNotFound when unknown, ErrExpired
// when its ExpiresAt is not after now.
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	ss, err := scanSession(s.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	if err != nil {
		return store.Session{}, mapErr("get session", err)
	}
	if !ss.ExpiresAt.After(now) {
		return store.Session{}, mapErr("get session", store.ErrExpired)
	}
	return ss, nil
}

// DeleteSession deletes the session; ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE id = $1`, id)
	if err != nil {
		return mapErr("delete session", err)
	}
	if tag.RowsAffected() == 0 {
		return notFound("delete session")
	}
	return nil
}

// ListUserSessions returns the user's sessions that have not expired at
// now, oldest first (by CreatedAt, then ID).
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+sessionCols+` FROM sessions
		WHERE user_id = $1 AND expires_at > $2 ORDER BY created_at, id COLLATE "C"`, userID, toNanos(now))
	if err != nil {
		return nil, mapErr("list user sessions", err)
	}
	ss, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (store.Session, error) { return scanSession(r) })
	return ss, mapErr("list user sessions", err)
}

// DeleteUserSessions deletes every session of the user (expired or not)
// and returns how many it deleted.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, userID)
	if err != nil {
		return 0, mapErr("delete user sessions", err)
	}
	return int(tag.RowsAffected()), nil
}

// Consents.

// GetConsent returns the consent of the user for the client; ErrNotFound.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	var (
		c       store.Consent
		granted int64
	)
	err := s.pool.QueryRow(ctx, `SELECT user_id, client_id, scopes, granted_at FROM consents
		WHERE user_id = $1 AND client_id = $2`, userID, clientID).Scan(&c.UserID, &c.ClientID, &c.Scopes, &granted)
	if err != nil {
		return store.Consent{}, mapErr("get consent", err)
	}
	c.Scopes = list(c.Scopes)
	c.GrantedAt = fromNanos(granted)
	return c, nil
}

// SaveConsent inserts or replaces the consent for (UserID, ClientID) in one
// upsert statement, so concurrent saves cannot collide.
func (s *Store) SaveConsent(ctx context.Context, c store.Consent) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO consents (user_id, client_id, scopes, granted_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, c.Scopes, toNanos(c.GrantedAt))
	return mapErr("save consent", err)
}

package sqlite

import (
	"context"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- users --------------------------------------------------------------

const userCols = `id, username, email, email_verified, name, password_hash, created_at, mfa_required`

func scanUser(r scanner) (store.User, error) {
	var u store.User
	err := r.Scan(&u.ID, &u.Username, &u.Email, &u.EmailVerified, &u.Name, &u.PasswordHash, tscan{&u.CreatedAt}, &u.MFARequired)
	return u, mapErr(err)
}

// CreateUser inserts u; a duplicate ID or Username (case-sensitive, the
// column's BINARY collation) fails with store.ErrAlreadyExists.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?,?,?,?,?,?,?,?)`,
		u.ID, u.Username, u.Email, bv(u.EmailVerified), u.Name, u.PasswordHash, tv(u.CreatedAt), bv(u.MFARequired))
	return wrap("create user", err)
}

// GetUser returns the user with that ID or store.ErrNotFound.
func (s *Store) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = ?`, id))
	return u, wrap("get user", err)
}

// GetUserByUsername returns the user with exactly that username.
func (s *Store) GetUserByUsername(ctx context.Context, username string) (store.User, error) {
	u, err := scanUser(s.queryRow(ctx, `SELECT `+userCols+` FROM users WHERE username = ?`, username))
	return u, wrap("get user by username", err)
}

// ListUsers returns every user ordered by Username (byte order).
func (s *Store) ListUsers(ctx context.Context) ([]store.User, error) {
	rows, err := s.query(ctx, `SELECT `+userCols+` FROM users ORDER BY username`)
	if err != nil {
		return nil, wrap("list users", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, wrap("list users", err)
		}
		out = append(out, u)
	}
	return out, wrap("list users", rows.Err())
}

// SetUserPassword replaces the user's password hash; store.ErrNotFound.
func (s *Store) SetUserPassword(ctx context.Context, id, passwordHash string) error {
	n, err := rowsAffected(s.exec(ctx, `UPDATE users SET password_hash = ? WHERE id = ?`, passwordHash, id))
	return wrap("set user password", oneRow(n, err))
}

// DeleteUser deletes the user; foreign keys cascade the delete to its
// sessions, consents, codes, grants and their refresh tokens in the same
// statement (so atomically). store.ErrNotFound for an unknown ID.
func (s *Store) DeleteUser(ctx context.Context, id string) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM users WHERE id = ?`, id))
	return wrap("delete user", oneRow(n, err))
}

// --- sessions -----------------------------------------------------------

const sessionCols = `id, user_id, auth_time, created_at, expires_at, amr, sid`

func scanSession(r scanner) (store.Session, error) {
	var x store.Session
	err := r.Scan(&x.ID, &x.UserID, tscan{&x.AuthTime}, tscan{&x.CreatedAt}, tscan{&x.ExpiresAt}, lscan{&x.AMR}, &x.SID)
	return x, mapErr(err)
}

// CreateSession inserts the session; store.ErrAlreadyExists on a duplicate
// ID, store.ErrNotFound for an unknown user.
func (s *Store) CreateSession(ctx context.Context, x store.Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?,?,?,?,?,?,?)`,
		x.ID, x.UserID, tv(x.AuthTime), tv(x.CreatedAt), tv(x.ExpiresAt), lv(x.AMR), x.SID)
	return wrap("create session", err)
}

// GetSession returns the session; store.ErrExpired when ExpiresAt is not
// after now (the record is returned too).
func (s *Store) GetSession(ctx context.Context, id string, now time.Time) (store.Session, error) {
	x, err := scanSession(s.queryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
	if err != nil {
		return store.Session{}, wrap("get session", err)
	}
	if !x.ExpiresAt.After(now) {
		return x, store.ErrExpired
	}
	return x, nil
}

// DeleteSession deletes one session; store.ErrNotFound.
func (s *Store) DeleteSession(ctx context.Context, id string) error {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM sessions WHERE id = ?`, id))
	return wrap("delete session", oneRow(n, err))
}

// ListUserSessions returns the user's sessions still live at now, oldest
// first.
func (s *Store) ListUserSessions(ctx context.Context, userID string, now time.Time) ([]store.Session, error) {
	rows, err := s.query(ctx, `SELECT `+sessionCols+` FROM sessions WHERE user_id = ? AND expires_at > ?
		ORDER BY created_at, id`, userID, now.UnixNano())
	if err != nil {
		return nil, wrap("list user sessions", err)
	}
	defer rows.Close()
	var out []store.Session
	for rows.Next() {
		x, err := scanSession(rows)
		if err != nil {
			return nil, wrap("list user sessions", err)
		}
		out = append(out, x)
	}
	return out, wrap("list user sessions", rows.Err())
}

// DeleteUserSessions deletes every session of the user, expired or not.
func (s *Store) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	n, err := rowsAffected(s.exec(ctx, `DELETE FROM sessions WHERE user_id = ?`, userID))
	return n, wrap("delete user sessions", err)
}

// --- consents -----------------------------------------------------------

// GetConsent returns the consent of the user for the client.
func (s *Store) GetConsent(ctx context.Context, userID, clientID string) (store.Consent, error) {
	var c store.Consent
	err := s.queryRow(ctx, `SELECT user_id, client_id, scopes, granted_at FROM consents WHERE user_id = ? AND client_id = ?`,
		userID, clientID).Scan(&c.UserID, &c.ClientID, lscan{&c.Scopes}, tscan{&c.GrantedAt})
	return c, wrap("get consent", mapErr(err))
}

// SaveConsent inserts or replaces the consent in one statement (upsert).
func (s *Store) SaveConsent(ctx context.Context, c store.Consent) error {
	_, err := s.exec(ctx, `INSERT INTO consents (user_id, client_id, scopes, granted_at) VALUES (?,?,?,?)
		ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
		c.UserID, c.ClientID, lv(c.Scopes), tv(c.GrantedAt))
	return wrap("save consent", err)
}

// Package bffsqlite is a bff.SessionStore on SQLite (modernc.org/sqlite,
// pure Go). Several BFF processes on one machine may open the same file:
// every method is one statement (or one IMMEDIATE transaction), so the
// compare-and-swaps of the contract hold across processes, and WAL with a
// busy timeout lets them wait for each other instead of failing.
package bffsqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/latchauth/latch/bff"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// Store is a bff.SessionStore on one SQLite file.
type Store struct{ db *sql.DB }

var _ bff.SessionStore = (*Store)(nil)

// schema is applied at Open; it only ever grows (IF NOT EXISTS), so any
// version of the BFF opens a file another version created.
const schema = `
CREATE TABLE IF NOT EXISTS bff_sessions (
	key         TEXT PRIMARY KEY,      -- SHA-256 of the session id (bff.SessionKey), never the id
	subject     TEXT NOT NULL,
	sid         TEXT NOT NULL DEFAULT '',
	secret      BLOB NOT NULL,         -- the tokens, sealed by the BFF
	claims      BLOB NOT NULL,
	created     INTEGER NOT NULL,      -- unix milliseconds, as every time here
	last_seen   INTEGER NOT NULL,
	expires     INTEGER NOT NULL,
	version     INTEGER NOT NULL,
	lease_until INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS bff_sessions_sid ON bff_sessions (sid) WHERE sid <> '';
CREATE INDEX IF NOT EXISTS bff_sessions_subject ON bff_sessions (subject);
CREATE INDEX IF NOT EXISTS bff_sessions_expires ON bff_sessions (expires);
CREATE TABLE IF NOT EXISTS bff_logout_jtis (
	jti     TEXT PRIMARY KEY,
	expires INTEGER NOT NULL
);
`

// Open opens (creating if needed) the database file at path.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(NORMAL)")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+(&url.URL{Path: path}).EscapedPath()+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("bffsqlite: schema: %w", err)
	}
	return &Store{db: db}, nil
}

// Close closes the database.
func (s *Store) Close() error { return s.db.Close() }

func ms(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

func fromMS(v int64) time.Time {
	if v == 0 {
		return time.Time{}
	}
	return time.UnixMilli(v).UTC()
}

func (s *Store) CreateSession(ctx context.Context, x bff.Session) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO bff_sessions (key, subject, sid, secret, claims, created, last_seen, expires, version, lease_until)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		x.Key, x.Subject, x.SID, x.Secret, x.Claims, ms(x.Created), ms(x.LastSeen), ms(x.Expires), x.Version, ms(x.LeaseUntil))
	return err
}

func (s *Store) GetSession(ctx context.Context, key string) (bff.Session, error) {
	var x bff.Session
	var created, seen, expires, lease int64
	err := s.db.QueryRowContext(ctx, `SELECT key, subject, sid, secret, claims, created, last_seen, expires, version, lease_until
		FROM bff_sessions WHERE key = ?`, key).
		Scan(&x.Key, &x.Subject, &x.SID, &x.Secret, &x.Claims, &created, &seen, &expires, &x.Version, &lease)
	if errors.Is(err, sql.ErrNoRows) {
		return bff.Session{}, bff.ErrNotFound
	}
	if err != nil {
		return bff.Session{}, err
	}
	x.Created, x.LastSeen, x.Expires, x.LeaseUntil = fromMS(created), fromMS(seen), fromMS(expires), fromMS(lease)
	return x, nil
}

func (s *Store) TouchSession(ctx context.Context, key string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE bff_sessions SET last_seen = ? WHERE key = ?`, ms(at), key)
	return affected(res, err, bff.ErrNotFound)
}

// LeaseRefresh is one UPDATE guarded by version and lease: SQLite runs it
// under the database's write lock, so of concurrent callers (in any
// process) with the same version only the first matches a row.
func (s *Store) LeaseRefresh(ctx context.Context, key string, version int64, now, until time.Time) (bool, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE bff_sessions SET version = version + 1, lease_until = ?
		WHERE key = ? AND version = ? AND lease_until <= ?`, ms(until), key, version, ms(now))
	if err := affected(res, err, errNoRow); errors.Is(err, errNoRow) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	return true, nil
}

// StoreTokens: the same compare-and-swap on version.
func (s *Store) StoreTokens(ctx context.Context, key string, version int64, secret []byte) error {
	res, err := s.db.ExecContext(ctx, `UPDATE bff_sessions SET secret = ?, version = version + 1, lease_until = 0
		WHERE key = ? AND version = ?`, secret, key, version)
	return affected(res, err, bff.ErrConflict)
}

func (s *Store) ReleaseLease(ctx context.Context, key string, version int64) error {
	_, err := s.db.ExecContext(ctx, `UPDATE bff_sessions SET lease_until = 0 WHERE key = ? AND version = ?`, key, version)
	return err
}

func (s *Store) DeleteSession(ctx context.Context, key string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM bff_sessions WHERE key = ?`, key)
	return err
}

func (s *Store) DeleteSessionsBySID(ctx context.Context, sid string) (int, error) {
	if sid == "" {
		return 0, nil
	}
	return count(s.db.ExecContext(ctx, `DELETE FROM bff_sessions WHERE sid = ?`, sid))
}

func (s *Store) DeleteSessionsBySubject(ctx context.Context, sub string) (int, error) {
	if sub == "" {
		return 0, nil
	}
	return count(s.db.ExecContext(ctx, `DELETE FROM bff_sessions WHERE subject = ?`, sub))
}

// UseJTI: the primary key makes the second insert fail, in any process.
func (s *Store) UseJTI(ctx context.Context, jti string, expires time.Time) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO bff_logout_jtis (jti, expires) VALUES (?, ?) ON CONFLICT (jti) DO NOTHING`, jti, ms(expires))
	return affected(res, err, bff.ErrReplay)
}

func (s *Store) DeleteExpired(ctx context.Context, now, idleSince time.Time) error {
	if _, err := s.db.ExecContext(ctx, `DELETE FROM bff_sessions WHERE expires < ? OR last_seen < ?`, ms(now), ms(idleSince)); err != nil {
		return err
	}
	_, err := s.db.ExecContext(ctx, `DELETE FROM bff_logout_jtis WHERE expires < ?`, ms(now))
	return err
}

var errNoRow = errors.New("no row")

// affected returns err, or none when the statement changed a row, or
// whenNone.
func affected(res sql.Result, err, whenNone error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return whenNone
	}
	return nil
}

func count(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// Package bffpostgres is a bff.SessionStore on PostgreSQL (pgx). Every
// BFF instance opens the same database; each method is one statement, so
// the compare-and-swaps of the contract hold across instances (an UPDATE
// ... WHERE version = $n takes the row lock, and a concurrent one re-reads
// the row after the first commits and no longer matches).
package bffpostgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/latchauth/latch/bff"
)

// Store is a bff.SessionStore on a PostgreSQL database.
type Store struct{ pool *pgxpool.Pool }

var _ bff.SessionStore = (*Store)(nil)

// schema is applied at Open; it only grows (IF NOT EXISTS). The tables
// are prefixed bff_ and may share a database with others.
const schema = `
CREATE TABLE IF NOT EXISTS bff_sessions (
	key         TEXT PRIMARY KEY,      -- SHA-256 of the session id (bff.SessionKey), never the id
	subject     TEXT NOT NULL,
	sid         TEXT NOT NULL DEFAULT '',
	secret      BYTEA NOT NULL,        -- the tokens, sealed by the BFF
	claims      BYTEA NOT NULL,
	created     TIMESTAMPTZ NOT NULL,
	last_seen   TIMESTAMPTZ NOT NULL,
	expires     TIMESTAMPTZ NOT NULL,
	version     BIGINT NOT NULL,
	lease_until TIMESTAMPTZ NOT NULL DEFAULT 'epoch'
);
CREATE INDEX IF NOT EXISTS bff_sessions_sid ON bff_sessions (sid) WHERE sid <> '';
CREATE INDEX IF NOT EXISTS bff_sessions_subject ON bff_sessions (subject);
CREATE INDEX IF NOT EXISTS bff_sessions_expires ON bff_sessions (expires);
CREATE TABLE IF NOT EXISTS bff_logout_jtis (
	jti     TEXT PRIMARY KEY,
	expires TIMESTAMPTZ NOT NULL
);
`

// Open connects to dsn and creates the tables if needed. Concurrent
// Opens of one database are safe: the schema is applied under an
// advisory lock.
func Open(ctx context.Context, dsn string) (*Store, error) {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return nil, err
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// CREATE ... IF NOT EXISTS races with itself; one at a time.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(7317001)`); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, schema)
		return err
	})
	if err != nil {
		pool.Close()
		return nil, fmt.Errorf("bffpostgres: schema: %w", err)
	}
	return &Store{pool: pool}, nil
}

// Close closes the pool.
func (s *Store) Close() { s.pool.Close() }

var epoch = time.Unix(0, 0).UTC()

func lease(t time.Time) time.Time {
	if t.IsZero() {
		return epoch
	}
	return t
}

func (s *Store) CreateSession(ctx context.Context, x bff.Session) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO bff_sessions (key, subject, sid, secret, claims, created, last_seen, expires, version, lease_until)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		x.Key, x.Subject, x.SID, x.Secret, x.Claims, x.Created, x.LastSeen, x.Expires, x.Version, lease(x.LeaseUntil))
	return err
}

func (s *Store) GetSession(ctx context.Context, key string) (bff.Session, error) {
	var x bff.Session
	err := s.pool.QueryRow(ctx, `SELECT key, subject, sid, secret, claims, created, last_seen, expires, version, lease_until
		FROM bff_sessions WHERE key = $1`, key).
		Scan(&x.Key, &x.Subject, &x.SID, &x.Secret, &x.Claims, &x.Created, &x.LastSeen, &x.Expires, &x.Version, &x.LeaseUntil)
	if errors.Is(err, pgx.ErrNoRows) {
		return bff.Session{}, bff.ErrNotFound
	}
	if err != nil {
		return bff.Session{}, err
	}
	if x.LeaseUntil.Equal(epoch) {
		x.LeaseUntil = time.Time{}
	}
	x.Created, x.LastSeen, x.Expires = x.Created.UTC(), x.LastSeen.UTC(), x.Expires.UTC()
	if !x.LeaseUntil.IsZero() {
		x.LeaseUntil = x.LeaseUntil.UTC()
	}
	return x, nil
}

func (s *Store) TouchSession(ctx context.Context, key string, at time.Time) error {
	return affected(s.pool.Exec(ctx, `UPDATE bff_sessions SET last_seen = $1 WHERE key = $2`, at, key))(bff.ErrNotFound)
}

func (s *Store) LeaseRefresh(ctx context.Context, key string, version int64, now, until time.Time) (bool, error) {
	err := affected(s.pool.Exec(ctx, `UPDATE bff_sessions SET version = version + 1, lease_until = $1
		WHERE key = $2 AND version = $3 AND lease_until <= $4`, until, key, version, now))(errNoRow)
	if errors.Is(err, errNoRow) {
		return false, nil
	}
	return err == nil, err
}

func (s *Store) StoreTokens(ctx context.Context, key string, version int64, secret []byte) error {
	return affected(s.pool.Exec(ctx, `UPDATE bff_sessions SET secret = $1, version = version + 1, lease_until = 'epoch'
		WHERE key = $2 AND version = $3`, secret, key, version))(bff.ErrConflict)
}

func (s *Store) ReleaseLease(ctx context.Context, key string, version int64) error {
	_, err := s.pool.Exec(ctx, `UPDATE bff_sessions SET lease_until = 'epoch' WHERE key = $1 AND version = $2`, key, version)
	return err
}

func (s *Store) DeleteSession(ctx context.Context, key string) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM bff_sessions WHERE key = $1`, key)
	return err
}

func (s *Store) DeleteSessionsBySID(ctx context.Context, sid string) (int, error) {
	if sid == "" {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM bff_sessions WHERE sid = $1`, sid)
	return int(tag.RowsAffected()), err
}

func (s *Store) DeleteSessionsBySubject(ctx context.Context, sub string) (int, error) {
	if sub == "" {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM bff_sessions WHERE subject = $1`, sub)
	return int(tag.RowsAffected()), err
}

// UseJTI: the primary key admits one insert; ON CONFLICT makes the others
// insert nothing instead of failing.
func (s *Store) UseJTI(ctx context.Context, jti string, expires time.Time) error {
	return affected(s.pool.Exec(ctx, `INSERT INTO bff_logout_jtis (jti, expires) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING`, jti, expires))(bff.ErrReplay)
}

func (s *Store) DeleteExpired(ctx context.Context, now, idleSince time.Time) error {
	if _, err := s.pool.Exec(ctx, `DELETE FROM bff_sessions WHERE expires < $1 OR last_seen < $2`, now, idleSince); err != nil {
		return err
	}
	_, err := s.pool.Exec(ctx, `DELETE FROM bff_logout_jtis WHERE expires < $1`, now)
	return err
}

var errNoRow = errors.New("no row")

// affected returns a function giving err, or nil when the statement
// changed a row, or whenNone.
func affected(tag pgconn.CommandTag, err error) func(whenNone error) error {
	return func(whenNone error) error {
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return whenNone
		}
		return nil
	}
}

package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/latchauth/latch/internal/store"
)

// DefaultConnectTimeout bounds establishing one connection when neither
// Options.ConnectTimeout nor the DSN's connect_timeout says otherwise.
const DefaultConnectTimeout = 10 * time.Second

// Options tunes the connection pool. The zero value is a sensible default.
type Options struct {
	// MaxConns caps the pool size. Zero keeps the DSN's pool_max_conns, or
	// pgxpool's default (the larger of 4 and the number of CPUs).
	MaxConns int32
	// ConnectTimeout bounds establishing one connection. Zero keeps the
	// DSN's connect_timeout, or DefaultConnectTimeout.
	ConnectTimeout time.Duration

	// tracer, when not nil, sees every query (tests count round trips
	// with it; set through export_test.go).
	tracer pgx.QueryTracer
}

// Store is the PostgreSQL implementation of store.Store. It is safe for
// concurrent use, by many goroutines and by many processes sharing one
// database.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value connection string, as understood by pgx), checks that it is
// reachable and applies any pending migrations. The caller must Close the
// Store.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's parse errors redact the password.
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	if opts.MaxConns < 0 || opts.ConnectTimeout < 0 {
		return nil, errors.New("postgres: negative MaxConns or ConnectTimeout")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
		if cfg.MinConns > cfg.MaxConns {
			cfg.MinConns = cfg.MaxConns
		}
	}
	switch {
	case opts.ConnectTimeout > 0:
		cfg.ConnConfig.ConnectTimeout = opts.ConnectTimeout
	case cfg.ConnConfig.ConnectTimeout == 0:
		cfg.ConnConfig.ConnectTimeout = DefaultConnectTimeout
	}
	if opts.tracer != nil {
		cfg.ConnConfig.Tracer = opts.tracer
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: open pool: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	if err := s.Migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// Ping reports whether the database is reachable.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection of the pool, waiting for connections in
// use to be released. It always returns nil.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// inTx runs fn in a READ COMMITTED transaction and commits it when fn
// returns nil. When fn returns an error the transaction is rolled back,
// unless commitOnErr reports that this error's work must be kept (see
// RotateRefreshToken, which revokes a grant and then reports reuse).
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error, commitOnErr func(error) bool) (err error) {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return fmt.Errorf("postgres: begin: %w", err)
	}
	defer func() {
		if err != nil && (commitOnErr == nil || !commitOnErr(err)) {
			// Rollback with a fresh context: ctx may be what failed.
			_ = tx.Rollback(context.WithoutCancel(ctx))
		}
	}()
	if ferr := fn(tx); ferr != nil {
		if commitOnErr != nil && commitOnErr(ferr) {
			if cerr := tx.Commit(ctx); cerr != nil {
				return fmt.Errorf("postgres: commit: %w", cerr)
			}
		}
		return ferr
	}
	if err := tx.Commit(ctx); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// SQLSTATE codes we act on.
const (
	uniqueViolation = "23505"
)

// mapErr turns driver errors into the Store's sentinel errors, wrapped with
// what was being done: no rows becomes store.ErrNotFound and a unique
// violation store.ErrAlreadyExists. Other errors are wrapped unchanged.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	if pgErr, ok := errors.AsType[*pgconn.PgError](err); ok && pgErr.Code == uniqueViolation {
		return fmt.Errorf("postgres: %s: %w (%s)", op, store.ErrAlreadyExists, pgErr.ConstraintName)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// notFound is the error for a statement that affected no row.
func notFound(op string) error {
	return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
}

// toNanos stores a required time: the zero time is 0.
func toNanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// fromNanos is the inverse of toNanos; times come back in UTC.
func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

// toNullNanos stores an event time: the zero time (not happened) is NULL.
func toNullNanos(t time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := t.UnixNano()
	return &n
}

// fromNullNanos is the inverse of toNullNanos.
func fromNullNanos(n *int64) time.Time {
	if n == nil {
		return time.Time{}
	}
	return fromNanos(*n)
}

// list normalises a scanned text[]: NULL and '{}' both become nil, so a
// record reads back the same whether it was written with nil or empty.
func list(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}

// blob normalises a scanned bytea the same way.
func blob(b []byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b
}

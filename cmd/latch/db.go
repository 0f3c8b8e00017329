package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/sqlite"
)

// sqlitePrefix starts an SQLite DSN: sqlite:PATH.
const sqlitePrefix = "sqlite:"

// openStore opens the database named by dsn and applies pending
// migrations. This is the only place where a concrete backend is chosen:
//
//	sqlite:PATH                          SQLite file (its directory is created 0700)
//	postgres://… or postgresql://…       PostgreSQL; maxConns caps the pool (0: default)
//
// For PostgreSQL, the DSN's own parameters apply: connect_timeout (in
// seconds; default 10), sslmode and the other libpq settings, pool_*
// settings of pgxpool except the size, and any server setting such as
// statement_timeout.
//
// Anything else is an error that names the scheme only: a DSN may carry a
// password, so it is never echoed. The caller must Close the store.
func openStore(ctx context.Context, dsn string, maxConns int) (store.Store, error) {
	if path, ok := sqlitePath(dsn); ok {
		if path == "" || strings.HasPrefix(path, "//") {
			return nil, errors.New("database: want sqlite:PATH, e.g. sqlite:/var/lib/latch/latch.db")
		}
		// The database holds client and user records and encrypted keys:
		// keep its directory private to the owner.
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		s, err := sqlite.Open(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("database %s: %w", path, err)
		}
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, fmt.Errorf("database %s: migrate: %w", path, err)
		}
		return s, nil
	}
	if strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://") {
		if maxConns < 0 || maxConns > math.MaxInt32 {
			return nil, fmt.Errorf("database: db-max-conns %d out of range", maxConns)
		}
		// postgres.Open migrates; its errors never include the password.
		s, err := postgres.Open(ctx, dsn, postgres.Options{MaxConns: int32(maxConns)})
		if err != nil {
			return nil, fmt.Errorf("database: %w", err)
		}
		return s, nil
	}
	scheme, _, found := strings.Cut(dsn, ":")
	if !found || strings.ContainsAny(scheme, "/@ ") {
		return nil, errors.New("database: unsupported value: want sqlite:PATH or a postgres:// URL")
	}
	return nil, fmt.Errorf("database: unsupported scheme %q: want sqlite:PATH or a postgres:// URL", scheme)
}

// unavailableFor returns the backend's test for "the database cannot
// answer right now" (server.Options.Unavailable) for the store dsn names.
func unavailableFor(dsn string) func(error) bool {
	if _, ok := sqlitePath(dsn); ok {
		return sqlite.Unavailable
	}
	return postgres.Unavailable
}

// requireDatabase refuses an SQLite database that does not exist yet, so
// that an admin command run in the wrong directory (the default db is
// relative: sqlite:.latch/latch.db) says so instead of creating an empty
// database and listing nothing. source says where dsn came from ("--db",
// "LATCH_DB", …). Only `latch migrate`, `latch serve` and `latch dev`
// create a database. A PostgreSQL database is never created by Latch (its
// server must have it), so it passes.
func requireDatabase(dsn, source string) error {
	path, ok := sqlitePath(dsn)
	if !ok || path == "" {
		return nil
	}
	_, err := os.Stat(path)
	switch {
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("database %s: %w", path, err)
	}
	where := path
	if abs, err := filepath.Abs(path); err == nil {
		where = abs
	}
	return fmt.Errorf("no database at %s (db %s, from %s): run the command in the directory where 'latch dev' ran, "+
		"point at the database with --db sqlite:PATH or LATCH_DB (or at a running Latch with --server), "+
		"or create it with 'latch migrate --db %s'", where, dsn, source, dsn)
}

// sqlitePath returns the file path of an sqlite: DSN.
func sqlitePath(dsn string) (string, bool) {
	return strings.CutPrefix(dsn, sqlitePrefix)
}

// withStore opens the configured database, runs fn and closes it.
func withStore(ctx context.Context, dsn string, maxConns int, fn func(store.Store) error) error {
	s, err := openStore(ctx, dsn, maxConns)
	if err != nil {
		return err
	}
	err = fn(s)
	if cerr := s.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("closing database: %w", cerr)
	}
	return err
}

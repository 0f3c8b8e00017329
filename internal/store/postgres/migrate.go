package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// migrationLockKey is the pg_advisory_xact_lock key that serialises
// migrations across every instance sharing a database (advisory locks are
// scoped to the current database). It is an arbitrary constant: the first
// eight bytes of "latchmig" as a big-endian integer.
const migrationLockKey int64 = 0x6c617463686d6967

// migration is one embedded schema step.
type migration struct {
	version int
	name    string // file name, e.g. 0001_init.sql
	sql     string
}

// migrations returns the embedded migrations ordered by version. File names
// must be NNNN_description.sql with distinct versions.
func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		prefix, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(prefix)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("postgres: migration %q: name must be NNNN_description.sql", name)
		}
		b, err := fs.ReadFile(migrationFS, path.Join("migrations", name))
		if err != nil {
			return nil, fmt.Errorf("postgres: read migration %q: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(ms); i++ {
		if ms[i].version == ms[i-1].version {
			return nil, fmt.Errorf("postgres: migrations %q and %q share a version", ms[i-1].name, ms[i].name)
		}
	}
	return ms, nil
}

// Migrate applies every embedded migration not yet recorded in
// schema_migrations, in version order, in one transaction.
//
// What makes it safe on many instances at once: the transaction first takes
// pg_advisory_xact_lock(migrationLockKey), so concurrent callers queue
// behind one another; each reads schema_migrations only once it holds the
// lock, and so sees the versions its predecessor committed and applies
// nothing twice. The lock is released at commit or rollback, including
// when the connection dies. PostgreSQL DDL is transactional, so a failing
// migration leaves no partial schema behind.
//
// Versions recorded in the database but unknown to this binary (a newer
// Latch migrated first) are left alone: migrations are written to be
// backward compatible with the previous release during a rolling upgrade.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLockKey); err != nil {
			return fmt.Errorf("postgres: migration lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    integer     PRIMARY KEY,
			name       text        NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now()
		)`); err != nil {
			return fmt.Errorf("postgres: create schema_migrations: %w", err)
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return fmt.Errorf("postgres: read schema_migrations: %w", err)
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("postgres: read schema_migrations: %w", err)
		}
		for _, m := range ms {
			if slices.Contains(applied, int32(m.version)) {
				continue
			}
			// No arguments: pgx sends the file with the simple query
			// protocol, which accepts several statements.
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("postgres: migration %s: %w", m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return fmt.Errorf("postgres: record migration %s: %w", m.name, err)
			}
		}
		return nil
	}, nil)
}

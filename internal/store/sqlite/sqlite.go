package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/latchauth/latch/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// busyTimeout is how long a connection waits for another process's write
// lock before failing with SQLITE_BUSY.
const busyTimeout = 5 * time.Second

// Store is a store.Store on one SQLite database file.
type Store struct {
	w *sql.DB // the single writer connection
	r *sql.DB // query_only reader pool

	mu    sync.Mutex
	stmts map[stmtKey]*sql.Stmt // prepared statements, per pool

	// Group commit (batch.go): every write goes through the committer.
	writes        chan *writeReq
	quit          chan struct{}
	committerDone chan struct{}

	// Checkpoints (checkpoint.go), on a connection of their own.
	ckpt     *sql.DB
	wrote    chan struct{} // the committer's signal: a batch was committed
	ckptDone chan struct{}
}

type stmtKey struct {
	db    *sql.DB
	query string
}

var _ store.Store = (*Store)(nil)

// role is what a connection of the store is for.
type role int

const (
	roleWriter       role = iota // the single writer (batch.go)
	roleReader                   // the query_only reader pool
	roleCheckpointer             // the checkpointer (checkpoint.go)
)

// dsn builds the modernc DSN for path; every connection opened from it runs
// the pragmas, so the settings survive the pool reopening connections.
func dsn(p string, r role, walLimit int) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", busyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	switch r {
	case roleWriter:
		// WAL is persistent in the file; set by the writer, which opens first.
		q.Add("_pragma", "journal_mode(WAL)")
		// Durable against a process kill in WAL mode (see the package doc).
		q.Add("_pragma", "synchronous(NORMAL)")
		// The checkpointer checkpoints; the writer only once the WAL
		// reaches walLimit frames, to rewind it (checkpoint.go).
		q.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", walLimit))
		// BEGIN IMMEDIATE: take the write lock at BEGIN, so a transaction
		// never has to upgrade a read lock (which fails at once with
		// SQLITE_BUSY instead of waiting) and its reads cannot go stale.
		q.Set("_txlock", "immediate")
	case roleReader:
		q.Add("_pragma", "query_only(1)")
	case roleCheckpointer:
		// A checkpoint fsyncs the WAL before and the database after it.
		q.Add("_pragma", "synchronous(NORMAL)")
		q.Add("_pragma", "wal_autocheckpoint(0)")
	}
	return "file:" + (&url.URL{Path: p}).EscapedPath() + "?" + q.Encode()
}

// Open opens (creating if needed) the database at path and applies any
// missing migrations. path is a file path; ":memory:" is not supported (the
// reader pool could not see the writer's database).
func Open(ctx context.Context, path string) (*Store, error) {
	return openStore(ctx, path, walLimitFrames)
}

// openStore is Open with the WAL length, in frames, at which the writer
// checkpoints (walLimitFrames; tests lower it).
func openStore(ctx context.Context, path string, walLimit int) (*Store, error) {
	if err := privateFiles(path); err != nil {
		return nil, err
	}
	w, err := sql.Open("sqlite", dsn(path, roleWriter, walLimit))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{w: w, stmts: map[stmtKey]*sql.Stmt{}, wrote: make(chan struct{}, 1)}
	s.startCommitter()
	// The writer connects (setting WAL) and migrates before any reader opens.
	if err := s.Migrate(ctx); err != nil {
		s.stopCommitter()
		w.Close()
		return nil, err
	}
	for _, q := range txQueries {
		if _, err := s.prepared(ctx, w, q); err != nil {
			s.Close()
			return nil, fmt.Errorf("sqlite: prepare: %w", err)
		}
	}
	r, err := sql.Open("sqlite", dsn(path, roleReader, 0))
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)
	r.SetConnMaxLifetime(0)
	s.r = r
	if err := r.PingContext(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := s.startCheckpointer(path); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// fileMode is the mode of the database file and of its -wal and -shm
// companions: they hold client and user records and encrypted keys.
const fileMode fs.FileMode = 0o600

// privateFiles makes the database file exist with mode 0600 before SQLite
// opens it, and tightens an existing file (and existing -wal/-shm files)
// to 0600. SQLite creates the -wal and -shm files with the main file's
// permission bits (unix VFS: findCreateFileMode, unixOpenSharedMemory,
// fchmod'ed past the umask), so they follow. Chmod sets the bits exactly,
// whatever the process umask.
func privateFiles(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, fileMode)
	if err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := f.Chmod(fileMode); err != nil {
		f.Close()
		return fmt.Errorf("sqlite: chmod %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	for _, suffix := range []string{"-wal", "-shm"} {
		err := os.Chmod(path+suffix, fileMode)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("sqlite: chmod %s: %w", path+suffix, err)
		}
	}
	return nil
}

// Close stops the committer (writes after it fail), then closes the
// prepared statements and both pools.
func (s *Store) Close() error {
	s.stopCommitter()
	s.mu.Lock()
	for k, st := range s.stmts {
		st.Close()
		delete(s.stmts, k)
	}
	s.mu.Unlock()
	var errs []error
	if s.r != nil {
		errs = append(errs, s.r.Close())
	}
	if s.ckpt != nil {
		errs = append(errs, s.ckpt.Close())
	}
	errs = append(errs, s.w.Close())
	return errors.Join(errs...)
}

// Ping checks both pools.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping writer: %w", err)
	}
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("sqlite: ping reader: %w", err)
	}
	return nil
}

// --- migrations -------------------------------------------------------

var migrationName = regexp.MustCompile(`^([0-9]{4})_[a-z0-9_]+\.sql$`)

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	names, err := fs.Glob(migrationFS, "migrations/*.sql")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, n := range names {
		base := path.Base(n)
		m := migrationName.FindStringSubmatch(base)
		if m == nil {
			return nil, fmt.Errorf("sqlite: bad migration file name %q", base)
		}
		v, _ := strconv.Atoi(m[1])
		b, err := migrationFS.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: base, sql: string(b)})
	}
	slices.SortFunc(ms, func(a, b migration) int { return a.version - b.version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("sqlite: migrations must be numbered 1, 2, 3...: %s", m.name)
		}
	}
	return ms, nil
}

// Migrate applies every embedded migration not yet recorded in
// schema_migrations, all in one write transaction (BEGIN IMMEDIATE, so
// instances starting at once apply each migration exactly once). It is
// idempotent, and refuses a database migrated by a newer Latch.
func (s *Store) Migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	return s.writeTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at INTEGER NOT NULL DEFAULT (unixepoch())
		) STRICT`); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if current > len(ms) {
			return fmt.Errorf("sqlite: database schema version %d is newer than this binary's %d", current, len(ms))
		}
		for _, m := range ms[current:] {
			if _, err := tx.ExecContext(ctx, m.sql); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, name) VALUES (?, ?)`, m.version, m.name); err != nil {
				return fmt.Errorf("sqlite: migration %s: %w", m.name, err)
			}
		}
		return nil
	})
}

// --- statements and transactions ---------------------------------------

// prepared returns q prepared on db, preparing it once per Store.
func (s *Store) prepared(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	k := stmtKey{db, q}
	s.mu.Lock()
	st := s.stmts[k]
	s.mu.Unlock()
	if st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if prev := s.stmts[k]; prev != nil {
		st.Close()
		return prev, nil
	}
	s.stmts[k] = st
	return st, nil
}

// exec runs one write statement on the writer, committed on its own or
// with the writes batched with it (batch.go).
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	// Prepared here, not inside the transaction: preparing on the writer
	// pool needs its one connection, which the committer holds.
	st, err := s.prepared(ctx, s.w, q)
	if err != nil {
		return nil, mapErr(err)
	}
	var res sql.Result
	err = s.submit(ctx, func(tx *sql.Tx) error {
		var err error
		res, err = tx.StmtContext(ctx, st).ExecContext(ctx, args...)
		return mapErr(err)
	})
	return res, err
}

// queryRow runs a read on the reader pool. A one-row read is not
// interrupted when ctx ends (see uncancelled): it takes microseconds.
func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	if ctx.Err() != nil {
		// A request already cancelled or past its deadline reads nothing,
		// as before the reads ran uncancelled: database/sql checks the
		// context before taking a connection, so the Row carries its error.
		return s.r.QueryRowContext(ctx, q, args...)
	}
	ctx = uncancelled(ctx)
	st, err := s.prepared(ctx, s.r, q)
	if err != nil {
		// Surface the error through Row.Scan.
		return s.r.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// query runs a multi-row read on the reader pool.
func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, s.r, q)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// txQueries are the statements used inside write transactions, prepared
// on the writer in Open (see txStmt for why not lazily).
var txQueries = []string{insertGrant, insertRefresh, selectRotate, markRotated, revokeFamily, insertFailure, countFailures, releaseAttempt}

// txStmt returns q prepared for use inside tx (reusing the writer's
// prepared statement).
//
// The writer pool has one connection and tx holds it, so a statement not
// yet prepared must be prepared on tx itself: preparing it on the pool
// would wait for the connection tx holds, forever.
func (s *Store) txStmt(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	k := stmtKey{s.w, q}
	s.mu.Lock()
	st := s.stmts[k]
	s.mu.Unlock()
	if st == nil {
		return tx.PrepareContext(ctx, q)
	}
	return tx.StmtContext(ctx, st), nil
}

// uncancelled is ctx without its cancellation (its values kept), for the
// statements of the hot writes once the committer has taken them
// (CreateAuthCodeOnce, the code redemption, RotateRefreshToken) and for
// one-row reads.
//
// A statement run with a context that can end costs modernc's driver a
// goroutine, a channel and a progress handler per statement (to interrupt
// SQLite when the context ends), and database/sql another goroutine per
// query: about a tenth of the CPU of W2 and W3 went into starting and
// scheduling those. Nothing is lost by not interrupting: a write that the
// committer has taken is answered whatever happens to its context
// (batch.go: submit, runAlone and runBatch still skip a write whose
// context ended before it started), and those statements are lookups and
// inserts by primary key that end in microseconds. Every other statement
// (exec, DeleteExpired's sweeps, multi-row queries) keeps its context.
func uncancelled(ctx context.Context) context.Context {
	return context.WithoutCancel(ctx)
}

// writeTx runs fn in a BEGIN IMMEDIATE transaction on the writer and
// commits if fn returns nil; a failing fn's changes are rolled back. fn
// may also return a commitErr: its changes commit and writeTx returns the
// wrapped error. The transaction may be shared with other writes (group
// commit, batch.go), so fn must use only tx and must not prepare on the
// writer pool (txStmt is safe).
func (s *Store) writeTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return s.submit(ctx, fn)
}

// commitErr wraps an error that writeTx returns after committing (the
// writes before it must persist, as with ErrRefreshReused).
type commitErr struct{ err error }

func (e commitErr) Error() string { return e.err.Error() }

// mapErr turns driver errors into the store sentinels.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY, sqlite3.SQLITE_CONSTRAINT_UNIQUE:
			return fmt.Errorf("%w: %w", store.ErrAlreadyExists, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: referenced client or user: %w", store.ErrNotFound, err)
		}
	}
	return err
}

// rowsAffected returns the count of a write, or the write's error.
func rowsAffected(res sql.Result, err error) (int, error) {
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// --- encoding -----------------------------------------------------------

// tv encodes a time: unix nanoseconds, NULL for the zero time.
func tv(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixNano()
}

// lv encodes a list as a JSON array ('[]' for nil and empty).
func lv(l []string) string {
	if len(l) == 0 {
		return "[]"
	}
	b, _ := json.Marshal(l) // cannot fail for []string
	return string(b)
}

// bv encodes a bool.
func bv(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nullStr maps "" to NULL (for nullable foreign keys).
func nullStr(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// tscan scans a nullable unix-nanosecond column into a UTC time.
type tscan struct{ t *time.Time }

func (d tscan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.Unix(0, v).UTC()
	default:
		return fmt.Errorf("sqlite: time column holds %T", src)
	}
	return nil
}

// lscan scans a JSON array column; empty comes back as nil.
type lscan struct{ l *[]string }

func (d lscan) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case nil:
		*d.l = nil
		return nil
	case string:
		b = []byte(v)
	case []byte:
		b = v
	default:
		return fmt.Errorf("sqlite: list column holds %T", src)
	}
	var l []string
	if err := json.Unmarshal(b, &l); err != nil {
		return fmt.Errorf("sqlite: list column: %w", err)
	}
	if len(l) == 0 {
		l = nil
	}
	*d.l = l
	return nil
}

// nscan scans a nullable TEXT column, NULL as "".
type nscan struct{ s *string }

func (d nscan) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.s = ""
	case string:
		*d.s = v
	case []byte:
		*d.s = string(v)
	default:
		return fmt.Errorf("sqlite: text column holds %T", src)
	}
	return nil
}

// dscan scans an INTEGER nanosecond column into a Duration.
type dscan struct{ d *time.Duration }

func (d dscan) Scan(src any) error {
	v, ok := src.(int64)
	if !ok {
		return fmt.Errorf("sqlite: duration column holds %T", src)
	}
	*d.d = time.Duration(v)
	return nil
}

type scanner interface{ Scan(dest ...any) error }

// --- helpers ------------------------------------------------------------

// oneRow turns "no row affected" into store.ErrNotFound.
func oneRow(n int, err error) error {
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// wrap prefixes err with the operation, keeping sentinels matchable.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/storetest"
)

func open(t testing.TB, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open(%q): %v", path, err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, filepath.Join(t.TempDir(), "latch.db"))
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		return open(b, filepath.Join(b.TempDir(), "latch.db"))
	})
}

var base = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func seedCode(t *testing.T, s store.Store, hash string) {
	t.Helper()
	ctx := t.Context()
	for _, err := range []error{
		s.CreateClient(ctx, store.Client{ID: "c", CreatedAt: base}),
		s.CreateUser(ctx, store.User{ID: "u", Username: "alice", CreatedAt: base}),
		s.CreateAuthCode(ctx, store.AuthCode{Hash: hash, ClientID: "c", UserID: "u", GrantID: "g-" + hash, ExpiresAt: base.Add(time.Minute)}),
	} {
		if err != nil {
			t.Fatalf("seed: %v", err)
		}
	}
}

// TestTwoStoresOneFile opens the database twice, as two Latch processes
// would, and checks that the single-use guarantee holds across them.
func TestTwoStoresOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	a := open(t, path)
	b := open(t, path) // migrations already applied: must be a no-op
	seedCode(t, a, "code")

	if _, err := a.ConsumeAuthCode(t.Context(), "code", base); err != nil {
		t.Fatalf("ConsumeAuthCode via store A: %v", err)
	}
	got, err := b.ConsumeAuthCode(t.Context(), "code", base.Add(time.Second))
	if !errors.Is(err, store.ErrCodeUsed) {
		t.Fatalf("ConsumeAuthCode via store B after A = %v, want ErrCodeUsed", err)
	}
	if got.GrantID != "g-code" {
		t.Errorf("ConsumeAuthCode via store B: GrantID = %q, want g-code", got.GrantID)
	}
}

// TestTwoStoresRace races ConsumeAuthCode from two Stores on one file: one
// winner overall, whichever Store it came through.
func TestTwoStoresRace(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	stores := []*Store{open(t, path), open(t, path)}
	const codes, perStore = 20, 8
	for i := range codes {
		seedOne := stores[0]
		if i == 0 {
			seedCode(t, seedOne, "code-0")
			continue
		}
		err := seedOne.CreateAuthCode(t.Context(), store.AuthCode{Hash: fmt.Sprintf("code-%d", i), ClientID: "c", UserID: "u", GrantID: "g", ExpiresAt: base.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
	}
	for i := range codes {
		hash := fmt.Sprintf("code-%d", i)
		var (
			mu   sync.Mutex
			wins int
			errs []error
			wg   sync.WaitGroup
		)
		start := make(chan struct{})
		for _, s := range stores {
			for range perStore {
				wg.Go(func() {
					<-start
					_, err := s.ConsumeAuthCode(t.Context(), hash, base)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil:
						wins++
					case !errors.Is(err, store.ErrCodeUsed):
						errs = append(errs, err)
					}
				})
			}
		}
		close(start)
		wg.Wait()
		if wins != 1 || len(errs) != 0 {
			t.Fatalf("%s: %d winners across two stores, unexpected errors %v; want exactly 1 winner", hash, wins, errs)
		}
	}
}

// TestTwoStoresRotate races RotateRefreshToken on one token from two
// Stores on one file (grace 0): one rotation, the rest reuse or revoked,
// and no SQLITE_BUSY leaking out. With deferred transactions a reader
// snapshot could not be upgraded to a write (SQLITE_BUSY_SNAPSHOT, no
// waiting); BEGIN IMMEDIATE takes the lock first. Several rounds make the
// interleaving likely.
func TestTwoStoresRotate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	stores := []*Store{open(t, path), open(t, path)}
	ctx := t.Context()
	seedCode(t, stores[0], "code")
	for round := range 10 {
		gid, hash := fmt.Sprintf("g%d", round), fmt.Sprintf("rt%d", round)
		g := store.Grant{ID: gid, ClientID: "c", UserID: "u", AbsoluteExpiresAt: base.Add(time.Hour)}
		rt := store.RefreshToken{Hash: hash, GrantID: gid, ClientID: "c", UserID: "u", ExpiresAt: base.Add(time.Hour)}
		if err := stores[0].CreateGrant(ctx, g, &rt); err != nil {
			t.Fatal(err)
		}
		var (
			mu                       sync.Mutex
			rotated, reused, revoked int
			unexpected               []error
			wg                       sync.WaitGroup
		)
		start := make(chan struct{})
		for i := range 16 {
			s := stores[i%2]
			wg.Go(func() {
				<-start
				next := store.RefreshToken{Hash: fmt.Sprintf("%s-%d", hash, i), GrantID: gid, ClientID: "c", UserID: "u", ExpiresAt: base.Add(time.Hour)}
				_, res, err := s.RotateRefreshToken(ctx, hash, next, base, 0)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil && res == store.RotateRotated:
					rotated++
				case errors.Is(err, store.ErrRefreshReused):
					reused++
				case errors.Is(err, store.ErrRevoked):
					revoked++
				default:
					unexpected = append(unexpected, err)
				}
			})
		}
		close(start)
		wg.Wait()
		if rotated != 1 || reused < 1 || len(unexpected) > 0 {
			t.Fatalf("round %d, 16 rotations across two stores: %d rotated, %d reused, %d revoked, unexpected %v; want 1 rotated, >= 1 reused",
				round, rotated, reused, revoked, unexpected)
		}
		if got, err := stores[1].GetGrant(ctx, gid); err != nil || got.RevokedAt.IsZero() {
			t.Errorf("round %d: GetGrant via the other store = RevokedAt %v, %v; want revoked", round, got.RevokedAt, err)
		}
	}
}

func TestMigrateIdempotent(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "latch.db"))
	for range 2 {
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
	}
	ms, err := migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n, maxV int
	if err := s.r.QueryRowContext(t.Context(), `SELECT count(*), max(version) FROM schema_migrations`).Scan(&n, &maxV); err != nil {
		t.Fatal(err)
	}
	if n != len(ms) || maxV != len(ms) {
		t.Errorf("schema_migrations has %d rows up to version %d, want %d", n, maxV, len(ms))
	}
}

func TestMigrateRefusesNewerSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "latch.db")
	s := open(t, path)
	if _, err := s.w.ExecContext(t.Context(), `INSERT INTO schema_migrations (version, name) VALUES (999, '0999_future.sql')`); err != nil {
		t.Fatal(err)
	}
	if err := s.Migrate(t.Context()); err == nil {
		t.Errorf("Migrate on a database from a newer Latch = nil, want an error")
	}
	if s2, err := Open(t.Context(), path); err == nil {
		s2.Close()
		t.Errorf("Open on a database from a newer Latch = nil error, want an error")
	}
}

// TestPragmas checks every connection of both pools got its DSN pragmas.
func TestPragmas(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "latch.db"))
	ctx := t.Context()
	for _, tc := range []struct {
		db     *sql.DB
		name   string
		pragma string
		want   string
	}{
		{s.w, "writer", "journal_mode", "wal"},
		{s.w, "writer", "synchronous", "1"}, // NORMAL
		{s.w, "writer", "foreign_keys", "1"},
		{s.w, "writer", "busy_timeout", "5000"},
		{s.w, "writer", "query_only", "0"},
		{s.w, "writer", "wal_autocheckpoint", "4000"}, // walLimitFrames (checkpoint.go)
		{s.ckpt, "checkpointer", "synchronous", "1"},
		{s.ckpt, "checkpointer", "busy_timeout", "5000"},
		{s.ckpt, "checkpointer", "wal_autocheckpoint", "0"},
		{s.r, "reader", "journal_mode", "wal"},
		{s.r, "reader", "query_only", "1"},
		{s.r, "reader", "busy_timeout", "5000"},
	} {
		var got string
		if err := tc.db.QueryRowContext(ctx, "PRAGMA "+tc.pragma).Scan(&got); err != nil {
			t.Fatalf("%s PRAGMA %s: %v", tc.name, tc.pragma, err)
		}
		if got != tc.want {
			t.Errorf("%s PRAGMA %s = %q, want %q", tc.name, tc.pragma, got, tc.want)
		}
	}
	if _, err := s.r.ExecContext(ctx, `DELETE FROM clients`); err == nil {
		t.Errorf("a write on the reader pool succeeded, want query_only to refuse it")
	}
}

// TestDeleteClientCascades checks the schema's cascade: deleting a client
// removes what was issued to it, so its tokens stop working.
func TestDeleteClientCascades(t *testing.T) {
	s := open(t, filepath.Join(t.TempDir(), "latch.db"))
	ctx := t.Context()
	seedCode(t, s, "code")
	g := store.Grant{ID: "g", ClientID: "c", UserID: "u", AbsoluteExpiresAt: base.Add(time.Hour)}
	rt := store.RefreshToken{Hash: "rt", GrantID: "g", ClientID: "c", UserID: "u", ExpiresAt: base.Add(time.Hour)}
	if err := s.CreateGrant(ctx, g, &rt); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteClient(ctx, "c"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ConsumeAuthCode(ctx, "code", base); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ConsumeAuthCode after DeleteClient = %v, want ErrNotFound", err)
	}
	if _, err := s.GetGrant(ctx, "g"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetGrant after DeleteClient = %v, want ErrNotFound", err)
	}
	if _, err := s.GetRefreshToken(ctx, "rt"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetRefreshToken after DeleteClient = %v, want ErrNotFound", err)
	}
	// And a record for an unknown client is refused.
	err := s.CreateGrant(ctx, store.Grant{ID: "g2", ClientID: "c"}, nil)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateGrant for a deleted client = %v, want ErrNotFound", err)
	}
}

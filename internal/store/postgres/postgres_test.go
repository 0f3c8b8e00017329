package postgres_test

import (
	"testing"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
	"github.com/latchauth/latch/internal/store/storetest"
)

// openTestStore opens a Store on a fresh database that is dropped when tb
// ends.
func openTestStore(tb testing.TB, opts postgres.Options) *postgres.Store {
	tb.Helper()
	return openOn(tb, pgtest.NewTestDB(tb), opts)
}

// openOn opens one more Store (its own pool, like another Latch instance)
// on the database at dsn and closes it when tb ends.
func openOn(tb testing.TB, dsn string, opts postgres.Options) *postgres.Store {
	tb.Helper()
	s, err := postgres.Open(tb.Context(), dsn, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return openTestStore(t, postgres.Options{})
	})
}

func BenchmarkStore(b *testing.B) {
	storetest.Bench(b, func(b *testing.B) store.Store {
		return openTestStore(b, postgres.Options{})
	})
}

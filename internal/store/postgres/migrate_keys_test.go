package postgres_test

import (
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// TestMigrateKeySchedule runs the key_schedule migration on keys written
// before it: the active key and retired keys signed from their creation
// (ActivateAt = CreatedAt, so a retired key's retirement is its
// successor's activation, as before); a key never activated stays
// unscheduled.
func TestMigrateKeySchedule(t *testing.T) {
	ctx := t.Context()
	dsn := pgtest.NewTestDB(t)
	s, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	// Back to the schema before the migration, with keys in it.
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t0, t1, t2 := base, base.Add(time.Hour), base.Add(2*time.Hour)
	for _, q := range []string{
		`DELETE FROM schema_migrations WHERE name LIKE '%\_key\_schedule.sql'`,
		`DROP INDEX signing_keys_schedule`,
		`ALTER TABLE signing_keys DROP COLUMN activate_at`,
		`ALTER TABLE signing_keys ADD COLUMN active boolean NOT NULL DEFAULT false, ADD COLUMN retired_at bigint`,
		`CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys (alg) WHERE active`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	for _, r := range []struct {
		id      string
		active  bool
		created int64
		retired *int64
	}{
		{"old", false, t0.UnixNano(), new(t1.UnixNano())},
		{"cur", true, t1.UnixNano(), nil},
		{"orphan", false, t2.UnixNano(), nil},
	} {
		if _, err := conn.Exec(ctx, `INSERT INTO signing_keys (id, alg, private, public, active, created_at, retired_at) VALUES ($1, 'ES256', '\x00', '\x00', $2, $3, $4)`,
			r.id, r.active, r.created, r.retired); err != nil {
			t.Fatal(err)
		}
	}
	conn.Close(ctx)
	s = openOn(t, dsn, postgres.Options{})
	ks, err := s.ListKeys(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]time.Time{"old": t0, "cur": t1, "orphan": {}}
	for _, k := range ks {
		if !k.ActivateAt.Equal(want[k.ID]) {
			t.Errorf("migrated key %s ActivateAt = %v, want %v", k.ID, k.ActivateAt, want[k.ID])
		}
		delete(want, k.ID)
	}
	if len(want) != 0 {
		t.Errorf("keys lost by the migration: %v", want)
	}
}

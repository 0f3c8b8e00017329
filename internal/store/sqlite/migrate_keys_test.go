package sqlite

import (
	"path/filepath"
	"testing"
	"time"
)

// TestMigrateKeySchedule runs the key_schedule migration on keys written
// before it: the active key and retired keys signed from their creation
// (ActivateAt = CreatedAt, so a retired key's retirement is its
// successor's activation, as before); a key never activated stays
// unscheduled.
func TestMigrateKeySchedule(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "latch.db")
	s, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	rollbackTo(ctx, t, s, "key_schedule")
	t0, t1, t2 := base, base.Add(time.Hour), base.Add(2*time.Hour)
	for _, r := range []struct {
		id               string
		active           int
		created, retired any
	}{
		{"old", 0, t0.UnixNano(), t1.UnixNano()},
		{"cur", 1, t1.UnixNano(), nil},
		{"orphan", 0, t2.UnixNano(), nil},
	} {
		if _, err := s.w.ExecContext(ctx, `INSERT INTO signing_keys (id, alg, private, public, active, created_at, retired_at) VALUES (?, 'ES256', x'00', x'00', ?, ?, ?)`,
			r.id, r.active, r.created, r.retired); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
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

package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- signing keys -----------------------------------------------------

func listKeys(t *testing.T, s store.Store) map[string]store.SigningKey {
	t.Helper()
	ks, err := s.ListKeys(t.Context())
	must(t, err, "ListKeys")
	m := make(map[string]store.SigningKey, len(ks))
	for _, k := range ks {
		m[k.ID] = k
	}
	return m
}

// scheduledKey is fixKey activating at activate.
func scheduledKey(id, alg string, created, activate time.Time) store.SigningKey {
	k := fixKey(id, alg, created)
	k.ActivateAt = activate
	return k
}

func testKeyCreateList(t *testing.T, s store.Store) {
	ctx := t.Context()
	ks, err := s.ListKeys(ctx)
	must(t, err, "ListKeys(empty store)")
	if len(ks) != 0 {
		t.Fatalf("ListKeys(empty store) = %d keys, want 0", len(ks))
	}
	k1 := fixKey("k1", "RS256", at(time.Hour))
	k2 := fixKey("k2", "ES256", at(3*time.Hour))
	k3 := fixKey("k3", "EdDSA", at(2*time.Hour))
	k4 := fixKey("k4", "RS256", at(3*time.Hour)) // same CreatedAt as k2: ID breaks the tie
	k5 := scheduledKey("k5", "RS256", at(time.Millisecond), at(time.Minute))
	k6 := scheduledKey("k6", "ES256", at(-time.Hour), at(-time.Hour))
	for _, k := range []store.SigningKey{k1, k2, k3, k4, k5, k6} {
		must(t, s.CreateKey(ctx, k), "CreateKey("+k.ID+")")
	}
	ks, err = s.ListKeys(ctx)
	must(t, err, "ListKeys")
	// Newest first by CreatedAt, then by ID descending; ActivateAt (set
	// or zero) reads back as written.
	checkEqual(t, "ListKeys (newest first)", ks, []store.SigningKey{k4, k2, k3, k1, k5, k6})
}

func testKeyDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k1", "RS256", base)), "CreateKey")
	wantErr(t, s.CreateKey(ctx, fixKey("k1", "ES256", at(time.Hour))), store.ErrAlreadyExists, "CreateKey(duplicate ID)")
	ks := listKeys(t, s)
	if len(ks) != 1 || ks["k1"].Alg != "RS256" {
		t.Errorf("ListKeys after duplicate = %v, want only the first k1", ks)
	}
}

// testKeyScheduleSlot: two keys of one Alg never activate at the same
// instant (so the key active at any time is one key); other algorithms
// and unscheduled keys are not affected.
func testKeyScheduleSlot(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, scheduledKey("a", "ES256", base, at(time.Hour))), "CreateKey(a)")
	wantErr(t, s.CreateKey(ctx, scheduledKey("b", "ES256", at(time.Minute), at(time.Hour))), store.ErrAlreadyExists,
		"CreateKey(b, same alg and ActivateAt as a)")
	must(t, s.CreateKey(ctx, scheduledKey("c", "RS256", base, at(time.Hour))), "CreateKey(c, other alg, same ActivateAt)")
	must(t, s.CreateKey(ctx, scheduledKey("d", "ES256", base, at(time.Hour+time.Nanosecond))), "CreateKey(d, 1ns later)")
	must(t, s.CreateKey(ctx, fixKey("e", "ES256", base)), "CreateKey(e, unscheduled)")
	must(t, s.CreateKey(ctx, fixKey("f", "ES256", base)), "CreateKey(f, unscheduled)")
	if ks := listKeys(t, s); len(ks) != 5 {
		t.Errorf("ListKeys = %d keys, want 5 (all but b)", len(ks))
	}
}

// testKeyScheduleFirst: ScheduleKey with a zero after stores a first key
// only: unscheduled keys do not count, scheduled ones (past or future) do.
func testKeyScheduleFirst(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("orphan", "ES256", base)), "CreateKey(orphan, unscheduled)")
	must(t, s.ScheduleKey(ctx, scheduledKey("first", "ES256", base, base), time.Time{}), "ScheduleKey(first)")
	wantErr(t, s.ScheduleKey(ctx, scheduledKey("second", "ES256", at(time.Second), at(time.Second)), time.Time{}),
		store.ErrAlreadyExists, "ScheduleKey(second first key)")
	must(t, s.ScheduleKey(ctx, scheduledKey("rs", "RS256", base, base), time.Time{}), "ScheduleKey(first key of another alg)")
	ks := listKeys(t, s)
	if _, ok := ks["second"]; ok || len(ks) != 3 {
		t.Errorf("ListKeys = %d keys (second stored: %v), want orphan, first and rs", len(ks), ok)
	}
	checkEqual(t, "first", ks["first"], scheduledKey("first", "ES256", base, base))
}

// testKeyScheduleNext: with after = now, ScheduleKey stores a next key
// unless one is already pending (activates after now).
func testKeyScheduleNext(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, scheduledKey("cur", "ES256", base, base)), "CreateKey(cur)")
	now := at(time.Hour)
	// cur activated before now: not pending, so a next key is stored.
	must(t, s.ScheduleKey(ctx, scheduledKey("next", "ES256", now, now.Add(10*time.Minute)), now), "ScheduleKey(next)")
	wantErr(t, s.ScheduleKey(ctx, scheduledKey("next2", "ES256", now, now.Add(20*time.Minute)), now),
		store.ErrAlreadyExists, "ScheduleKey(while next is pending)")
	// After is exclusive: a key activating exactly at after is not pending.
	later := now.Add(10 * time.Minute)
	must(t, s.ScheduleKey(ctx, scheduledKey("next3", "ES256", later, later.Add(10*time.Minute)), later), "ScheduleKey(at next's activation)")
	// The slot index holds here too.
	must(t, s.ScheduleKey(ctx, scheduledKey("dup", "RS256", now, base), time.Time{}), "ScheduleKey(first key of another alg)")
	wantErr(t, s.ScheduleKey(ctx, scheduledKey("dup2", "RS256", now, base), at(-time.Hour)), store.ErrAlreadyExists, "ScheduleKey(slot taken)")
	ks := listKeys(t, s)
	for _, id := range []string{"cur", "next", "next3", "dup"} {
		if _, ok := ks[id]; !ok {
			t.Errorf("key %q missing", id)
		}
	}
	if len(ks) != 4 {
		t.Errorf("ListKeys = %d keys, want 4", len(ks))
	}
}

func testKeyDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k1", "RS256", base)), "CreateKey(k1)")
	must(t, s.CreateKey(ctx, fixKey("k2", "RS256", base)), "CreateKey(k2)")
	must(t, s.DeleteKey(ctx, "k1"), "DeleteKey")
	ks := listKeys(t, s)
	if _, ok := ks["k1"]; ok || len(ks) != 1 {
		t.Errorf("ListKeys after DeleteKey(k1) has %d keys (k1 present: %v), want only k2", len(ks), ok)
	}
	wantErr(t, s.DeleteKey(ctx, "k1"), store.ErrNotFound, "DeleteKey twice")
}

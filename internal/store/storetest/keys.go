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
	k5 := fixKey("k5", "RS256", at(time.Millisecond))
	k5.Active = true
	k5.RetiredAt = time.Time{}
	k6 := fixKey("k6", "ES256", at(-time.Hour))
	k6.RetiredAt = at(-time.Minute)
	for _, k := range []store.SigningKey{k1, k2, k3, k4, k5, k6} {
		must(t, s.CreateKey(ctx, k), "CreateKey("+k.ID+")")
	}
	ks, err = s.ListKeys(ctx)
	must(t, err, "ListKeys")
	// Newest first by CreatedAt, then by ID descending.
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

func testKeyActivate(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := fixKey("rs-old", "RS256", at(-2*time.Hour))
	old.RetiredAt = at(-time.Hour) // retired long ago
	for _, k := range []store.SigningKey{
		old,
		fixKey("rs-1", "RS256", base),
		fixKey("rs-2", "RS256", at(time.Millisecond)),
		fixKey("es-1", "ES256", base),
	} {
		must(t, s.CreateKey(ctx, k), "CreateKey("+k.ID+")")
	}
	t1 := at(time.Minute)
	must(t, s.ActivateKey(ctx, "rs-1", t1), "ActivateKey(rs-1)")
	must(t, s.ActivateKey(ctx, "es-1", t1), "ActivateKey(es-1)")
	t2 := at(time.Hour)
	must(t, s.ActivateKey(ctx, "rs-2", t2), "ActivateKey(rs-2)")

	ks := listKeys(t, s)
	for _, tc := range []struct {
		id      string
		active  bool
		retired time.Time
	}{
		{"rs-2", true, time.Time{}},
		{"rs-1", false, t2},               // retired by the switch
		{"rs-old", false, at(-time.Hour)}, // keeps its RetiredAt
		{"es-1", true, time.Time{}},       // other Alg untouched
	} {
		k, ok := ks[tc.id]
		if !ok {
			t.Errorf("key %q missing from ListKeys", tc.id)
			continue
		}
		if k.Active != tc.active || !k.RetiredAt.Equal(tc.retired) {
			t.Errorf("key %q = {Active %v, RetiredAt %s}, want {%v, %s}", tc.id, k.Active, fmtTime(k.RetiredAt), tc.active, fmtTime(tc.retired))
		}
	}
	// Key material is untouched by activation.
	checkEqual(t, "rs-2 material", ks["rs-2"].Private, fixKey("rs-2", "RS256", base).Private)
}

func testKeyActivateActive(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k", "EdDSA", base)), "CreateKey")
	must(t, s.ActivateKey(ctx, "k", at(time.Minute)), "ActivateKey")
	must(t, s.ActivateKey(ctx, "k", at(time.Hour)), "ActivateKey(already active)")
	k := listKeys(t, s)["k"]
	if !k.Active || !k.RetiredAt.IsZero() {
		t.Errorf("re-activated key = {Active %v, RetiredAt %s}, want {true, zero}", k.Active, fmtTime(k.RetiredAt))
	}
}

func testKeyActivateNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k", "RS256", base)), "CreateKey")
	must(t, s.ActivateKey(ctx, "k", base), "ActivateKey(k)")
	wantErr(t, s.ActivateKey(ctx, "nope", at(time.Minute)), store.ErrNotFound, `ActivateKey("nope")`)
	// The failed activation retired nothing.
	if k := listKeys(t, s)["k"]; !k.Active || !k.RetiredAt.IsZero() {
		t.Errorf("key after ActivateKey(unknown) = {Active %v, RetiredAt %s}, want still active", k.Active, fmtTime(k.RetiredAt))
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
	wantErr(t, s.ActivateKey(ctx, "k1", base), store.ErrNotFound, "ActivateKey(deleted)")
}

package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

func testClientCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	c := fixClient("c1")
	must(t, s.CreateClient(ctx, c), "CreateClient")
	got, err := s.GetClient(ctx, "c1")
	must(t, err, "GetClient")
	checkEqual(t, "GetClient", got, c)

	// A public client: no secret, booleans false, zero durations.
	p := store.Client{ID: "spa", Public: true, Name: "SPA", RedirectURIs: []string{"https://spa.example/"}, CreatedAt: base}
	must(t, s.CreateClient(ctx, p), "CreateClient(public)")
	got, err = s.GetClient(ctx, "spa")
	must(t, err, "GetClient(public)")
	checkEqual(t, "GetClient(public)", got, p)
}

func testClientEmptyFields(t *testing.T, s store.Store) {
	ctx := t.Context()
	// Zero everything except the ID: nil slices and the zero time must
	// come back as empty/zero, not as [""] or 1970.
	c := store.Client{ID: "bare"}
	must(t, s.CreateClient(ctx, c), "CreateClient(bare)")
	got, err := s.GetClient(ctx, "bare")
	must(t, err, "GetClient(bare)")
	checkEqual(t, "GetClient(bare)", got, c)
	if !got.CreatedAt.IsZero() {
		t.Errorf("GetClient(bare).CreatedAt = %v, want zero time", got.CreatedAt)
	}
	// Empty (non-nil) slices are equal to nil.
	e := store.Client{ID: "empty", RedirectURIs: []string{}, Scopes: []string{}}
	must(t, s.CreateClient(ctx, e), "CreateClient(empty)")
	got, err = s.GetClient(ctx, "empty")
	must(t, err, "GetClient(empty)")
	if len(got.RedirectURIs) != 0 || len(got.Scopes) != 0 {
		t.Errorf("GetClient(empty) slices = %q %q, want empty", got.RedirectURIs, got.Scopes)
	}
	// A single empty string is a one-element slice, not an empty one.
	one := store.Client{ID: "one", Scopes: []string{""}, GrantTypes: []string{"a b"}}
	must(t, s.CreateClient(ctx, one), "CreateClient(one)")
	got, err = s.GetClient(ctx, "one")
	must(t, err, "GetClient(one)")
	checkEqual(t, "GetClient(one)", got, one)
}

func testClientDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateClient(ctx, fixClient("c1")), "CreateClient")
	dup := fixClient("c1")
	dup.Name = "other"
	wantErr(t, s.CreateClient(ctx, dup), store.ErrAlreadyExists, "CreateClient(duplicate ID)")
	got, err := s.GetClient(ctx, "c1")
	must(t, err, "GetClient")
	checkEqual(t, "GetClient after failed duplicate", got, fixClient("c1"))
}

func testClientNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetClient(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, `GetClient("nope")`)
	wantErr(t, s.UpdateClient(ctx, fixClient("nope")), store.ErrNotFound, `UpdateClient("nope")`)
	wantErr(t, s.DeleteClient(ctx, "nope"), store.ErrNotFound, `DeleteClient("nope")`)
}

func testClientList(t *testing.T, s store.Store) {
	ctx := t.Context()
	got, err := s.ListClients(ctx)
	must(t, err, "ListClients(empty store)")
	if len(got) != 0 {
		t.Fatalf("ListClients(empty store) = %d clients, want 0", len(got))
	}
	var want []store.Client
	for _, id := range []string{"m", "b", "z", "a", "b2"} {
		c := fixClient(id)
		must(t, s.CreateClient(ctx, c), "CreateClient("+id+")")
		want = append(want, c)
	}
	slices.SortFunc(want, func(a, b store.Client) int { return strings.Compare(a.ID, b.ID) })
	got, err = s.ListClients(ctx)
	must(t, err, "ListClients")
	checkEqual(t, "ListClients (ordered by ID)", got, want)
}

func testClientUpdate(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateClient(ctx, fixClient("c1")), "CreateClient(c1)")
	must(t, s.CreateClient(ctx, fixClient("c2")), "CreateClient(c2)")
	// UpdateClient replaces every field, including clearing slices and flags.
	u := store.Client{
		ID:             "c1",
		Public:         true,
		Name:           "renamed",
		RedirectURIs:   []string{"https://new.example/cb"},
		GrantTypes:     []string{"client_credentials"},
		RefreshGrace:   time.Second,
		AccessTokenTTL: time.Hour,
		CreatedAt:      at(time.Hour),
	}
	must(t, s.UpdateClient(ctx, u), "UpdateClient")
	got, err := s.GetClient(ctx, "c1")
	must(t, err, "GetClient(c1)")
	checkEqual(t, "GetClient after UpdateClient", got, u)
	got, err = s.GetClient(ctx, "c2")
	must(t, err, "GetClient(c2)")
	checkEqual(t, "GetClient(c2), untouched by UpdateClient(c1)", got, fixClient("c2"))
}

func testClientDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateClient(ctx, fixClient("c1")), "CreateClient(c1)")
	must(t, s.CreateClient(ctx, fixClient("c2")), "CreateClient(c2)")
	must(t, s.DeleteClient(ctx, "c1"), "DeleteClient(c1)")
	_, err := s.GetClient(ctx, "c1")
	wantErr(t, err, store.ErrNotFound, "GetClient after DeleteClient")
	wantErr(t, s.DeleteClient(ctx, "c1"), store.ErrNotFound, "DeleteClient twice")
	if _, err := s.GetClient(ctx, "c2"); err != nil {
		t.Errorf("GetClient(c2) after DeleteClient(c1): %v", err)
	}
	// The ID can be reused.
	must(t, s.CreateClient(ctx, fixClient("c1")), "CreateClient(c1) after delete")
}

func testTimePrecision(t *testing.T, s store.Store) {
	ctx := t.Context()
	// A nanosecond time in a non-UTC zone: the instant must survive to
	// within a millisecond (the suite's minimum precision).
	zone := time.FixedZone("UTC+5:30", 5*3600+30*60)
	in := time.Date(2026, 7, 8, 9, 10, 11, 123_456_789, zone)
	c := store.Client{ID: "p", CreatedAt: in}
	must(t, s.CreateClient(ctx, c), "CreateClient")
	got, err := s.GetClient(ctx, "p")
	must(t, err, "GetClient")
	if d := got.CreatedAt.Sub(in).Abs(); d >= time.Millisecond {
		t.Errorf("CreatedAt = %s, want %s (within 1ms), off by %v", fmtTime(got.CreatedAt), fmtTime(in), d)
	}
	// A millisecond-aligned time in a zone round-trips exactly.
	in = time.Date(2030, 12, 31, 23, 59, 59, 999_000_000, zone)
	must(t, s.UpdateClient(ctx, store.Client{ID: "p", CreatedAt: in}), "UpdateClient")
	got, err = s.GetClient(ctx, "p")
	must(t, err, "GetClient")
	if !got.CreatedAt.Equal(in) {
		t.Errorf("CreatedAt = %s, want %s", fmtTime(got.CreatedAt), fmtTime(in))
	}
}

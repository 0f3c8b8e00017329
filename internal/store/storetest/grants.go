package storetest

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- grants -----------------------------------------------------------

func testGrantCreate(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	g := fixGrant("g1", clientA, user1, at(90*24*time.Hour))
	must(t, s.CreateGrant(ctx, g, nil), "CreateGrant(nil refresh)")
	got, err := s.GetGrant(ctx, "g1")
	must(t, err, "GetGrant")
	checkEqual(t, "GetGrant", got, g)

	// Client credentials: no user, no session, no absolute bound.
	cc := store.Grant{ID: "g-cc", ClientID: clientB, Scopes: []string{"api:read"}, CreatedAt: base}
	must(t, s.CreateGrant(ctx, cc, nil), "CreateGrant(client credentials)")
	got, err = s.GetGrant(ctx, "g-cc")
	must(t, err, "GetGrant(client credentials)")
	checkEqual(t, "GetGrant(client credentials)", got, cc)

	wantErr(t, s.CreateGrant(ctx, fixGrant("g1", clientB, user2, base), nil), store.ErrAlreadyExists, "CreateGrant(duplicate ID)")
	got, err = s.GetGrant(ctx, "g1")
	must(t, err, "GetGrant after duplicate")
	checkEqual(t, "GetGrant after duplicate", got, g)
}

func testGrantCreateWithRefresh(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	g := fixGrant("g1", clientA, user1, at(90*24*time.Hour))
	rt := fixRefresh("rt-1", g, at(7*time.Millisecond), at(30*24*time.Hour))
	must(t, s.CreateGrant(ctx, g, &rt), "CreateGrant(with refresh)")
	gotG, err := s.GetGrant(ctx, "g1")
	must(t, err, "GetGrant")
	checkEqual(t, "GetGrant", gotG, g)
	gotRT, err := s.GetRefreshToken(ctx, "rt-1")
	must(t, err, "GetRefreshToken")
	checkEqual(t, "GetRefreshToken", gotRT, rt)
}

func testGrantCreateAtomic(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	far := at(24 * time.Hour)
	g1 := fixGrant("g1", clientA, user1, far)
	rt1 := fixRefresh("rt-1", g1, base, far)
	must(t, s.CreateGrant(ctx, g1, &rt1), "CreateGrant(g1)")

	// The refresh token collides: nothing of g2 may be stored.
	g2 := fixGrant("g2", clientA, user1, far)
	rt2 := fixRefresh("rt-1", g2, base, far)
	wantErr(t, s.CreateGrant(ctx, g2, &rt2), store.ErrAlreadyExists, "CreateGrant(g2, duplicate refresh hash)")
	_, err := s.GetGrant(ctx, "g2")
	wantErr(t, err, store.ErrNotFound, "GetGrant(g2) after failed CreateGrant (must be atomic)")
	got, err := s.GetRefreshToken(ctx, "rt-1")
	must(t, err, "GetRefreshToken(rt-1)")
	if got.GrantID != "g1" {
		t.Errorf("GetRefreshToken(rt-1).GrantID = %q, want g1", got.GrantID)
	}

	// The grant collides: the refresh token must not be stored.
	rt3 := fixRefresh("rt-3", g1, base, far)
	wantErr(t, s.CreateGrant(ctx, g1, &rt3), store.ErrAlreadyExists, "CreateGrant(duplicate grant ID, new refresh)")
	_, err = s.GetRefreshToken(ctx, "rt-3")
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(rt-3) after failed CreateGrant (must be atomic)")
}

func testGrantNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.GetGrant(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, `GetGrant("nope")`)
	wantErr(t, s.RevokeGrant(ctx, "nope", base, store.ReasonAdmin), store.ErrNotFound, `RevokeGrant("nope")`)
}

func testGrantRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	far := at(24 * time.Hour)
	must(t, s.CreateGrant(ctx, fixGrant("g1", clientA, user1, far), nil), "CreateGrant(g1)")
	must(t, s.CreateGrant(ctx, fixGrant("g2", clientA, user1, far), nil), "CreateGrant(g2)")
	first := at(time.Minute)
	must(t, s.RevokeGrant(ctx, "g1", first, store.ReasonAdmin), "RevokeGrant")
	must(t, s.RevokeGrant(ctx, "g1", at(time.Hour), store.ReasonAdmin), "RevokeGrant again (idempotent)")
	got, err := s.GetGrant(ctx, "g1")
	must(t, err, "GetGrant(revoked)")
	if !got.RevokedAt.Equal(first) {
		t.Errorf("GetGrant(revoked twice).RevokedAt = %s, want the first %s", fmtTime(got.RevokedAt), fmtTime(first))
	}
	want := fixGrant("g1", clientA, user1, far)
	want.RevokedAt, want.RevokedReason = first, store.ReasonAdmin
	checkEqual(t, "GetGrant(revoked)", got, want)
	got, err = s.GetGrant(ctx, "g2")
	must(t, err, "GetGrant(g2)")
	if !got.RevokedAt.IsZero() {
		t.Errorf("GetGrant(g2).RevokedAt = %s, want zero (only g1 revoked)", fmtTime(got.RevokedAt))
	}
}

func grantRevokedAt(t *testing.T, s store.Store, id string) time.Time {
	t.Helper()
	g, err := s.GetGrant(t.Context(), id)
	must(t, err, "GetGrant("+id+")")
	return g.RevokedAt
}

func testRevokeUserGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	far := at(24 * time.Hour)
	for _, g := range []store.Grant{
		fixGrant("a", clientA, user1, far),
		fixGrant("b", clientB, user1, far),
		fixGrant("c", clientA, user1, far),
		fixGrant("o", clientA, user2, far),
	} {
		must(t, s.CreateGrant(ctx, g, nil), "CreateGrant("+g.ID+")")
	}
	early := at(time.Second)
	must(t, s.RevokeGrant(ctx, "c", early, store.ReasonAdmin), "RevokeGrant(c)")

	now := at(time.Minute)
	n, err := s.RevokeUserGrants(ctx, user1, "", now, store.ReasonAdmin)
	must(t, err, "RevokeUserGrants(user-1, all clients)")
	if n != 2 {
		t.Errorf("RevokeUserGrants(user-1, all clients) = %d, want 2 (c was already revoked)", n)
	}
	for _, tc := range []struct {
		id   string
		want time.Time
	}{{"a", now}, {"b", now}, {"c", early}, {"o", time.Time{}}} {
		if got := grantRevokedAt(t, s, tc.id); !got.Equal(tc.want) {
			t.Errorf("grant %q RevokedAt = %s, want %s", tc.id, fmtTime(got), fmtTime(tc.want))
		}
	}
	n, err = s.RevokeUserGrants(ctx, user1, "", at(time.Hour), store.ReasonAdmin)
	must(t, err, "RevokeUserGrants again")
	if n != 0 {
		t.Errorf("RevokeUserGrants again = %d, want 0", n)
	}
	n, err = s.RevokeUserGrants(ctx, "no-such-user", "", now, store.ReasonAdmin)
	must(t, err, "RevokeUserGrants(unknown user)")
	if n != 0 {
		t.Errorf("RevokeUserGrants(unknown user) = %d, want 0", n)
	}
}

func testRevokeUserGrantsClient(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	far := at(24 * time.Hour)
	for _, g := range []store.Grant{
		fixGrant("a1", clientA, user1, far),
		fixGrant("a2", clientA, user1, far),
		fixGrant("b1", clientB, user1, far),
		fixGrant("o1", clientA, user2, far),
	} {
		must(t, s.CreateGrant(ctx, g, nil), "CreateGrant("+g.ID+")")
	}
	now := at(time.Minute)
	n, err := s.RevokeUserGrants(ctx, user1, clientA, now, store.ReasonAdmin)
	must(t, err, "RevokeUserGrants(user-1, client-a)")
	if n != 2 {
		t.Errorf("RevokeUserGrants(user-1, client-a) = %d, want 2", n)
	}
	for _, tc := range []struct {
		id   string
		want time.Time
	}{{"a1", now}, {"a2", now}, {"b1", time.Time{}}, {"o1", time.Time{}}} {
		if got := grantRevokedAt(t, s, tc.id); !got.Equal(tc.want) {
			t.Errorf("grant %q RevokedAt = %s, want %s", tc.id, fmtTime(got), fmtTime(tc.want))
		}
	}
}

func testListUserGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	got, err := s.ListUserGrants(ctx, user1)
	must(t, err, "ListUserGrants(none)")
	if len(got) != 0 {
		t.Fatalf("ListUserGrants with no grants = %d, want 0", len(got))
	}
	far := at(24 * time.Hour)
	gb := fixGrant("b", clientA, user1, far)
	ga := fixGrant("a", clientB, user1, far)
	gc := fixGrant("c", clientA, user1, far)
	for _, g := range []store.Grant{gb, ga, gc, fixGrant("o", clientA, user2, far)} {
		must(t, s.CreateGrant(ctx, g, nil), "CreateGrant("+g.ID+")")
	}
	must(t, s.RevokeGrant(ctx, "c", at(time.Second), store.ReasonAdmin), "RevokeGrant(c)")
	gc.RevokedAt, gc.RevokedReason = at(time.Second), store.ReasonAdmin
	got, err = s.ListUserGrants(ctx, user1)
	must(t, err, "ListUserGrants")
	slices.SortFunc(got, func(a, b store.Grant) int { return strings.Compare(a.ID, b.ID) })
	checkEqual(t, "ListUserGrants (incl. revoked, sorted by ID)", got, []store.Grant{ga, gb, gc})
}

// --- refresh tokens ---------------------------------------------------

// refreshFixture creates a live grant "g" (absolute expiry in 90 days) with
// a first refresh token "rt-0" (idle expiry in 30 days).
func refreshFixture(t *testing.T, s store.Store) (store.Grant, store.RefreshToken) {
	t.Helper()
	seed(t, s)
	g := fixGrant("g", clientA, user1, at(90*24*time.Hour))
	rt := fixRefresh("rt-0", g, base, at(30*24*time.Hour))
	must(t, s.CreateGrant(t.Context(), g, &rt), "CreateGrant")
	return g, rt
}

func nextRT(g store.Grant, hash string, now time.Time) store.RefreshToken {
	return fixRefresh(hash, g, now, now.Add(30*24*time.Hour))
}

func testRefreshGet(t *testing.T, s store.Store) {
	_, err := s.GetRefreshToken(t.Context(), "nope")
	wantErr(t, err, store.ErrNotFound, `GetRefreshToken("nope")`)
}

func testRotateRotated(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, rt := refreshFixture(t, s)
	now := at(time.Hour)
	next := nextRT(g, "rt-1", now)
	next.Scopes = []string{"openid"} // narrower than the grant's
	old, res, err := s.RotateRefreshToken(ctx, "rt-0", next, now, 10*time.Second)
	must(t, err, "RotateRefreshToken")
	if res != store.RotateRotated {
		t.Fatalf("RotateRefreshToken result = %v, want RotateRotated", res)
	}
	want := rt
	want.RotatedAt = now
	want.SuccessorHash = "rt-1"
	checkEqual(t, "RotateRefreshToken returned old", old, want)
	got, err := s.GetRefreshToken(ctx, "rt-0")
	must(t, err, "GetRefreshToken(old)")
	checkEqual(t, "GetRefreshToken(old) after rotation", got, want)
	got, err = s.GetRefreshToken(ctx, "rt-1")
	must(t, err, "GetRefreshToken(next)")
	checkEqual(t, "GetRefreshToken(next)", got, next)
	if ra := grantRevokedAt(t, s, g.ID); !ra.IsZero() {
		t.Errorf("grant RevokedAt = %s after a normal rotation, want zero", fmtTime(ra))
	}
}

func testRotateChain(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	prev := "rt-0"
	for i := 1; i <= 5; i++ {
		now := at(time.Duration(i) * time.Hour)
		hash := "rt-" + string(rune('0'+i))
		old, res, err := s.RotateRefreshToken(ctx, prev, nextRT(g, hash, now), now, 0)
		if err != nil || res != store.RotateRotated {
			t.Fatalf("RotateRefreshToken(%q) step %d = %v, %v; want RotateRotated", prev, i, res, err)
		}
		if old.Hash != prev || old.SuccessorHash != hash {
			t.Errorf("step %d: old = {Hash %q, SuccessorHash %q}, want {%q, %q}", i, old.Hash, old.SuccessorHash, prev, hash)
		}
		prev = hash
	}
}

func testRotateGrace(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	t0 := at(time.Hour)
	grace := 10 * time.Second
	_, _, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", t0), t0, grace)
	must(t, err, "RotateRefreshToken (first)")

	// Within grace, up to and including now - RotatedAt == grace.
	for _, d := range []time.Duration{0, time.Millisecond, grace} {
		now := t0.Add(d)
		other := nextRT(g, "rt-retry", now)
		old, res, err := s.RotateRefreshToken(ctx, "rt-0", other, now, grace)
		if err != nil || res != store.RotateGrace {
			t.Fatalf("RotateRefreshToken(RotatedAt+%v, grace %v) = %v, %v; want RotateGrace", d, grace, res, err)
		}
		if old.SuccessorHash != "rt-1" || !old.RotatedAt.Equal(t0) {
			t.Errorf("RotateGrace old = {SuccessorHash %q, RotatedAt %s}, want {rt-1, %s}", old.SuccessorHash, fmtTime(old.RotatedAt), fmtTime(t0))
		}
		// Grace inserts nothing.
		_, err = s.GetRefreshToken(ctx, "rt-retry")
		wantErr(t, err, store.ErrNotFound, "GetRefreshToken(next of a grace call)")
	}
	// The first rotation's state is unchanged and the grant is live.
	got, err := s.GetRefreshToken(ctx, "rt-0")
	must(t, err, "GetRefreshToken(rt-0)")
	if got.SuccessorHash != "rt-1" || !got.RotatedAt.Equal(t0) {
		t.Errorf("after grace calls rt-0 = {SuccessorHash %q, RotatedAt %s}, want {rt-1, %s}", got.SuccessorHash, fmtTime(got.RotatedAt), fmtTime(t0))
	}
	if ra := grantRevokedAt(t, s, g.ID); !ra.IsZero() {
		t.Errorf("grant RevokedAt = %s after grace calls, want zero", fmtTime(ra))
	}
	// The successor still rotates.
	_, res, err := s.RotateRefreshToken(ctx, "rt-1", nextRT(g, "rt-2", t0.Add(time.Minute)), t0.Add(time.Minute), grace)
	if err != nil || res != store.RotateRotated {
		t.Errorf("RotateRefreshToken(successor) = %v, %v; want RotateRotated", res, err)
	}
}

// chainFixture rotates rt-0 → rt-1 at at(1h) and rt-1 → rt-2 at
// at(1h)+1s: rt-2 is the head, rt-1 its predecessor, rt-0 older.
func chainFixture(t *testing.T, s store.Store) (g store.Grant, t1, t2 time.Time) {
	t.Helper()
	g, _ = refreshFixture(t, s)
	t1, t2 = at(time.Hour), at(time.Hour+time.Second)
	_, _, err := s.RotateRefreshToken(t.Context(), "rt-0", nextRT(g, "rt-1", t1), t1, time.Minute)
	must(t, err, "RotateRefreshToken(rt-0)")
	_, _, err = s.RotateRefreshToken(t.Context(), "rt-1", nextRT(g, "rt-2", t2), t2, time.Minute)
	must(t, err, "RotateRefreshToken(rt-1)")
	return g, t1, t2
}

// testRotateGraceHeadPredecessor: with rt-0 → rt-1 → rt-2, the head's
// immediate predecessor rt-1, inside its window, gets the head back.
func testRotateGraceHeadPredecessor(t *testing.T, s store.Store) {
	g, _, t2 := chainFixture(t, s)
	now := t2.Add(2 * time.Second)
	old, res, err := s.RotateRefreshToken(t.Context(), "rt-1", nextRT(g, "rt-x", now), now, time.Minute)
	if err != nil || res != store.RotateGrace || old.SuccessorHash != "rt-2" {
		t.Fatalf("RotateRefreshToken(rt-1 in grace) = {SuccessorHash %q}, %v, %v; want rt-2, RotateGrace", old.SuccessorHash, res, err)
	}
	if ra := grantRevokedAt(t, s, g.ID); !ra.IsZero() {
		t.Errorf("grant revoked at %s by the head's predecessor in grace", fmtTime(ra))
	}
}

// testRotateGraceOlderIsReuse: with rt-0 → rt-1 → rt-2, rt-0 presented
// inside its own window is a reuse (its successor rt-1 was rotated too):
// the family is revoked and the head rt-2 dies with it.
func testRotateGraceOlderIsReuse(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, t1, t2 := chainFixture(t, s)
	now := t2.Add(time.Second) // rt-0 rotated 2 s ago, grace 1 min
	if now.Sub(t1) > time.Minute {
		t.Fatal("fixture: rt-0 is not inside its window")
	}
	old, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-x", now), now, time.Minute)
	wantErr(t, err, store.ErrRefreshReused, "RotateRefreshToken(rt-0, older than the head's predecessor, in its window)")
	if res != store.RotateFailed || old.Hash != "rt-0" || old.SuccessorHash != "rt-1" {
		t.Errorf("= {Hash %q, SuccessorHash %q}, %v; want {rt-0, rt-1}, RotateFailed", old.Hash, old.SuccessorHash, res)
	}
	if ra := grantRevokedAt(t, s, g.ID); !ra.Equal(now) {
		t.Errorf("grant RevokedAt = %s, want %s", fmtTime(ra), fmtTime(now))
	}
	later := now.Add(time.Second)
	_, _, err = s.RotateRefreshToken(ctx, "rt-2", nextRT(g, "rt-3", later), later, time.Minute)
	wantErr(t, err, store.ErrRevoked, "RotateRefreshToken(head after reuse of an older token)")
}

func testRotateGraceZero(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	t0 := at(time.Hour)
	_, _, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", t0), t0, 0)
	must(t, err, "RotateRefreshToken (first)")
	// grace 0 disables the window: even at the same instant it is a reuse.
	old, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-x", t0), t0, 0)
	wantErr(t, err, store.ErrRefreshReused, "RotateRefreshToken(again at RotatedAt, grace 0)")
	if res != store.RotateFailed {
		t.Errorf("result = %v, want RotateFailed", res)
	}
	if old.Hash != "rt-0" || old.SuccessorHash != "rt-1" {
		t.Errorf("old = {Hash %q, SuccessorHash %q}, want {rt-0, rt-1}", old.Hash, old.SuccessorHash)
	}
	if ra := grantRevokedAt(t, s, g.ID); !ra.Equal(t0) {
		t.Errorf("grant RevokedAt = %s, want %s", fmtTime(ra), fmtTime(t0))
	}
}

func testRotateReuse(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	t0 := at(time.Hour)
	grace := 10 * time.Second
	_, _, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", t0), t0, grace)
	must(t, err, "RotateRefreshToken (first)")

	// Just outside grace: reuse. The family is revoked in the same step.
	now := t0.Add(grace + time.Millisecond)
	old, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-evil", now), now, grace)
	wantErr(t, err, store.ErrRefreshReused, "RotateRefreshToken(RotatedAt+grace+1ms)")
	if res != store.RotateFailed {
		t.Errorf("result = %v, want RotateFailed", res)
	}
	if old.Hash != "rt-0" || old.GrantID != g.ID || old.SuccessorHash != "rt-1" {
		t.Errorf("old = {Hash %q, GrantID %q, SuccessorHash %q}, want {rt-0, %s, rt-1}", old.Hash, old.GrantID, old.SuccessorHash, g.ID)
	}
	if ra := grantRevokedAt(t, s, g.ID); !ra.Equal(now) {
		t.Errorf("grant RevokedAt after reuse = %s, want %s", fmtTime(ra), fmtTime(now))
	}
	_, err = s.GetRefreshToken(ctx, "rt-evil")
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(next of a reuse call)")

	// The legitimate successor is dead too (RFC 9700 §4.14.2).
	later := now.Add(time.Second)
	_, res, err = s.RotateRefreshToken(ctx, "rt-1", nextRT(g, "rt-2", later), later, grace)
	wantErr(t, err, store.ErrRevoked, "RotateRefreshToken(successor after reuse)")
	if res != store.RotateFailed {
		t.Errorf("result = %v, want RotateFailed", res)
	}
	_, err = s.GetRefreshToken(ctx, "rt-2")
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(next of a revoked rotation)")
}

func testRotateUnknown(t *testing.T, s store.Store) {
	g, _ := refreshFixture(t, s)
	_, res, err := s.RotateRefreshToken(t.Context(), "nope", nextRT(g, "rt-1", base), base, time.Minute)
	wantErr(t, err, store.ErrNotFound, `RotateRefreshToken("nope")`)
	if res != store.RotateFailed {
		t.Errorf("result = %v, want RotateFailed", res)
	}
	_, err = s.GetRefreshToken(t.Context(), "rt-1")
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(next of a failed rotation)")
}

func testRotateExpiredIdle(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, rt := refreshFixture(t, s)
	for _, now := range []time.Time{rt.ExpiresAt, rt.ExpiresAt.Add(time.Hour)} {
		_, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", now), now, 0)
		wantErr(t, err, store.ErrExpired, "RotateRefreshToken(now "+now.Sub(rt.ExpiresAt).String()+" after idle ExpiresAt)")
		if res != store.RotateFailed {
			t.Errorf("result = %v, want RotateFailed", res)
		}
	}
	_, err := s.GetRefreshToken(ctx, "rt-1")
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(next of an expired rotation)")
	// Still rotatable just before.
	now := rt.ExpiresAt.Add(-time.Millisecond)
	_, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", now), now, 0)
	if err != nil || res != store.RotateRotated {
		t.Errorf("RotateRefreshToken(1ms before idle expiry) = %v, %v; want RotateRotated", res, err)
	}
}

func testRotateExpiredAbsolute(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	abs := at(time.Hour)
	g := fixGrant("g", clientA, user1, abs)
	rt := fixRefresh("rt-0", g, base, at(30*24*time.Hour)) // idle expiry past the absolute one
	must(t, s.CreateGrant(ctx, g, &rt), "CreateGrant")
	_, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", abs), abs, 0)
	wantErr(t, err, store.ErrExpired, "RotateRefreshToken(now == grant AbsoluteExpiresAt)")
	if res != store.RotateFailed {
		t.Errorf("result = %v, want RotateFailed", res)
	}
	now := abs.Add(-time.Millisecond)
	_, res, err = s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", now), now, 0)
	if err != nil || res != store.RotateRotated {
		t.Errorf("RotateRefreshToken(1ms before absolute expiry) = %v, %v; want RotateRotated", res, err)
	}
}

func testRotateNoAbsolute(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	g := fixGrant("g", clientA, user1, time.Time{}) // zero: no absolute bound
	rt := fixRefresh("rt-0", g, base, at(30*24*time.Hour))
	must(t, s.CreateGrant(ctx, g, &rt), "CreateGrant")
	now := at(time.Hour)
	_, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", now), now, 0)
	if err != nil || res != store.RotateRotated {
		t.Errorf("RotateRefreshToken(grant with zero AbsoluteExpiresAt) = %v, %v; want RotateRotated", res, err)
	}
}

func testRotateRevoked(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	must(t, s.RevokeGrant(ctx, g.ID, at(time.Minute), store.ReasonAdmin), "RevokeGrant")
	now := at(time.Hour)
	_, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", now), now, time.Minute)
	wantErr(t, err, store.ErrRevoked, "RotateRefreshToken(revoked grant)")
	if res != store.RotateFailed {
		t.Errorf("result = %v, want RotateFailed", res)
	}
	_, err = s.GetRefreshToken(ctx, "rt-1")
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(next of a revoked rotation)")
	got, err := s.GetRefreshToken(ctx, "rt-0")
	must(t, err, "GetRefreshToken(rt-0)")
	if !got.RotatedAt.IsZero() || got.SuccessorHash != "" {
		t.Errorf("rt-0 after refused rotation = {RotatedAt %s, SuccessorHash %q}, want unrotated", fmtTime(got.RotatedAt), got.SuccessorHash)
	}
	// Revocation wins over expiry, as documented order says.
	late := at(365 * 24 * time.Hour)
	_, _, err = s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", late), late, 0)
	wantErr(t, err, store.ErrRevoked, "RotateRefreshToken(revoked and expired)")
}

func testRotateRevokedRotated(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	t0 := at(time.Hour)
	_, _, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", t0), t0, time.Minute)
	must(t, err, "RotateRefreshToken")
	revokedAt := t0.Add(time.Second)
	must(t, s.RevokeGrant(ctx, g.ID, revokedAt, store.ReasonAdmin), "RevokeGrant")
	// Within grace and outside it: ErrRevoked, and RevokedAt unchanged.
	for _, d := range []time.Duration{2 * time.Second, time.Hour} {
		now := t0.Add(d)
		_, _, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-x", now), now, time.Minute)
		wantErr(t, err, store.ErrRevoked, "RotateRefreshToken(rotated token of a revoked grant, +"+d.String()+")")
	}
	if ra := grantRevokedAt(t, s, g.ID); !ra.Equal(revokedAt) {
		t.Errorf("grant RevokedAt = %s, want the first %s", fmtTime(ra), fmtTime(revokedAt))
	}
}

func testRotateNextCollision(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	other := fixRefresh("rt-other", g, base, at(30*24*time.Hour))
	g2 := fixGrant("g2", clientA, user1, at(90*24*time.Hour))
	other.GrantID = g2.ID
	must(t, s.CreateGrant(ctx, g2, &other), "CreateGrant(g2)")
	now := at(time.Hour)
	_, res, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-other", now), now, 0)
	wantErr(t, err, store.ErrAlreadyExists, "RotateRefreshToken(next.Hash exists)")
	if res != store.RotateFailed {
		t.Errorf("result = %v, want RotateFailed", res)
	}
	got, err := s.GetRefreshToken(ctx, "rt-0")
	must(t, err, "GetRefreshToken(rt-0)")
	if !got.RotatedAt.IsZero() || got.SuccessorHash != "" {
		t.Errorf("rt-0 after failed rotation = {RotatedAt %s, SuccessorHash %q}, want unrotated (atomic)", fmtTime(got.RotatedAt), got.SuccessorHash)
	}
	got, err = s.GetRefreshToken(ctx, "rt-other")
	must(t, err, "GetRefreshToken(rt-other)")
	checkEqual(t, "GetRefreshToken(rt-other) after collision", got, other)
	// A retry with a fresh hash succeeds.
	_, res, err = s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", now), now, 0)
	if err != nil || res != store.RotateRotated {
		t.Errorf("RotateRefreshToken retry = %v, %v; want RotateRotated", res, err)
	}
}

// --- access tokens ----------------------------------------------------

func testAccessTokenRevoke(t *testing.T, s store.Store) {
	ctx := t.Context()
	revoked, err := s.IsAccessTokenRevoked(ctx, "jti-1")
	must(t, err, "IsAccessTokenRevoked(unknown)")
	if revoked {
		t.Errorf("IsAccessTokenRevoked(unknown) = true, want false")
	}
	must(t, s.RevokeAccessToken(ctx, "jti-1", at(time.Hour)), "RevokeAccessToken")
	must(t, s.RevokeAccessToken(ctx, "jti-1", at(2*time.Hour)), "RevokeAccessToken again (idempotent)")
	for _, tc := range []struct {
		jti  string
		want bool
	}{{"jti-1", true}, {"jti-2", false}, {"JTI-1", false}} {
		got, err := s.IsAccessTokenRevoked(ctx, tc.jti)
		must(t, err, "IsAccessTokenRevoked")
		if got != tc.want {
			t.Errorf("IsAccessTokenRevoked(%q) = %v, want %v", tc.jti, got, tc.want)
		}
	}
}

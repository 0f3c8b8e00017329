package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- why a grant ended ------------------------------------------------------

// storedReasons are the reasons a revocation stores (the others are read
// from a token's times or never reach the store).
var storedReasons = []store.Reason{
	store.ReasonReused, store.ReasonCodeReplayed, store.ReasonRevokedByClient, store.ReasonLogout,
	store.ReasonSessionEnded, store.ReasonAdmin, store.ReasonPasswordChanged,
}

// testRevokeReasons: every stored reason round-trips through RevokeGrant
// and RevokeUserGrants, and GetGrant and ListUserGrants return it.
func testRevokeReasons(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	far := at(24 * time.Hour)
	for i, reason := range storedReasons {
		t.Run(string(reason), func(t *testing.T) {
			one := fmt.Sprintf("one-%d", i)
			must(t, s.CreateGrant(ctx, fixGrant(one, clientA, user1, far), nil), "CreateGrant("+one+")")
			must(t, s.RevokeGrant(ctx, one, at(time.Minute), reason), "RevokeGrant("+one+")")
			g, err := s.GetGrant(ctx, one)
			must(t, err, "GetGrant("+one+")")
			if g.RevokedReason != reason || !g.RevokedAt.Equal(at(time.Minute)) {
				t.Errorf("RevokeGrant(%s): GetGrant = {RevokedAt %s, RevokedReason %q}, want {%s, %q}",
					reason, fmtTime(g.RevokedAt), g.RevokedReason, fmtTime(at(time.Minute)), reason)
			}
		})
	}
	// RevokeUserGrants: user-2 has one grant per reason's turn.
	for i, reason := range storedReasons {
		id := fmt.Sprintf("user-%d", i)
		must(t, s.CreateGrant(ctx, fixGrant(id, clientB, user2, far), nil), "CreateGrant("+id+")")
		n, err := s.RevokeUserGrants(ctx, user2, clientB, at(time.Minute), reason)
		must(t, err, "RevokeUserGrants")
		if n != 1 {
			t.Fatalf("RevokeUserGrants(%s) = %d, want 1", reason, n)
		}
	}
	gs, err := s.ListUserGrants(ctx, user2)
	must(t, err, "ListUserGrants(user-2)")
	got := map[string]store.Reason{}
	for _, g := range gs {
		got[g.ID] = g.RevokedReason
	}
	for i, reason := range storedReasons {
		if id := fmt.Sprintf("user-%d", i); got[id] != reason {
			t.Errorf("ListUserGrants: %s.RevokedReason = %q, want %q", id, got[id], reason)
		}
	}
}

// testRevokeReasonKept: the first revocation's reason stays, whichever
// method revokes again.
func testRevokeReasonKept(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	far := at(24 * time.Hour)
	must(t, s.CreateGrant(ctx, fixGrant("g1", clientA, user1, far), nil), "CreateGrant(g1)")
	must(t, s.CreateGrant(ctx, fixGrant("g2", clientA, user1, far), nil), "CreateGrant(g2)")
	live := fixGrant("live", clientA, user1, far)
	must(t, s.CreateGrant(ctx, live, nil), "CreateGrant(live)")
	must(t, s.RevokeGrant(ctx, "g1", at(time.Minute), store.ReasonRevokedByClient), "RevokeGrant(g1)")
	must(t, s.RevokeGrant(ctx, "g1", at(time.Hour), store.ReasonAdmin), "RevokeGrant(g1) again")
	must(t, s.RevokeGrant(ctx, "g2", at(time.Minute), store.ReasonLogout), "RevokeGrant(g2)")
	n, err := s.RevokeUserGrants(ctx, user1, "", at(time.Hour), store.ReasonPasswordChanged)
	must(t, err, "RevokeUserGrants")
	if n != 1 {
		t.Errorf("RevokeUserGrants = %d, want 1 (only live)", n)
	}
	for id, want := range map[string]store.Reason{
		"g1": store.ReasonRevokedByClient, "g2": store.ReasonLogout, "live": store.ReasonPasswordChanged,
	} {
		g, err := s.GetGrant(ctx, id)
		must(t, err, "GetGrant("+id+")")
		if g.RevokedReason != want {
			t.Errorf("GetGrant(%s).RevokedReason = %q, want %q (the first revocation's)", id, g.RevokedReason, want)
		}
	}
	g, err := s.GetGrant(ctx, "live")
	must(t, err, "GetGrant(live)")
	live.RevokedAt, live.RevokedReason = at(time.Hour), store.ReasonPasswordChanged
	checkEqual(t, "GetGrant(live)", g, live)
}

// testRevokeSessionGrants: only live grants of the session, of clients
// with RevokeRefreshOnLogout, not of the excepted client, are revoked.
func testRevokeSessionGrants(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	const clientC, clientD = "client-c", "client-d"
	must(t, s.CreateClient(ctx, fixClient(clientC)), "CreateClient(client-c)")
	d := fixClient(clientD)
	d.RevokeRefreshOnLogout = false
	must(t, s.CreateClient(ctx, d), "CreateClient(client-d)")
	far := at(24 * time.Hour)
	grant := func(id, clientID, sid string) {
		g := fixGrant(id, clientID, user1, far)
		g.SessionID = sid
		must(t, s.CreateGrant(ctx, g, nil), "CreateGrant("+id+")")
	}
	grant("a", clientA, "sid-1")     // revoked
	grant("b", clientB, "sid-1")     // excepted client
	grant("c", clientC, "sid-1")     // revoked
	grant("d", clientD, "sid-1")     // client keeps its tokens on logout
	grant("other", clientA, "sid-2") // another session
	grant("nosid", clientA, "")      // no session
	grant("early", clientC, "sid-1") // revoked before, keeps its reason
	must(t, s.RevokeGrant(ctx, "early", at(time.Second), store.ReasonAdmin), "RevokeGrant(early)")

	n, err := s.RevokeSessionGrants(ctx, "sid-1", clientB, at(time.Minute), store.ReasonSessionEnded)
	must(t, err, "RevokeSessionGrants(sid-1)")
	if n != 2 {
		t.Errorf("RevokeSessionGrants(sid-1, except client-b) = %d, want 2 (a, c)", n)
	}
	for id, want := range map[string]store.Reason{
		"a": store.ReasonSessionEnded, "b": "", "c": store.ReasonSessionEnded, "d": "", "other": "", "nosid": "", "early": store.ReasonAdmin,
	} {
		g, err := s.GetGrant(ctx, id)
		must(t, err, "GetGrant("+id+")")
		if g.RevokedReason != want || g.RevokedAt.IsZero() != (want == "") {
			t.Errorf("after RevokeSessionGrants: %s = {RevokedAt %s, RevokedReason %q}, want reason %q", id, fmtTime(g.RevokedAt), g.RevokedReason, want)
		}
	}
	n, err = s.RevokeSessionGrants(ctx, "sid-1", "", at(time.Hour), store.ReasonSessionEnded)
	must(t, err, "RevokeSessionGrants(sid-1) again")
	if n != 1 {
		t.Errorf("RevokeSessionGrants(sid-1, except none) again = %d, want 1 (b)", n)
	}
	n, err = s.RevokeSessionGrants(ctx, "", "", at(time.Hour), store.ReasonSessionEnded)
	must(t, err, `RevokeSessionGrants("")`)
	if n != 0 {
		t.Errorf(`RevokeSessionGrants("") = %d, want 0 (grants without a session never match)`, n)
	}
	if g, _ := s.GetGrant(ctx, "nosid"); !g.RevokedAt.IsZero() {
		t.Errorf(`RevokeSessionGrants("") revoked the grant without a session`)
	}
}

// testRotateReuseReason: the reuse branch of RotateRefreshToken stores
// ReasonReused with the revocation, in the same atomic step.
func testRotateReuseReason(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	t0 := at(time.Minute)
	_, _, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", t0), t0, 0)
	must(t, err, "RotateRefreshToken (first)")
	later := at(2 * time.Minute)
	_, _, err = s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-x", later), later, 0)
	wantErr(t, err, store.ErrRefreshReused, "RotateRefreshToken(rt-0 again)")
	got, err := s.GetGrant(ctx, g.ID)
	must(t, err, "GetGrant")
	if got.RevokedReason != store.ReasonReused || !got.RevokedAt.Equal(later) {
		t.Errorf("after reuse: GetGrant = {RevokedAt %s, RevokedReason %q}, want {%s, %q}",
			fmtTime(got.RevokedAt), got.RevokedReason, fmtTime(later), store.ReasonReused)
	}
}

// testDeleteExpiredRefreshHeads: a refresh token never rotated stays
// ExpiredRefreshRetention past its expiry (so its client can be told it
// idle-expired) and answers ErrExpired meanwhile; a rotated one goes at
// its expiry.
func testDeleteExpiredRefreshHeads(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	now := at(time.Hour)
	holder := fixGrant("holder", clientA, user1, time.Time{}) // never swept itself
	head := fixRefresh("head-recent", holder, base, now.Add(-time.Hour))
	must(t, s.CreateGrant(ctx, holder, &head), "CreateGrant(holder)")
	for _, g := range []struct {
		id, hash string
		expires  time.Time
		rotated  bool
	}{
		{"g-old", "head-old", now.Add(-store.ExpiredRefreshRetention - time.Millisecond), false},
		{"g-edge", "head-edge", now.Add(-store.ExpiredRefreshRetention), false},
		{"g-rotated", "rotated", now.Add(-time.Millisecond), true},
	} {
		gr := fixGrant(g.id, clientA, user1, time.Time{})
		rt := fixRefresh(g.hash, gr, base, g.expires)
		if g.rotated {
			rt.RotatedAt, rt.SuccessorHash = base, "successor"
		}
		must(t, s.CreateGrant(ctx, gr, &rt), "CreateGrant("+g.id+")")
	}
	n, err := s.DeleteExpired(ctx, now, 100)
	must(t, err, "DeleteExpired")
	if n != 2 {
		t.Errorf("DeleteExpired = %d, want 2 (head-old, rotated)", n)
	}
	for hash, kept := range map[string]bool{"head-recent": true, "head-edge": true, "head-old": false, "rotated": false} {
		_, err := s.GetRefreshToken(ctx, hash)
		if got := err == nil; got != kept {
			t.Errorf("after DeleteExpired: GetRefreshToken(%s) found = %v, want %v (err %v)", hash, got, kept, err)
		}
	}
	_, _, err = s.RotateRefreshToken(ctx, "head-recent", nextRT(holder, "next", now), now, 0)
	wantErr(t, err, store.ErrExpired, "RotateRefreshToken(expired head kept by the sweep)")

	// A head is not kept past its grant: once the grant is swept at its
	// absolute expiry, its expired head goes in the same sweep.
	gone := fixGrant("g-gone", clientA, user1, now.Add(time.Hour))
	rt := fixRefresh("head-gone", gone, base, now.Add(time.Hour))
	must(t, s.CreateGrant(ctx, gone, &rt), "CreateGrant(g-gone)")
	later := now.Add(2 * time.Hour)
	_, err = s.DeleteExpired(ctx, later, 100)
	must(t, err, "DeleteExpired(later)")
	_, err = s.GetGrant(ctx, "g-gone")
	wantErr(t, err, store.ErrNotFound, "GetGrant(g-gone) after its absolute expiry")
	_, err = s.GetRefreshToken(ctx, "head-gone")
	wantErr(t, err, store.ErrNotFound, "GetRefreshToken(head-gone) after its grant was swept")
}

// testRaceRevokeReason: racers revoke one grant at once, each at its own
// time for its own reason, through RevokeGrant, RevokeUserGrants,
// RevokeSessionGrants and a reuse in RotateRefreshToken; exactly one
// revocation wins and the stored RevokedAt and RevokedReason are that
// one's pair (never one caller's time with another's reason).
func testRaceRevokeReason(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	_, _, err := s.RotateRefreshToken(ctx, "rt-0", nextRT(g, "rt-1", base), base, 0)
	must(t, err, "RotateRefreshToken (setup)")
	reasons := []store.Reason{store.ReasonAdmin, store.ReasonPasswordChanged, store.ReasonSessionEnded, store.ReasonReused,
		store.ReasonRevokedByClient, store.ReasonLogout, store.ReasonCodeReplayed}
	when := func(i int) time.Time { return at(time.Minute + time.Duration(i)*time.Millisecond) }
	errs := make([]error, racers)
	race(func(i int) {
		now, reason := when(i), reasons[i%len(reasons)]
		switch reason {
		case store.ReasonPasswordChanged:
			_, errs[i] = s.RevokeUserGrants(ctx, user1, "", now, reason)
		case store.ReasonSessionEnded:
			_, errs[i] = s.RevokeSessionGrants(ctx, g.SessionID, "", now, reason)
		case store.ReasonReused:
			_, _, errs[i] = s.RotateRefreshToken(ctx, "rt-0", nextRT(g, fmt.Sprintf("x-%d", i), now), now, 0)
			if errorsIs(errs[i], store.ErrRefreshReused) || errorsIs(errs[i], store.ErrRevoked) {
				errs[i] = nil
			}
		default:
			errs[i] = s.RevokeGrant(ctx, g.ID, now, reason)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Fatalf("racer %d (%s): %v", i, reasons[i%len(reasons)], err)
		}
	}
	got, err := s.GetGrant(ctx, g.ID)
	must(t, err, "GetGrant")
	for i := range racers {
		if got.RevokedAt.Equal(when(i)) {
			if want := reasons[i%len(reasons)]; got.RevokedReason != want {
				t.Errorf("RevokedAt is racer %d's (%s) but RevokedReason = %q, want %q", i, fmtTime(got.RevokedAt), got.RevokedReason, want)
			}
			return
		}
	}
	t.Errorf("RevokedAt = %s, RevokedReason = %q: no racer's revocation", fmtTime(got.RevokedAt), got.RevokedReason)
}

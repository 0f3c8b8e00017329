package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// testRefreshGrant: GetRefreshGrant returns exactly what GetRefreshToken
// and GetGrant return, also for a rotated token and a revoked grant, and
// ErrNotFound for an unknown token or one whose grant is gone.
func testRefreshGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	g := fixGrant("g1", clientA, user1, at(90*24*time.Hour))
	rt := fixRefresh("rt-1", g, at(7*time.Millisecond), at(30*24*time.Hour))
	must(t, s.CreateGrant(ctx, g, &rt), "CreateGrant")
	check := func(step string) {
		t.Helper()
		gotRT, gotG, err := s.GetRefreshGrant(ctx, "rt-1")
		must(t, err, "GetRefreshGrant "+step)
		wantRT, err := s.GetRefreshToken(ctx, "rt-1")
		must(t, err, "GetRefreshToken")
		wantG, err := s.GetGrant(ctx, "g1")
		must(t, err, "GetGrant")
		checkEqual(t, "GetRefreshGrant token "+step, gotRT, wantRT)
		checkEqual(t, "GetRefreshGrant grant "+step, gotG, wantG)
	}
	check("(fresh)")
	gotRT, _, _ := s.GetRefreshGrant(ctx, "rt-1")
	checkEqual(t, "GetRefreshGrant token", gotRT, rt)
	_, _, err := s.RotateRefreshToken(ctx, "rt-1", nextRT(g, "rt-2", at(time.Hour)), at(time.Hour), 0)
	must(t, err, "RotateRefreshToken")
	check("(rotated)")
	must(t, s.RevokeGrant(ctx, "g1", at(2*time.Hour), store.ReasonAdmin), "RevokeGrant")
	check("(grant revoked)")
	_, _, err = s.GetRefreshGrant(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, `GetRefreshGrant("nope")`)
	must(t, s.DeleteUser(ctx, user1), "DeleteUser")
	_, _, err = s.GetRefreshGrant(ctx, "rt-2")
	wantErr(t, err, store.ErrNotFound, `GetRefreshGrant after the grant's user was deleted`)
}

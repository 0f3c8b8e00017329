package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// testAccessTokenState: AccessTokenState reports a revoked jti, a missing
// grant (only when one is named) and a revoked grant, each on its own,
// and nothing for a live token of a live grant.
func testAccessTokenState(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateGrant(ctx, fixGrant("g-live", clientA, user1, at(time.Hour)), nil), "CreateGrant(g-live)")
	must(t, s.CreateGrant(ctx, fixGrant("g-revoked", clientA, user1, at(time.Hour)), nil), "CreateGrant(g-revoked)")
	must(t, s.RevokeGrant(ctx, "g-revoked", at(0), store.ReasonAdmin), "RevokeGrant")
	must(t, s.RevokeAccessToken(ctx, "jti-revoked", at(time.Hour)), "RevokeAccessToken")
	for _, tc := range []struct {
		jti, grant string
		want       store.AccessTokenState
	}{
		{"jti-1", "g-live", store.AccessTokenState{}},
		{"jti-1", "", store.AccessTokenState{}}, // client credentials: no grant named
		{"jti-revoked", "g-live", store.AccessTokenState{Revoked: true}},
		{"jti-1", "g-revoked", store.AccessTokenState{GrantRevoked: true}},
		{"jti-1", "g-unknown", store.AccessTokenState{GrantMissing: true}},
		{"jti-revoked", "g-unknown", store.AccessTokenState{Revoked: true, GrantMissing: true}},
		{"JTI-REVOKED", "G-REVOKED", store.AccessTokenState{GrantMissing: true}}, // exact keys
	} {
		got, err := s.AccessTokenState(ctx, tc.jti, tc.grant)
		must(t, err, "AccessTokenState")
		if got != tc.want {
			t.Errorf("AccessTokenState(%q, %q) = %+v, want %+v", tc.jti, tc.grant, got, tc.want)
		}
	}
}

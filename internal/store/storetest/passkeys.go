package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- passkeys -------------------------------------------------------------

func passkeyTests() []test {
	return []test{
		{"Factor/Touch", testFactorTouch},
	}
}

// testFactorTouch: TouchFactor sets LastUsedAt only (a passkey without a
// signature counter keeps Counter 0 and still shows its last use).
func testFactorTouch(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	f := fixFactor("u1", "pk-1", store.FactorPasskey, 0)
	f.Name, f.Secret = "Phone", []byte(`{"id":"AQ"}`)
	must(t, s.SaveFactors(ctx, "u1", nil, f), "SaveFactors")
	must(t, s.TouchFactor(ctx, "u1", "pk-1", at(time.Hour)), "TouchFactor")
	got, err := s.ListFactors(ctx, "u1")
	must(t, err, "ListFactors")
	f.LastUsedAt = at(time.Hour)
	checkEqual(t, "ListFactors after TouchFactor", got, []store.Factor{f})
	wantErr(t, s.TouchFactor(ctx, "u1", "pk-2", at(time.Hour)), store.ErrNotFound, "TouchFactor(unknown factor)")
	wantErr(t, s.TouchFactor(ctx, "u2", "pk-1", at(time.Hour)), store.ErrNotFound, "TouchFactor(another user)")
}

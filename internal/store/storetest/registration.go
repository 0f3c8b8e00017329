package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- dynamic client registration (RFC 7591, RFC 7592) -------------------------

func registrationTests() []test {
	return []test{
		{"Registration/ClientOrigin", testClientOrigin},
		{"Registration/InitialAccessToken", testInitialAccessToken},
		{"Registration/InitialAccessTokenExpired", testInitialAccessTokenExpired},
		{"Registration/InitialAccessTokenSwept", testInitialAccessTokenSwept},
		{"Race/UseInitialAccessToken", testRaceUseInitialAccessToken},
	}
}

// testClientOrigin: Origin and RegistrationTokenHash round-trip through
// create, update and list; an operator's client has neither.
func testClientOrigin(t *testing.T, s store.Store) {
	ctx := t.Context()
	op := store.Client{ID: "op", Name: "operator's", CreatedAt: base}
	cimd := store.Client{ID: "https://app.example/client.json", Public: true, Origin: store.OriginCIMD, CreatedAt: base}
	must(t, s.CreateClient(ctx, op), "CreateClient(operator)")
	must(t, s.CreateClient(ctx, cimd), "CreateClient(cimd)")
	got, err := s.GetClient(ctx, cimd.ID)
	must(t, err, "GetClient(cimd)")
	checkEqual(t, "GetClient(cimd)", got, cimd)

	cimd.Origin, cimd.RegistrationTokenHash = store.OriginDCR, "h2"
	must(t, s.UpdateClient(ctx, cimd), "UpdateClient")
	list, err := s.ListClients(ctx)
	must(t, err, "ListClients")
	if len(list) != 2 {
		t.Fatalf("ListClients = %d clients, want 2", len(list))
	}
	checkEqual(t, "ListClients[0] (the URL sorts first)", list[0], cimd)
	checkEqual(t, "ListClients[1]", list[1], op)
	if list[1].Origin != store.OriginOperator || list[1].RegistrationTokenHash != "" {
		t.Errorf("operator client = origin %q, token hash %q; want both empty", list[1].Origin, list[1].RegistrationTokenHash)
	}
}

func testInitialAccessToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	tok := store.InitialAccessToken{Hash: "iat-1", CreatedAt: base, ExpiresAt: at(time.Hour), UsesLeft: 2}
	must(t, s.CreateInitialAccessToken(ctx, tok), "CreateInitialAccessToken")
	wantErr(t, s.CreateInitialAccessToken(ctx, tok), store.ErrAlreadyExists, "CreateInitialAccessToken(duplicate)")

	got, err := s.UseInitialAccessToken(ctx, "iat-1", at(time.Minute))
	must(t, err, "UseInitialAccessToken(1st)")
	want := tok
	want.UsesLeft = 1
	checkEqual(t, "UseInitialAccessToken(1st)", got, want)
	got, err = s.UseInitialAccessToken(ctx, "iat-1", at(time.Minute))
	must(t, err, "UseInitialAccessToken(2nd)")
	if got.UsesLeft != 0 {
		t.Errorf("UseInitialAccessToken(2nd).UsesLeft = %d, want 0", got.UsesLeft)
	}
	_, err = s.UseInitialAccessToken(ctx, "iat-1", at(time.Minute))
	wantErr(t, err, store.ErrExpired, "UseInitialAccessToken(used up)")
	_, err = s.UseInitialAccessToken(ctx, "nope", at(time.Minute))
	wantErr(t, err, store.ErrNotFound, "UseInitialAccessToken(unknown)")
	_, err = s.UseInitialAccessToken(ctx, "IAT-1", at(time.Minute))
	wantErr(t, err, store.ErrNotFound, "UseInitialAccessToken(hashes are case-sensitive)")
}

func testInitialAccessTokenExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateInitialAccessToken(ctx, store.InitialAccessToken{Hash: "iat", CreatedAt: base, ExpiresAt: at(time.Hour), UsesLeft: 5}), "CreateInitialAccessToken")
	_, err := s.UseInitialAccessToken(ctx, "iat", at(time.Hour))
	wantErr(t, err, store.ErrExpired, "UseInitialAccessToken(at ExpiresAt)")
	got, err := s.UseInitialAccessToken(ctx, "iat", at(time.Hour-time.Nanosecond))
	must(t, err, "UseInitialAccessToken(just before ExpiresAt)")
	if got.UsesLeft != 4 {
		t.Errorf("UsesLeft = %d, want 4 (the expired attempt spent nothing)", got.UsesLeft)
	}
}

// testRaceUseInitialAccessToken: racers concurrent uses of a token with
// 5 uses left: exactly 5 succeed, the rest get ErrExpired.
func testRaceUseInitialAccessToken(t *testing.T, s store.Store) {
	ctx := t.Context()
	const uses = 5
	must(t, s.CreateInitialAccessToken(ctx, store.InitialAccessToken{Hash: "iat", CreatedAt: base, ExpiresAt: at(time.Hour), UsesLeft: uses}), "CreateInitialAccessToken")
	errs := make([]error, racers)
	race(func(i int) { _, errs[i] = s.UseInitialAccessToken(ctx, "iat", at(time.Minute)) })
	got := tally(errs, store.ErrExpired)
	want := map[string]int{"nil": uses, store.ErrExpired.Error(): racers - uses}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent UseInitialAccessToken on %d uses = %v, want %v", racers, uses, got, want)
	}
}

// testInitialAccessTokenSwept: DeleteExpired removes expired initial
// access tokens and keeps live ones.
func testInitialAccessTokenSwept(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateInitialAccessToken(ctx, store.InitialAccessToken{Hash: "old", CreatedAt: base, ExpiresAt: at(time.Minute), UsesLeft: 1}), "CreateInitialAccessToken(old)")
	must(t, s.CreateInitialAccessToken(ctx, store.InitialAccessToken{Hash: "live", CreatedAt: base, ExpiresAt: at(time.Hour), UsesLeft: 1}), "CreateInitialAccessToken(live)")
	n, err := s.DeleteExpired(ctx, at(2*time.Minute), 100)
	must(t, err, "DeleteExpired")
	if n != 1 {
		t.Errorf("DeleteExpired = %d, want 1 (the expired token)", n)
	}
	_, err = s.UseInitialAccessToken(ctx, "old", at(0))
	wantErr(t, err, store.ErrNotFound, "UseInitialAccessToken(swept)")
	_, err = s.UseInitialAccessToken(ctx, "live", at(2*time.Minute))
	must(t, err, "UseInitialAccessToken(live)")
}

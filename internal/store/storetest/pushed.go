package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- pushed authorization requests (RFC 9126) -----------------------------

func pushedTests() []test {
	return []test{
		{"Pushed/CreateConsume", testPushedConsume},
		{"Pushed/Duplicate", testPushedDuplicate},
		{"Pushed/Expired", testPushedExpired},
		{"Pushed/Swept", testPushedSwept},
		{"Race/ConsumePushedRequest", testRacePushed},
	}
}

func fixPushed(hash, clientID string, exp time.Time) store.PushedRequest {
	return store.PushedRequest{
		Hash:      hash,
		ClientID:  clientID,
		Params:    "client_id=" + clientID + "&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid+%C3%BC&state=" + hash,
		CreatedAt: at(123 * time.Millisecond),
		ExpiresAt: exp,
	}
}

func testPushedConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	want := fixPushed("par-1", clientA, at(time.Minute))
	must(t, s.CreatePushedRequest(ctx, want), "CreatePushedRequest")
	must(t, s.CreatePushedRequest(ctx, fixPushed("par-2", clientB, at(time.Minute))), "CreatePushedRequest(other)")
	got, err := s.ConsumePushedRequest(ctx, "par-1", at(time.Second))
	must(t, err, "ConsumePushedRequest")
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("ConsumePushedRequest returned a different record: %v", d)
	}
	_, err = s.ConsumePushedRequest(ctx, "par-1", at(time.Second))
	wantErr(t, err, store.ErrNotFound, "ConsumePushedRequest (second time)")
	_, err = s.ConsumePushedRequest(ctx, "unknown", at(time.Second))
	wantErr(t, err, store.ErrNotFound, "ConsumePushedRequest (unknown)")
	if _, err := s.ConsumePushedRequest(ctx, "par-2", at(time.Second)); err != nil {
		t.Errorf("ConsumePushedRequest(par-2) = %v, want the other request untouched", err)
	}
}

func testPushedDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreatePushedRequest(ctx, fixPushed("par-1", clientA, at(time.Minute))), "CreatePushedRequest")
	wantErr(t, s.CreatePushedRequest(ctx, fixPushed("par-1", clientB, at(time.Minute))), store.ErrAlreadyExists, "CreatePushedRequest (same hash)")
}

func testPushedExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreatePushedRequest(ctx, fixPushed("par-1", clientA, at(time.Minute))), "CreatePushedRequest")
	_, err := s.ConsumePushedRequest(ctx, "par-1", at(time.Minute)) // ExpiresAt not after now
	wantErr(t, err, store.ErrExpired, "ConsumePushedRequest (at expiry)")
	_, err = s.ConsumePushedRequest(ctx, "par-1", at(0))
	wantErr(t, err, store.ErrNotFound, "ConsumePushedRequest (after an expired attempt: removed)")
}

func testPushedSwept(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreatePushedRequest(ctx, fixPushed("old", clientA, at(time.Minute))), "CreatePushedRequest(old)")
	must(t, s.CreatePushedRequest(ctx, fixPushed("live", clientA, at(time.Hour))), "CreatePushedRequest(live)")
	n, err := s.DeleteExpired(ctx, at(2*time.Minute), 100)
	must(t, err, "DeleteExpired")
	if n != 1 {
		t.Errorf("DeleteExpired = %d, want 1 (the expired pushed request)", n)
	}
	_, err = s.ConsumePushedRequest(ctx, "old", at(0))
	wantErr(t, err, store.ErrNotFound, "ConsumePushedRequest(old) after the sweep")
	if _, err := s.ConsumePushedRequest(ctx, "live", at(2*time.Minute)); err != nil {
		t.Errorf("ConsumePushedRequest(live) after the sweep = %v, want it kept", err)
	}
}

// testRacePushed: of racers concurrent redemptions of one request_uri,
// exactly one gets the request (RFC 9126 §4: single use).
func testRacePushed(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreatePushedRequest(ctx, fixPushed("par", clientA, at(time.Minute))), "CreatePushedRequest")
	errs := make([]error, racers)
	race(func(i int) {
		_, errs[i] = s.ConsumePushedRequest(ctx, "par", at(time.Second))
	})
	got := tally(errs, store.ErrNotFound)
	want := map[string]int{"nil": 1, store.ErrNotFound.Error(): racers - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent ConsumePushedRequest = %v, want %v", racers, got, want)
	}
}

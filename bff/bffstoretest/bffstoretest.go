// Package bffstoretest is the conformance suite of bff.SessionStore: every
// implementation (bff.MemoryStore, bffsqlite, bffpostgres, and yours) runs
// Run from a few-line test and is done when it passes. It includes the
// races the BFF relies on: of N concurrent LeaseRefresh calls on one
// version exactly one wins, and of N concurrent UseJTI calls exactly one
// succeeds.
package bffstoretest

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/bff"
)

// Run runs the suite; newStore returns an empty store for each sub-test.
func Run(t *testing.T, newStore func(t *testing.T) bff.SessionStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s bff.SessionStore)
	}{
		{"CreateGet", testCreateGet},
		{"Touch", testTouch},
		{"LeaseAndStore", testLeaseAndStore},
		{"LeaseBurst", testLeaseBurst},
		{"Delete", testDelete},
		{"DeleteBySIDAndSubject", testDeleteBy},
		{"UseJTIBurst", testUseJTIBurst},
		{"DeleteExpired", testDeleteExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, newStore(t)) })
	}
}

var t0 = time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)

func session(key, sub, sid string) bff.Session {
	return bff.Session{
		Key: key, Subject: sub, SID: sid, Secret: []byte("sealed-" + key), Claims: []byte(`{"sub":"` + sub + `"}`),
		Created: t0, LastSeen: t0, Expires: t0.Add(8 * time.Hour), Version: 1,
	}
}

func mustCreate(t *testing.T, s bff.SessionStore, ss ...bff.Session) {
	t.Helper()
	for _, x := range ss {
		if err := s.CreateSession(t.Context(), x); err != nil {
			t.Fatalf("CreateSession(%q): %v", x.Key, err)
		}
	}
}

func mustGet(t *testing.T, s bff.SessionStore, key string) bff.Session {
	t.Helper()
	got, err := s.GetSession(t.Context(), key)
	if err != nil {
		t.Fatalf("GetSession(%q): %v", key, err)
	}
	return got
}

func testCreateGet(t *testing.T, s bff.SessionStore) {
	want := session("k1", "alice", "sid-1")
	mustCreate(t, s, want)
	got := mustGet(t, s, "k1")
	if got.Key != want.Key || got.Subject != want.Subject || got.SID != want.SID || !bytes.Equal(got.Secret, want.Secret) ||
		!bytes.Equal(got.Claims, want.Claims) || !got.Created.Equal(want.Created) || !got.LastSeen.Equal(want.LastSeen) ||
		!got.Expires.Equal(want.Expires) || got.Version != 1 || !got.LeaseUntil.IsZero() {
		t.Errorf("GetSession = %+v, want %+v", got, want)
	}
	if _, err := s.GetSession(t.Context(), "nope"); !errors.Is(err, bff.ErrNotFound) {
		t.Errorf("GetSession(unknown) = %v, want ErrNotFound", err)
	}
}

func testTouch(t *testing.T, s bff.SessionStore) {
	mustCreate(t, s, session("k1", "alice", ""))
	if err := s.TouchSession(t.Context(), "k1", t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "k1"); !got.LastSeen.Equal(t0.Add(time.Hour)) {
		t.Errorf("LastSeen = %v, want %v", got.LastSeen, t0.Add(time.Hour))
	}
	if err := s.TouchSession(t.Context(), "nope", t0); !errors.Is(err, bff.ErrNotFound) {
		t.Errorf("TouchSession(unknown) = %v, want ErrNotFound", err)
	}
}

func testLeaseAndStore(t *testing.T, s bff.SessionStore) {
	ctx := t.Context()
	mustCreate(t, s, session("k1", "alice", ""))
	until := t0.Add(15 * time.Second)
	if ok, err := s.LeaseRefresh(ctx, "k1", 1, t0, until); err != nil || !ok {
		t.Fatalf("LeaseRefresh(v1) = %v, %v, want true", ok, err)
	}
	got := mustGet(t, s, "k1")
	if got.Version != 2 || !got.LeaseUntil.Equal(until) {
		t.Fatalf("after the lease: version %d lease %v, want 2 and %v", got.Version, got.LeaseUntil, until)
	}
	// A live lease: nobody else, even with the current version.
	if ok, _ := s.LeaseRefresh(ctx, "k1", 2, t0.Add(time.Second), until); ok {
		t.Error("LeaseRefresh during a live lease = true, want false")
	}
	// A stale version never stores.
	if err := s.StoreTokens(ctx, "k1", 1, []byte("stale")); !errors.Is(err, bff.ErrConflict) {
		t.Errorf("StoreTokens(stale version) = %v, want ErrConflict", err)
	}
	if err := s.StoreTokens(ctx, "k1", 2, []byte("rotated")); err != nil {
		t.Fatalf("StoreTokens(leased version) = %v", err)
	}
	got = mustGet(t, s, "k1")
	if got.Version != 3 || !got.LeaseUntil.IsZero() || string(got.Secret) != "rotated" {
		t.Fatalf("after StoreTokens: %+v, want version 3, no lease, secret rotated", got)
	}
	// The same lease cannot store twice.
	if err := s.StoreTokens(ctx, "k1", 2, []byte("again")); !errors.Is(err, bff.ErrConflict) {
		t.Errorf("second StoreTokens(v2) = %v, want ErrConflict", err)
	}
	// An expired lease can be taken over; a released one at once.
	if ok, _ := s.LeaseRefresh(ctx, "k1", 3, t0, t0.Add(time.Second)); !ok {
		t.Fatal("LeaseRefresh(v3) = false")
	}
	if ok, _ := s.LeaseRefresh(ctx, "k1", 4, t0.Add(2*time.Second), t0.Add(time.Minute)); !ok {
		t.Error("LeaseRefresh after the lease expired = false, want true")
	}
	if err := s.ReleaseLease(ctx, "k1", 5); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "k1"); !got.LeaseUntil.IsZero() || got.Version != 5 {
		t.Errorf("after ReleaseLease: %+v, want no lease at version 5", got)
	}
	if ok, _ := s.LeaseRefresh(ctx, "nope", 1, t0, until); ok {
		t.Error("LeaseRefresh(unknown) = true")
	}
	if err := s.StoreTokens(ctx, "nope", 1, nil); !errors.Is(err, bff.ErrConflict) {
		t.Errorf("StoreTokens(unknown) = %v, want ErrConflict", err)
	}
}

// testLeaseBurst: N instances see version 1 and try to refresh at once;
// exactly one may (the refresh happens once per session).
func testLeaseBurst(t *testing.T, s bff.SessionStore) {
	mustCreate(t, s, session("k1", "alice", ""))
	const n = 16
	var wins, errs int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			ok, err := s.LeaseRefresh(context.WithoutCancel(t.Context()), "k1", 1, t0, t0.Add(15*time.Second))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
			}
			if ok {
				wins++
			}
		})
	}
	close(start)
	wg.Wait()
	if wins != 1 || errs != 0 {
		t.Errorf("%d concurrent LeaseRefresh: %d won, %d errors; want exactly 1 winner, no errors", n, wins, errs)
	}
}

func testDelete(t *testing.T, s bff.SessionStore) {
	mustCreate(t, s, session("k1", "alice", ""))
	if err := s.DeleteSession(t.Context(), "k1"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetSession(t.Context(), "k1"); !errors.Is(err, bff.ErrNotFound) {
		t.Errorf("GetSession after delete = %v, want ErrNotFound", err)
	}
	if err := s.DeleteSession(t.Context(), "k1"); err != nil {
		t.Errorf("DeleteSession(gone) = %v, want nil", err)
	}
}

func testDeleteBy(t *testing.T, s bff.SessionStore) {
	ctx := t.Context()
	mustCreate(t, s, session("a1", "alice", "sid-a"), session("a2", "alice", "sid-a"), session("a3", "alice", "sid-b"),
		session("b1", "bob", "sid-c"), session("n1", "nobody", ""))
	if n, err := s.DeleteSessionsBySID(ctx, "sid-a"); err != nil || n != 2 {
		t.Errorf("DeleteSessionsBySID(sid-a) = %d, %v, want 2", n, err)
	}
	if n, err := s.DeleteSessionsBySID(ctx, ""); err != nil || n != 0 {
		t.Errorf("DeleteSessionsBySID(\"\") = %d, %v, want 0: an empty sid matches nothing", n, err)
	}
	if n, err := s.DeleteSessionsBySubject(ctx, "alice"); err != nil || n != 1 {
		t.Errorf("DeleteSessionsBySubject(alice) = %d, %v, want 1 (a3)", n, err)
	}
	for _, k := range []string{"b1", "n1"} {
		mustGet(t, s, k)
	}
	for _, k := range []string{"a1", "a2", "a3"} {
		if _, err := s.GetSession(ctx, k); !errors.Is(err, bff.ErrNotFound) {
			t.Errorf("GetSession(%s) = %v, want ErrNotFound", k, err)
		}
	}
}

// testUseJTIBurst: a logout token's jti is single-use, also when N copies
// arrive at once.
func testUseJTIBurst(t *testing.T, s bff.SessionStore) {
	const n = 16
	var ok, replays, other int
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Go(func() {
			<-start
			err := s.UseJTI(context.WithoutCancel(t.Context()), "jti-1", t0.Add(time.Hour))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err == nil:
				ok++
			case errors.Is(err, bff.ErrReplay):
				replays++
			default:
				other++
				t.Errorf("UseJTI: %v", err)
			}
		})
	}
	close(start)
	wg.Wait()
	if ok != 1 || replays != n-1 {
		t.Errorf("%d concurrent UseJTI: %d ok, %d ErrReplay, %d other; want 1 and %d", n, ok, replays, other, n-1)
	}
	if err := s.UseJTI(t.Context(), "jti-2", t0.Add(time.Hour)); err != nil {
		t.Errorf("UseJTI(another jti) = %v", err)
	}
}

func testDeleteExpired(t *testing.T, s bff.SessionStore) {
	ctx := t.Context()
	old := session("old", "alice", "")
	old.Expires = t0.Add(time.Minute)
	idle := session("idle", "alice", "")
	idle.LastSeen = t0.Add(-2 * time.Hour)
	fresh := session("new", "alice", "")
	fresh.LastSeen = t0.Add(30 * time.Minute)
	mustCreate(t, s, old, idle, fresh)
	if err := s.UseJTI(ctx, "old-jti", t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteExpired(ctx, t0.Add(time.Hour), t0.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"old", "idle"} {
		if _, err := s.GetSession(ctx, k); !errors.Is(err, bff.ErrNotFound) {
			t.Errorf("expired session %q still there: %v", k, err)
		}
	}
	mustGet(t, s, "new")
	// The expired jti is forgotten (its token is refused by exp anyway).
	if err := s.UseJTI(ctx, "old-jti", t0.Add(2*time.Hour)); err != nil {
		t.Errorf("UseJTI of a purged jti = %v, want nil", err)
	}
}

package storetest

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

func backchannelTests() []test {
	return []test{
		{"Backchannel/EndSessionEnqueues", testEndSessionEnqueues},
		{"Backchannel/EndSessionAtomic", testEndSessionNotFound},
		{"Backchannel/EndUserSessions", testEndUserSessions},
		{"Backchannel/EndSessionKillsCodes", testEndSessionKillsCodes},
		{"Backchannel/ClaimLease", testClaimLease},
		{"Backchannel/RetryAndFinish", testRetryFinish},
		{"Race/ClaimBackchannelLogouts", testRaceClaimLogouts},
		{"Race/EndSession", testRaceEndSession},
	}
}

// bclFixture stores: user u1 with live sessions s1, s2 and an expired
// session s3; clients rp1, rp2 (with a back-channel URI) and plain (none);
// grants: rp1 and plain in s1 (rp1 twice), rp2 in s2, rp2 in s3.
func bclFixture(t *testing.T, s store.Store) {
	t.Helper()
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	for _, id := range []string{"rp1", "rp2", "plain"} {
		c := store.Client{ID: id, GrantTypes: []string{"authorization_code"}, CreatedAt: base}
		if id != "plain" {
			c.BackchannelLogoutURI = "https://" + id + ".example/bcl"
		}
		must(t, s.CreateClient(ctx, c), "CreateClient "+id)
	}
	must(t, s.CreateSession(ctx, fixSession("s1", "u1", at(time.Hour))), "CreateSession s1")
	must(t, s.CreateSession(ctx, fixSession("s2", "u1", at(time.Hour))), "CreateSession s2")
	must(t, s.CreateSession(ctx, fixSession("s3", "u1", at(-time.Minute))), "CreateSession s3")
	for _, g := range []struct{ id, client, session string }{
		{"g1", "rp1", "s1"}, {"g1b", "rp1", "s1"}, {"g2", "plain", "s1"}, {"g3", "rp2", "s2"}, {"g4", "rp2", "s3"},
	} {
		gr := fixGrant(g.id, g.client, "u1", at(time.Hour))
		gr.SessionID = "sid-of-" + g.session
		must(t, s.CreateGrant(ctx, gr, nil), "CreateGrant "+g.id)
	}
}

func claimAll(t *testing.T, s store.Store, now time.Time) []store.BackchannelLogout {
	t.Helper()
	got, err := s.ClaimBackchannelLogouts(t.Context(), now, time.Minute, 100)
	must(t, err, "ClaimBackchannelLogouts")
	slices.SortFunc(got, func(a, b store.BackchannelLogout) int {
		if a.ClientID+a.SID < b.ClientID+b.SID {
			return -1
		}
		return 1
	})
	return got
}

func testEndSessionEnqueues(t *testing.T, s store.Store) {
	ctx := t.Context()
	bclFixture(t, s)
	n, err := s.EndSession(ctx, "s1", base)
	must(t, err, "EndSession(s1)")
	if n != 1 {
		t.Errorf("EndSession(s1) queued %d, want 1 (rp1 once; plain has no back-channel URI)", n)
	}
	_, err = s.GetSession(ctx, "s1", base)
	wantErr(t, err, store.ErrNotFound, "GetSession(s1) after EndSession")
	pending, err := s.PendingBackchannelLogouts(ctx)
	must(t, err, "PendingBackchannelLogouts")
	if pending != 1 {
		t.Errorf("PendingBackchannelLogouts = %d, want 1", pending)
	}
	got := claimAll(t, s, base)
	if len(got) != 1 {
		t.Fatalf("claimed %d, want 1: %+v", len(got), got)
	}
	l := got[0]
	if l.ID == "" || len(l.ID) < 16 {
		t.Errorf("ID = %q, want a random id (the jti)", l.ID)
	}
	want := store.BackchannelLogout{ID: l.ID, ClientID: "rp1", URI: "https://rp1.example/bcl", Subject: "u1", SID: "sid-of-s1",
		CreatedAt: base, NextAttemptAt: base, LeaseUntil: base.Add(time.Minute)}
	checkEqual(t, "claimed logout", l, want)

	// An expired session ends without notifications.
	n, err = s.EndSession(ctx, "s3", base)
	must(t, err, "EndSession(s3)")
	if n != 0 {
		t.Errorf("EndSession(expired s3) queued %d, want 0", n)
	}
}

func testEndSessionNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	bclFixture(t, s)
	_, err := s.EndSession(ctx, "nope", base)
	wantErr(t, err, store.ErrNotFound, "EndSession(unknown)")
	must(t, func() error { _, err := s.EndSession(ctx, "s1", base); return err }(), "EndSession(s1)")
	_, err = s.EndSession(ctx, "s1", base)
	wantErr(t, err, store.ErrNotFound, "EndSession(s1) twice")
	pending, err := s.PendingBackchannelLogouts(ctx)
	must(t, err, "PendingBackchannelLogouts")
	if pending != 1 {
		t.Errorf("PendingBackchannelLogouts after ending s1 twice = %d, want 1", pending)
	}
}

func testEndUserSessions(t *testing.T, s store.Store) {
	ctx := t.Context()
	bclFixture(t, s)
	ended, queued, err := s.EndUserSessions(ctx, "u1", base)
	must(t, err, "EndUserSessions")
	if ended != 3 || queued != 2 {
		t.Errorf("EndUserSessions = (%d ended, %d queued), want (3, 2): rp1 for s1, rp2 for s2, nothing for expired s3", ended, queued)
	}
	got := claimAll(t, s, base)
	var pairs []string
	for _, l := range got {
		pairs = append(pairs, l.ClientID+"/"+l.SID)
	}
	if want := []string{"rp1/sid-of-s1", "rp2/sid-of-s2"}; !slices.Equal(pairs, want) {
		t.Errorf("claimed %v, want %v", pairs, want)
	}
	sessions, err := s.ListUserSessions(ctx, "u1", at(-time.Hour))
	must(t, err, "ListUserSessions")
	if len(sessions) != 0 {
		t.Errorf("sessions left: %d", len(sessions))
	}
}

func testClaimLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	bclFixture(t, s)
	if _, _, err := s.EndUserSessions(ctx, "u1", base); err != nil {
		t.Fatal(err)
	}
	// Not due before its NextAttemptAt.
	if got := claimAll(t, s, at(-time.Second)); len(got) != 0 {
		t.Errorf("claimed %d before due, want 0", len(got))
	}
	// limit is honoured.
	one, err := s.ClaimBackchannelLogouts(ctx, base, time.Minute, 1)
	must(t, err, "ClaimBackchannelLogouts(limit 1)")
	if len(one) != 1 {
		t.Fatalf("claimed %d with limit 1", len(one))
	}
	// A leased row is nobody else's until the lease ends.
	rest := claimAll(t, s, at(30*time.Second))
	if len(rest) != 1 || rest[0].ID == one[0].ID {
		t.Fatalf("second claim = %+v, want only the other row", rest)
	}
	if got := claimAll(t, s, at(59*time.Second)); len(got) != 0 {
		t.Errorf("claimed %d while leased, want 0", len(got))
	}
	// After the lease, the row is due again (its worker died).
	again := claimAll(t, s, at(time.Minute))
	if len(again) != 1 || again[0].ID != one[0].ID {
		t.Fatalf("claim after lease = %+v, want %s", again, one[0].ID)
	}
	// The first worker's lease is gone: it can neither finish nor retry.
	wantErr(t, s.FinishBackchannelLogout(ctx, one[0].ID, one[0].LeaseUntil), store.ErrNotFound, "FinishBackchannelLogout(stale lease)")
	wantErr(t, s.RetryBackchannelLogout(ctx, one[0].ID, one[0].LeaseUntil, at(time.Hour), "x"), store.ErrNotFound, "RetryBackchannelLogout(stale lease)")
	must(t, s.FinishBackchannelLogout(ctx, again[0].ID, again[0].LeaseUntil), "FinishBackchannelLogout(current lease)")
}

func testRetryFinish(t *testing.T, s store.Store) {
	ctx := t.Context()
	bclFixture(t, s)
	if _, err := s.EndSession(ctx, "s1", base); err != nil {
		t.Fatal(err)
	}
	l := claimAll(t, s, base)[0]
	must(t, s.RetryBackchannelLogout(ctx, l.ID, l.LeaseUntil, at(10*time.Second), "503 Service Unavailable"), "RetryBackchannelLogout")
	if got := claimAll(t, s, at(9*time.Second)); len(got) != 0 {
		t.Errorf("claimed %d before the retry is due", len(got))
	}
	got := claimAll(t, s, at(10*time.Second))
	if len(got) != 1 || got[0].Attempts != 1 || got[0].LastError != "503 Service Unavailable" || !got[0].NextAttemptAt.Equal(at(10*time.Second)) {
		t.Fatalf("after retry: %+v, want Attempts 1, LastError and NextAttemptAt recorded", got)
	}
	must(t, s.FinishBackchannelLogout(ctx, got[0].ID, got[0].LeaseUntil), "FinishBackchannelLogout")
	wantErr(t, s.FinishBackchannelLogout(ctx, got[0].ID, got[0].LeaseUntil), store.ErrNotFound, "FinishBackchannelLogout twice")
	if n, err := s.PendingBackchannelLogouts(ctx); err != nil || n != 0 {
		t.Errorf("PendingBackchannelLogouts = %d, %v; want 0", n, err)
	}
}

// testRaceClaimLogouts: concurrent claimers (as on many instances) never
// get the same row.
func testRaceClaimLogouts(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	const sessions = 30
	must(t, s.CreateClient(ctx, store.Client{ID: "rp", BackchannelLogoutURI: "https://rp.example/bcl", CreatedAt: base}), "CreateClient")
	for i := range sessions {
		id := fmt.Sprintf("s%02d", i)
		must(t, s.CreateSession(ctx, fixSession(id, "u1", at(time.Hour))), "CreateSession")
		g := fixGrant("g"+id, "rp", "u1", at(time.Hour))
		g.SessionID = "sid-of-" + id
		must(t, s.CreateGrant(ctx, g, nil), "CreateGrant")
	}
	if _, queued, err := s.EndUserSessions(ctx, "u1", base); err != nil || queued != sessions {
		t.Fatalf("EndUserSessions queued %d, %v; want %d", queued, err, sessions)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	race(func(i int) {
		got, err := s.ClaimBackchannelLogouts(ctx, base, time.Minute, 3)
		if err != nil {
			t.Error(err)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		for _, l := range got {
			seen[l.ID]++
		}
	})
	for id, n := range seen {
		if n != 1 {
			t.Errorf("row %s claimed %d times by concurrent claimers", id, n)
		}
	}
	if want := min(sessions, 3*racers); len(seen) != want {
		t.Errorf("%d rows claimed, want %d", len(seen), want)
	}
}

// testRaceEndSession: a session ended concurrently (two tabs logging out)
// is notified once.
func testRaceEndSession(t *testing.T, s store.Store) {
	ctx := t.Context()
	bclFixture(t, s)
	errs := make([]error, racers)
	race(func(i int) { _, errs[i] = s.EndSession(ctx, "s1", base) })
	got := tally(errs, store.ErrNotFound)
	want := map[string]int{"nil": 1, store.ErrNotFound.Error(): racers - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent EndSession = %v, want %v", racers, got, want)
	}
	if n, err := s.PendingBackchannelLogouts(ctx); err != nil || n != 1 {
		t.Errorf("PendingBackchannelLogouts = %d, %v; want 1", n, err)
	}
}

// testEndSessionKillsCodes: a code issued in a session cannot be redeemed
// once the session ended (its client would hold tokens for an ended
// session and never hear of the logout); codes of other sessions and
// codes redeemed before are untouched.
func testEndSessionKillsCodes(t *testing.T, s store.Store) {
	ctx := t.Context()
	bclFixture(t, s)
	code := func(hash, session string) {
		c := fixCode(hash, "rp1", "u1", "gc-"+hash, at(time.Minute))
		c.SessionID = "sid-of-" + session
		must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode "+hash)
	}
	code("c1", "s1")
	code("c2", "s2")
	code("used", "s1")
	if _, err := s.ConsumeAuthCode(ctx, "used", base); err != nil {
		t.Fatal(err)
	}
	if _, err := s.EndSession(ctx, "s1", base); err != nil {
		t.Fatal(err)
	}
	_, err := s.ConsumeAuthCode(ctx, "c1", base)
	wantErr(t, err, store.ErrExpired, "ConsumeAuthCode(code of the ended session)")
	_, err = s.ConsumeAuthCode(ctx, "used", base)
	wantErr(t, err, store.ErrCodeUsed, "ConsumeAuthCode(code redeemed before the end)")
	if _, err := s.ConsumeAuthCode(ctx, "c2", base); err != nil {
		t.Errorf("ConsumeAuthCode(code of another session): %v", err)
	}
	code("c3", "s2")
	if _, _, err := s.EndUserSessions(ctx, "u1", base); err != nil {
		t.Fatal(err)
	}
	_, err = s.ConsumeAuthCode(ctx, "c3", base)
	wantErr(t, err, store.ErrExpired, "ConsumeAuthCode(code of a session ended by EndUserSessions)")
}

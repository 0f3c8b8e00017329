package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

func miscTests() []test {
	return []test{
		{"Key/CreateList", testKeyCreateList},
		{"Key/Duplicate", testKeyDuplicate},
		{"Key/Activate", testKeyActivate},
		{"Key/ActivateActive", testKeyActivateActive},
		{"Key/ActivateNotFound", testKeyActivateNotFound},
		{"Key/Delete", testKeyDelete},
		{"UseOnce", testUseOnce},
		{"Throttle/Window", testThrottleWindow},
		{"Throttle/Keys", testThrottleKeys},
		{"Throttle/Clear", testThrottleClear},
		{"Throttle/ReserveBudget", testReserveBudget},
		{"Throttle/ReserveAllOrNothing", testReserveAllOrNothing},
		{"Throttle/ReserveWindow", testReserveWindow},
		{"Throttle/Release", testReleaseAttempt},
		{"DeleteExpired/Batches", testDeleteExpiredBatches},
		{"DeleteExpired/KeepsLive", testDeleteExpiredKeeps},
		{"DeleteExpired/Failures", testDeleteExpiredFailures},
		{"Ping", testPing},
	}
}

// --- signing keys -----------------------------------------------------

func listKeys(t *testing.T, s store.Store) map[string]store.SigningKey {
	t.Helper()
	ks, err := s.ListKeys(t.Context())
	must(t, err, "ListKeys")
	m := make(map[string]store.SigningKey, len(ks))
	for _, k := range ks {
		m[k.ID] = k
	}
	return m
}

func testKeyCreateList(t *testing.T, s store.Store) {
	ctx := t.Context()
	ks, err := s.ListKeys(ctx)
	must(t, err, "ListKeys(empty store)")
	if len(ks) != 0 {
		t.Fatalf("ListKeys(empty store) = %d keys, want 0", len(ks))
	}
	k1 := fixKey("k1", "RS256", at(time.Hour))
	k2 := fixKey("k2", "ES256", at(3*time.Hour))
	k3 := fixKey("k3", "EdDSA", at(2*time.Hour))
	k4 := fixKey("k4", "RS256", at(3*time.Hour)) // same CreatedAt as k2: ID breaks the tie
	k5 := fixKey("k5", "RS256", at(time.Millisecond))
	k5.Active = true
	k5.RetiredAt = time.Time{}
	k6 := fixKey("k6", "ES256", at(-time.Hour))
	k6.RetiredAt = at(-time.Minute)
	for _, k := range []store.SigningKey{k1, k2, k3, k4, k5, k6} {
		must(t, s.CreateKey(ctx, k), "CreateKey("+k.ID+")")
	}
	ks, err = s.ListKeys(ctx)
	must(t, err, "ListKeys")
	// Newest first by CreatedAt, then by ID descending.
	checkEqual(t, "ListKeys (newest first)", ks, []store.SigningKey{k4, k2, k3, k1, k5, k6})
}

func testKeyDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k1", "RS256", base)), "CreateKey")
	wantErr(t, s.CreateKey(ctx, fixKey("k1", "ES256", at(time.Hour))), store.ErrAlreadyExists, "CreateKey(duplicate ID)")
	ks := listKeys(t, s)
	if len(ks) != 1 || ks["k1"].Alg != "RS256" {
		t.Errorf("ListKeys after duplicate = %v, want only the first k1", ks)
	}
}

func testKeyActivate(t *testing.T, s store.Store) {
	ctx := t.Context()
	old := fixKey("rs-old", "RS256", at(-2*time.Hour))
	old.RetiredAt = at(-time.Hour) // retired long ago
	for _, k := range []store.SigningKey{
		old,
		fixKey("rs-1", "RS256", base),
		fixKey("rs-2", "RS256", at(time.Millisecond)),
		fixKey("es-1", "ES256", base),
	} {
		must(t, s.CreateKey(ctx, k), "CreateKey("+k.ID+")")
	}
	t1 := at(time.Minute)
	must(t, s.ActivateKey(ctx, "rs-1", t1), "ActivateKey(rs-1)")
	must(t, s.ActivateKey(ctx, "es-1", t1), "ActivateKey(es-1)")
	t2 := at(time.Hour)
	must(t, s.ActivateKey(ctx, "rs-2", t2), "ActivateKey(rs-2)")

	ks := listKeys(t, s)
	for _, tc := range []struct {
		id      string
		active  bool
		retired time.Time
	}{
		{"rs-2", true, time.Time{}},
		{"rs-1", false, t2},               // retired by the switch
		{"rs-old", false, at(-time.Hour)}, // keeps its RetiredAt
		{"es-1", true, time.Time{}},       // other Alg untouched
	} {
		k, ok := ks[tc.id]
		if !ok {
			t.Errorf("key %q missing from ListKeys", tc.id)
			continue
		}
		if k.Active != tc.active || !k.RetiredAt.Equal(tc.retired) {
			t.Errorf("key %q = {Active %v, RetiredAt %s}, want {%v, %s}", tc.id, k.Active, fmtTime(k.RetiredAt), tc.active, fmtTime(tc.retired))
		}
	}
	// Key material is untouched by activation.
	checkEqual(t, "rs-2 material", ks["rs-2"].Private, fixKey("rs-2", "RS256", base).Private)
}

func testKeyActivateActive(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k", "EdDSA", base)), "CreateKey")
	must(t, s.ActivateKey(ctx, "k", at(time.Minute)), "ActivateKey")
	must(t, s.ActivateKey(ctx, "k", at(time.Hour)), "ActivateKey(already active)")
	k := listKeys(t, s)["k"]
	if !k.Active || !k.RetiredAt.IsZero() {
		t.Errorf("re-activated key = {Active %v, RetiredAt %s}, want {true, zero}", k.Active, fmtTime(k.RetiredAt))
	}
}

func testKeyActivateNotFound(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k", "RS256", base)), "CreateKey")
	must(t, s.ActivateKey(ctx, "k", base), "ActivateKey(k)")
	wantErr(t, s.ActivateKey(ctx, "nope", at(time.Minute)), store.ErrNotFound, `ActivateKey("nope")`)
	// The failed activation retired nothing.
	if k := listKeys(t, s)["k"]; !k.Active || !k.RetiredAt.IsZero() {
		t.Errorf("key after ActivateKey(unknown) = {Active %v, RetiredAt %s}, want still active", k.Active, fmtTime(k.RetiredAt))
	}
}

func testKeyDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateKey(ctx, fixKey("k1", "RS256", base)), "CreateKey(k1)")
	must(t, s.CreateKey(ctx, fixKey("k2", "RS256", base)), "CreateKey(k2)")
	must(t, s.DeleteKey(ctx, "k1"), "DeleteKey")
	ks := listKeys(t, s)
	if _, ok := ks["k1"]; ok || len(ks) != 1 {
		t.Errorf("ListKeys after DeleteKey(k1) has %d keys (k1 present: %v), want only k2", len(ks), ok)
	}
	wantErr(t, s.DeleteKey(ctx, "k1"), store.ErrNotFound, "DeleteKey twice")
	wantErr(t, s.ActivateKey(ctx, "k1", base), store.ErrNotFound, "ActivateKey(deleted)")
}

// --- one-time values and throttling -------------------------------------

func testUseOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.UseOnce(ctx, "dpop:jti-1", at(time.Minute)), "UseOnce (first)")
	wantErr(t, s.UseOnce(ctx, "dpop:jti-1", at(time.Minute)), store.ErrAlreadyExists, "UseOnce (second)")
	wantErr(t, s.UseOnce(ctx, "dpop:jti-1", at(time.Hour)), store.ErrAlreadyExists, "UseOnce (second, other expiry)")
	must(t, s.UseOnce(ctx, "dpop:jti-2", at(time.Minute)), "UseOnce (other key)")
	must(t, s.UseOnce(ctx, "DPOP:JTI-1", at(time.Minute)), "UseOnce (keys are case-sensitive)")
}

func testThrottleWindow(t *testing.T, s store.Store) {
	ctx := t.Context()
	const key = "login:alice"
	w := 10 * time.Second
	// Failures at base, +1s, +2s.
	for i, want := range []int{1, 2, 3} {
		n, err := s.RecordFailure(ctx, key, at(time.Duration(i)*time.Second), w)
		must(t, err, "RecordFailure")
		if n != want {
			t.Errorf("RecordFailure #%d = %d, want %d", i+1, n, want)
		}
	}
	// Failures counts the half-open window (now-window, now].
	for _, tc := range []struct {
		now  time.Duration
		want int
	}{
		{2 * time.Second, 3},
		{w - time.Millisecond, 3},
		{w, 2}, // base is now - window: outside
		{w + time.Second, 1},
		{w + 2*time.Second, 0},
		{time.Second, 2}, // the +2s failure is after now
		{-time.Second, 0},
	} {
		n, err := s.Failures(ctx, key, at(tc.now), w)
		must(t, err, "Failures")
		if n != tc.want {
			t.Errorf("Failures(now=base+%v, window %v) = %d, want %d", tc.now, w, n, tc.want)
		}
	}
	// A failure after a gap counts only what is still in the window.
	n, err := s.RecordFailure(ctx, key, at(w+time.Second+500*time.Millisecond), w)
	must(t, err, "RecordFailure after gap")
	if n != 2 {
		t.Errorf("RecordFailure at base+11.5s = %d, want 2 (+2s and itself)", n)
	}
	// The window is per call.
	n, err = s.Failures(ctx, key, at(w+2*time.Second), time.Hour)
	must(t, err, "Failures(1h window)")
	if n != 4 {
		t.Errorf("Failures(1h window) = %d, want 4", n)
	}
}

func testThrottleKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	for range 3 {
		_, err := s.RecordFailure(ctx, "a", base, time.Minute)
		must(t, err, "RecordFailure(a)")
	}
	n, err := s.RecordFailure(ctx, "b", base, time.Minute)
	must(t, err, "RecordFailure(b)")
	if n != 1 {
		t.Errorf("RecordFailure(b) after 3 failures of a = %d, want 1", n)
	}
	for _, tc := range []struct {
		key  string
		want int
	}{{"a", 3}, {"b", 1}, {"c", 0}, {"A", 0}} {
		n, err := s.Failures(ctx, tc.key, base, time.Minute)
		must(t, err, "Failures")
		if n != tc.want {
			t.Errorf("Failures(%q) = %d, want %d", tc.key, n, tc.want)
		}
	}
}

func testThrottleClear(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.ClearFailures(ctx, "never-seen"), "ClearFailures(unknown key)")
	for _, k := range []string{"a", "a", "b"} {
		_, err := s.RecordFailure(ctx, k, base, time.Minute)
		must(t, err, "RecordFailure")
	}
	must(t, s.ClearFailures(ctx, "a"), "ClearFailures(a)")
	for _, tc := range []struct {
		key  string
		want int
	}{{"a", 0}, {"b", 1}} {
		n, err := s.Failures(ctx, tc.key, base, time.Minute)
		must(t, err, "Failures")
		if n != tc.want {
			t.Errorf("Failures(%q) after ClearFailures(a) = %d, want %d", tc.key, n, tc.want)
		}
	}
	n, err := s.RecordFailure(ctx, "a", base, time.Minute)
	must(t, err, "RecordFailure after clear")
	if n != 1 {
		t.Errorf("RecordFailure after ClearFailures = %d, want 1", n)
	}
}

// testReserveBudget: sequential reservations get ok up to the limit, then
// are refused without being recorded.
func testReserveBudget(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := store.Budget{Key: "login:pair", Limit: 3}
	for i := 1; i <= 5; i++ {
		counts, ok, err := s.ReserveAttempt(ctx, at(time.Duration(i)*time.Second), time.Minute, b)
		must(t, err, "ReserveAttempt")
		want, wantOK := min(i, 3), i <= 3
		if ok != wantOK || len(counts) != 1 || counts[0] != want {
			t.Errorf("ReserveAttempt #%d = %v, %v; want [%d], %v", i, counts, ok, want, wantOK)
		}
	}
	n, err := s.Failures(ctx, b.Key, at(10*time.Second), time.Minute)
	must(t, err, "Failures")
	if n != 3 {
		t.Errorf("Failures after 5 reservations with limit 3 = %d, want 3 (refusals are not recorded)", n)
	}
}

// testReserveAllOrNothing: an attempt over one budget is recorded against
// none of them; a RecordFailure counts against the budget.
func testReserveAllOrNothing(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, err := s.RecordFailure(ctx, "full", base, time.Minute)
	must(t, err, "RecordFailure")
	counts, ok, err := s.ReserveAttempt(ctx, at(time.Second), time.Minute,
		store.Budget{Key: "free", Limit: 5}, store.Budget{Key: "full", Limit: 1})
	must(t, err, "ReserveAttempt")
	if ok || len(counts) != 2 || counts[0] != 0 || counts[1] != 1 {
		t.Errorf("ReserveAttempt(free, full) = %v, %v; want [0 1], false", counts, ok)
	}
	if n, _ := s.Failures(ctx, "free", at(time.Second), time.Minute); n != 0 {
		t.Errorf("Failures(free) after a refused reservation = %d, want 0", n)
	}
	counts, ok, err = s.ReserveAttempt(ctx, at(time.Second), time.Minute,
		store.Budget{Key: "free", Limit: 5}, store.Budget{Key: "other", Limit: 5})
	must(t, err, "ReserveAttempt")
	if !ok || len(counts) != 2 || counts[0] != 1 || counts[1] != 1 {
		t.Errorf("ReserveAttempt(free, other) = %v, %v; want [1 1], true", counts, ok)
	}
}

// testReserveWindow: reservations leave the budget as the window passes
// (an injected clock, half-open window (now-window, now]).
func testReserveWindow(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := 10 * time.Second
	b := store.Budget{Key: "k", Limit: 2}
	for _, tc := range []struct {
		now    time.Duration
		ok     bool
		counts int
	}{
		{0, true, 1},
		{time.Second, true, 2},
		{2 * time.Second, false, 2},
		{w - time.Millisecond, false, 2},
		{w, true, 2},               // the first left the window at base+w
		{w + time.Second, true, 2}, // the second left at base+w+1s
		{w + 2*time.Second, false, 2},
		{3 * w, true, 1},
	} {
		counts, ok, err := s.ReserveAttempt(ctx, at(tc.now), w, b)
		must(t, err, "ReserveAttempt")
		if ok != tc.ok || counts[0] != tc.counts {
			t.Errorf("ReserveAttempt(now=base+%v) = %v, %v; want [%d], %v", tc.now, counts, ok, tc.counts, tc.ok)
		}
	}
}

// testReleaseAttempt: a release removes exactly one reservation made at
// that instant, for each key named.
func testReleaseAttempt(t *testing.T, s store.Store) {
	ctx := t.Context()
	b := []store.Budget{{Key: "a", Limit: 2}, {Key: "b", Limit: 9}}
	for range 2 {
		_, ok, err := s.ReserveAttempt(ctx, base, time.Minute, b...)
		must(t, err, "ReserveAttempt")
		if !ok {
			t.Fatal("ReserveAttempt within budget refused")
		}
	}
	if _, ok, _ := s.ReserveAttempt(ctx, base, time.Minute, b...); ok {
		t.Fatal("third ReserveAttempt with limit 2 was ok")
	}
	must(t, s.ReleaseAttempt(ctx, base, "a", "b"), "ReleaseAttempt")
	must(t, s.ReleaseAttempt(ctx, at(time.Second), "a"), "ReleaseAttempt (no attempt at that time)")
	must(t, s.ReleaseAttempt(ctx, base, "never-seen"), "ReleaseAttempt (unknown key)")
	for _, tc := range []struct {
		key  string
		want int
	}{{"a", 1}, {"b", 1}} {
		if n, _ := s.Failures(ctx, tc.key, base, time.Minute); n != tc.want {
			t.Errorf("Failures(%q) after one release = %d, want %d", tc.key, n, tc.want)
		}
	}
	if _, ok, _ := s.ReserveAttempt(ctx, base, time.Minute, b...); !ok {
		t.Error("ReserveAttempt after a release refused")
	}
}

// --- DeleteExpired ----------------------------------------------------

// expiredKinds counts the record kinds DeleteExpired counts exactly in
// testDeleteExpiredBatches: codes, sessions, refresh tokens, grants,
// revoked access tokens, one-time values.
const expiredKinds = 6

// populateExpiry creates, for every kind, three rows expired before now
// ("x0".."x2"), one expiring exactly at now ("eq") and one live ("live").
// Refresh tokens hang on live "holder" grants and swept grants carry no
// refresh tokens, so the counts do not depend on cascades. It also adds
// rows that must survive any sweep: a used but unexpired code, a revoked
// but unexpired grant, a grant with no absolute expiry.
func populateExpiry(t *testing.T, s store.Store, now time.Time) {
	t.Helper()
	ctx := t.Context()
	seed(t, s)
	far := now.Add(24 * time.Hour)
	for _, sfx := range expirySuffixes {
		exp := expiryOf(sfx, now)
		must(t, s.CreateAuthCode(ctx, fixCode("code-"+sfx, clientA, user1, "gc-"+sfx, exp)), "CreateAuthCode")
		must(t, s.CreateSession(ctx, fixSession("sess-"+sfx, user1, exp)), "CreateSession")
		must(t, s.CreateGrant(ctx, fixGrant("grant-"+sfx, clientA, user1, exp), nil), "CreateGrant")
		holder := fixGrant("holder-"+sfx, clientA, user1, far)
		rt := fixRefresh("rt-"+sfx, holder, base, exp)
		must(t, s.CreateGrant(ctx, holder, &rt), "CreateGrant(holder)")
		must(t, s.RevokeAccessToken(ctx, "jti-"+sfx, exp), "RevokeAccessToken")
		must(t, s.UseOnce(ctx, "once-"+sfx, exp), "UseOnce")
	}
	must(t, s.CreateAuthCode(ctx, fixCode("code-used", clientA, user1, "gc-used", far)), "CreateAuthCode(used)")
	_, err := s.ConsumeAuthCode(ctx, "code-used", now.Add(-time.Hour))
	must(t, err, "ConsumeAuthCode(code-used)")
	must(t, s.RevokeGrant(ctx, "holder-live", now.Add(-time.Hour)), "RevokeGrant(holder-live)")
	must(t, s.CreateGrant(ctx, fixGrant("grant-forever", clientB, user2, time.Time{}), nil), "CreateGrant(no absolute expiry)")
}

var expirySuffixes = []string{"x0", "x1", "x2", "eq", "live"}

func expiryOf(sfx string, now time.Time) time.Time {
	switch sfx {
	case "x0":
		return now.Add(-time.Hour)
	case "x1":
		return now.Add(-time.Second)
	case "x2":
		return now.Add(-time.Millisecond)
	case "eq":
		return now // not before now: kept
	default:
		return now.Add(24 * time.Hour)
	}
}

// exists reports, for every kind, whether the row with that suffix is still
// there (observed through the public API only).
func exists(t *testing.T, s store.Store, sfx string) map[string]bool {
	t.Helper()
	ctx := t.Context()
	probe := at(-48 * time.Hour) // before every expiry: only deletion hides a row
	out := map[string]bool{}
	_, err := s.GetSession(ctx, "sess-"+sfx, probe)
	out["session"] = err == nil
	_, err = s.GetGrant(ctx, "grant-"+sfx)
	out["grant"] = err == nil
	_, err = s.GetRefreshToken(ctx, "rt-"+sfx)
	out["refresh"] = err == nil
	rev, err := s.IsAccessTokenRevoked(ctx, "jti-"+sfx)
	must(t, err, "IsAccessTokenRevoked")
	out["access"] = rev
	// UseOnce and ConsumeAuthCode change state, so they are probed last and
	// only by testDeleteExpiredKeeps' final check.
	return out
}

func testDeleteExpiredBatches(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	populateExpiry(t, s, now)

	// Three expired rows per kind, batch 2: 2 per kind, then 1, then 0.
	for i, want := range []int{2 * expiredKinds, 1 * expiredKinds, 0} {
		n, err := s.DeleteExpired(ctx, now, 2)
		must(t, err, "DeleteExpired")
		if n != want {
			t.Errorf("DeleteExpired(batch 2) call %d = %d, want %d", i+1, n, want)
		}
	}
	for _, sfx := range []string{"x0", "x1", "x2"} {
		for kind, ok := range exists(t, s, sfx) {
			if ok {
				t.Errorf("%s %q survived DeleteExpired", kind, sfx)
			}
		}
		_, err := s.ConsumeAuthCode(ctx, "code-"+sfx, at(-48*time.Hour))
		wantErr(t, err, store.ErrNotFound, "ConsumeAuthCode(swept code-"+sfx+")")
		must(t, s.UseOnce(ctx, "once-"+sfx, now.Add(time.Hour)), "UseOnce(swept once-"+sfx+") is free again")
	}
	for _, sfx := range []string{"eq", "live"} {
		for kind, ok := range exists(t, s, sfx) {
			if !ok {
				t.Errorf("%s %q (expiring at or after now) was deleted", kind, sfx)
			}
		}
	}
}

func testDeleteExpiredKeeps(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	populateExpiry(t, s, now)
	n, err := s.DeleteExpired(ctx, now, 1000)
	must(t, err, "DeleteExpired")
	if n != 3*expiredKinds {
		t.Errorf("DeleteExpired(batch 1000) = %d, want %d", n, 3*expiredKinds)
	}
	for _, sfx := range []string{"eq", "live"} {
		for kind, ok := range exists(t, s, sfx) {
			if !ok {
				t.Errorf("%s %q (expiring at or after now) was deleted", kind, sfx)
			}
		}
		wantErr(t, s.UseOnce(ctx, "once-"+sfx, far(now)), store.ErrAlreadyExists, "UseOnce(once-"+sfx+")")
		_, err := s.ConsumeAuthCode(ctx, "code-"+sfx, at(-48*time.Hour))
		must(t, err, "ConsumeAuthCode(code-"+sfx+")")
	}
	_, err = s.ConsumeAuthCode(ctx, "code-used", now)
	wantErr(t, err, store.ErrCodeUsed, "ConsumeAuthCode(used, unexpired code after sweep)")
	g, err := s.GetGrant(ctx, "holder-live")
	must(t, err, "GetGrant(revoked, unexpired grant after sweep)")
	if g.RevokedAt.IsZero() {
		t.Errorf("GetGrant(holder-live).RevokedAt is zero, want revoked")
	}
	_, err = s.GetGrant(ctx, "grant-forever")
	must(t, err, "GetGrant(grant with zero AbsoluteExpiresAt after sweep)")

	// Far in the future everything with an expiry goes, but never the
	// grant without an absolute expiry.
	_, err = s.DeleteExpired(ctx, at(10*365*24*time.Hour), 1000)
	must(t, err, "DeleteExpired(far future)")
	_, err = s.GetGrant(ctx, "grant-forever")
	must(t, err, "GetGrant(grant with zero AbsoluteExpiresAt after a far-future sweep)")
	_, err = s.GetGrant(ctx, "grant-live")
	wantErr(t, err, store.ErrNotFound, "GetGrant(grant-live) after a far-future sweep")
}

func far(now time.Time) time.Time { return now.Add(48 * time.Hour) }

func testDeleteExpiredFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	w := time.Minute
	for i := range 3 {
		_, err := s.RecordFailure(ctx, "k", at(time.Duration(i)*time.Second), w)
		must(t, err, "RecordFailure")
	}
	// A failure recorded with window w is of no use after its time + w.
	n, err := s.DeleteExpired(ctx, at(time.Hour), 100)
	must(t, err, "DeleteExpired")
	if n < 1 {
		t.Errorf("DeleteExpired after old failures = %d, want >= 1", n)
	}
	got, err := s.Failures(ctx, "k", at(2*time.Second), time.Hour)
	must(t, err, "Failures")
	if got != 0 {
		t.Errorf("Failures after sweeping = %d, want 0", got)
	}
	// A live failure counter is not swept.
	_, err = s.RecordFailure(ctx, "k2", at(time.Hour), w)
	must(t, err, "RecordFailure(k2)")
	_, err = s.DeleteExpired(ctx, at(time.Hour+time.Second), 100)
	must(t, err, "DeleteExpired")
	got, err = s.Failures(ctx, "k2", at(time.Hour+time.Second), w)
	must(t, err, "Failures(k2)")
	if got != 1 {
		t.Errorf("Failures(k2) after a sweep inside its window = %d, want 1", got)
	}
}

func testPing(t *testing.T, s store.Store) {
	must(t, s.Ping(t.Context()), "Ping")
}

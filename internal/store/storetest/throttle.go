package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

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
	// The window is per call, but a failure counts only until the expiry
	// it was recorded with (its time plus its window): a wider window
	// does not bring back expired ones (nor expired leases).
	for _, tc := range []struct {
		window time.Duration
		want   int
	}{
		{100 * time.Millisecond, 1}, // itself
		{time.Hour, 2},              // +2s (expires at +12s) and itself
	} {
		n, err = s.Failures(ctx, key, at(w+time.Second+500*time.Millisecond), tc.window)
		must(t, err, "Failures")
		if n != tc.want {
			t.Errorf("Failures(now=base+11.5s, window %v) = %d, want %d", tc.window, n, tc.want)
		}
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
		counts, ok, _, err := s.ReserveAttempt(ctx, at(time.Duration(i)*time.Second), time.Minute, time.Minute, b)
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
	counts, ok, _, err := s.ReserveAttempt(ctx, at(time.Second), time.Minute, time.Minute,
		store.Budget{Key: "free", Limit: 5}, store.Budget{Key: "full", Limit: 1})
	must(t, err, "ReserveAttempt")
	if ok || len(counts) != 2 || counts[0] != 0 || counts[1] != 1 {
		t.Errorf("ReserveAttempt(free, full) = %v, %v; want [0 1], false", counts, ok)
	}
	if n, _ := s.Failures(ctx, "free", at(time.Second), time.Minute); n != 0 {
		t.Errorf("Failures(free) after a refused reservation = %d, want 0", n)
	}
	counts, ok, _, err = s.ReserveAttempt(ctx, at(time.Second), time.Minute, time.Minute,
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
		counts, ok, _, err := s.ReserveAttempt(ctx, at(tc.now), w, w, b)
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
		_, ok, _, err := s.ReserveAttempt(ctx, base, time.Minute, time.Minute, b...)
		must(t, err, "ReserveAttempt")
		if !ok {
			t.Fatal("ReserveAttempt within budget refused")
		}
	}
	if _, ok, _, _ := s.ReserveAttempt(ctx, base, time.Minute, time.Minute, b...); ok {
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
	if _, ok, _, _ := s.ReserveAttempt(ctx, base, time.Minute, time.Minute, b...); !ok {
		t.Error("ReserveAttempt after a release refused")
	}
}

// testReserveLease: a reservation counts until its lease ends, not for
// the window (an unsettled attempt gives its room back); a lease longer
// than the window is cut to it.
func testReserveLease(t *testing.T, s store.Store) {
	ctx := t.Context()
	const w, lease = time.Minute, 10 * time.Second
	b := store.Budget{Key: "k", Limit: 2}
	for _, tc := range []struct {
		now    time.Duration
		ok     bool
		counts int
	}{
		{0, true, 1},
		{time.Second, true, 2},
		{2 * time.Second, false, 2},
		{lease - time.Millisecond, false, 2},
		{lease, true, 2}, // the first lease ended at base+lease
		{lease + 500*time.Millisecond, false, 2},
		{lease + time.Second, true, 2}, // the second ended at base+lease+1s
		{3 * lease, true, 1},           // every earlier one ended
	} {
		counts, ok, _, err := s.ReserveAttempt(ctx, at(tc.now), w, lease, b)
		must(t, err, "ReserveAttempt")
		if ok != tc.ok || counts[0] != tc.counts {
			t.Errorf("ReserveAttempt(now=base+%v, lease %v) = %v, %v; want [%d], %v", tc.now, lease, counts, ok, tc.counts, tc.ok)
		}
	}
	if n, _ := s.Failures(ctx, b.Key, at(3*lease+time.Millisecond), w); n != 1 {
		t.Errorf("Failures with one unexpired lease = %d, want 1", n)
	}
	// A lease longer than the window lasts the window.
	long := store.Budget{Key: "long", Limit: 1}
	if _, ok, _, err := s.ReserveAttempt(ctx, base, w, 2*w, long); err != nil || !ok {
		t.Fatalf("ReserveAttempt(lease 2w) = %v, %v; want ok", ok, err)
	}
	if _, ok, _, _ := s.ReserveAttempt(ctx, at(w-time.Millisecond), w, lease, long); ok {
		t.Error("ReserveAttempt within the window of a long lease was ok")
	}
	if _, ok, _, _ := s.ReserveAttempt(ctx, at(w), w, lease, long); !ok {
		t.Error("ReserveAttempt after the window of a long lease refused: the lease was not cut to the window")
	}
}

// testConfirmAttempt: a confirmed reservation counts as a failure for the
// whole window, one per key per call; a key without a reservation at that
// instant gets a failure anyway.
func testConfirmAttempt(t *testing.T, s store.Store) {
	ctx := t.Context()
	const w, lease = time.Minute, 10 * time.Second
	b := []store.Budget{{Key: "a", Limit: 5}, {Key: "b", Limit: 5}}
	for range 2 {
		if _, ok, _, err := s.ReserveAttempt(ctx, base, w, lease, b...); err != nil || !ok {
			t.Fatalf("ReserveAttempt = %v, %v; want ok", ok, err)
		}
	}
	counts, err := s.ConfirmAttempt(ctx, at(time.Second), base, w, "a", "b", "none")
	must(t, err, "ConfirmAttempt")
	if len(counts) != 3 || counts[0] != 1 || counts[1] != 1 || counts[2] != 1 {
		t.Errorf("ConfirmAttempt(a, b, none) = %v, want [1 1 1] (failures only, not the other lease)", counts)
	}
	for _, tc := range []struct {
		key  string
		now  time.Duration
		want int
	}{
		{"a", time.Second, 2}, // one failure, one lease
		{"a", lease, 1},       // the other lease ended
		{"a", w - time.Millisecond, 1},
		{"a", w, 0},
		{"b", 2 * lease, 1},
		{"none", 2 * lease, 1},
	} {
		n, err := s.Failures(ctx, tc.key, at(tc.now), w)
		must(t, err, "Failures")
		if n != tc.want {
			t.Errorf("Failures(%q, now=base+%v) after one ConfirmAttempt = %d, want %d", tc.key, tc.now, n, tc.want)
		}
	}
	// A release at the instant of a confirmed failure takes the lease,
	// never the failure.
	must(t, s.ReleaseAttempt(ctx, base, "a"), "ReleaseAttempt")
	if n, _ := s.Failures(ctx, "a", at(time.Second), w); n != 1 {
		t.Errorf("Failures(a) after releasing the lease beside a failure = %d, want 1", n)
	}
	if n, _ := s.Failures(ctx, "a", at(2*lease), w); n != 1 {
		t.Errorf("Failures(a) past the lease after the release = %d, want 1 (the failure)", n)
	}
	// A confirmed failure is not busy: the budget is spent.
	one := store.Budget{Key: "one", Limit: 1}
	if _, ok, _, _ := s.ReserveAttempt(ctx, base, w, lease, one); !ok {
		t.Fatal("ReserveAttempt of a fresh key refused")
	}
	_, err = s.ConfirmAttempt(ctx, at(time.Second), base, w, one.Key)
	must(t, err, "ConfirmAttempt")
	if _, ok, busy, _ := s.ReserveAttempt(ctx, at(2*lease), w, lease, one); ok || busy {
		t.Errorf("ReserveAttempt after a confirmed failure filled the budget = ok %v, busy %v; want neither", ok, busy)
	}
}

// testConfirmCounts: ConfirmAttempt counts the failures of the window,
// recorded ones included and leases left out.
func testConfirmCounts(t *testing.T, s store.Store) {
	ctx := t.Context()
	const w, lease = time.Minute, 10 * time.Second
	b := store.Budget{Key: "c", Limit: 9}
	_, err := s.RecordFailure(ctx, b.Key, base, w)
	must(t, err, "RecordFailure")
	for range 3 {
		if _, ok, _, err := s.ReserveAttempt(ctx, at(time.Second), w, lease, b); err != nil || !ok {
			t.Fatalf("ReserveAttempt = %v, %v; want ok", ok, err)
		}
	}
	for i, tc := range []struct {
		now  time.Duration
		want int
	}{
		{2 * time.Second, 2}, // the recorded one and this
		{2 * time.Second, 3},
		{w + 500*time.Millisecond, 3}, // the recorded one left the window
		{w + 500*time.Millisecond, 4}, // no lease left: a failure is recorded
	} {
		counts, err := s.ConfirmAttempt(ctx, at(tc.now), at(time.Second), w, b.Key)
		must(t, err, "ConfirmAttempt")
		if len(counts) != 1 || counts[0] != tc.want {
			t.Errorf("ConfirmAttempt #%d (now=base+%v) = %v, want [%d]", i+1, tc.now, counts, tc.want)
		}
	}
}

// testReserveBusy: a refusal is busy only when every full budget would
// have room without its unexpired leases.
func testReserveBusy(t *testing.T, s store.Store) {
	ctx := t.Context()
	const w, lease = time.Minute, 10 * time.Second
	reserve := func(now time.Duration, b ...store.Budget) (bool, bool) {
		t.Helper()
		_, ok, busy, err := s.ReserveAttempt(ctx, at(now), w, lease, b...)
		must(t, err, "ReserveAttempt")
		if ok && busy {
			t.Errorf("ReserveAttempt(%v) = ok and busy", b)
		}
		return ok, busy
	}
	leases := store.Budget{Key: "leases", Limit: 2}
	reserve(0, leases)
	reserve(0, leases)
	if ok, busy := reserve(time.Second, leases); ok || !busy {
		t.Errorf("budget full of leases: ok %v, busy %v; want refused, busy", ok, busy)
	}
	failures := store.Budget{Key: "failures", Limit: 2}
	for range 2 {
		_, err := s.RecordFailure(ctx, failures.Key, base, w)
		must(t, err, "RecordFailure")
	}
	if ok, busy := reserve(time.Second, failures); ok || busy {
		t.Errorf("budget full of failures: ok %v, busy %v; want refused, not busy", ok, busy)
	}
	if ok, busy := reserve(time.Second, leases, failures); ok || busy {
		t.Errorf("one budget full of leases, one of failures: ok %v, busy %v; want refused, not busy", ok, busy)
	}
	mixed := store.Budget{Key: "mixed", Limit: 2}
	_, err := s.RecordFailure(ctx, mixed.Key, base, w)
	must(t, err, "RecordFailure")
	reserve(0, mixed)
	if ok, busy := reserve(time.Second, mixed, store.Budget{Key: "free", Limit: 9}); ok || !busy {
		t.Errorf("budget full of one failure and one lease: ok %v, busy %v; want refused, busy", ok, busy)
	}
	if ok, busy := reserve(lease, mixed); !ok || busy {
		t.Errorf("after the lease ended: ok %v, busy %v; want ok", ok, busy)
	}
}

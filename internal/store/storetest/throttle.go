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

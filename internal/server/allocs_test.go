package server_test

import (
	"testing"
)

// hotHandlerAllocs bounds the heap allocations of one operation of the
// hot handlers through the whole stack (middleware, parsing, store,
// signing; httptest recorder and the test's JSON decoding included), on
// SQLite after warm-up: a deterministic guard (issue 13) that fails when
// a change adds allocations to a hot path. The bounds are the measured
// counts plus about 10 % (before issue 13: W1 711, W3 880, W4 845; after
// its first round 248, 691, 269; after the second — the pre-serialised JWS
// header and the decoded access claims in the verified-token cache — 187,
// 569, 237; after the third — hot SQLite statements without their
// context's cancellation — 187, 551, 228, and W2 (the whole code flow,
// guarded from then on: 914 before the round) 886; after the fourth — the
// introspection response a struct, not a map — W4 184).
var hotHandlerAllocs = map[string]float64{
	"W1": 206,
	"W2": 975,
	"W3": 606,
	"W4": 203,
}

func TestHotHandlerAllocs(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts differ under the race detector")
	}
	w := newWorkloadEnv(t, nil)
	ops := w.workloads(t)
	for _, wl := range []string{"W1", "W2", "W3", "W4"} {
		op := ops[wl]
		for range 3 {
			op()
		}
		got := testing.AllocsPerRun(20, op)
		t.Logf("%s: %.0f allocations per operation", wl, got)
		if got > hotHandlerAllocs[wl] {
			t.Errorf("%s: %.0f allocations per operation, bound %.0f", wl, got, hotHandlerAllocs[wl])
		}
	}
}

package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// testFailureKeys: FailureKeys lists each key of the prefix once, in
// order, only while one of its rows counts (failures and reservations),
// and never a key of another prefix, one that merely sorts near it, or
// an expired one.
func testFailureKeys(t *testing.T, s store.Store) {
	ctx := t.Context()
	for _, k := range []string{"lockout:client:b", "lockout:client:a", "lockout:client:a", "lockout:clienz", "lockout:client", "lockout:login:x", "client:a"} {
		_, err := s.RecordFailure(ctx, k, base, time.Minute)
		must(t, err, "RecordFailure("+k+")")
	}
	_, ok, _, err := s.ReserveAttempt(ctx, base, time.Minute, 10*time.Second, store.Budget{Key: "lockout:client:c", Limit: 1})
	must(t, err, "ReserveAttempt")
	if !ok {
		t.Fatal("ReserveAttempt on a fresh key refused")
	}
	_, err = s.RecordFailure(ctx, "lockout:client:old", base.Add(-2*time.Minute), time.Minute)
	must(t, err, "RecordFailure(old)")
	for _, tc := range []struct {
		now  time.Time
		want []string
	}{
		{base, []string{"lockout:client:a", "lockout:client:b", "lockout:client:c"}},
		{base.Add(30 * time.Second), []string{"lockout:client:a", "lockout:client:b"}}, // the lease ended
		{base.Add(time.Minute), nil},
	} {
		got, err := s.FailureKeys(ctx, "lockout:client:", tc.now)
		must(t, err, "FailureKeys")
		if !slices.Equal(got, tc.want) {
			t.Errorf("FailureKeys(lockout:client:, base+%v) = %q, want %q", tc.now.Sub(base), got, tc.want)
		}
	}
	if _, err := s.FailureKeys(ctx, "", base); err == nil {
		t.Error(`FailureKeys("") succeeded, want an error (every key would be listed)`)
	}
}

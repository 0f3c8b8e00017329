package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- one-time values and throttling -------------------------------------

func testUseOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.UseOnce(ctx, "dpop:jti-1", at(time.Minute)), "UseOnce (first)")
	wantErr(t, s.UseOnce(ctx, "dpop:jti-1", at(time.Minute)), store.ErrAlreadyExists, "UseOnce (second)")
	wantErr(t, s.UseOnce(ctx, "dpop:jti-1", at(time.Hour)), store.ErrAlreadyExists, "UseOnce (second, other expiry)")
	must(t, s.UseOnce(ctx, "dpop:jti-2", at(time.Minute)), "UseOnce (other key)")
	must(t, s.UseOnce(ctx, "DPOP:JTI-1", at(time.Minute)), "UseOnce (keys are case-sensitive)")
}

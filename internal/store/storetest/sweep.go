package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- DeleteExpired ----------------------------------------------------

// expiredKinds counts the record kinds DeleteExpired counts exactly in
// testDeleteExpiredBatches: codes, sessions, refresh tokens, grants,
// revoked access tokens, one-time values.
const expiredKinds = 6

// populateExpiry creates, for every kind, three rows expired before now
// ("x0".."x2"), one expiring exactly at now ("eq") and one live ("live").
// Refresh tokens hang on live "holder" grants and swept grants carry no
// refresh tokens, so the counts do not depend on cascades; they are
// rotated ones, swept at their expiry (an unrotated head is kept longer:
// testDeleteExpiredRefreshHeads). It also adds
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
		rt.RotatedAt, rt.SuccessorHash = base, "successor-of-rt-"+sfx
		must(t, s.CreateGrant(ctx, holder, &rt), "CreateGrant(holder)")
		must(t, s.RevokeAccessToken(ctx, "jti-"+sfx, exp), "RevokeAccessToken")
		must(t, s.UseOnce(ctx, "once-"+sfx, exp), "UseOnce")
	}
	must(t, s.CreateAuthCode(ctx, fixCode("code-used", clientA, user1, "gc-used", far)), "CreateAuthCode(used)")
	_, err := s.ConsumeAuthCode(ctx, "code-used", now.Add(-time.Hour))
	must(t, err, "ConsumeAuthCode(code-used)")
	must(t, s.RevokeGrant(ctx, "holder-live", now.Add(-time.Hour), store.ReasonAdmin), "RevokeGrant(holder-live)")
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

package storetest

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- authorization codes ----------------------------------------------

func testCodeConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	c := fixCode("code-1", clientA, user1, "grant-1", at(time.Minute))
	must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")

	now := at(10 * time.Second)
	got, err := s.ConsumeAuthCode(ctx, "code-1", now)
	must(t, err, "ConsumeAuthCode (first use)")
	want := c
	want.UsedAt = now
	checkEqual(t, "ConsumeAuthCode (first use)", got, want)

	// Second use: the record, with GrantID and the first UsedAt, and
	// ErrCodeUsed so the caller can revoke the grant (RFC 6749 §4.1.2).
	got, err = s.ConsumeAuthCode(ctx, "code-1", at(20*time.Second))
	wantErr(t, err, store.ErrCodeUsed, "ConsumeAuthCode (second use)")
	checkEqual(t, "ConsumeAuthCode (second use)", got, want)
	if got.GrantID != "grant-1" {
		t.Errorf("ConsumeAuthCode (second use).GrantID = %q, want %q", got.GrantID, "grant-1")
	}

	// Other codes are unaffected.
	must(t, s.CreateAuthCode(ctx, fixCode("code-2", clientA, user1, "grant-2", at(time.Minute))), "CreateAuthCode(code-2)")
	if _, err := s.ConsumeAuthCode(ctx, "code-2", now); err != nil {
		t.Errorf("ConsumeAuthCode(code-2): %v", err)
	}
}

func testCodeDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	c := fixCode("code-1", clientA, user1, "grant-1", at(time.Minute))
	must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
	d := fixCode("code-1", clientB, user2, "grant-2", at(time.Minute))
	wantErr(t, s.CreateAuthCode(ctx, d), store.ErrAlreadyExists, "CreateAuthCode(duplicate hash)")
	got, err := s.ConsumeAuthCode(ctx, "code-1", base)
	must(t, err, "ConsumeAuthCode")
	if got.GrantID != "grant-1" || got.ClientID != clientA {
		t.Errorf("ConsumeAuthCode after duplicate = grant %q client %q, want the first code's", got.GrantID, got.ClientID)
	}
}

func testCodeUnknown(t *testing.T, s store.Store) {
	_, err := s.ConsumeAuthCode(t.Context(), "nope", base)
	wantErr(t, err, store.ErrNotFound, `ConsumeAuthCode("nope")`)
}

func testCodeExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	exp := at(time.Minute)
	must(t, s.CreateAuthCode(ctx, fixCode("at-now", clientA, user1, "g1", exp)), "CreateAuthCode")
	must(t, s.CreateAuthCode(ctx, fixCode("past", clientA, user1, "g2", exp)), "CreateAuthCode")
	must(t, s.CreateAuthCode(ctx, fixCode("before", clientA, user1, "g3", exp)), "CreateAuthCode")

	_, err := s.ConsumeAuthCode(ctx, "at-now", exp) // ExpiresAt not after now
	wantErr(t, err, store.ErrExpired, "ConsumeAuthCode(now == ExpiresAt)")
	_, err = s.ConsumeAuthCode(ctx, "past", exp.Add(time.Hour))
	wantErr(t, err, store.ErrExpired, "ConsumeAuthCode(now > ExpiresAt)")
	got, err := s.ConsumeAuthCode(ctx, "before", exp.Add(-time.Millisecond))
	must(t, err, "ConsumeAuthCode(now = ExpiresAt-1ms)")
	if !got.UsedAt.Equal(exp.Add(-time.Millisecond)) {
		t.Errorf("ConsumeAuthCode.UsedAt = %s, want %s", fmtTime(got.UsedAt), fmtTime(exp.Add(-time.Millisecond)))
	}
}

func testCodeUsedAndExpired(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	exp := at(time.Minute)
	must(t, s.CreateAuthCode(ctx, fixCode("c", clientA, user1, "grant-x", exp)), "CreateAuthCode")
	_, err := s.ConsumeAuthCode(ctx, "c", base)
	must(t, err, "ConsumeAuthCode")
	// A replay after expiry must still be reported as a replay, so the
	// grant issued from the code can be revoked.
	got, err := s.ConsumeAuthCode(ctx, "c", exp.Add(time.Second))
	wantErr(t, err, store.ErrCodeUsed, "ConsumeAuthCode(used, then expired)")
	if got.GrantID != "grant-x" {
		t.Errorf("ConsumeAuthCode(used, then expired).GrantID = %q, want %q", got.GrantID, "grant-x")
	}
}

func testCodeGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	c := fixCode("c", clientA, user1, "grant-1", at(time.Minute))
	must(t, s.CreateAuthCode(ctx, c), "CreateAuthCode")
	got, err := s.GetAuthCode(ctx, "c")
	must(t, err, "GetAuthCode")
	checkEqual(t, "GetAuthCode", got, c)
	// No validity checks: a used code is returned as it is.
	used, err := s.ConsumeAuthCode(ctx, "c", base)
	must(t, err, "ConsumeAuthCode")
	got, err = s.GetAuthCode(ctx, "c")
	must(t, err, "GetAuthCode(used)")
	checkEqual(t, "GetAuthCode(used)", got, used)
	_, err = s.GetAuthCode(ctx, "nope")
	wantErr(t, err, store.ErrNotFound, `GetAuthCode("nope")`)
}

// testCodeRecordFailure: refused redemptions do not consume the code;
// the max-th kills it (expired now, never a replay).
func testCodeRecordFailure(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	exp := at(time.Minute)
	must(t, s.CreateAuthCode(ctx, fixCode("c", clientA, user1, "grant-1", exp)), "CreateAuthCode")
	must(t, s.CreateAuthCode(ctx, fixCode("d", clientA, user1, "grant-2", exp)), "CreateAuthCode(d)")
	for i := 1; i <= 2; i++ {
		n, err := s.RecordCodeFailure(ctx, "c", at(time.Duration(i)*time.Second), 3)
		if err != nil || n != i {
			t.Fatalf("RecordCodeFailure #%d = %d, %v; want %d, nil", i, n, err, i)
		}
	}
	got, err := s.GetAuthCode(ctx, "c")
	must(t, err, "GetAuthCode")
	if got.Failures != 2 || !got.UsedAt.IsZero() || !got.ExpiresAt.Equal(exp) {
		t.Errorf("after 2 failures = {Failures %d, UsedAt %s, ExpiresAt %s}, want {2, zero, %s}", got.Failures, fmtTime(got.UsedAt), fmtTime(got.ExpiresAt), fmtTime(exp))
	}
	// Two failures of at most 3 leave a code redeemable (shown on d).
	for range 2 {
		_, err := s.RecordCodeFailure(ctx, "d", at(time.Second), 3)
		must(t, err, "RecordCodeFailure(d)")
	}
	if _, err := s.ConsumeAuthCode(ctx, "d", at(2*time.Second)); err != nil {
		t.Errorf("ConsumeAuthCode after 2 of 3 failures: %v, want success", err)
	}
	// The third failure kills c in the same step.
	killedAt := at(3 * time.Second)
	n, err := s.RecordCodeFailure(ctx, "c", killedAt, 3)
	if err != nil || n != 3 {
		t.Fatalf("RecordCodeFailure #3 = %d, %v; want 3, nil", n, err)
	}
	got, err = s.GetAuthCode(ctx, "c")
	must(t, err, "GetAuthCode(dead)")
	if !got.ExpiresAt.Equal(killedAt) || !got.UsedAt.IsZero() {
		t.Errorf("dead code = {ExpiresAt %s, UsedAt %s}, want {%s, zero}", fmtTime(got.ExpiresAt), fmtTime(got.UsedAt), fmtTime(killedAt))
	}
	_, err = s.ConsumeAuthCode(ctx, "c", killedAt)
	wantErr(t, err, store.ErrExpired, "ConsumeAuthCode(dead code)")
	// Further failures count but never move the expiry later.
	n, err = s.RecordCodeFailure(ctx, "c", at(4*time.Second), 3)
	if err != nil || n != 4 {
		t.Errorf("RecordCodeFailure #4 = %d, %v; want 4, nil", n, err)
	}
	if got, _ := s.GetAuthCode(ctx, "c"); !got.ExpiresAt.Equal(killedAt) {
		t.Errorf("ExpiresAt after a 4th failure = %s, want %s", fmtTime(got.ExpiresAt), fmtTime(killedAt))
	}
}

func testCodeRecordFailureUsed(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateAuthCode(ctx, fixCode("c", clientA, user1, "grant-1", at(time.Minute))), "CreateAuthCode")
	used, err := s.ConsumeAuthCode(ctx, "c", base)
	must(t, err, "ConsumeAuthCode")
	_, err = s.RecordCodeFailure(ctx, "c", base, 3)
	wantErr(t, err, store.ErrCodeUsed, "RecordCodeFailure(used code)")
	got, err := s.GetAuthCode(ctx, "c")
	must(t, err, "GetAuthCode")
	checkEqual(t, "used code after RecordCodeFailure", got, used)
	_, err = s.RecordCodeFailure(ctx, "nope", base, 3)
	wantErr(t, err, store.ErrNotFound, `RecordCodeFailure("nope")`)
}

// --- RedeemAuthCode: the code exchange's one write -------------------

// redeemFixture stores a code for grant "grant-1" and returns it with the
// grant and first refresh token a redemption of it would store.
func redeemFixture(t *testing.T, s store.Store, expires time.Time) (store.AuthCode, store.Grant, store.RefreshToken) {
	t.Helper()
	seed(t, s)
	c := fixCode("code", clientA, user1, "grant-1", expires)
	must(t, s.CreateAuthCode(t.Context(), c), "CreateAuthCode")
	g := fixGrant("grant-1", clientA, user1, at(90*24*time.Hour))
	return c, g, fixRefresh("rt-1", g, at(7*time.Millisecond), at(30*24*time.Hour))
}

// wantNothingRedeemed checks that a refused redemption left the code as
// want and stored no grant and no refresh token rt.
func wantNothingRedeemed(t *testing.T, s store.Store, what string, want store.AuthCode, grantID, rt string) {
	t.Helper()
	ctx := t.Context()
	got, err := s.GetAuthCode(ctx, want.Hash)
	must(t, err, what+": GetAuthCode")
	checkEqual(t, what+": code", got, want)
	_, err = s.GetGrant(ctx, grantID)
	wantErr(t, err, store.ErrNotFound, what+": GetGrant (nothing may be inserted)")
	_, err = s.GetRefreshToken(ctx, rt)
	wantErr(t, err, store.ErrNotFound, what+": GetRefreshToken (nothing may be inserted)")
}

func testCodeRedeem(t *testing.T, s store.Store) {
	ctx := t.Context()
	c, g, rt := redeemFixture(t, s, at(time.Minute))
	now := at(10 * time.Second)
	got, err := s.RedeemAuthCode(ctx, "code", now, g, &rt)
	must(t, err, "RedeemAuthCode (first use)")
	want := c
	want.UsedAt = now
	checkEqual(t, "RedeemAuthCode (first use)", got, want)
	stored, err := s.GetAuthCode(ctx, "code")
	must(t, err, "GetAuthCode")
	checkEqual(t, "GetAuthCode after RedeemAuthCode", stored, want)
	gotG, err := s.GetGrant(ctx, g.ID)
	must(t, err, "GetGrant")
	checkEqual(t, "GetGrant after RedeemAuthCode", gotG, g)
	gotRT, err := s.GetRefreshToken(ctx, rt.Hash)
	must(t, err, "GetRefreshToken")
	checkEqual(t, "GetRefreshToken after RedeemAuthCode", gotRT, rt)

	// A replay (RFC 6749 §4.1.2), also once expired: the code with its
	// first UsedAt and ErrCodeUsed, and nothing inserted or changed.
	for _, when := range []time.Time{at(20 * time.Second), at(time.Hour)} {
		g2 := g
		g2.Nonce = "replayed"
		rt2 := fixRefresh("rt-2", g2, when, at(30*24*time.Hour))
		got, err = s.RedeemAuthCode(ctx, "code", when, g2, &rt2)
		wantErr(t, err, store.ErrCodeUsed, "RedeemAuthCode (replay at "+fmtTime(when)+")")
		checkEqual(t, "RedeemAuthCode (replay)", got, want)
		gotG, err = s.GetGrant(ctx, g.ID)
		must(t, err, "GetGrant after replay")
		checkEqual(t, "GetGrant after replay", gotG, g)
		_, err = s.GetRefreshToken(ctx, "rt-2")
		wantErr(t, err, store.ErrNotFound, "GetRefreshToken(rt-2) after replay")
	}
}

func testCodeRedeemWithoutRefresh(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, g, _ := redeemFixture(t, s, at(time.Minute))
	_, err := s.RedeemAuthCode(ctx, "code", base, g, nil)
	must(t, err, "RedeemAuthCode(nil refresh)")
	gotG, err := s.GetGrant(ctx, g.ID)
	must(t, err, "GetGrant")
	checkEqual(t, "GetGrant", gotG, g)
}

// testCodeRedeemRefused: every refusal leaves the code unused and inserts
// nothing.
func testCodeRedeemRefused(t *testing.T, s store.Store) {
	ctx := t.Context()
	exp := at(time.Minute)
	c, g, rt := redeemFixture(t, s, exp)

	_, err := s.RedeemAuthCode(ctx, "nope", base, g, &rt)
	wantErr(t, err, store.ErrNotFound, `RedeemAuthCode("nope")`)
	wantNothingRedeemed(t, s, "unknown code", c, g.ID, rt.Hash)

	_, err = s.RedeemAuthCode(ctx, "code", exp, g, &rt) // ExpiresAt not after now
	wantErr(t, err, store.ErrExpired, "RedeemAuthCode(now == ExpiresAt)")
	wantNothingRedeemed(t, s, "expired code", c, g.ID, rt.Hash)

	// The grant must be the code's (and the refresh token the grant's).
	other := g
	other.ID = "grant-other"
	otherRT := fixRefresh("rt-1", other, base, exp)
	for _, tc := range []struct {
		what string
		g    store.Grant
		rt   *store.RefreshToken
	}{
		{"grant ID not the code's", other, &otherRT},
		{"grant ID not the code's, no refresh", other, nil},
		{"refresh token of another grant", g, &otherRT},
	} {
		_, err = s.RedeemAuthCode(ctx, "code", base, tc.g, tc.rt)
		if err == nil || errorsIs(err, store.ErrCodeUsed) || errorsIs(err, store.ErrNotFound) || errorsIs(err, store.ErrExpired) {
			t.Errorf("RedeemAuthCode(%s) = %v, want a refusal that is no sentinel", tc.what, err)
		}
		wantNothingRedeemed(t, s, tc.what, c, g.ID, rt.Hash)
		wantNothingRedeemed(t, s, tc.what, c, other.ID, rt.Hash)
	}

	// A taken grant ID: ErrAlreadyExists and the code stays unused.
	must(t, s.CreateAuthCode(ctx, fixCode("dup", clientA, user1, "grant-taken", exp)), "CreateAuthCode(dup)")
	taken := fixGrant("grant-taken", clientA, user1, exp)
	must(t, s.CreateGrant(ctx, taken, nil), "CreateGrant(grant-taken)")
	_, err = s.RedeemAuthCode(ctx, "dup", base, taken, nil)
	wantErr(t, err, store.ErrAlreadyExists, "RedeemAuthCode(grant ID taken)")
	if got, _ := s.GetAuthCode(ctx, "dup"); !got.UsedAt.IsZero() {
		t.Errorf("code used (UsedAt %s) by a redemption that failed to insert its grant", fmtTime(got.UsedAt))
	}

	// A dead code (RecordCodeFailure's max-th) is expired, not used.
	killedAt := at(time.Second)
	for range 3 {
		_, err := s.RecordCodeFailure(ctx, "code", killedAt, 3)
		must(t, err, "RecordCodeFailure")
	}
	dead, err := s.GetAuthCode(ctx, "code")
	must(t, err, "GetAuthCode(dead)")
	_, err = s.RedeemAuthCode(ctx, "code", killedAt, g, &rt)
	wantErr(t, err, store.ErrExpired, "RedeemAuthCode(dead code)")
	wantNothingRedeemed(t, s, "dead code", dead, g.ID, rt.Hash)

	// After all these refusals a fresh code still redeems (nothing was
	// left half-done).
	must(t, s.CreateAuthCode(ctx, fixCode("fresh", clientA, user1, "grant-1", exp)), "CreateAuthCode(fresh)")
	_, err = s.RedeemAuthCode(ctx, "fresh", base, g, &rt)
	must(t, err, "RedeemAuthCode(fresh)")
}

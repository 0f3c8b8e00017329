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

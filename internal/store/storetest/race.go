package storetest

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// racers is how many goroutines each race test starts. They are released
// together so the calls overlap as much as the backend allows.
const racers = 24

func raceTests() []test {
	return []test{
		{"Race/ConsumeAuthCode", testRaceConsume},
		{"Race/RecordCodeFailure", testRaceRecordCodeFailure},
		{"Race/ConsumeVersusCodeFailures", testRaceConsumeVersusFailures},
		{"Race/RedeemAuthCode", testRaceRedeem},
		{"Race/RedeemVersusCodeFailures", testRaceRedeemVersusFailures},
		{"Race/RotateNoGrace", testRaceRotateNoGrace},
		{"Race/RotateGrace", testRaceRotateGrace},
		{"Race/RotateGraceOlderToken", testRaceRotateGraceOlder},
		{"Race/RotateVersusRevokeGrant", testRaceRotateVersusRevokeGrant},
		{"Race/UseOnce", testRaceUseOnce},
		{"Race/CreateUserUsername", testRaceCreateUser},
		{"Race/ScheduleKeyFirst", testRaceScheduleKeyFirst},
		{"Race/ScheduleKeyNext", testRaceScheduleKeyNext},
		{"Race/RecordFailure", testRaceRecordFailure},
		{"Race/ReserveAttempt", testRaceReserveAttempt},
		{"Race/ConfirmAttempt", testRaceConfirmAttempt},
		{"Race/RevokeReason", testRaceRevokeReason},
	}
}

// race runs fn(i) for i in [0, racers) on racers goroutines released at once.
func race(fn func(i int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range racers {
		wg.Go(func() {
			<-start
			fn(i)
		})
	}
	close(start)
	wg.Wait()
}

// tally counts errors by sentinel; unexpected errors are listed as such.
func tally(errs []error, sentinels ...error) map[string]int {
	m := map[string]int{}
next:
	for _, err := range errs {
		if err == nil {
			m["nil"]++
			continue
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				m[s.Error()]++
				continue next
			}
		}
		m["unexpected: "+err.Error()]++
	}
	return m
}

func testRaceConsume(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateAuthCode(ctx, fixCode("code", clientA, user1, "grant-1", at(time.Minute))), "CreateAuthCode")
	errs := make([]error, racers)
	codes := make([]store.AuthCode, racers)
	race(func(i int) {
		codes[i], errs[i] = s.ConsumeAuthCode(ctx, "code", at(time.Duration(i)*time.Millisecond))
	})
	got := tally(errs, store.ErrCodeUsed)
	want := map[string]int{"nil": 1, store.ErrCodeUsed.Error(): racers - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent ConsumeAuthCode = %v, want %v", racers, got, want)
	}
	var usedAt time.Time
	for i, err := range errs {
		if err == nil {
			usedAt = codes[i].UsedAt
		}
	}
	for i := range codes {
		if codes[i].GrantID != "grant-1" || !codes[i].UsedAt.Equal(usedAt) {
			t.Errorf("caller %d got {GrantID %q, UsedAt %s}, want {grant-1, the winner's %s}", i, codes[i].GrantID, fmtTime(codes[i].UsedAt), fmtTime(usedAt))
		}
	}
}

func testRaceRotateNoGrace(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	now := at(time.Hour)
	errs := make([]error, racers)
	results := make([]store.RotateResult, racers)
	race(func(i int) {
		_, results[i], errs[i] = s.RotateRefreshToken(ctx, "rt-0", nextRT(g, fmt.Sprintf("next-%d", i), now), now, 0)
	})
	rotated, reused, revoked, other := 0, 0, 0, 0
	winner := -1
	for i, err := range errs {
		switch {
		case err == nil && results[i] == store.RotateRotated:
			rotated++
			winner = i
		case errors.Is(err, store.ErrRefreshReused):
			reused++
		case errors.Is(err, store.ErrRevoked):
			// A caller that arrives after the reuse revoked the grant.
			revoked++
		default:
			other++
			t.Errorf("caller %d: %v, %v; want RotateRotated, ErrRefreshReused or ErrRevoked", i, results[i], err)
		}
	}
	if rotated != 1 || reused < 1 || rotated+reused+revoked != racers {
		t.Fatalf("%d concurrent rotations with grace 0: %d rotated, %d reused, %d revoked, %d other; want exactly 1 rotated, >= 1 reused, rest reused or revoked",
			racers, rotated, reused, revoked, other)
	}
	if ra := grantRevokedAt(t, s, g.ID); ra.IsZero() {
		t.Errorf("grant not revoked after concurrent reuse")
	}
	old, err := s.GetRefreshToken(ctx, "rt-0")
	must(t, err, "GetRefreshToken(rt-0)")
	if want := fmt.Sprintf("next-%d", winner); old.SuccessorHash != want {
		t.Errorf("rt-0.SuccessorHash = %q, want the winner's %q", old.SuccessorHash, want)
	}
	for i := range racers {
		_, err := s.GetRefreshToken(ctx, fmt.Sprintf("next-%d", i))
		if (err == nil) != (i == winner) {
			t.Errorf("GetRefreshToken(next-%d) = %v; only the winner's successor (next-%d) may exist", i, err, winner)
		}
	}
	_, _, err = s.RotateRefreshToken(ctx, fmt.Sprintf("next-%d", winner), nextRT(g, "after", now), now, 0)
	wantErr(t, err, store.ErrRevoked, "RotateRefreshToken(winner's successor)")
}

func testRaceRotateGrace(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _ := refreshFixture(t, s)
	now := at(time.Hour)
	errs := make([]error, racers)
	results := make([]store.RotateResult, racers)
	olds := make([]store.RefreshToken, racers)
	race(func(i int) {
		olds[i], results[i], errs[i] = s.RotateRefreshToken(ctx, "rt-0", nextRT(g, fmt.Sprintf("next-%d", i), now), now, time.Hour)
	})
	count := map[store.RotateResult]int{}
	winner := -1
	for i, err := range errs {
		if err != nil {
			t.Errorf("caller %d: %v; want no error within grace", i, err)
			continue
		}
		count[results[i]]++
		if results[i] == store.RotateRotated {
			winner = i
		}
	}
	if count[store.RotateRotated] != 1 || count[store.RotateGrace] != racers-1 {
		t.Fatalf("%d concurrent rotations within grace: %d rotated, %d grace; want 1 and %d",
			racers, count[store.RotateRotated], count[store.RotateGrace], racers-1)
	}
	want := fmt.Sprintf("next-%d", winner)
	for i := range olds {
		if olds[i].SuccessorHash != want {
			t.Errorf("caller %d: old.SuccessorHash = %q, want the winner's %q", i, olds[i].SuccessorHash, want)
		}
	}
	if ra := grantRevokedAt(t, s, g.ID); !ra.IsZero() {
		t.Errorf("grant revoked at %s after rotations within grace, want live", fmtTime(ra))
	}
	for i := range racers {
		_, err := s.GetRefreshToken(ctx, fmt.Sprintf("next-%d", i))
		if (err == nil) != (i == winner) {
			t.Errorf("GetRefreshToken(next-%d) = %v; only the winner's successor (next-%d) may exist", i, err, winner)
		}
	}
}

func testRaceUseOnce(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := make([]error, racers)
	race(func(i int) { errs[i] = s.UseOnce(ctx, "jti", at(time.Minute)) })
	got := tally(errs, store.ErrAlreadyExists)
	want := map[string]int{"nil": 1, store.ErrAlreadyExists.Error(): racers - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent UseOnce = %v, want %v", racers, got, want)
	}
}

func testRaceCreateUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := make([]error, racers)
	race(func(i int) { errs[i] = s.CreateUser(ctx, fixUser(fmt.Sprintf("u%d", i), "alice")) })
	got := tally(errs, store.ErrAlreadyExists)
	want := map[string]int{"nil": 1, store.ErrAlreadyExists.Error(): racers - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent CreateUser with one username = %v, want %v", racers, got, want)
	}
	users, err := s.ListUsers(ctx)
	must(t, err, "ListUsers")
	if len(users) != 1 {
		t.Errorf("ListUsers = %d users, want 1", len(users))
	}
}

// testRaceScheduleKeyFirst: N instances start at once on an empty store,
// each with its own first key (its own clock): exactly one key is stored.
func testRaceScheduleKeyFirst(t *testing.T, s store.Store) {
	ctx := t.Context()
	errs := make([]error, racers)
	race(func(i int) {
		k := fixKey(fmt.Sprintf("k%02d", i), "ES256", at(time.Duration(i)*time.Millisecond))
		k.ActivateAt = k.CreatedAt
		errs[i] = s.ScheduleKey(ctx, k, time.Time{})
	})
	checkOneScheduled(t, s, errs, "ES256", "ScheduleKey(first key)")
}

// testRaceScheduleKeyNext: N instances find the rotation due at once and
// each schedules a next key (different activation times): exactly one is
// stored.
func testRaceScheduleKeyNext(t *testing.T, s store.Store) {
	ctx := t.Context()
	cur := fixKey("current", "ES256", base)
	cur.ActivateAt = base
	must(t, s.CreateKey(ctx, cur), "CreateKey(current)")
	now := at(time.Hour)
	errs := make([]error, racers)
	race(func(i int) {
		k := fixKey(fmt.Sprintf("k%02d", i), "ES256", now)
		k.ActivateAt = now.Add(10*time.Minute + time.Duration(i)*time.Second)
		errs[i] = s.ScheduleKey(ctx, k, now)
	})
	checkOneScheduled(t, s, errs, "ES256", "ScheduleKey(next key)")
}

func checkOneScheduled(t *testing.T, s store.Store, errs []error, alg, what string) {
	t.Helper()
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrAlreadyExists):
			t.Errorf("%s #%d: %v, want nil or ErrAlreadyExists", what, i, err)
		}
	}
	stored := 0
	for id := range listKeys(t, s) {
		if strings.HasPrefix(id, "k") {
			stored++
		}
	}
	if won != 1 || stored != 1 {
		t.Errorf("%d concurrent %s: %d succeeded, %d stored; want exactly 1 and 1", racers, what, won, stored)
	}
}

func testRaceRecordFailure(t *testing.T, s store.Store) {
	ctx := t.Context()
	counts := make([]int, racers)
	errs := make([]error, racers)
	race(func(i int) { counts[i], errs[i] = s.RecordFailure(ctx, "k", base, time.Minute) })
	// Each count includes the caller's own failure; under concurrency a
	// backend may or may not see the others' uncommitted ones, so only the
	// final total is exact.
	for i, err := range errs {
		if err != nil {
			t.Fatalf("RecordFailure #%d: %v", i, err)
		}
		if counts[i] < 1 || counts[i] > racers {
			t.Errorf("RecordFailure #%d = %d, want within [1, %d]", i, counts[i], racers)
		}
	}
	n, err := s.Failures(ctx, "k", base, time.Minute)
	must(t, err, "Failures")
	if n != racers {
		t.Errorf("Failures after %d concurrent RecordFailure = %d, want %d", racers, n, racers)
	}
}

// testRaceReserveAttempt: racers concurrent reservations (leases shorter
// than the window) of one budget (shared with a second key per racer, so
// keys are locked in several orders): exactly limit get ok, and exactly
// limit are recorded.
func testRaceReserveAttempt(t *testing.T, s store.Store) {
	ctx := t.Context()
	const limit = 5
	oks := make([]bool, racers)
	errs := make([]error, racers)
	race(func(i int) {
		_, oks[i], _, errs[i] = s.ReserveAttempt(ctx, base, time.Minute, 10*time.Second,
			store.Budget{Key: fmt.Sprintf("ip:%d", i%3), Limit: racers},
			store.Budget{Key: "user", Limit: limit})
	})
	got := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("ReserveAttempt #%d: %v", i, err)
		}
		if oks[i] {
			got++
		}
	}
	if got != limit {
		t.Errorf("%d concurrent ReserveAttempt with limit %d: %d ok, want exactly %d", racers, limit, got, limit)
	}
	n, err := s.Failures(ctx, "user", base, time.Minute)
	must(t, err, "Failures")
	if n != limit {
		t.Errorf("Failures after the burst = %d, want %d", n, limit)
	}
}

// testRaceConfirmAttempt: racers reservations made at one instant, then
// confirmed all at once: every one becomes a failure (no two
// confirmations take the same row), so all count after the leases end,
// and the confirmations return the distinct counts 1..racers (exactly
// one sees the budget filled).
func testRaceConfirmAttempt(t *testing.T, s store.Store) {
	ctx := t.Context()
	const lease = 10 * time.Second
	b := store.Budget{Key: "pair", Limit: racers}
	for i := range racers {
		if _, ok, _, err := s.ReserveAttempt(ctx, base, time.Minute, lease, b); err != nil || !ok {
			t.Fatalf("ReserveAttempt #%d = %v, %v; want ok", i, ok, err)
		}
	}
	errs := make([]error, racers)
	counts := make([][]int, racers)
	race(func(i int) { counts[i], errs[i] = s.ConfirmAttempt(ctx, at(time.Second), base, time.Minute, b.Key) })
	seen := make(map[int]bool)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("ConfirmAttempt #%d: %v", i, err)
		}
		if len(counts[i]) != 1 || counts[i][0] < 1 || counts[i][0] > racers || seen[counts[i][0]] {
			t.Errorf("ConfirmAttempt #%d = %v, want a count in [1, %d] no other confirmation got", i, counts[i], racers)
		} else {
			seen[counts[i][0]] = true
		}
	}
	n, err := s.Failures(ctx, b.Key, at(2*lease), time.Minute)
	must(t, err, "Failures")
	if n != racers {
		t.Errorf("Failures after %d concurrent ConfirmAttempt, past the leases = %d, want %d", racers, n, racers)
	}
}

// testRaceRotateGraceOlder: with rt-0 → rt-1 → rt-2, a burst of rt-0 (an
// old token, inside its window) and rt-1 (the head's predecessor) at once.
// No rt-0 caller may get RotateGrace; the family ends revoked; rt-1
// callers get RotateGrace (before the revocation) or ErrRevoked (after).
func testRaceRotateGraceOlder(t *testing.T, s store.Store) {
	ctx := t.Context()
	g, _, t2 := chainFixture(t, s)
	now := t2.Add(time.Second)
	errs := make([]error, racers)
	results := make([]store.RotateResult, racers)
	race(func(i int) {
		hash := []string{"rt-0", "rt-1"}[i%2]
		_, results[i], errs[i] = s.RotateRefreshToken(ctx, hash, nextRT(g, fmt.Sprintf("next-%d", i), now), now, time.Minute)
	})
	reused := 0
	for i, err := range errs {
		switch {
		case i%2 == 0 && errors.Is(err, store.ErrRefreshReused):
			reused++
		case errors.Is(err, store.ErrRevoked):
		case i%2 == 1 && err == nil && results[i] == store.RotateGrace:
		default:
			t.Errorf("caller %d (%s): %v, %v; want ErrRefreshReused/ErrRevoked for rt-0, RotateGrace/ErrRevoked for rt-1", i, []string{"rt-0", "rt-1"}[i%2], results[i], err)
		}
	}
	if reused < 1 {
		t.Errorf("no rt-0 caller saw ErrRefreshReused")
	}
	if ra := grantRevokedAt(t, s, g.ID); ra.IsZero() {
		t.Errorf("grant live after concurrent presentations of an old token")
	}
	for i := range racers {
		if _, err := s.GetRefreshToken(ctx, fmt.Sprintf("next-%d", i)); err == nil {
			t.Errorf("next-%d was inserted; nobody may rotate", i)
		}
	}
}

// testRaceRecordCodeFailure: a burst of refused redemptions of one code.
// Every caller gets a distinct count, and the code ends dead.
func testRaceRecordCodeFailure(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateAuthCode(ctx, fixCode("code", clientA, user1, "grant-1", at(time.Minute))), "CreateAuthCode")
	counts := make([]int, racers)
	errs := make([]error, racers)
	race(func(i int) {
		counts[i], errs[i] = s.RecordCodeFailure(ctx, "code", at(time.Second), 3)
	})
	seen := map[int]bool{}
	for i, err := range errs {
		if err != nil || counts[i] < 1 || counts[i] > racers || seen[counts[i]] {
			t.Errorf("caller %d: count %d, %v; want a distinct count in [1, %d]", i, counts[i], err, racers)
		}
		seen[counts[i]] = true
	}
	_, err := s.ConsumeAuthCode(ctx, "code", at(time.Second))
	wantErr(t, err, store.ErrExpired, "ConsumeAuthCode after a burst of failures")
}

// testRaceConsumeVersusFailures: one redemption races a burst of refused
// ones. Either the redemption wins (then fewer than 3 failures were
// counted before it and every later one gets ErrCodeUsed), or the code
// died first (ErrExpired, at least 3 failures). Never ErrCodeUsed for the
// redemption: failures are not uses.
func testRaceConsumeVersusFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateAuthCode(ctx, fixCode("code", clientA, user1, "grant-1", at(time.Minute))), "CreateAuthCode")
	now := at(time.Second)
	var consumeErr error
	errs := make([]error, racers)
	race(func(i int) {
		if i == racers/2 {
			_, consumeErr = s.ConsumeAuthCode(ctx, "code", now)
			return
		}
		_, errs[i] = s.RecordCodeFailure(ctx, "code", now, 3)
	})
	counted := 0
	for i, err := range errs {
		switch {
		case i == racers/2:
		case err == nil:
			counted++
		case errors.Is(err, store.ErrCodeUsed):
		default:
			t.Errorf("failure %d: %v", i, err)
		}
	}
	switch {
	case consumeErr == nil:
		if counted >= racers-1 {
			t.Errorf("every failure was counted, yet the code was consumed")
		}
		got, err := s.GetAuthCode(ctx, "code")
		must(t, err, "GetAuthCode")
		if got.Failures >= 3 {
			t.Errorf("the code was consumed with %d failures counted before; at most 2 may precede a successful redemption", got.Failures)
		}
	case errors.Is(consumeErr, store.ErrExpired):
		if counted < 3 {
			t.Errorf("ConsumeAuthCode = ErrExpired after only %d failures", counted)
		}
	default:
		t.Errorf("ConsumeAuthCode = %v; want success or ErrExpired (a failure is never a use)", consumeErr)
	}
}

// testRaceRedeem: racers redemptions of one code, each with its own first
// refresh token. Exactly one succeeds; every other caller gets ErrCodeUsed
// with the code, and at the moment it returns the winner's grant is
// already visible, so a loser revoking the code's GrantID (RFC 9700 §4.5)
// always finds it. Only the winner's refresh token is stored. Several
// rounds (one code each), since a violation needs a loser to answer in
// the short moment between the code being marked used and the grant being
// committed.
func testRaceRedeem(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	const rounds = 16
	for r := range rounds {
		hash, grantID := fmt.Sprintf("code-%d", r), fmt.Sprintf("grant-%d", r)
		must(t, s.CreateAuthCode(ctx, fixCode(hash, clientA, user1, grantID, at(time.Minute))), "CreateAuthCode")
		g := fixGrant(grantID, clientA, user1, at(90*24*time.Hour))
		rtHash := func(i int) string { return fmt.Sprintf("rt-%d-%d", r, i) }
		errs := make([]error, racers)
		codes := make([]store.AuthCode, racers)
		grantErrs := make([]error, racers)
		race(func(i int) {
			now := at(time.Duration(i) * time.Millisecond)
			rt := fixRefresh(rtHash(i), g, now, at(30*24*time.Hour))
			codes[i], errs[i] = s.RedeemAuthCode(ctx, hash, now, g, &rt)
			if errors.Is(errs[i], store.ErrCodeUsed) {
				// Immediately, before anything else can run: the property.
				_, grantErrs[i] = s.GetGrant(ctx, codes[i].GrantID)
			}
		})
		got := tally(errs, store.ErrCodeUsed)
		want := map[string]int{"nil": 1, store.ErrCodeUsed.Error(): racers - 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("round %d: %d concurrent RedeemAuthCode = %v, want %v", r, racers, got, want)
		}
		winner := -1
		for i, err := range errs {
			if err == nil {
				winner = i
			}
		}
		for i := range codes {
			if codes[i].GrantID != g.ID || !codes[i].UsedAt.Equal(codes[winner].UsedAt) {
				t.Errorf("round %d: caller %d got {GrantID %q, UsedAt %s}, want {%s, the winner's %s}", r, i, codes[i].GrantID, fmtTime(codes[i].UsedAt), g.ID, fmtTime(codes[winner].UsedAt))
			}
			if i != winner && grantErrs[i] != nil {
				t.Errorf("round %d: loser %d: GetGrant(%q) right after ErrCodeUsed = %v; the winner's grant must be visible by then", r, i, g.ID, grantErrs[i])
			}
			_, err := s.GetRefreshToken(ctx, rtHash(i))
			switch {
			case i == winner && err != nil:
				t.Errorf("round %d: winner's refresh token: %v", r, err)
			case i != winner && !errors.Is(err, store.ErrNotFound):
				t.Errorf("round %d: loser %d's refresh token: %v, want ErrNotFound (nothing inserted)", r, i, err)
			}
		}
	}
}

// testRaceRedeemVersusFailures: one redemption races a burst of refused
// ones (as testRaceConsumeVersusFailures). Either it wins, with fewer than
// 3 failures counted before it and its grant stored, or the code died
// first: ErrExpired, at least 3 failures, and no grant. Never ErrCodeUsed.
func testRaceRedeemVersusFailures(t *testing.T, s store.Store) {
	ctx := t.Context()
	_, g, rt := redeemFixture(t, s, at(time.Minute))
	now := at(time.Second)
	var redeemErr error
	errs := make([]error, racers)
	race(func(i int) {
		if i == racers/2 {
			_, redeemErr = s.RedeemAuthCode(ctx, "code", now, g, &rt)
			return
		}
		_, errs[i] = s.RecordCodeFailure(ctx, "code", now, 3)
	})
	counted := 0
	for i, err := range errs {
		switch {
		case i == racers/2:
		case err == nil:
			counted++
		case errors.Is(err, store.ErrCodeUsed):
		default:
			t.Errorf("failure %d: %v", i, err)
		}
	}
	_, grantErr := s.GetGrant(ctx, g.ID)
	switch {
	case redeemErr == nil:
		must(t, grantErr, "GetGrant after a successful redemption")
		got, err := s.GetAuthCode(ctx, "code")
		must(t, err, "GetAuthCode")
		if got.Failures >= 3 {
			t.Errorf("the code was redeemed with %d failures counted before; at most 2 may precede a successful redemption", got.Failures)
		}
	case errors.Is(redeemErr, store.ErrExpired):
		if counted < 3 {
			t.Errorf("RedeemAuthCode = ErrExpired after only %d failures", counted)
		}
		wantErr(t, grantErr, store.ErrNotFound, "GetGrant after a refused redemption")
	default:
		t.Errorf("RedeemAuthCode = %v; want success or ErrExpired (a failure is never a use)", redeemErr)
	}
}

// testRaceRotateVersusRevokeGrant races, for racers/2 grants at once, a
// rotation of the grant's live token against RevokeGrant. Whichever goes
// first, afterwards the grant is revoked with RevokeGrant's reason, and
// either the rotation failed with ErrRevoked and wrote nothing, or it
// rotated and its successor is dead (ErrRevoked): a revocation never
// leaves a live token behind.
func testRaceRotateVersusRevokeGrant(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	pairs := racers / 2
	grants := make([]store.Grant, pairs)
	for k := range pairs {
		grants[k] = fixGrant(fmt.Sprintf("g-%d", k), clientA, user1, at(90*24*time.Hour))
		rt := fixRefresh(fmt.Sprintf("rt-%d", k), grants[k], base, at(30*24*time.Hour))
		must(t, s.CreateGrant(ctx, grants[k], &rt), "CreateGrant")
	}
	now := at(time.Hour)
	errs := make([]error, racers)
	results := make([]store.RotateResult, racers)
	race(func(i int) {
		k := i / 2
		if i%2 == 0 {
			_, results[i], errs[i] = s.RotateRefreshToken(ctx, fmt.Sprintf("rt-%d", k),
				nextRT(grants[k], fmt.Sprintf("next-%d", k), now), now, time.Minute)
			return
		}
		errs[i] = s.RevokeGrant(ctx, grants[k].ID, now, store.ReasonAdmin)
	})
	rotated := 0
	for k := range pairs {
		rotErr, revErr := errs[2*k], errs[2*k+1]
		must(t, revErr, fmt.Sprintf("RevokeGrant(g-%d)", k))
		g, err := s.GetGrant(ctx, grants[k].ID)
		must(t, err, "GetGrant")
		if g.RevokedAt.IsZero() || g.RevokedReason != store.ReasonAdmin {
			t.Errorf("g-%d after the race: RevokedAt %s, RevokedReason %q; want revoked, %q", k, fmtTime(g.RevokedAt), g.RevokedReason, store.ReasonAdmin)
		}
		old, err := s.GetRefreshToken(ctx, fmt.Sprintf("rt-%d", k))
		must(t, err, "GetRefreshToken(old)")
		_, succErr := s.GetRefreshToken(ctx, fmt.Sprintf("next-%d", k))
		switch {
		case rotErr == nil && results[2*k] == store.RotateRotated:
			rotated++
			must(t, succErr, fmt.Sprintf("GetRefreshToken(next-%d) after it rotated", k))
			if old.SuccessorHash != fmt.Sprintf("next-%d", k) {
				t.Errorf("rt-%d.SuccessorHash = %q, want next-%d", k, old.SuccessorHash, k)
			}
			_, _, err := s.RotateRefreshToken(ctx, fmt.Sprintf("next-%d", k), nextRT(grants[k], fmt.Sprintf("after-%d", k), now), now, time.Minute)
			wantErr(t, err, store.ErrRevoked, fmt.Sprintf("RotateRefreshToken(next-%d) after the revocation", k))
		case errors.Is(rotErr, store.ErrRevoked):
			wantErr(t, succErr, store.ErrNotFound, fmt.Sprintf("GetRefreshToken(next-%d) after a failed rotation", k))
			if !old.RotatedAt.IsZero() || old.SuccessorHash != "" {
				t.Errorf("rt-%d after a failed rotation = {RotatedAt %s, SuccessorHash %q}, want unchanged", k, fmtTime(old.RotatedAt), old.SuccessorHash)
			}
		default:
			t.Errorf("rotation of rt-%d racing RevokeGrant = %v, %v; want RotateRotated or ErrRevoked", k, results[2*k], rotErr)
		}
	}
	t.Logf("%d of %d rotations won against RevokeGrant", rotated, pairs)
}

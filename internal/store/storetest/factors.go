package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- sign-in factors ------------------------------------------------------

func factorTests() []test {
	return []test{
		{"Factor/SaveList", testFactorSaveList},
		{"Factor/Replace", testFactorReplace},
		{"Factor/UnknownUser", testFactorUnknownUser},
		{"Factor/Advance", testFactorAdvance},
		{"Factor/Delete", testFactorDelete},
		{"Factor/DeleteUserCascades", testFactorDeleteUser},
		{"User/MFARequired", testUserMFARequired},
		{"Race/AdvanceFactor", testRaceAdvanceFactor},
		{"DeleteExpired/SpentFactors", testDeleteExpiredSpentFactors},
		{"Race/SweepVersusRecoveryUse", testRaceSweepVersusRecoveryUse},
	}
}

func fixFactor(user, id, kind string, d time.Duration) store.Factor {
	f := store.Factor{UserID: user, ID: id, Kind: kind, CreatedAt: at(d)}
	if kind == store.FactorTOTP {
		f.Name, f.Secret, f.Counter = "Authenticator app", []byte{0, 1, 2, 0xff}, 7
	}
	return f
}

func testFactorSaveList(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.CreateUser(ctx, fixUser("u2", "bob")), "CreateUser")
	totp := fixFactor("u1", "t1", store.FactorTOTP, 0)
	r1, r2 := fixFactor("u1", "r1", store.FactorRecovery, time.Second), fixFactor("u1", "r2", store.FactorRecovery, time.Second)
	must(t, s.SaveFactors(ctx, "u1", nil, r2, totp, r1), "SaveFactors")
	got, err := s.ListFactors(ctx, "u1")
	must(t, err, "ListFactors")
	checkEqual(t, "ListFactors (oldest first, then by ID)", got, []store.Factor{totp, r1, r2})
	got, err = s.ListFactors(ctx, "u2")
	must(t, err, "ListFactors(u2)")
	if len(got) != 0 {
		t.Errorf("ListFactors(u2) = %v, want none", got)
	}
	// The same ID for another user is another factor.
	must(t, s.SaveFactors(ctx, "u2", nil, fixFactor("u2", "t1", store.FactorTOTP, 0)), "SaveFactors(u2, same ID)")
	wantErr(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u1", "r3", store.FactorRecovery, 0), fixFactor("u1", "t1", store.FactorTOTP, 0)),
		store.ErrAlreadyExists, "SaveFactors(duplicate ID)")
	got, _ = s.ListFactors(ctx, "u1")
	if len(got) != 3 {
		t.Errorf("after a refused SaveFactors the user has %d factors, want 3 (all or nothing)", len(got))
	}
	wantErr(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u2", "x", store.FactorRecovery, 0)), store.ErrNotFound, "SaveFactors(factor of another user)")
}

func testFactorReplace(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u1", "t1", store.FactorTOTP, 0),
		fixFactor("u1", "r1", store.FactorRecovery, 0), fixFactor("u1", "p1", "passkey", 0)), "SaveFactors")
	n1, n2 := fixFactor("u1", "t2", store.FactorTOTP, time.Minute), fixFactor("u1", "r9", store.FactorRecovery, time.Minute)
	must(t, s.SaveFactors(ctx, "u1", []string{store.FactorTOTP, store.FactorRecovery}, n1, n2), "SaveFactors(replace)")
	got, err := s.ListFactors(ctx, "u1")
	must(t, err, "ListFactors")
	checkEqual(t, "ListFactors after replace (other kinds kept)", got, []store.Factor{fixFactor("u1", "p1", "passkey", 0), n2, n1}) // same CreatedAt: by ID
	// Replacing a kind with nothing removes it (reset).
	must(t, s.SaveFactors(ctx, "u1", []string{store.FactorTOTP, store.FactorRecovery, "passkey"}), "SaveFactors(reset)")
	got, _ = s.ListFactors(ctx, "u1")
	if len(got) != 0 {
		t.Errorf("after reset ListFactors = %v, want none", got)
	}
}

func testFactorUnknownUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	wantErr(t, s.SaveFactors(ctx, "nobody", nil, fixFactor("nobody", "t1", store.FactorTOTP, 0)), store.ErrNotFound, "SaveFactors(unknown user)")
	wantErr(t, s.SaveFactors(ctx, "nobody", []string{store.FactorTOTP}), store.ErrNotFound, "SaveFactors(unknown user, nothing inserted)")
	wantErr(t, s.AdvanceFactor(ctx, "nobody", "t1", 1, base), store.ErrNotFound, "AdvanceFactor(unknown)")
	wantErr(t, s.DeleteFactor(ctx, "nobody", "t1"), store.ErrNotFound, "DeleteFactor(unknown)")
}

func testFactorAdvance(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u1", "t1", store.FactorTOTP, 0)), "SaveFactors") // Counter 7
	wantErr(t, s.AdvanceFactor(ctx, "u1", "t1", 7, at(time.Second)), store.ErrAlreadyExists, "AdvanceFactor(same counter)")
	wantErr(t, s.AdvanceFactor(ctx, "u1", "t1", 6, at(time.Second)), store.ErrAlreadyExists, "AdvanceFactor(lower counter)")
	must(t, s.AdvanceFactor(ctx, "u1", "t1", 9, at(time.Minute)), "AdvanceFactor(9)")
	wantErr(t, s.AdvanceFactor(ctx, "u1", "t1", 8, at(time.Minute)), store.ErrAlreadyExists, "AdvanceFactor(8 after 9)")
	wantErr(t, s.AdvanceFactor(ctx, "u1", "t2", 10, at(time.Minute)), store.ErrNotFound, "AdvanceFactor(unknown factor)")
	got, _ := s.ListFactors(ctx, "u1")
	if len(got) != 1 || got[0].Counter != 9 || !got[0].LastUsedAt.Equal(at(time.Minute)) {
		t.Errorf("after AdvanceFactor(9) = %+v, want Counter 9, LastUsedAt %v", got, at(time.Minute))
	}
}

func testFactorDelete(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u1", "t1", store.FactorTOTP, 0), fixFactor("u1", "r1", store.FactorRecovery, 0)), "SaveFactors")
	must(t, s.DeleteFactor(ctx, "u1", "t1"), "DeleteFactor")
	wantErr(t, s.DeleteFactor(ctx, "u1", "t1"), store.ErrNotFound, "DeleteFactor(again)")
	got, _ := s.ListFactors(ctx, "u1")
	if len(got) != 1 || got[0].ID != "r1" {
		t.Errorf("after DeleteFactor(t1) ListFactors = %v, want [r1]", got)
	}
}

func testFactorDeleteUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u1", "t1", store.FactorTOTP, 0)), "SaveFactors")
	must(t, s.DeleteUser(ctx, "u1"), "DeleteUser")
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser(again)")
	got, err := s.ListFactors(ctx, "u1")
	must(t, err, "ListFactors")
	if len(got) != 0 {
		t.Errorf("a deleted user's factors survive: %v", got)
	}
}

func testUserMFARequired(t *testing.T, s store.Store) {
	ctx := t.Context()
	u := fixUser("u1", "alice")
	u.MFARequired = true
	must(t, s.CreateUser(ctx, u), "CreateUser(MFARequired)")
	got, err := s.GetUser(ctx, "u1")
	must(t, err, "GetUser")
	checkEqual(t, "GetUser", got, u)
	must(t, s.SetUserMFARequired(ctx, "u1", false), "SetUserMFARequired(false)")
	got, _ = s.GetUserByUsername(ctx, "alice")
	if got.MFARequired {
		t.Error("MFARequired still true after SetUserMFARequired(false)")
	}
	must(t, s.SetUserMFARequired(ctx, "u1", true), "SetUserMFARequired(true)")
	got, _ = s.GetUser(ctx, "u1")
	if !got.MFARequired {
		t.Error("MFARequired false after SetUserMFARequired(true)")
	}
	wantErr(t, s.SetUserMFARequired(ctx, "nobody", true), store.ErrNotFound, "SetUserMFARequired(unknown)")
}

// testRaceAdvanceFactor: one TOTP code (one time step) submitted by many
// requests at once is accepted exactly once (RFC 6238 §5.2).
func testRaceAdvanceFactor(t *testing.T, s store.Store) {
	ctx := t.Context()
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u1", "t1", store.FactorTOTP, 0)), "SaveFactors")
	errs := make([]error, racers)
	race(func(i int) { errs[i] = s.AdvanceFactor(ctx, "u1", "t1", 8, at(time.Second)) })
	got := tally(errs, store.ErrAlreadyExists)
	if got["nil"] != 1 || got[store.ErrAlreadyExists.Error()] != racers-1 {
		t.Errorf("%d concurrent AdvanceFactor(same step): %v, want exactly one success, the rest ErrAlreadyExists", racers, got)
	}
}

// testDeleteExpiredSpentFactors: the sweep deletes the factors nothing
// accepts any more — a reset link used or past store.ResetLinkTTL, a
// recovery code used — and keeps every other: an unused recovery code
// however old, a live unused reset link, a TOTP and a passkey whatever
// their counters and age.
func testDeleteExpiredSpentFactors(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(1000 * time.Hour)
	old := -999 * time.Hour // created long before now
	for _, u := range []string{"u1", "u2"} {
		must(t, s.CreateUser(ctx, fixUser(u, "user-"+u)), "CreateUser")
		passkey := fixFactor(u, "pk-"+u, store.FactorPasskey, old)
		passkey.Secret, passkey.Counter = []byte(`{}`), 5
		must(t, s.SaveFactors(ctx, u, nil,
			fixFactor(u, "totp", store.FactorTOTP, old), passkey,
			fixFactor(u, "rec-unused-old", store.FactorRecovery, old),
			fixFactor(u, "rec-unused", store.FactorRecovery, 999*time.Hour),
			fixFactor(u, "rec-used", store.FactorRecovery, old),
			fixFactor(u, "rec-used-new", store.FactorRecovery, 999*time.Hour),
		), "SaveFactors")
		must(t, s.AdvanceFactor(ctx, u, "rec-used", 1, at(old+time.Hour)), "AdvanceFactor(rec-used)")
		must(t, s.AdvanceFactor(ctx, u, "rec-used-new", 1, now.Add(-time.Minute)), "AdvanceFactor(rec-used-new)")
	}
	// Reset links in each state (manage keeps one per user; the store
	// holds any number).
	links := []struct {
		user, id string
		created  time.Time
		used     bool
		kept     bool
	}{
		{"u1", "reset-live", now.Add(-store.ResetLinkTTL + time.Minute), false, true},
		{"u1", "reset-used", now.Add(-time.Hour), true, false},
		{"u2", "reset-expired", now.Add(-store.ResetLinkTTL - time.Second), false, false},
		{"u2", "reset-used-expired", now.Add(-store.ResetLinkTTL - time.Hour), true, false},
	}
	for _, l := range links {
		f := store.Factor{UserID: l.user, ID: l.id, Kind: store.FactorResetLink, CreatedAt: l.created}
		must(t, s.SaveFactors(ctx, l.user, nil, f), "SaveFactors("+l.id+")")
		if l.used {
			must(t, s.AdvanceFactor(ctx, l.user, l.id, 1, l.created.Add(time.Minute)), "AdvanceFactor("+l.id+")")
		}
	}
	want := map[string][]string{ // survivors per user
		"u1": {"pk-u1", "rec-unused", "rec-unused-old", "reset-live", "totp"},
		"u2": {"pk-u2", "rec-unused", "rec-unused-old", "totp"},
	}
	const spent = 2*2 + 3 // per user two used recovery codes; three links

	// Batches: at most batch rows of the kind per call.
	n, err := s.DeleteExpired(ctx, now, 2)
	must(t, err, "DeleteExpired(batch 2)")
	if n != 2 {
		t.Errorf("DeleteExpired(batch 2) = %d, want 2", n)
	}
	n, err = s.DeleteExpired(ctx, now, 100)
	must(t, err, "DeleteExpired")
	if n != spent-2 {
		t.Errorf("DeleteExpired after a batch of 2 = %d, want %d", n, spent-2)
	}
	for u, ids := range want {
		fs, err := s.ListFactors(ctx, u)
		must(t, err, "ListFactors")
		var got []string
		for _, f := range fs {
			got = append(got, f.ID)
		}
		slices.Sort(got)
		if !slices.Equal(got, ids) {
			t.Errorf("%s's factors after the sweep = %v, want %v", u, got, ids)
		}
	}
	n, err = s.DeleteExpired(ctx, now, 100)
	must(t, err, "DeleteExpired(again)")
	if n != 0 {
		t.Errorf("DeleteExpired(again) = %d, want 0", n)
	}
	// A year on, what is left is still accepted somewhere — except the
	// reset link, which has expired by then.
	n, err = s.DeleteExpired(ctx, now.Add(365*24*time.Hour), 100)
	must(t, err, "DeleteExpired(a year on)")
	if n != 1 {
		t.Errorf("DeleteExpired(a year on) = %d, want 1 (the then expired reset link)", n)
	}
}

// testRaceSweepVersusRecoveryUse: sweeps racing the uses of one recovery
// code never let it count twice: exactly one AdvanceFactor wins, every
// other finds it spent (ErrAlreadyExists) or swept (ErrNotFound); the
// sweeps delete it once, and never the unused code beside it.
func testRaceSweepVersusRecoveryUse(t *testing.T, s store.Store) {
	ctx := t.Context()
	now := at(time.Hour)
	must(t, s.CreateUser(ctx, fixUser("u1", "alice")), "CreateUser")
	must(t, s.SaveFactors(ctx, "u1", nil, fixFactor("u1", "rec", store.FactorRecovery, 0),
		fixFactor("u1", "keep", store.FactorRecovery, 0)), "SaveFactors")
	errs := make([]error, racers)
	swept := make([]int, racers)
	var sweepErrs []error
	var mu sync.Mutex
	race(func(i int) {
		if i%2 == 0 {
			errs[i] = s.AdvanceFactor(ctx, "u1", "rec", 1, now)
			return
		}
		n, err := s.DeleteExpired(ctx, now, 100)
		swept[i] = n
		if err != nil {
			mu.Lock()
			sweepErrs = append(sweepErrs, err)
			mu.Unlock()
		}
	})
	for _, err := range sweepErrs {
		t.Errorf("DeleteExpired racing AdvanceFactor: %v", err)
	}
	var uses []error
	for i := 0; i < racers; i += 2 {
		uses = append(uses, errs[i])
	}
	got := tally(uses, store.ErrAlreadyExists, store.ErrNotFound)
	if got["nil"] != 1 || got[store.ErrAlreadyExists.Error()]+got[store.ErrNotFound.Error()] != len(uses)-1 {
		t.Errorf("%d AdvanceFactor(recovery code) racing sweeps: %v, want exactly one success, the rest ErrAlreadyExists or ErrNotFound", len(uses), got)
	}
	n, err := s.DeleteExpired(ctx, now, 100)
	must(t, err, "DeleteExpired(after the race)")
	for _, m := range swept {
		n += m
	}
	if n != 1 {
		t.Errorf("the sweeps deleted %d rows in all, want 1 (the used code, once)", n)
	}
	fs, err := s.ListFactors(ctx, "u1")
	must(t, err, "ListFactors")
	if len(fs) != 1 || fs[0].ID != "keep" || fs[0].Counter != 0 {
		t.Errorf("after the race ListFactors = %+v, want only the unused code", fs)
	}
}

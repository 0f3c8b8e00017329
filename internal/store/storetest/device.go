package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// --- device authorizations (RFC 8628) ---------------------------------------

func deviceTests() []test {
	return []test{
		{"Device/CreateGet", testDeviceCreateGet},
		{"Device/Duplicate", testDeviceDuplicate},
		{"Device/Decide", testDeviceDecide},
		{"Device/Poll", testDevicePoll},
		{"Device/Redeem", testDeviceRedeem},
		{"Device/Swept", testDeviceSwept},
		{"Device/DeleteUser", testDeviceDeleteUser},
		{"Race/DecideDeviceCode", testRaceDecideDevice},
		{"Race/PollDeviceCode", testRacePollDevice},
		{"Race/RedeemDeviceCode", testRaceRedeemDevice},
	}
}

func fixDevice(hash, clientID string, exp time.Time) store.DeviceCode {
	return store.DeviceCode{
		Hash: hash, UserCodeHash: "uc-" + hash, ClientID: clientID, Scopes: []string{"openid", "offline_access"},
		GrantID: "grant-" + hash, Interval: 5 * time.Second, CreatedAt: at(7 * time.Millisecond), ExpiresAt: exp,
		Status: store.DevicePending,
	}
}

func approval() store.DeviceDecision {
	return store.DeviceDecision{Approved: true, UserID: user1, SessionID: "sid-1", AuthTime: at(-time.Minute + 3*time.Millisecond), AMR: []string{"pwd", "otp"}}
}

func testDeviceCreateGet(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	want := fixDevice("dc-1", clientA, at(10*time.Minute))
	must(t, s.CreateDeviceCode(ctx, want), "CreateDeviceCode")
	got, err := s.GetDeviceCodeByUserCode(ctx, "uc-dc-1")
	must(t, err, "GetDeviceCodeByUserCode")
	if d := diff(got, want); len(d) > 0 {
		t.Errorf("GetDeviceCodeByUserCode returned a different record: %v", d)
	}
	_, err = s.GetDeviceCodeByUserCode(ctx, "dc-1") // the device code's hash is not a user code
	wantErr(t, err, store.ErrNotFound, "GetDeviceCodeByUserCode(device hash)")
}

func testDeviceDuplicate(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc-1", clientA, at(time.Minute))), "CreateDeviceCode")
	wantErr(t, s.CreateDeviceCode(ctx, fixDevice("dc-1", clientB, at(time.Minute))), store.ErrAlreadyExists, "CreateDeviceCode (same hash)")
	other := fixDevice("dc-2", clientA, at(time.Minute))
	other.UserCodeHash = "uc-dc-1"
	wantErr(t, s.CreateDeviceCode(ctx, other), store.ErrAlreadyExists, "CreateDeviceCode (same user code)")
}

func testDeviceDecide(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc-1", clientA, at(time.Minute))), "CreateDeviceCode")
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc-2", clientA, at(time.Minute))), "CreateDeviceCode(dc-2)")
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc-3", clientA, at(time.Minute))), "CreateDeviceCode(dc-3)")
	dec := approval()
	got, err := s.DecideDeviceCode(ctx, "uc-dc-1", at(time.Second), dec)
	must(t, err, "DecideDeviceCode")
	if got.Status != store.DeviceApproved || got.UserID != user1 || got.SessionID != "sid-1" || !got.AuthTime.Equal(dec.AuthTime) ||
		fmt.Sprint(got.AMR) != "[pwd otp]" || !got.DecidedAt.Equal(at(time.Second)) {
		t.Errorf("DecideDeviceCode = %+v, want approved by %s with the decision's session, auth time and AMR", got, user1)
	}
	_, err = s.DecideDeviceCode(ctx, "uc-dc-1", at(time.Second), store.DeviceDecision{UserID: user1})
	wantErr(t, err, store.ErrCodeUsed, "DecideDeviceCode (decided before)")
	got, err = s.DecideDeviceCode(ctx, "uc-dc-2", at(time.Second), store.DeviceDecision{UserID: user1, SessionID: "sid-1"})
	must(t, err, "DecideDeviceCode(deny)")
	if got.Status != store.DeviceDenied {
		t.Errorf("DecideDeviceCode(deny).Status = %q, want %q", got.Status, store.DeviceDenied)
	}
	_, err = s.DecideDeviceCode(ctx, "uc-dc-3", at(time.Minute), dec) // ExpiresAt not after now
	wantErr(t, err, store.ErrExpired, "DecideDeviceCode (at expiry)")
	_, err = s.DecideDeviceCode(ctx, "unknown", at(time.Second), dec)
	wantErr(t, err, store.ErrNotFound, "DecideDeviceCode (unknown)")
}

func testDevicePoll(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc-1", clientA, at(time.Minute))), "CreateDeviceCode")
	step := 5 * time.Second
	for _, p := range []struct {
		now      time.Duration
		slow     bool
		interval time.Duration
	}{
		{0, false, 5 * time.Second},                   // first poll
		{5 * time.Second, false, 5 * time.Second},     // exactly one interval later
		{9 * time.Second, true, 10 * time.Second},     // early: slow_down, interval += 5 s
		{18 * time.Second, true, 15 * time.Second},    // 9 s < 10 s: again
		{33 * time.Second, false, 15 * time.Second},   // 15 s: fine
		{33*time.Second + 1, true, 20 * time.Second},  // a burst
		{53*time.Second + 1, false, 20 * time.Second}, // 20 s later
	} {
		d, slow, err := s.PollDeviceCode(ctx, "dc-1", at(p.now), step)
		must(t, err, "PollDeviceCode")
		if slow != p.slow || d.Interval != p.interval || !d.LastPolledAt.Equal(at(p.now)) {
			t.Errorf("PollDeviceCode at +%s = (interval %s, last %s, slow %v), want (%s, %s, %v)", p.now, d.Interval, fmtTime(d.LastPolledAt), slow, p.interval, fmtTime(at(p.now)), p.slow)
		}
	}
	_, _, err := s.PollDeviceCode(ctx, "dc-1", at(time.Minute), step)
	wantErr(t, err, store.ErrExpired, "PollDeviceCode (at expiry)")
	_, _, err = s.PollDeviceCode(ctx, "unknown", at(0), step)
	wantErr(t, err, store.ErrNotFound, "PollDeviceCode (unknown)")

	// A decided record is never slowed down: the client gets its answer.
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc-2", clientA, at(time.Minute))), "CreateDeviceCode(dc-2)")
	_, _, err = s.PollDeviceCode(ctx, "dc-2", at(0), step)
	must(t, err, "PollDeviceCode(dc-2)")
	_, err = s.DecideDeviceCode(ctx, "uc-dc-2", at(time.Second), approval())
	must(t, err, "DecideDeviceCode(dc-2)")
	d, slow, err := s.PollDeviceCode(ctx, "dc-2", at(time.Second), step)
	must(t, err, "PollDeviceCode(dc-2, approved)")
	if slow || d.Status != store.DeviceApproved || d.UserID != user1 {
		t.Errorf("PollDeviceCode(approved, early) = (%q by %q, slow %v), want approved by %s, not slowed", d.Status, d.UserID, slow, user1)
	}
}

func testDeviceRedeem(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	for _, h := range []string{"pending", "approved", "expiring"} {
		must(t, s.CreateDeviceCode(ctx, fixDevice(h, clientA, at(time.Minute))), "CreateDeviceCode("+h+")")
	}
	for _, h := range []string{"approved", "expiring"} {
		_, err := s.DecideDeviceCode(ctx, "uc-"+h, at(time.Second), approval())
		must(t, err, "DecideDeviceCode("+h+")")
	}
	g := fixGrant("grant-approved", clientA, user1, at(24*time.Hour))
	rt := fixRefresh("rt-device", g, at(2*time.Second), at(time.Hour))
	if _, err := s.RedeemDeviceCode(ctx, "approved", at(2*time.Second), fixGrant("grant-other", clientA, user1, at(time.Hour)), nil); err == nil ||
		errors.Is(err, store.ErrCodeUsed) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("RedeemDeviceCode with another grant ID = %v, want a non-sentinel error", err)
	}
	d, err := s.RedeemDeviceCode(ctx, "approved", at(2*time.Second), g, &rt)
	must(t, err, "RedeemDeviceCode")
	if !d.UsedAt.Equal(at(2*time.Second)) || d.GrantID != g.ID {
		t.Errorf("RedeemDeviceCode = {UsedAt %s, GrantID %q}, want {%s, %q}", fmtTime(d.UsedAt), d.GrantID, fmtTime(at(2*time.Second)), g.ID)
	}
	if _, err := s.GetGrant(ctx, g.ID); err != nil {
		t.Errorf("GetGrant after RedeemDeviceCode = %v, want the grant stored", err)
	}
	if _, err := s.GetRefreshToken(ctx, rt.Hash); err != nil {
		t.Errorf("GetRefreshToken after RedeemDeviceCode = %v, want the first refresh token stored", err)
	}
	// Used before: ErrCodeUsed with the record, so the caller can revoke
	// the grant the replayed code produced (RFC 6749 §4.1.2).
	wantUsed := func(d store.DeviceCode, err error, what string) {
		t.Helper()
		wantErr(t, err, store.ErrCodeUsed, what)
		if d.GrantID != g.ID || d.ClientID != clientA || !d.UsedAt.Equal(at(2*time.Second)) {
			t.Errorf("%s = {GrantID %q, ClientID %q, UsedAt %s}, want the record {%q, %q, %s}", what, d.GrantID, d.ClientID, fmtTime(d.UsedAt), g.ID, clientA, fmtTime(at(2*time.Second)))
		}
	}
	d, err = s.RedeemDeviceCode(ctx, "approved", at(3*time.Second), g, nil)
	wantUsed(d, err, "RedeemDeviceCode (second time)")
	d, _, err = s.PollDeviceCode(ctx, "approved", at(4*time.Second), time.Second)
	wantUsed(d, err, "PollDeviceCode (redeemed)")
	d, _, err = s.PollDeviceCode(ctx, "approved", at(time.Hour), time.Second)
	wantUsed(d, err, "PollDeviceCode (redeemed, then expired)")

	if _, err := s.RedeemDeviceCode(ctx, "pending", at(2*time.Second), fixGrant("grant-pending", clientA, user1, at(time.Hour)), nil); err == nil ||
		errors.Is(err, store.ErrCodeUsed) || errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrExpired) {
		t.Errorf("RedeemDeviceCode(pending) = %v, want a non-sentinel error", err)
	}
	if _, err := s.GetGrant(ctx, "grant-pending"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetGrant(grant-pending) = %v, want nothing written", err)
	}
	_, err = s.RedeemDeviceCode(ctx, "expiring", at(time.Minute), fixGrant("grant-expiring", clientA, user1, at(time.Hour)), nil)
	wantErr(t, err, store.ErrExpired, "RedeemDeviceCode (at expiry)")
	_, err = s.RedeemDeviceCode(ctx, "unknown", at(time.Second), fixGrant("grant-unknown", clientA, user1, at(time.Hour)), nil)
	wantErr(t, err, store.ErrNotFound, "RedeemDeviceCode (unknown)")
}

func testDeviceSwept(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("old", clientA, at(time.Minute))), "CreateDeviceCode(old)")
	must(t, s.CreateDeviceCode(ctx, fixDevice("live", clientA, at(time.Hour))), "CreateDeviceCode(live)")
	n, err := s.DeleteExpired(ctx, at(2*time.Minute), 100)
	must(t, err, "DeleteExpired")
	if n != 1 {
		t.Errorf("DeleteExpired = %d, want 1 (the expired device code)", n)
	}
	_, err = s.GetDeviceCodeByUserCode(ctx, "uc-old")
	wantErr(t, err, store.ErrNotFound, "GetDeviceCodeByUserCode(old) after the sweep")
	if _, err := s.GetDeviceCodeByUserCode(ctx, "uc-live"); err != nil {
		t.Errorf("GetDeviceCodeByUserCode(live) after the sweep = %v, want it kept", err)
	}
}

func testDeviceDeleteUser(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc", clientA, at(time.Hour))), "CreateDeviceCode")
	_, err := s.DecideDeviceCode(ctx, "uc-dc", at(time.Second), approval())
	must(t, err, "DecideDeviceCode")
	must(t, s.DeleteUser(ctx, user1), "DeleteUser")
	_, err = s.RedeemDeviceCode(ctx, "dc", at(2*time.Second), fixGrant("grant-dc", clientA, user1, at(time.Hour)), nil)
	wantErr(t, err, store.ErrNotFound, "RedeemDeviceCode after DeleteUser (an approval by a deleted user)")
}

// testRaceDecideDevice: of racers concurrent decisions on one user code,
// exactly one is recorded.
func testRaceDecideDevice(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc", clientA, at(time.Minute))), "CreateDeviceCode")
	errs := make([]error, racers)
	race(func(i int) {
		_, errs[i] = s.DecideDeviceCode(ctx, "uc-dc", at(time.Second), store.DeviceDecision{Approved: i%2 == 0, UserID: user1})
	})
	got := tally(errs, store.ErrCodeUsed)
	want := map[string]int{"nil": 1, store.ErrCodeUsed.Error(): racers - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent DecideDeviceCode = %v, want %v", racers, got, want)
	}
}

// testRacePollDevice: concurrent polls at one instant are serialised:
// the first is on time, every other one is too early, and each raises
// the interval once (RFC 8628 §3.5), so none is lost.
func testRacePollDevice(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc", clientA, at(time.Minute))), "CreateDeviceCode")
	slows := make([]bool, racers)
	errs := make([]error, racers)
	race(func(i int) {
		_, slows[i], errs[i] = s.PollDeviceCode(ctx, "dc", at(time.Second), time.Second)
	})
	n := 0
	for i, err := range errs {
		must(t, err, fmt.Sprintf("PollDeviceCode #%d", i))
		if slows[i] {
			n++
		}
	}
	d, slow, err := s.PollDeviceCode(ctx, "dc", at(time.Second), time.Second)
	must(t, err, "PollDeviceCode (after the race)")
	if n != racers-1 || !slow || d.Interval != 5*time.Second+time.Duration(racers)*time.Second {
		t.Errorf("%d concurrent polls: %d slowed down, then interval %s; want %d and %s", racers, n, d.Interval, racers-1, 5*time.Second+time.Duration(racers)*time.Second)
	}
}

// testRaceRedeemDevice: of racers concurrent redemptions of one approved
// device code, exactly one stores a grant (a device_code is used once).
func testRaceRedeemDevice(t *testing.T, s store.Store) {
	ctx := t.Context()
	seed(t, s)
	must(t, s.CreateDeviceCode(ctx, fixDevice("dc", clientA, at(time.Minute))), "CreateDeviceCode")
	_, err := s.DecideDeviceCode(ctx, "uc-dc", at(time.Second), approval())
	must(t, err, "DecideDeviceCode")
	errs := make([]error, racers)
	race(func(i int) {
		g := fixGrant("grant-dc", clientA, user1, at(time.Hour))
		rt := fixRefresh(fmt.Sprintf("rt-%d", i), g, at(2*time.Second), at(time.Hour))
		_, errs[i] = s.RedeemDeviceCode(ctx, "dc", at(2*time.Second), g, &rt)
	})
	got := tally(errs, store.ErrCodeUsed)
	want := map[string]int{"nil": 1, store.ErrCodeUsed.Error(): racers - 1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%d concurrent RedeemDeviceCode = %v, want %v", racers, got, want)
	}
}

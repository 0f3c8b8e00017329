package server_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// TestDeviceAnswerPagesLookUpTheNextCode: the pages that answer a
// confirmation whose code was decided meanwhile (another tab) or expired
// — "That code is not valid or has expired" — and the lockout page carry
// a code form whose sealed interaction holds no user code: the next POST
// is a lookup of the code typed there (a confirmation, or the throttle's
// answer), never the decision path ("choose Allow or Deny", a dead end).
// On SQLite and PostgreSQL.
func TestDeviceAnswerPagesLookUpTheNextCode(t *testing.T) {
	bothStores(t, func(t *testing.T, st store.Store) {
		e := latchtest.StartWith(t, latchtest.Options{Store: st})
		e.DeviceClient()
		b := e.Browser()
		p := b.Login(b.Get(e.Issuer+"/device"), "alice", latchtest.AlicePassword)

		// wantNextLookup enters a fresh pending code on the code form of
		// the answer page p: the confirmation must follow.
		wantNextLookup := func(what string, p latchtest.Page) {
			t.Helper()
			if p.Status != http.StatusBadRequest || !latchtest.IsDeviceEnterPage(p) || !strings.Contains(p.Body, "not valid or has expired") {
				t.Fatalf("%s: %d, want the code form with the generic refusal (400):\n%s", what, p.Status, p.Body)
			}
			next := e.StartDevice("tv", "openid")["user_code"].(string)
			if p := b.EnterUserCode(p, next); !latchtest.IsConsentPage(p) || !strings.Contains(p.Body, next) {
				t.Fatalf("%s, then a new code on that form: %d, want its confirmation:\n%s", what, p.Status, p.Body)
			}
		}

		// Decided meanwhile in another tab.
		code := e.StartDevice("tv", "openid")["user_code"].(string)
		tabA := b.EnterUserCode(b.Get(e.Issuer+"/device"), code)
		tabB := b.EnterUserCode(b.Get(e.Issuer+"/device"), code)
		if p := b.DecideDevice(tabB, "deny"); !strings.Contains(p.Body, "Request denied") {
			t.Fatalf("tab B: %d, want the denial", p.Status)
		}
		wantNextLookup("allow after another tab decided", b.DecideDevice(tabA, "allow"))

		// Expired while the confirmation was open.
		code = e.StartDevice("tv", "openid")["user_code"].(string)
		confirm := b.EnterUserCode(b.Get(e.Issuer+"/device"), code)
		e.Clock.Advance(grant.DeviceCodeTTL + time.Second)
		wantNextLookup("allow after the code expired", b.DecideDevice(confirm, "allow"))

		// The lockout page: its form goes to the (still locked) lookup.
		p = b.Get(e.Issuer + "/device")
		for range 20 {
			if p = b.EnterUserCode(p, "BCDF-GHJK"); p.Status == http.StatusTooManyRequests {
				break
			}
		}
		if p.Status != http.StatusTooManyRequests {
			t.Fatalf("20 wrong codes: %d, want the lockout page (429)", p.Status)
		}
		next := e.StartDevice("tv", "openid")["user_code"].(string)
		if p := b.EnterUserCode(p, next); p.Status != http.StatusTooManyRequests || !latchtest.IsDeviceEnterPage(p) {
			t.Errorf("a code submitted from the lockout page: %d, want the lookup's answer, still locked (429):\n%s", p.Status, p.Body)
		}
	})
}

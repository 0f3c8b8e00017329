package bff_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
)

// TestBackchannelLogoutFromLatch is OpenID Connect Back-Channel Logout
// 1.0 end to end, with nothing stubbed: a user signs in through the BFF,
// the Latch session ends — by RP-initiated logout at another client of
// the same session, or by the admin's "log out everywhere" — and Latch's
// own delivery worker posts the Logout Token to the BFF's
// /backchannel-logout, which ends the BFF sessions of that sid (the next
// /me is 401). A BFF session of another Latch session survives an
// RP-initiated logout (the token names the sid, §2.4). On the SQLite and
// PostgreSQL session stores.
func TestBackchannelLogoutFromLatch(t *testing.T) {
	for i, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			for _, how := range []string{"rp-initiated logout", "log out everywhere"} {
				t.Run(how, func(t *testing.T) {
					// A fresh store each (a PostgreSQL database lives as
					// long as the test that made it).
					testBackchannelLogoutFromLatch(t, backends(t)[i].open(t), how == "log out everywhere")
				})
			}
		})
	}
}

func testBackchannelLogoutFromLatch(t *testing.T, sessions bff.SessionStore, everywhere bool) {
	// latch dev's rule: a back-channel logout may go to an http loopback
	// receiver (the BFF here is an http httptest server).
	f := newFixtureWith(t, latchtest.Options{Server: []func(*server.Options){func(o *server.Options) { o.Dev = true }}})
	ctx, cancel := context.WithCancel(t.Context())
	var worker sync.WaitGroup
	worker.Go(func() { f.env.Latch.RunBackchannelLogouts(ctx, 50*time.Millisecond) })
	t.Cleanup(func() { cancel(); worker.Wait() })

	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	f.env.MustClient(store.Client{
		ID: clientID, Name: "BFF", RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, BackchannelLogoutURI: base + "/backchannel-logout",
	})
	ts.Config.Handler = f.newBFF(f.config(base, sessions))
	ts.Start()
	t.Cleanup(ts.Close)

	// Two browsers, two Latch sessions, two BFF sessions.
	b1, b2 := f.browser(), f.browser()
	signIn(t, b1, base, f.env.Issuer)
	signIn(t, b2, base, f.env.Issuer)
	s1 := bffSession(t, sessions, b1, base)
	if s1.SID == "" || s1.SID == bffSession(t, sessions, b2, base).SID {
		t.Fatalf("BFF session sids %q and %q: want the ID tokens' sids, one per Latch session", s1.SID, bffSession(t, sessions, b2, base).SID)
	}

	if everywhere {
		admin, err := manage.New(manage.Options{Store: f.env.Store, Now: f.env.Clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		if res, err := admin.LogoutEverywhere(t.Context(), "user-alice"); err != nil || res.SessionsEnded != 2 {
			t.Fatalf("LogoutEverywhere = %+v, %v; want 2 sessions ended", res, err)
		}
	} else {
		// b1 also signs in to the SPA (single sign-on: the same Latch
		// session, so the same sid), and signs out there.
		tok, _ := f.env.CodeFlow(b1.Browser, "openid")
		rawID, _ := tok.Extra("id_token").(string)
		if _, cl := latchtest.DecodeJWT(t, rawID); cl["sid"] != s1.SID {
			t.Fatalf("the SPA's ID token sid %v, want the BFF's %q (one Latch session)", cl["sid"], s1.SID)
		}
		var meta struct {
			EndSession string `json:"end_session_endpoint"`
		}
		if err := f.env.Provider().Claims(&meta); err != nil || meta.EndSession == "" {
			t.Fatalf("discovery has no end_session_endpoint: %v", err)
		}
		if p := b1.Get(meta.EndSession + "?" + url.Values{"id_token_hint": {rawID}}.Encode()); p.Status != http.StatusOK {
			t.Fatalf("RP-initiated logout at the SPA: %d\n%s", p.Status, p.Body)
		}
	}

	// The worker delivers without being called; the BFF session is gone.
	deadline := time.Now().Add(10 * time.Second)
	for {
		code, _ := me(t, b1, base)
		if code == http.StatusUnauthorized {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("/me 10s after the Latch session ended = %d, want 401 (back-channel logout not received)\naudit:\n%s", code, f.env.AuditLog())
		}
		time.Sleep(50 * time.Millisecond)
	}
	want := http.StatusOK // another sid: untouched
	if everywhere {
		want = http.StatusUnauthorized
	}
	// Both notifications were sent in the same rounds; wait for the outbox
	// to drain before judging b2.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n, err := f.env.Store.PendingBackchannelLogouts(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d back-channel logouts still pending", n)
		}
	}
	if code, _ := me(t, b2, base); code != want {
		t.Errorf("/me of the other browser's BFF session = %d, want %d", code, want)
	}
	b1.noTokenLeaked(t)
}

// bffSession is the BFF's stored session of browser b.
func bffSession(t *testing.T, sessions bff.SessionStore, b *browser, base string) bff.Session {
	t.Helper()
	s, err := sessions.GetSession(t.Context(), bff.SessionKey(sessionCookie(t, b, base)))
	if err != nil {
		t.Fatalf("the BFF has no session for the browser: %v", err)
	}
	return s
}

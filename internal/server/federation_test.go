package server_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// fedUser creates a user with password latchtest.AlicePassword on e.
func fedUser(t *testing.T, e *latchtest.Env, u store.User) {
	t.Helper()
	h, err := password.Hash(latchtest.AlicePassword, password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = h
	e.MustUser(u)
}

// redeem exchanges the spa's code at Down and verifies the ID token with
// go-oidc; it returns the ID token's claims.
func redeem(t *testing.T, f *latchtest.Federation, flow latchtest.SPAFlow, code string) map[string]any {
	t.Helper()
	ctx := oidc.ClientContext(t.Context(), http.DefaultClient)
	tok, err := flow.Config.Exchange(ctx, code, oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		t.Fatalf("Exchange at Down: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := f.Down.Provider().Verifier(&oidc.Config{ClientID: "spa", Now: f.Down.Clock.Now}).Verify(ctx, raw)
	if err != nil {
		t.Fatalf("Down's ID token: %v", err)
	}
	if idt.Nonce != flow.Nonce {
		t.Fatalf("nonce = %q, want %q", idt.Nonce, flow.Nonce)
	}
	var c map[string]any
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

func amrOf(c map[string]any) []string {
	var out []string
	for _, v := range c["amr"].([]any) {
		out = append(out, v.(string))
	}
	return out
}

// TestFederationJITWithAnotherLatch: the SPA of one real Latch signs in
// through another real Latch (discovery, code + PKCE, go-oidc
// verification over HTTP); the first sign-in creates the user (jit) from
// the upstream's claims, the second finds it by its link; the ID token
// says amr fed (+ the upstream's pwd) and acr pwd; the upstream's tokens
// are not stored anywhere.
func TestFederationJITWithAnotherLatch(t *testing.T) {
	f := latchtest.StartFederation(t, store.LinkJIT, latchtest.Options{})
	fedUser(t, f.Up, store.User{ID: "up-bob", Username: "bob", Email: "bob@example.com", EmailVerified: true, Name: "Bob Upstream"})

	for i := range 2 {
		b := f.Browser()
		login := b.Get(f.NewSPAFlow().URL)
		if !strings.Contains(login.Body, "Sign in with Upstream Latch") {
			t.Fatalf("Down's login page has no upstream button:\n%s", login.Body)
		}
		flow := f.NewSPAFlow("profile", "email")
		c := redeem(t, f, flow, f.Code(f.SignInUp(b, flow, "bob", latchtest.AlicePassword)))
		if c["preferred_username"] != "bob" || c["email"] != "bob@example.com" || c["email_verified"] != true || c["name"] != "Bob Upstream" {
			t.Errorf("sign-in %d: claims %v, want bob's from the upstream", i, c)
		}
		if amr := amrOf(c); !slices.Equal(amr, []string{"fed", "pwd"}) {
			t.Errorf("sign-in %d: amr = %v, want [fed pwd]", i, amr)
		}
		if c["acr"] != "urn:latch:acr:pwd" {
			t.Errorf("sign-in %d: acr = %v, want urn:latch:acr:pwd", i, c["acr"])
		}
	}
	users, _ := f.Down.Store.ListUsers(t.Context())
	if len(users) != 2 { // alice (seeded) and bob
		t.Errorf("Down has %d users, want 2 (one created, then found by its link)", len(users))
	}
	if l, err := f.Down.Store.GetUpstreamLink(t.Context(), "up", "up-bob"); err != nil || l.UserID == "up-bob" {
		t.Errorf("link of up/up-bob = %+v, %v; want a link to a new Latch user", l, err)
	}
	for _, ev := range []string{`"event":"upstream_user_created"`, `"event":"upstream_login_started"`, `"upstream":"up"`} {
		if !strings.Contains(f.Down.AuditLog(), ev) {
			t.Errorf("Down's audit log lacks %s", ev)
		}
	}
}

// TestFederationVerifiedEmail links the upstream user to Down's user with
// the same verified email; the explicit policy refuses an unlinked one.
func TestFederationVerifiedEmail(t *testing.T) {
	f := latchtest.StartFederation(t, store.LinkVerifiedEmail, latchtest.Options{})
	fedUser(t, f.Up, store.User{ID: "up-alice", Username: "alice2", Email: "ALICE@example.com", EmailVerified: true})
	flow := f.NewSPAFlow()
	c := redeem(t, f, flow, f.Code(f.SignInUp(f.Browser(), flow, "alice2", latchtest.AlicePassword)))
	if c["sub"] != "user-alice" {
		t.Errorf("sub = %v, want Down's user-alice (same verified email)", c["sub"])
	}
	if !strings.Contains(f.Down.AuditLog(), `"by":"verified_email"`) {
		t.Error("the link was not audited")
	}

	f.AddUpstream("up2", f.Up.Issuer, store.LinkExplicit)
	_ = f.Down.Store.DeleteUpstream(t.Context(), "up")
	p := f.SignInUp(f.Browser(), f.NewSPAFlow(), "alice2", latchtest.AlicePassword)
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "is not linked to an account here") || !strings.Contains(p.Body, "Request ID") {
		t.Errorf("explicit policy, unlinked: %d, want 403 and the error page with a request ID:\n%s", p.Status, p.Body)
	}
}

// TestFederationLocalSecondFactorStillApplies: a client that requires a
// second factor is not satisfied by an upstream sign-in alone.
func TestFederationLocalSecondFactorStillApplies(t *testing.T) {
	f := latchtest.StartFederation(t, store.LinkJIT, latchtest.Options{})
	fedUser(t, f.Up, store.User{ID: "up-bob", Username: "bob", Email: "bob@example.com", EmailVerified: true})
	spa, err := f.Down.Store.GetClient(t.Context(), "spa")
	if err != nil {
		t.Fatal(err)
	}
	spa.AuthenticationPolicy = registration.PolicySecondFactor
	if err := f.Down.Store.UpdateClient(t.Context(), spa); err != nil {
		t.Fatal(err)
	}
	p := f.SignInUp(f.Browser(), f.NewSPAFlow(), "bob", latchtest.AlicePassword)
	if loc := p.Header.Get("Location"); !strings.Contains(loc, "error=unmet_authentication_requirements") {
		t.Errorf("second_factor client, upstream sign-in only: %d %s, want unmet_authentication_requirements", p.Status, loc)
	}
}

// TestFederationExplicitLinkFromAccountPage: under the explicit policy a
// user signed in with a password links the upstream from the account
// page (a sealed link bound to the browser and the session); then the
// upstream signs them in. The same upstream identity cannot be linked to
// a second user, and the link does not work in another browser.
func TestFederationExplicitLinkFromAccountPage(t *testing.T) {
	f := latchtest.StartFederation(t, store.LinkExplicit, latchtest.Options{})
	fedUser(t, f.Up, store.User{ID: "up-al", Username: "al"})
	fedUser(t, f.Down, store.User{ID: "user-bob", Username: "bob"})

	accountLink := func(b *latchtest.FedBrowser, username string) string {
		t.Helper()
		login := b.Get(f.Down.Issuer + "/account")
		p := b.Post(f.Down.Issuer+"/login", url.Values{"interaction": {latchtest.Hidden(t, login.Body)}, "username": {username}, "password": {latchtest.AlicePassword}})
		if !strings.Contains(p.Body, "Link Upstream Latch") {
			t.Fatalf("account page of %s has no link action (%d):\n%s", username, p.Status, p.Body)
		}
		return latchtest.UpstreamLink(t, p)
	}
	upLogin := func(b *latchtest.FedBrowser, link string) latchtest.Page {
		t.Helper()
		p := b.Get(link)
		if !latchtest.IsLoginPage(p) {
			return p
		}
		return b.Post(f.Up.Issuer+"/login", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"al"}, "password": {latchtest.AlicePassword}})
	}

	// Another browser cannot use alice's link.
	link := accountLink(f.Browser(), "alice")
	if p := f.Browser().Get(link); p.Status != http.StatusBadRequest {
		t.Errorf("alice's link in another browser: %d, want 400", p.Status)
	}

	b := f.Browser()
	p := upLogin(b, accountLink(b, "alice"))
	if !strings.Contains(p.Body, "The provider was linked") || !strings.Contains(p.Body, `<span class="meta">linked</span>`) {
		t.Fatalf("after linking: %d, want the account page with the notice:\n%s", p.Status, p.Body)
	}
	flow := f.NewSPAFlow()
	if c := redeem(t, f, flow, f.Code(f.SignInUp(f.Browser(), flow, "al", latchtest.AlicePassword))); c["sub"] != "user-alice" {
		t.Errorf("sub = %v, want user-alice (linked)", c["sub"])
	}

	// bob cannot take over the identity linked to alice.
	b = f.Browser()
	p = upLogin(b, accountLink(b, "bob"))
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "linked to another account here already") {
		t.Errorf("second link of one identity: %d, want 403:\n%s", p.Status, p.Body)
	}
	if l, _ := f.Down.Store.GetUpstreamLink(t.Context(), "up", "up-al"); l.UserID != "user-alice" {
		t.Errorf("link = %+v, want alice's", l)
	}
}

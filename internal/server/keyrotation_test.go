package server_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/verify"
)

// jwksKids returns the kids the server publishes.
func jwksKids(t *testing.T, e *latchtest.Env) map[string]bool {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/jwks.json", nil)
	resp, body := e.DoJSON(req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("JWKS: %d", resp.StatusCode)
	}
	kids := map[string]bool{}
	keys, _ := body["keys"].([]any)
	for _, k := range keys {
		kid, _ := k.(map[string]any)["kid"].(string)
		kids[kid] = true
	}
	return kids
}

func kidOf(t *testing.T, jwt string) string {
	t.Helper()
	h, _ := latchtest.DecodeJWT(t, jwt)
	kid, _ := h["kid"].(string)
	return kid
}

// TestKeyRotation rotates the signing key from "another process" (a
// second token.Keys over the same store, as `latch keys rotate` does):
// the server picks the new key up within its refresh interval, tokens
// signed before still verify with go-oidc and the verify package, new ones
// carry the new kid, and the old key leaves the JWKS after RetiredKeyTTL.
func TestKeyRotation(t *testing.T) {
	e := startLifecycle(t)
	ctx := latchtest.ClientContext(t.Context())
	b := e.Browser()
	before := signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	oldKid := kidOf(t, before.ID)
	if kidOf(t, before.Access) != oldKid {
		t.Fatalf("access and ID token signed with different keys before rotation")
	}

	cli := e.NewKeys()
	e.Clock.Advance(time.Second) // an emergency rotation, a second after start
	info, err := cli.RotateNow(t.Context(), e.Config.SigningAlg)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	newKid := info.ID
	if newKid == oldKid || info.Status != token.StatusActive {
		t.Fatalf("rotation: %+v, want a new active key", info)
	}
	// Within the refresh interval the server may still sign with the old
	// key; after it, never.
	e.Clock.Advance(e.Config.KeyRefreshInterval + time.Second)
	kids := jwksKids(t, e)
	if !kids[oldKid] || !kids[newKid] {
		t.Fatalf("JWKS after rotation has %v, want both %s and %s", kids, oldKid, newKid)
	}
	after := mustRefresh(t, e, "spa", before.Refresh)
	if got := kidOf(t, after.ID); got != newKid {
		t.Errorf("ID token after rotation has kid %s, want the new %s", got, newKid)
	}
	if got := kidOf(t, after.Access); got != newKid {
		t.Errorf("access token after rotation has kid %s, want the new %s", got, newKid)
	}

	// go-oidc (fresh discovery and JWKS) verifies both generations.
	for name, raw := range map[string]string{"old": before.ID, "new": after.ID} {
		if _, err := e.Provider().Verifier(&oidc.Config{ClientID: "spa", Now: e.Clock.Now}).Verify(ctx, raw); err != nil {
			t.Errorf("go-oidc: %s ID token after rotation: %v", name, err)
		}
	}
	// So does a resource server with the verify package, and Latch itself.
	v, err := verify.New(t.Context(), verify.Config{Issuer: e.Issuer, Audience: e.Issuer, Now: e.Clock.Now, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	for name, raw := range map[string]string{"old": before.Access, "new": after.Access} {
		if _, err := v.Verify(t.Context(), raw); err != nil {
			t.Errorf("verify: %s access token after rotation: %v", name, err)
		}
		if got := e.UserinfoStatus(raw); got != http.StatusOK {
			t.Errorf("userinfo with the %s access token after rotation: %d", name, got)
		}
	}

	// The key list shows what happened.
	infos, err := cli.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	status := map[string]string{}
	for _, i := range infos {
		status[i.ID] = i.Status
	}
	if status[newKid] != token.StatusActive || status[oldKid] != token.StatusPublished {
		t.Errorf("keys list: new %s = %q, old %s = %q; want active and published", newKid, status[newKid], oldKid, status[oldKid])
	}

	// An id_token_hint signed by the retired key is still good while the
	// key is published.
	ttl := app.RetiredKeyTTL(e.Config)
	if ttl < e.Config.AccessTokenTTL || ttl < e.Config.IDTokenTTL {
		t.Fatalf("RetiredKeyTTL %v is shorter than a token lifetime", ttl)
	}
	e.Clock.Advance(ttl - e.Config.KeyRefreshInterval - 2*time.Second) // 1 s before the old key goes
	if !jwksKids(t, e)[oldKid] {
		t.Errorf("the old key left the JWKS before RetiredKeyTTL (%v)", ttl)
	}

	// After RetiredKeyTTL the old key is gone from the JWKS, Latch stops
	// accepting it, and prune deletes it.
	e.Clock.Advance(2 * time.Second)
	kids = jwksKids(t, e)
	if kids[oldKid] || !kids[newKid] {
		t.Errorf("JWKS %v after RetiredKeyTTL: want %s only (not %s)", kids, newKid, oldKid)
	}
	p := b.Get(logoutURL(endSession(t, e), "id_token_hint", before.ID, "post_logout_redirect_uri", spaLogoutURI))
	wantErrorPage(t, "id_token_hint signed by an unpublished key", p)
	p = b.Get(logoutURL(endSession(t, e), "id_token_hint", after.ID, "post_logout_redirect_uri", spaLogoutURI))
	if p.Status != http.StatusSeeOther {
		t.Errorf("id_token_hint signed by the active key: %d, want 303", p.Status)
	}
	n, err := cli.Prune(t.Context())
	if err != nil || n != 1 {
		t.Errorf("Prune = %d, %v; want the one expired key", n, err)
	}
	// New sign-ins work with the new key only.
	fresh := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
	if kidOf(t, fresh.ID) != newKid {
		t.Errorf("ID token after prune has kid %s, want %s", kidOf(t, fresh.ID), newKid)
	}
	if _, err := e.Provider().Verifier(&oidc.Config{ClientID: "spa", Now: e.Clock.Now}).Verify(ctx, fresh.ID); err != nil {
		t.Errorf("go-oidc after prune: %v", err)
	}
}

// TestIDTokenAlgPerClient: id_token_signed_response_alg per client; the
// access token keeps the server's default algorithm.
func TestIDTokenAlgPerClient(t *testing.T) {
	e := startLifecycle(t)
	ctx := latchtest.ClientContext(t.Context())
	def := e.Config.SigningAlg
	cases := []struct{ client, alg, want string }{
		{"spa-eddsa", token.EdDSA, token.EdDSA},
		{"spa-rs256", token.RS256, token.RS256},
		{"spa-es256", token.ES256, token.ES256},
		{"spa-default", "", def},
	}
	for _, tc := range cases {
		e.MustClient(store.Client{
			ID: tc.client, Public: true, FirstParty: true, RedirectURIs: []string{latchtest.SPARedirect},
			GrantTypes: []string{"authorization_code", "refresh_token"}, IDTokenAlg: tc.alg,
		})
	}
	b := e.Browser()
	for _, tc := range cases {
		t.Run(tc.client, func(t *testing.T) {
			conf := e.OAuthConfig(tc.client, latchtest.SPARedirect, "openid")
			v := oauth2.GenerateVerifier()
			q := b.SignIn(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oidc.Nonce("n-"+tc.client)))
			tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(v))
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := tok.Extra("id_token").(string)
			h, _ := latchtest.DecodeJWT(t, raw)
			if h["alg"] != tc.want {
				t.Fatalf("ID token alg = %v, want %s", h["alg"], tc.want)
			}
			if ah, _ := latchtest.DecodeJWT(t, tok.AccessToken); ah["alg"] != def {
				t.Errorf("access token alg = %v, want the server default %s", ah["alg"], def)
			}
			idt, err := e.Provider().Verifier(&oidc.Config{ClientID: tc.client, Now: e.Clock.Now, SupportedSigningAlgs: []string{tc.want}}).Verify(ctx, raw)
			if err != nil {
				t.Fatalf("go-oidc with %s: %v", tc.want, err)
			}
			if idt.Nonce != "n-"+tc.client {
				t.Errorf("nonce = %q", idt.Nonce)
			}
			if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
				t.Errorf("at_hash under %s: %v", tc.want, err)
			}
			// A relying party that accepts only another algorithm refuses
			// it: the alg is what the client registered, not a choice.
			other := token.RS256
			if tc.want == token.RS256 {
				other = token.ES256
			}
			if _, err := e.Provider().Verifier(&oidc.Config{ClientID: tc.client, Now: e.Clock.Now, SupportedSigningAlgs: []string{other}}).Verify(ctx, raw); err == nil {
				t.Errorf("a verifier accepting only %s accepted a %s ID token", other, tc.want)
			}
			// The refreshed ID token uses the same algorithm.
			r := mustRefresh(t, e, tc.client, tok.RefreshToken)
			if h, _ := latchtest.DecodeJWT(t, r.ID); h["alg"] != tc.want {
				t.Errorf("refreshed ID token alg = %v, want %s", h["alg"], tc.want)
			}
		})
	}
}

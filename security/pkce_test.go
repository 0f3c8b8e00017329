package security

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
)

// TestPKCEDowngradeAtTokenEndpoint is RFC 9700 §4.8: an attacker holding
// a stolen code tries to redeem it without proving possession of the
// verifier the legitimate client created (RFC 7636 §4.6).
func TestPKCEDowngradeAtTokenEndpoint(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	challengeOf := func(c latchtest.Issued) string { return oauth2.S256ChallengeFromVerifier(c.Verifier) }
	cases := []struct {
		name     string
		client   string
		verifier func(c latchtest.Issued) string
	}{
		{"challenge sent, verifier omitted (public)", "spa", func(latchtest.Issued) string { return "" }},
		{"challenge sent, verifier omitted (confidential)", "app", func(latchtest.Issued) string { return "" }},
		{"wrong verifier", "spa", func(latchtest.Issued) string { return oauth2.GenerateVerifier() }},
		{"the challenge itself as verifier (plain)", "spa", challengeOf},
		{"verifier with a character changed", "spa", func(c latchtest.Issued) string {
			return c.Verifier[:len(c.Verifier)-1] + string(c.Verifier[len(c.Verifier)-1]^1)
		}},
		{"verifier with padding appended", "spa", func(c latchtest.Issued) string { return c.Verifier + "=" }},
	}
	redirects := map[string]string{"spa": latchtest.SPARedirect, "app": appRedirect}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.IssueCode(b, tc.client, redirects[tc.client])
			var auth []func(*http.Request)
			if tc.client == "app" {
				auth = append(auth, withSecret(e, "app"))
			}
			resp, body := e.PostForm("/token", exchangeForm(tc.client, c.Code, redirects[tc.client], tc.verifier(c)), auth...)
			requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
	}
}

// TestPKCEVerifierWithoutChallenge is RFC 9700 §4.8.2: a confidential
// client may skip PKCE, so an attacker who injects a code issued without
// a challenge into a session that uses PKCE must not get through merely
// because the server ignores an unexpected verifier.
func TestPKCEVerifierWithoutChallenge(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	codeWithoutPKCE := func() string {
		q := authParams("app", appRedirect, "x")
		q.Del("code_challenge")
		q.Del("code_challenge_method")
		return requireCodeRedirect(t, b.Get(authorizeURL(e, q)), appRedirect).Get("code")
	}
	resp, body := e.PostForm("/token", exchangeForm("app", codeWithoutPKCE(), appRedirect, oauth2.GenerateVerifier()), withSecret(e, "app"))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	// Control: the confidential client without PKCE and without verifier.
	if resp, body := e.PostForm("/token", exchangeForm("app", codeWithoutPKCE(), appRedirect, ""), withSecret(e, "app")); resp.StatusCode != http.StatusOK {
		t.Fatalf("control: confidential client without PKCE: %d %v", resp.StatusCode, body)
	}
}

// TestPKCEWeakChallengeRefused: only S256 is accepted at the
// authorization endpoint (RFC 9700 §2.1.1). plain — named, or implied by
// a challenge without a method (RFC 7636 §4.3) — would let anyone who
// sees the request redeem the code. The victim is signed in, so any
// accepted request would yield a code; each gets an error redirect
// instead.
func TestPKCEWeakChallengeRefused(t *testing.T) {
	e := start(t)
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect) // signed in; spa is first-party
	v := oauth2.GenerateVerifier()
	cases := []struct {
		name string
		mod  func(q url.Values)
	}{
		{"plain method", func(q url.Values) { q.Set("code_challenge", v); q.Set("code_challenge_method", "plain") }},
		{"challenge without method", func(q url.Values) { q.Del("code_challenge_method") }},
		{"unknown method", func(q url.Values) { q.Set("code_challenge_method", "S512") }},
		{"lower-case s256", func(q url.Values) { q.Set("code_challenge_method", "s256") }},
		{"method without challenge", func(q url.Values) { q.Del("code_challenge") }},
		{"no PKCE at all (public client)", func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }},
		{"challenge too short", func(q url.Values) { q.Set("code_challenge", q.Get("code_challenge")[:42]) }},
		{"challenge with padding", func(q url.Values) { q.Set("code_challenge", q.Get("code_challenge")+"=") }},
		{"challenge not base64url", func(q url.Values) { q.Set("code_challenge", strings.Repeat("+", 43)) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := authParams("spa", latchtest.SPARedirect, v)
			tc.mod(q)
			requireErrorRedirect(t, e, b.Get(authorizeURL(e, q)), latchtest.SPARedirect, "invalid_request")
		})
	}
	// Control.
	requireCodeRedirect(t, b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v))), latchtest.SPARedirect)
}

// TestPKCEVerifierSyntax: a verifier outside RFC 7636 §4.1 (43–128
// unreserved characters) is refused even when its hash matches.
func TestPKCEVerifierSyntax(t *testing.T) {
	e := start(t)
	b := e.Browser()
	for _, v := range []string{strings.Repeat("a", 42), strings.Repeat("a", 129), strings.Repeat("a", 42) + "+"} {
		q := authParams("spa", latchtest.SPARedirect, v)
		code := latchtest.Callback(t, signIn(b, authorizeURL(e, q))).Get("code")
		if code == "" {
			t.Fatal("no code")
		}
		resp, body := e.PostForm("/token", exchangeForm("spa", code, latchtest.SPARedirect, v))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	}
}

// TestPKCEDiscovery: discovery advertises S256 alone, so no conforming
// client negotiates plain.
func TestPKCEDiscovery(t *testing.T) {
	e := start(t)
	var meta struct {
		Methods []string `json:"code_challenge_methods_supported"`
	}
	getJSON(t, e.Issuer+"/.well-known/openid-configuration", &meta)
	if !slices.Equal(meta.Methods, []string{"S256"}) {
		t.Errorf("code_challenge_methods_supported = %v, want [S256]", meta.Methods)
	}
}

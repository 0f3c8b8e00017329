package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
)

const evil = "https://evil.test/phish"

// requireNoRedirectOffLatch: p either does not redirect, or redirects to
// Latch itself.
func requireNoRedirectOffLatch(t *testing.T, e *latchtest.Env, p latchtest.Page) {
	t.Helper()
	loc := p.Header.Get("Location")
	if loc == "" {
		return
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatalf("unparseable Location %q", loc)
	}
	base, _ := url.Parse(e.Issuer)
	if abs := base.ResolveReference(u); abs.Host != base.Host || abs.Scheme != base.Scheme {
		t.Fatalf("redirects off Latch to %q", loc)
	}
}

// TestOpenRedirectAuthorizeErrors is RFC 9700 §4.11.2: an attacker uses
// the authorization endpoint's error responses to bounce users from a
// trusted domain to a phishing site. Errors are redirected only once
// client_id and redirect_uri are validated (RFC 6749 §4.1.2.1); until
// then, and whatever else is wrong with the request, Latch shows its own
// page.
func TestOpenRedirectAuthorizeErrors(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	base := func(mod func(q url.Values)) string {
		q := authParams("app", evil, v)
		mod(q)
		return authorizeURL(e, q)
	}
	cases := []struct{ name, url string }{
		{"unknown client", base(func(q url.Values) { q.Set("client_id", "no-such-client") })},
		{"no client_id", base(func(q url.Values) { q.Del("client_id") })},
		{"unregistered redirect_uri", base(func(url.Values) {})},
		{"unregistered redirect_uri and implicit", base(func(q url.Values) { q.Set("response_type", "token") })},
		{"unregistered redirect_uri and no PKCE", base(func(q url.Values) { q.Del("code_challenge") })},
		{"unregistered redirect_uri and bad scope", base(func(q url.Values) { q.Set("scope", "admin") })},
		{"unregistered redirect_uri and prompt=none", base(func(q url.Values) { q.Set("prompt", "none") })},
		{"unregistered redirect_uri and request object", base(func(q url.Values) { q.Set("request", "eyJhbGciOiJub25lIn0.e30.") })},
		{"unregistered redirect_uri and form_post", base(func(q url.Values) { q.Set("response_mode", "form_post") })},
		{"redirect_uri repeated (valid first)", e.Issuer + "/authorize?client_id=app&response_type=code&redirect_uri=" + url.QueryEscape(appRedirect) + "&redirect_uri=" + url.QueryEscape(evil)},
		{"redirect_uri repeated (evil first)", e.Issuer + "/authorize?client_id=app&response_type=code&redirect_uri=" + url.QueryEscape(evil) + "&redirect_uri=" + url.QueryEscape(appRedirect)},
		{"client_id repeated", e.Issuer + "/authorize?client_id=app&client_id=spa&response_type=token&redirect_uri=" + url.QueryEscape(appRedirect)},
		{"invalid UTF-8 in client_id", e.Issuer + "/authorize?client_id=%ff&response_type=token&redirect_uri=" + url.QueryEscape(appRedirect)},
		{"malformed query", e.Issuer + "/authorize?client_id=app&redirect_uri=" + url.QueryEscape(appRedirect) + "&response_type=token&%zz"},
		{"redirect_uri with a fragment", base(func(q url.Values) { q.Set("redirect_uri", appRedirect+"#x"); q.Set("response_type", "token") })},
		{"relative redirect_uri", base(func(q url.Values) { q.Set("redirect_uri", "/cb"); q.Set("response_type", "token") })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			requireErrorPage(t, e.Browser().Get(tc.url))
		})
	}
	t.Run("POST to the authorization endpoint", func(t *testing.T) {
		q := authParams("app", evil, v)
		q.Set("response_type", "token")
		requireErrorPage(t, postForm(t, e.Browser(), e.Issuer+"/authorize", q))
	})
	t.Run("control: validated redirect gets the error", func(t *testing.T) {
		q := authParams("app", appRedirect, v)
		q.Set("response_type", "token")
		p := e.Browser().Get(authorizeURL(e, q))
		if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, appRedirect) {
			t.Fatalf("status %d Location %q, want the error at %s", p.Status, loc, appRedirect)
		}
	})
}

// TestOpenRedirectPostLogout is RFC 9700 §4.11.2 for RP-Initiated Logout:
// post_logout_redirect_uri must match one registered for the client
// exactly; otherwise Latch stays on its own page, signed in or not.
func TestOpenRedirectPostLogout(t *testing.T) {
	e := start(t)
	tok, _ := e.CodeFlow(e.Browser(), oidc.ScopeOpenID) // spa's ID token: a valid hint
	idToken, _ := tok.Extra("id_token").(string)
	cases := []struct {
		name   string
		params url.Values
	}{
		{"unregistered, no client", url.Values{"post_logout_redirect_uri": {evil}}},
		{"unregistered, with client_id", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {evil}}},
		{"unregistered, with a valid hint", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {evil}}},
		{"registered for another client", url.Values{"client_id": {"spa"}, "post_logout_redirect_uri": {appLogout}}},
		{"registered for another client, hint", url.Values{"id_token_hint": {idToken}, "post_logout_redirect_uri": {appLogout}}},
		{"registered URI without naming the client", url.Values{"post_logout_redirect_uri": {appLogout}}},
		{"prefix", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {appLogout + "/../../evil"}}},
		{"suffix host", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"https://app.example.evil.test/bye"}}},
		{"userinfo", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"https://app.example@evil.test/bye"}}},
		{"case", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {"https://APP.example/bye"}}},
		{"extra query", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {appLogout + "?next=" + evil}}},
		{"fragment", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {appLogout + "#x"}}},
		{"trailing slash", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {appLogout + "/"}}},
		{"unknown client", url.Values{"client_id": {"nobody"}, "post_logout_redirect_uri": {evil}}},
		{"forged hint", url.Values{"id_token_hint": {latchtest.UnsignedJWT(t, map[string]any{"alg": "none"}, map[string]any{"iss": e.Issuer, "aud": "evil", "sub": "user-alice"})}, "post_logout_redirect_uri": {evil}}},
		{"repeated post_logout_redirect_uri", url.Values{"client_id": {"app"}, "post_logout_redirect_uri": {appLogout, evil}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			signedIn := e.Browser()
			e.IssueCode(signedIn, "spa", latchtest.SPARedirect)
			for who, b := range map[string]*latchtest.Browser{"signed out": e.Browser(), "signed in": signedIn} {
				p := b.Get(e.Issuer + "/logout?" + tc.params.Encode())
				requireNoRedirectOffLatch(t, e, p)
				if p.Status >= 500 {
					t.Errorf("%s: status %d", who, p.Status)
				}
				// POST (RP-Initiated Logout §2) follows the same rules.
				p = postForm(t, b, e.Issuer+"/logout", tc.params)
				requireNoRedirectOffLatch(t, e, p)
			}
			// A confirmation page must not carry the URI forward either.
			p := signedIn.Get(e.Issuer + "/logout?" + tc.params.Encode())
			if strings.Contains(p.Body, `name="interaction"`) {
				p = signedIn.Post(formAction(t, p.Body), url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"logout"}})
				requireNoRedirectOffLatch(t, e, p)
			}
		})
	}
	t.Run("control: the registered URI", func(t *testing.T) {
		b := e.Browser()
		tok, _ := e.CodeFlow(b, oidc.ScopeOpenID) // a hint of this session
		hint, _ := tok.Extra("id_token").(string)
		p := b.Get(e.Issuer + "/logout?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://spa.test:3000/"}, "state": {"s"}}.Encode())
		if loc := p.Header.Get("Location"); !strings.HasPrefix(loc, "http://spa.test:3000/?") {
			t.Fatalf("status %d Location %q, want the registered post-logout URI", p.Status, loc)
		}
	})
}

// TestOpenRedirectForms: nothing posted to the login, consent or logout
// forms can choose where the browser goes; the destination comes only
// from the sealed, re-validated authorization request.
func TestOpenRedirectForms(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	extra := url.Values{
		"redirect_uri": {evil}, "post_logout_redirect_uri": {evil}, "return_to": {evil},
		"next": {evil}, "continue": {evil}, "url": {evil}, "client_id": {"spa"},
	}
	with := func(form url.Values) url.Values {
		out := url.Values{}
		for k, vs := range extra {
			out[k] = vs
		}
		for k, vs := range form {
			out[k] = vs
		}
		return out
	}
	t.Run("login", func(t *testing.T) {
		b := e.Browser()
		p := b.Get(authorizeURL(e, authParams("app", appRedirect, v)))
		p = postForm(t, b, e.Issuer+"/login", with(url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"alice"}, "password": {latchtest.AlicePassword}}))
		if !latchtest.IsConsentPage(p) {
			t.Fatalf("want the consent page of app, got %d %q", p.Status, p.Header.Get("Location"))
		}
		p = postForm(t, b, e.Issuer+"/consent", with(url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"allow"}}))
		requireCodeRedirect(t, p, appRedirect)
	})
	t.Run("login and consent by GET", func(t *testing.T) {
		b := e.Browser()
		for _, path := range []string{"/login", "/consent", "/logout/confirm"} {
			p := b.Get(e.Issuer + path + "?" + extra.Encode())
			requireNoRedirectOffLatch(t, e, p)
			if p.Status < 400 {
				t.Errorf("GET %s: status %d, want an error page", path, p.Status)
			}
		}
	})
	t.Run("logout confirmation", func(t *testing.T) {
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		p := b.Get(e.Issuer + "/logout?client_id=spa")
		p = postForm(t, b, formAction(t, p.Body), with(url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"logout"}}))
		requireNoRedirectOffLatch(t, e, p)
		requireNotSignedIn(t, e, b)
	})
	t.Run("path tricks", func(t *testing.T) {
		for _, path := range []string{"//evil.test/", "/\\evil.test/", "/%2f%2fevil.test/", "/static/..%2f..%2f/evil.test", "/./evil.test"} {
			req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+path, nil)
			if err != nil {
				t.Fatal(err)
			}
			p := do(t, req)
			requireNoRedirectOffLatch(t, e, p)
			if loc := p.Header.Get("Location"); strings.HasPrefix(loc, "//") || strings.HasPrefix(loc, "/\\") {
				t.Errorf("GET %s: Location %q is protocol-relative", path, loc)
			}
		}
	})
}

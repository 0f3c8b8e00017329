package security

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// signedInWithConsent returns a browser whose user is signed in and has
// already consented to "app": a request whose redirect URI matched would
// be answered at once with a code. That is the victim an attacker's link
// targets (RFC 9700 §4.1.1).
func signedInWithConsent(t *testing.T, e *latchtest.Env) *latchtest.Browser {
	t.Helper()
	b := e.Browser()
	e.IssueCode(b, "app", appRedirect)
	return b
}

// TestRedirectURIManipulation is RFC 9700 §4.1: an attacker crafts an
// authorization request whose redirect_uri resembles a registered one,
// hoping a lax matcher sends the victim's code to the attacker. Latch
// matches by exact string comparison (RFC 9700 §4.1.3), so every variant
// gets Latch's error page and no redirect at all.
func TestRedirectURIManipulation(t *testing.T) {
	e := start(t)
	e.MustClient(store.Client{
		ID: "wild", Public: true, FirstParty: true,
		// Registrations that look like patterns; they are plain strings.
		RedirectURIs: []string{"https://*.wild.example/cb", "https://wild.example/cb*", "https://wild.example/cb/.*"},
		GrantTypes:   []string{"authorization_code"},
	})
	b := signedInWithConsent(t, e)
	e.IssueCode(b, "native", "http://127.0.0.1:50000/callback") // signed in, native is first-party

	cases := []struct {
		name, client, redirect string
	}{
		{"prefix: longer path", "app", "https://app.example/cb/evil"},
		{"prefix: path continues", "app", "https://app.example/cbevil"},
		{"prefix of the registered URI", "app", "https://app.example/c"},
		{"trailing slash", "app", "https://app.example/cb/"},
		{"suffix: registered host as a label", "app", "https://app.example.evil.test/cb"},
		{"suffix: host ends with registered host", "app", "https://evilapp.example/cb"},
		{"subdomain of registered host", "app", "https://evil.app.example/cb"},
		{"trailing dot in host", "app", "https://app.example./cb"},
		{"path traversal out", "app", "https://app.example/cb/../evil"},
		{"path traversal back in", "app", "https://app.example/evil/../cb"},
		{"dot segment", "app", "https://app.example/./cb"},
		{"double slash", "app", "https://app.example//cb"},
		{"encoded traversal %2e%2e", "app", "https://app.example/cb/%2e%2e/evil"},
		{"encoded traversal %2E%2E", "app", "https://app.example/cb/%2E%2E/%2E%2E/evil"},
		{"encoded slash", "app", "https://app.example/cb%2f..%2fevil"},
		{"userinfo: registered host as user", "app", "https://app.example@evil.test/cb"},
		{"userinfo: registered host with password", "app", "https://app.example:x@evil.test/cb"},
		{"userinfo on the registered host", "app", "https://evil@app.example/cb"},
		{"backslash before @", "app", `https://app.example\@evil.test/cb`},
		{"fragment", "app", "https://app.example/cb#evil"},
		{"empty fragment", "app", "https://app.example/cb#"},
		{"upper-case scheme", "app", "HTTPS://app.example/cb"},
		{"upper-case host", "app", "https://APP.example/cb"},
		{"upper-case path", "app", "https://app.example/CB"},
		{"percent-encoded path character", "app", "https://app.example/%63b"},
		{"percent-encoded host character", "app", "https://app%2eexample/cb"},
		{"encoded NUL", "app", "https://app.example/cb%00"},
		{"homograph host (Cyrillic a)", "app", "https://\u0430pp.example/cb"},
		{"extra query", "app", "https://app.example/cb?next=https://evil.test"},
		{"empty query", "app", "https://app.example/cb?"},
		{"explicit default port", "app", "https://app.example:443/cb"},
		{"other port on a non-loopback host", "app", "https://app.example:8443/cb"},
		{"http downgrade", "app", "http://app.example/cb"},
		{"protocol-relative", "app", "//evil.test/cb"},
		{"relative path", "app", "/cb"},
		{"javascript scheme", "app", "javascript:alert(document.domain)//https://app.example/cb"},
		{"leading space", "app", " https://app.example/cb"},
		{"trailing space", "app", "https://app.example/cb "},
		{"another client's redirect URI", "app", latchtest.SPARedirect},
		{"wildcard host is literal", "wild", "https://evil.wild.example/cb"},
		{"wildcard suffix is literal", "wild", "https://wild.example/cb-evil"},
		{"regex-looking path is literal", "wild", "https://wild.example/cb/evil"},
		// Loopback (RFC 8252 §7.3): only the port may change, and only
		// for the registered IP literal over http.
		{"localhost instead of 127.0.0.1", "native", "http://localhost:50000/callback"},
		{"localhost without port", "native", "http://localhost/callback"},
		{"other 127/8 address", "native", "http://127.0.0.2:50000/callback"},
		{"IPv6 loopback for an IPv4 registration", "native", "http://[::1]:50000/callback"},
		{"decimal loopback address", "native", "http://2130706433:50000/callback"},
		{"https on loopback", "native", "https://127.0.0.1:50000/callback"},
		{"loopback path changed", "native", "http://127.0.0.1:50000/callback/evil"},
		{"loopback traversal", "native", "http://127.0.0.1:50000/callback/../evil"},
		{"loopback userinfo", "native", "http://127.0.0.1:50000@evil.test/callback"},
		{"loopback extra query", "native", "http://127.0.0.1:50000/callback?x=1"},
		{"loopback empty port", "native", "http://127.0.0.1:/callback"},
		{"loopback port 0", "native", "http://127.0.0.1:0/callback"},
		{"loopback port out of range", "native", "http://127.0.0.1:65536/callback"},
		{"loopback port with leading zero", "native", "http://127.0.0.1:050000/callback"},
	}
	v := oauth2.GenerateVerifier()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q := authParams(tc.client, tc.redirect, v)
			if tc.client != "app" {
				q.Set("scope", "openid")
			}
			requireErrorPage(t, b.Get(authorizeURL(e, q)))
		})
	}

	// Positive controls: the registered URIs themselves get a code at
	// once, so the refusals above are due to the URI alone.
	for _, tc := range []struct{ client, redirect string }{
		{"app", appRedirect},
		{"native", "http://127.0.0.1:50001/callback"},
		{"wild", "https://wild.example/cb*"},
	} {
		p := b.Get(authorizeURL(e, authParams(tc.client, tc.redirect, v)))
		if p.Status != http.StatusFound || !strings.HasPrefix(p.Header.Get("Location"), tc.redirect+"?") {
			t.Fatalf("control %s %s: status %d Location %q, want a redirect with a code", tc.client, tc.redirect, p.Status, p.Header.Get("Location"))
		}
	}
}

// TestRedirectURIOmittedWithSeveralRegistered: without redirect_uri and
// with more than one registered, Latch cannot know where to go and must
// not guess (RFC 6749 §3.1.2.3).
func TestRedirectURIOmittedWithSeveralRegistered(t *testing.T) {
	e := start(t)
	e.MustClient(store.Client{
		ID: "two", Public: true, FirstParty: true,
		RedirectURIs: []string{"https://two.example/a", "https://two.example/b"},
		GrantTypes:   []string{"authorization_code"},
	})
	q := authParams("two", "", oauth2.GenerateVerifier())
	q.Del("redirect_uri")
	q.Set("scope", "profile") // plain OAuth: redirect_uri is optional there
	requireErrorPage(t, e.Browser().Get(authorizeURL(e, q)))
}

// TestRedirectURIMismatchAtTokenEndpoint: the code is bound to the
// redirect URI of its authorization request (RFC 6749 §4.1.3); a token
// request naming any other URI, or none, gets invalid_grant and no token.
func TestRedirectURIMismatchAtTokenEndpoint(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	cases := []struct {
		name, client, issuedFor, presented string
	}{
		{"omitted", "app", appRedirect, ""},
		{"prefix", "app", appRedirect, appRedirect + "/evil"},
		{"trailing slash", "app", appRedirect, appRedirect + "/"},
		{"upper case", "app", appRedirect, strings.ToUpper(appRedirect)},
		{"encoded", "app", appRedirect, "https://app.example/%63b"},
		{"extra query", "app", appRedirect, appRedirect + "?x=1"},
		{"attacker's URI", "app", appRedirect, "https://evil.test/cb"},
		{"loopback: other port", "native", "http://127.0.0.1:50000/callback", "http://127.0.0.1:50001/callback"},
		{"loopback: port dropped", "native", "http://127.0.0.1:50000/callback", "http://127.0.0.1/callback"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.IssueCode(b, tc.client, tc.issuedFor)
			var auth []func(*http.Request)
			if tc.client == "app" {
				auth = append(auth, withSecret(e, "app"))
			}
			resp, body := e.PostForm("/token", exchangeForm(tc.client, c.Code, tc.presented, c.Verifier), auth...)
			requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
	}
	t.Run("control: the same URI", func(t *testing.T) {
		c := e.IssueCode(b, "app", appRedirect)
		resp, body := e.PostForm("/token", exchangeForm("app", c.Code, appRedirect, c.Verifier), withSecret(e, "app"))
		if resp.StatusCode != http.StatusOK || body["access_token"] == nil {
			t.Fatalf("control exchange: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("code issued without redirect_uri, token request names another", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		q := authParams("app", "", v)
		q.Del("redirect_uri")
		q.Set("scope", "profile") // plain OAuth: redirect_uri may be omitted with one registered
		p := b.Get(authorizeURL(e, q))
		if latchtest.IsConsentPage(p) {
			p = b.Consent(p, "allow")
		}
		code := latchtest.Callback(t, p).Get("code")
		if code == "" {
			t.Fatal("no code")
		}
		resp, body := e.PostForm("/token", exchangeForm("app", code, "https://evil.test/cb", v), withSecret(e, "app"))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
}

// TestNo307AfterCredentials is RFC 9700 §4.12: answering a POST that
// carried the user's password with 307 would make the browser re-POST the
// password to the client. Latch answers the login and consent forms (and
// a POSTed authorization request) with 303, or 302 for a GET.
func TestNo307AfterCredentials(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	check := func(t *testing.T, what string, p latchtest.Page) {
		t.Helper()
		if p.Status == http.StatusTemporaryRedirect || p.Status == http.StatusPermanentRedirect {
			t.Errorf("%s: %d", what, p.Status)
		}
		if p.Status != http.StatusSeeOther {
			t.Errorf("%s: status %d, want 303", what, p.Status)
		}
	}
	b := e.Browser()
	p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v)))
	check(t, "login", b.Login(p, "alice", latchtest.AlicePassword))

	b = e.Browser()
	p = b.Login(b.Get(authorizeURL(e, authParams("app", appRedirect, v))), "alice", latchtest.AlicePassword)
	check(t, "consent", b.Consent(p, "allow"))

	check(t, "POST /authorize", postForm(t, b, e.Issuer+"/authorize", authParams("spa", latchtest.SPARedirect, v)))
}

package server_test

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"

	"golang.org/x/oauth2"
)

// TestCodeExchangeAttacks: every way of presenting a code that must fail
// fails with invalid_grant.
func TestCodeExchangeAttacks(t *testing.T) {
	e := latchtest.Start(t)
	ctx := t.Context()
	b := e.Browser()

	t.Run("wrong verifier", func(t *testing.T) {
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		_, err := c.Conf.Exchange(ctx, c.Code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q (%v), want invalid_grant", got, err)
		}
	})
	t.Run("missing verifier", func(t *testing.T) {
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		_, err := c.Conf.Exchange(ctx, c.Code)
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q (%v), want invalid_grant", got, err)
		}
	})
	t.Run("replay revokes the first tokens", func(t *testing.T) {
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		tok, err := c.Conf.Exchange(ctx, c.Code, oauth2.VerifierOption(c.Verifier))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.UserinfoStatus(tok.AccessToken); got != http.StatusOK {
			t.Fatalf("userinfo before replay = %d", got)
		}
		_, err = c.Conf.Exchange(ctx, c.Code, oauth2.VerifierOption(c.Verifier))
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("replay error = %q, want invalid_grant", got)
		}
		if got := e.UserinfoStatus(tok.AccessToken); got != http.StatusUnauthorized {
			t.Errorf("access token from the replayed code: userinfo = %d, want 401", got)
		}
		_, err = c.Conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("refresh token from the replayed code: %q, want invalid_grant", got)
		}
		if !strings.Contains(e.AuditLog(), "code_replay_detected") {
			t.Errorf("no audit event for the replay")
		}
	})
	t.Run("code of another client", func(t *testing.T) {
		c := e.IssueCode(b, "native", "http://127.0.0.1:5555/callback")
		other := e.OAuthConfig("spa", "http://127.0.0.1:5555/callback")
		_, err := other.Exchange(ctx, c.Code, oauth2.VerifierOption(c.Verifier))
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})
	t.Run("mismatched redirect_uri", func(t *testing.T) {
		c := e.IssueCode(b, "native", "http://127.0.0.1:5555/callback")
		c.Conf.RedirectURL = "http://127.0.0.1:5556/callback"
		_, err := c.Conf.Exchange(ctx, c.Code, oauth2.VerifierOption(c.Verifier))
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		e.Clock.Advance(61 * time.Second)
		_, err := c.Conf.Exchange(ctx, c.Code, oauth2.VerifierOption(c.Verifier))
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})
	t.Run("verifier where no challenge was sent", func(t *testing.T) {
		conf := e.OAuthConfig("web", latchtest.WebRedirect, "openid")
		q := b.SignIn(conf.AuthCodeURL("s"))
		_, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := latchtest.OAuthErrorCode(err); got != "invalid_grant" {
			t.Errorf("PKCE downgrade: error = %q, want invalid_grant", got)
		}
	})
	t.Run("confidential client without PKCE still works", func(t *testing.T) {
		conf := e.OAuthConfig("web", latchtest.WebRedirect, "openid")
		q := b.SignIn(conf.AuthCodeURL("s"))
		if _, err := conf.Exchange(ctx, q.Get("code")); err != nil {
			t.Errorf("exchange: %v", err)
		}
	})
	t.Run("loopback redirect on any port", func(t *testing.T) {
		c := e.IssueCode(b, "native", "http://127.0.0.1:61234/callback")
		if _, err := c.Conf.Exchange(ctx, c.Code, oauth2.VerifierOption(c.Verifier)); err != nil {
			t.Errorf("exchange: %v", err)
		}
	})
}

// TestAuthorizeErrors: before the client and redirect URI are validated,
// errors are Latch's page; after, they go to the client with state and iss.
func TestAuthorizeErrors(t *testing.T) {
	e := latchtest.Start(t)
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	base := func(mod func(url.Values)) string {
		q := url.Values{"client_id": {"spa"}, "redirect_uri": {latchtest.SPARedirect}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		if mod != nil {
			mod(q)
		}
		return e.Issuer + "/authorize?" + q.Encode()
	}
	pageCases := []struct {
		name string
		url  string
	}{
		{"unknown client", base(func(q url.Values) { q.Set("client_id", "nope") })},
		{"missing client_id", base(func(q url.Values) { q.Del("client_id") })},
		{"unregistered redirect_uri", base(func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") })},
		{"redirect_uri prefix", base(func(q url.Values) { q.Set("redirect_uri", latchtest.SPARedirect+"/evil") })},
		{"duplicate redirect_uri", base(func(q url.Values) { q.Add("redirect_uri", latchtest.SPARedirect) })},
		{"duplicate client_id", base(func(q url.Values) { q.Add("client_id", "spa") })},
		{"invalid UTF-8 client_id", e.Issuer + "/authorize?client_id=%ff%fe&response_type=code"},
		{"malformed query", e.Issuer + "/authorize?client_id=spa&%zz"},
	}
	for _, tc := range pageCases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.Browser().Get(tc.url)
			if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
				t.Errorf("status %d Location %q, want a 400 error page and no redirect", p.Status, p.Header.Get("Location"))
			}
			if !strings.Contains(p.Header.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type = %q", p.Header.Get("Content-Type"))
			}
		})
	}
	redirectCases := []struct {
		name, url, code string
	}{
		{"implicit", base(func(q url.Values) { q.Set("response_type", "token") }), "unsupported_response_type"},
		{"hybrid", base(func(q url.Values) { q.Set("response_type", "code id_token") }), "unsupported_response_type"},
		{"missing response_type", base(func(q url.Values) { q.Del("response_type") }), "invalid_request"},
		{"plain PKCE", base(func(q url.Values) { q.Set("code_challenge_method", "plain") }), "invalid_request"},
		{"no PKCE for a public client", base(func(q url.Values) { q.Del("code_challenge"); q.Del("code_challenge_method") }), "invalid_request"},
		{"scope not allowed", base(func(q url.Values) { q.Set("scope", "openid admin") }), "invalid_scope"},
		{"duplicate state", base(func(q url.Values) { q.Add("scope", "openid") }), "invalid_request"},
		{"request object", base(func(q url.Values) { q.Set("request", "eyJ.x.y") }), "request_not_supported"},
		{"prompt none with login", base(func(q url.Values) { q.Set("prompt", "none login") }), "invalid_request"},
	}
	for _, tc := range redirectCases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.Browser().Get(tc.url)
			if p.Status != http.StatusFound {
				t.Fatalf("status %d, want 302 to the client:\n%s", p.Status, p.Body)
			}
			loc, _ := url.Parse(p.Header.Get("Location"))
			q := loc.Query()
			switch {
			case strings.HasPrefix(loc.String(), latchtest.SPARedirect+"?"):
			case strings.HasPrefix(loc.String(), latchtest.SPARedirect+"#") && tc.code == "unsupported_response_type":
				// An implicit or hybrid client reads the fragment.
				q, _ = url.ParseQuery(loc.EscapedFragment())
			default:
				t.Fatalf("Location = %s, want the registered redirect URI", loc)
			}
			if q.Get("error") != tc.code || q.Get("state") != "xyz" || q.Get("iss") != e.Issuer {
				t.Errorf("callback = %v, want error=%s state=xyz iss", q, tc.code)
			}
			if tc.name == "implicit" && !strings.Contains(q.Get("error_description"), "PKCE") {
				t.Errorf("implicit refusal should point to the code flow with PKCE: %q", q.Get("error_description"))
			}
		})
	}
}

// TestTokenEndpointBadInput: malformed requests get RFC 6749 §5.2 JSON
// with Cache-Control: no-store, never a 5xx.
func TestTokenEndpointBadInput(t *testing.T) {
	e := latchtest.Start(t)
	good := url.Values{"grant_type": {"authorization_code"}, "code": {"abc"}, "client_id": {"spa"}, "code_verifier": {strings.Repeat("a", 43)}}
	cases := []struct {
		name   string
		method string
		ctype  string
		body   string
		auth   string
		status int
		code   string
	}{
		{"GET", http.MethodGet, "", "", "", 405, "invalid_request"},
		{"PUT", http.MethodPut, "application/x-www-form-urlencoded", good.Encode(), "", 405, "invalid_request"},
		{"JSON body", http.MethodPost, "application/json", `{"grant_type":"authorization_code"}`, "", 400, "invalid_request"},
		{"no content type", http.MethodPost, "", good.Encode(), "", 400, "invalid_request"},
		{"missing grant_type", http.MethodPost, "application/x-www-form-urlencoded", "code=abc&client_id=spa", "", 400, "invalid_request"},
		{"unknown grant_type", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=password&client_id=spa&username=a&password=b", "", 400, "unsupported_grant_type"},
		{"implicit as grant", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=implicit&client_id=spa", "", 400, "unsupported_grant_type"},
		{"duplicate code", http.MethodPost, "application/x-www-form-urlencoded", good.Encode() + "&code=def", "", 400, "invalid_request"},
		{"invalid UTF-8", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=authorization_code&client_id=spa&code=%ff%fe", "", 400, "invalid_request"},
		{"oversized body", http.MethodPost, "application/x-www-form-urlencoded", good.Encode() + "&pad=" + strings.Repeat("x", 100<<10), "", 400, "invalid_request"},
		{"unknown code", http.MethodPost, "application/x-www-form-urlencoded", good.Encode(), "", 400, "invalid_grant"},
		{"unknown client", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=authorization_code&code=x&client_id=ghost", "", 401, "invalid_client"},
		{"wrong secret", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=client_credentials", "Basic " + base64.StdEncoding.EncodeToString([]byte("web:wrong")), 401, "invalid_client"},
		{"confidential without secret", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=authorization_code&code=x&client_id=web", "", 401, "invalid_client"},
		{"public with secret", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=authorization_code&code=x&client_id=spa&client_secret=guess", "", 401, "invalid_client"},
		{"malformed basic", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=client_credentials", "Basic !!!", 0, ""},
		{"two auth methods", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=web&client_secret=x", "Basic " + base64.StdEncoding.EncodeToString([]byte("web:x")), 400, "invalid_request"},
		{"client_credentials for SPA", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=client_credentials&client_id=spa", "", 400, "unauthorized_client"},
		{"refresh without token", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=refresh_token&client_id=spa", "", 400, "invalid_request"},
		{"unknown refresh token", http.MethodPost, "application/x-www-form-urlencoded", "grant_type=refresh_token&client_id=spa&refresh_token=nope", "", 400, "invalid_grant"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, e.Issuer+"/token", strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, body := e.DoJSON(req)
			if resp.StatusCode >= 500 {
				t.Fatalf("status %d: a 5xx for bad input", resp.StatusCode)
			}
			if tc.status != 0 && resp.StatusCode != tc.status {
				t.Errorf("status = %d, want %d (body %v)", resp.StatusCode, tc.status, body)
			}
			if tc.code != "" && body["error"] != tc.code {
				t.Errorf("error = %v, want %s (%v)", body["error"], tc.code, body)
			}
			if body["error"] == nil {
				t.Errorf("no error member in %v", body)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control = %q, want no-store", cc)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q", ct)
			}
			if resp.StatusCode == 401 && resp.Header.Get("WWW-Authenticate") == "" {
				t.Errorf("401 without WWW-Authenticate")
			}
		})
	}
}

// TestInvalidClientChallenge: a wrong secret by client_secret_basic gets
// 401 with the Basic challenge RFC 6749 §5.2 asks for, and the challenge
// carries error="invalid_client" and an error_description, so clients
// that report the challenge instead of the body (openid-client v6) still
// see the error code.
func TestInvalidClientChallenge(t *testing.T) {
	e := latchtest.Start(t)
	resp, body := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, func(r *http.Request) {
		r.SetBasicAuth("web", "wrong")
	})
	if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v, want 401 invalid_client", resp.StatusCode, body)
	}
	got := resp.Header.Get("WWW-Authenticate")
	for _, want := range []string{`Basic realm="latch"`, `error="invalid_client"`, `error_description="client authentication failed"`} {
		if !strings.Contains(got, want) {
			t.Errorf("WWW-Authenticate = %q, want it to contain %s", got, want)
		}
	}
}

// TestCORSNarrowedToNamedClient: an error answer of the token or
// revocation endpoint is readable only by an origin of the client the
// request names, not by any origin some client registered. A preflight,
// which names no client, still passes any registered origin; the actual
// response then decides.
func TestCORSNarrowedToNamedClient(t *testing.T) {
	e := latchtest.Start(t)
	const other = "https://other-app.example"
	e.MustClient(store.Client{ID: "other-spa", Public: true, FirstParty: true, RedirectURIs: []string{"https://other-app.example/cb"},
		AllowedOrigins: []string{other}, GrantTypes: []string{"authorization_code"}})
	origin := func(o string) func(*http.Request) { return func(r *http.Request) { r.Header.Set("Origin", o) } }
	badCode := url.Values{"grant_type": {"authorization_code"}, "code": {"nope"}, "client_id": {"spa"},
		"redirect_uri": {latchtest.SPARedirect}, "code_verifier": {strings.Repeat("a", 43)}}
	cases := []struct {
		name, path, origin string
		form               url.Values
		auth               func(*http.Request)
		want               string // ACAO
	}{
		{"token error, the named client's origin", "/token", latchtest.SPAOrigin, badCode, nil, latchtest.SPAOrigin},
		{"token error, another client's origin", "/token", other, badCode, nil, ""},
		{"token error, unknown client", "/token", other, url.Values{"grant_type": {"client_credentials"}, "client_id": {"ghost"}}, nil, ""},
		{"token error, wrong secret by Basic", "/token", other, url.Values{"grant_type": {"client_credentials"}}, func(r *http.Request) { r.SetBasicAuth("web", "wrong") }, ""},
		{"token error, no client named", "/token", other, url.Values{"grant_type": {"authorization_code"}}, nil, other},
		{"revoke error, another client's origin", "/revoke", other, url.Values{"client_id": {"spa"}}, nil, ""},
		{"revoke error, the named client's origin", "/revoke", latchtest.SPAOrigin, url.Values{"client_id": {"spa"}}, nil, latchtest.SPAOrigin},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mut := []func(*http.Request){origin(tc.origin)}
			if tc.auth != nil {
				mut = append(mut, tc.auth)
			}
			resp, body := e.PostForm(tc.path, tc.form, mut...)
			if resp.StatusCode < 400 {
				t.Fatalf("setup: %d %v, want an error", resp.StatusCode, body)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tc.want {
				t.Errorf("ACAO = %q, want %q (%d %v)", got, tc.want, resp.StatusCode, body)
			}
		})
	}
	t.Run("preflight passes any registered origin", func(t *testing.T) {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, e.Issuer+"/token", nil)
		req.Header.Set("Origin", other)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != other {
			t.Errorf("preflight ACAO = %q, want %q", got, other)
		}
	})
}

func TestCORS(t *testing.T) {
	e := latchtest.Start(t)
	preflight := func(path, origin string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, e.Issuer+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/token", "/userinfo", "/revoke"} {
		if got := preflight(path, latchtest.SPAOrigin).Header.Get("Access-Control-Allow-Origin"); got != latchtest.SPAOrigin {
			t.Errorf("preflight %s from the registered origin: ACAO = %q", path, got)
		}
		if got := preflight(path, "https://evil.test").Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("preflight %s from an unregistered origin: ACAO = %q, want none", path, got)
		}
	}
	// The token response itself is readable only by the client's origin.
	c := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)
	resp, body := e.PostForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {c.Code}, "client_id": {"spa"},
		"redirect_uri": {latchtest.SPARedirect}, "code_verifier": {c.Verifier}}, func(r *http.Request) { r.Header.Set("Origin", latchtest.SPAOrigin) })
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != latchtest.SPAOrigin {
		t.Errorf("token response: %d ACAO=%q %v", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/jwks.json"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+path, nil)
		req.Header.Set("Origin", "https://anyone.test")
		resp, _ := e.DoJSON(req)
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: ACAO = %q, want *", path, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

// TestCORSOriginOfNewClient: a client registered behind this instance's
// back (by another instance or the CLI, straight into the database) gets
// CORS for its origin within about a second — an origin the cache does not
// know reloads it, at most once per second — not after the cache's TTL:
// until then its SPA would see only "Failed to fetch".
func TestCORSOriginOfNewClient(t *testing.T) {
	e := latchtest.Start(t)
	const origin = "https://new-app.test"
	preflight := func() string {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, e.Issuer+"/token", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.Header.Get("Access-Control-Allow-Origin")
	}
	if got := preflight(); got != "" {
		t.Fatalf("preflight before registration: ACAO = %q", got)
	}
	if err := e.Store.CreateClient(t.Context(), store.Client{
		ID: "new-app", Public: true, RedirectURIs: []string{origin + "/cb"}, AllowedOrigins: []string{origin},
		GrantTypes: []string{"authorization_code"}, CreatedAt: e.Clock.Now(),
	}); err != nil {
		t.Fatal(err)
	}
	if got := preflight(); got != "" {
		t.Errorf("preflight in the same instant: ACAO = %q, want none yet (at most one reload per second)", got)
	}
	e.Clock.Advance(time.Second)
	if got := preflight(); got != origin {
		t.Errorf("preflight a second after registration: ACAO = %q, want %q", got, origin)
	}
}

func TestDiscovery(t *testing.T) {
	e := latchtest.Start(t)
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+path, nil)
		resp, m := e.DoJSON(req)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if m["issuer"] != e.Issuer || m["authorization_response_iss_parameter_supported"] != true {
			t.Errorf("%s: issuer/iss support wrong: %v", path, m)
		}
		if got := m["code_challenge_methods_supported"]; len(got.([]any)) != 1 || got.([]any)[0] != "S256" {
			t.Errorf("%s: code_challenge_methods_supported = %v, want [S256]", path, got)
		}
		if got := m["response_types_supported"].([]any); len(got) != 1 || got[0] != "code" {
			t.Errorf("%s: response_types_supported = %v, want [code]", path, got)
		}
		// Every advertised endpoint exists (answers something other than 404).
		for _, k := range []string{"authorization_endpoint", "token_endpoint", "userinfo_endpoint", "jwks_uri", "end_session_endpoint", "revocation_endpoint", "introspection_endpoint"} {
			u, _ := m[k].(string)
			if !strings.HasPrefix(u, e.Issuer+"/") {
				t.Errorf("%s = %q, want a URL under the issuer", k, u)
				continue
			}
			r, err := http.Get(u)
			if err != nil {
				t.Fatal(err)
			}
			r.Body.Close()
			if r.StatusCode == http.StatusNotFound {
				t.Errorf("%s (%s) is 404", k, u)
			}
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/jwks.json", nil)
	_, jwks := e.DoJSON(req)
	keys, _ := jwks["keys"].([]any)
	if len(keys) < 3 {
		t.Fatalf("JWKS has %d keys, want one per algorithm (3)", len(keys))
	}
	for _, k := range keys {
		km := k.(map[string]any)
		if km["kid"] == nil || km["d"] != nil || km["p"] != nil {
			t.Errorf("JWKS key without kid or with private parts: %v", km)
		}
	}
}

func TestPageSecurityHeaders(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	p := e.Browser().Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	want := map[string]string{
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	for h, v := range want {
		if got := p.Header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	csp := p.Header.Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
}

// TestLoginCSRF: the login form is refused from another origin, without
// the browser's CSRF cookie, or with a forged interaction.
func TestLoginCSRF(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	b := e.Browser()
	p := b.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	form := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"alice"}, "password": {latchtest.AlicePassword}}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.test")
	if got := b.Do(req); got.Status != http.StatusForbidden && got.Status != http.StatusBadRequest || got.Header.Get("Location") != "" {
		t.Errorf("cross-site login POST: %d, want refused", got.Status)
	}
	// Another browser (no CSRF cookie) posting the victim's form.
	if got := e.Browser().Post(e.Issuer+"/login", form); got.Status != http.StatusBadRequest || latchtest.IsLoginPage(got) {
		t.Errorf("login without the CSRF cookie: %d, want the error page", got.Status)
	}
	forged := url.Values{"interaction": {"AAAA" + latchtest.Hidden(t, p.Body)[4:]}, "username": {"alice"}, "password": {latchtest.AlicePassword}}
	if got := b.Post(e.Issuer+"/login", forged); got.Status != http.StatusBadRequest {
		t.Errorf("tampered interaction: %d, want 400", got.Status)
	}
	if got := b.Post(e.Issuer+"/login", form); got.Status != http.StatusFound && got.Status != http.StatusSeeOther {
		t.Errorf("the genuine form: %d, want a redirect", got.Status)
	}
}

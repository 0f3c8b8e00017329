package server_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

func decodeJWT(t *testing.T, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token: %q", raw)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// issued is a code obtained by a signed-in browser, before exchange.
type issued struct {
	code, verifier string
	conf           *oauth2.Config
}

func (e *env) issueCode(b *browser, clientID, redirect string, opts ...oauth2.AuthCodeOption) issued {
	e.t.Helper()
	conf := e.oauthConfig(clientID, redirect, "openid")
	v := oauth2.GenerateVerifier()
	q := b.signIn(conf.AuthCodeURL("s", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v)}, opts...)...))
	if q.Get("code") == "" {
		e.t.Fatalf("no code: %v", q)
	}
	return issued{code: q.Get("code"), verifier: v, conf: conf}
}

func (e *env) userinfoStatus(accessToken string) int {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, _ := e.doJSON(req)
	return resp.StatusCode
}

// TestCodeExchangeAttacks: every way of presenting a code that must fail
// fails with invalid_grant.
func TestCodeExchangeAttacks(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	b := e.browser()

	t.Run("wrong verifier", func(t *testing.T) {
		c := e.issueCode(b, "spa", spaRedirect)
		_, err := c.conf.Exchange(ctx, c.code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q (%v), want invalid_grant", got, err)
		}
	})
	t.Run("missing verifier", func(t *testing.T) {
		c := e.issueCode(b, "spa", spaRedirect)
		_, err := c.conf.Exchange(ctx, c.code)
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q (%v), want invalid_grant", got, err)
		}
	})
	t.Run("replay revokes the first tokens", func(t *testing.T) {
		c := e.issueCode(b, "spa", spaRedirect)
		tok, err := c.conf.Exchange(ctx, c.code, oauth2.VerifierOption(c.verifier))
		if err != nil {
			t.Fatal(err)
		}
		if got := e.userinfoStatus(tok.AccessToken); got != http.StatusOK {
			t.Fatalf("userinfo before replay = %d", got)
		}
		_, err = c.conf.Exchange(ctx, c.code, oauth2.VerifierOption(c.verifier))
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("replay error = %q, want invalid_grant", got)
		}
		if got := e.userinfoStatus(tok.AccessToken); got != http.StatusUnauthorized {
			t.Errorf("access token from the replayed code: userinfo = %d, want 401", got)
		}
		_, err = c.conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("refresh token from the replayed code: %q, want invalid_grant", got)
		}
		if !strings.Contains(e.auditLog(), "code_replay_detected") {
			t.Errorf("no audit event for the replay")
		}
	})
	t.Run("code of another client", func(t *testing.T) {
		c := e.issueCode(b, "native", "http://127.0.0.1:5555/callback")
		other := e.oauthConfig("spa", "http://127.0.0.1:5555/callback")
		_, err := other.Exchange(ctx, c.code, oauth2.VerifierOption(c.verifier))
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})
	t.Run("mismatched redirect_uri", func(t *testing.T) {
		c := e.issueCode(b, "native", "http://127.0.0.1:5555/callback")
		c.conf.RedirectURL = "http://127.0.0.1:5556/callback"
		_, err := c.conf.Exchange(ctx, c.code, oauth2.VerifierOption(c.verifier))
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})
	t.Run("expired code", func(t *testing.T) {
		c := e.issueCode(b, "spa", spaRedirect)
		e.clock.Advance(61 * time.Second)
		_, err := c.conf.Exchange(ctx, c.code, oauth2.VerifierOption(c.verifier))
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("error = %q, want invalid_grant", got)
		}
	})
	t.Run("verifier where no challenge was sent", func(t *testing.T) {
		conf := e.oauthConfig("web", webRedirect, "openid")
		q := b.signIn(conf.AuthCodeURL("s"))
		_, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(oauth2.GenerateVerifier()))
		if got := oauthErrorCode(err); got != "invalid_grant" {
			t.Errorf("PKCE downgrade: error = %q, want invalid_grant", got)
		}
	})
	t.Run("confidential client without PKCE still works", func(t *testing.T) {
		conf := e.oauthConfig("web", webRedirect, "openid")
		q := b.signIn(conf.AuthCodeURL("s"))
		if _, err := conf.Exchange(ctx, q.Get("code")); err != nil {
			t.Errorf("exchange: %v", err)
		}
	})
	t.Run("loopback redirect on any port", func(t *testing.T) {
		c := e.issueCode(b, "native", "http://127.0.0.1:61234/callback")
		if _, err := c.conf.Exchange(ctx, c.code, oauth2.VerifierOption(c.verifier)); err != nil {
			t.Errorf("exchange: %v", err)
		}
	})
}

// TestAuthorizeErrors: before the client and redirect URI are validated,
// errors are Latch's page; after, they go to the client with state and iss.
func TestAuthorizeErrors(t *testing.T) {
	e := newEnv(t)
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	base := func(mod func(url.Values)) string {
		q := url.Values{"client_id": {"spa"}, "redirect_uri": {spaRedirect}, "response_type": {"code"},
			"scope": {"openid"}, "state": {"xyz"}, "code_challenge": {challenge}, "code_challenge_method": {"S256"}}
		if mod != nil {
			mod(q)
		}
		return e.issuer + "/authorize?" + q.Encode()
	}
	pageCases := []struct {
		name string
		url  string
	}{
		{"unknown client", base(func(q url.Values) { q.Set("client_id", "nope") })},
		{"missing client_id", base(func(q url.Values) { q.Del("client_id") })},
		{"unregistered redirect_uri", base(func(q url.Values) { q.Set("redirect_uri", "https://evil.test/cb") })},
		{"redirect_uri prefix", base(func(q url.Values) { q.Set("redirect_uri", spaRedirect+"/evil") })},
		{"duplicate redirect_uri", base(func(q url.Values) { q.Add("redirect_uri", spaRedirect) })},
		{"duplicate client_id", base(func(q url.Values) { q.Add("client_id", "spa") })},
		{"invalid UTF-8 client_id", e.issuer + "/authorize?client_id=%ff%fe&response_type=code"},
		{"malformed query", e.issuer + "/authorize?client_id=spa&%zz"},
	}
	for _, tc := range pageCases {
		t.Run(tc.name, func(t *testing.T) {
			p := e.browser().get(tc.url)
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Errorf("status %d Location %q, want a 400 error page and no redirect", p.status, p.header.Get("Location"))
			}
			if !strings.Contains(p.header.Get("Content-Type"), "text/html") {
				t.Errorf("Content-Type = %q", p.header.Get("Content-Type"))
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
			p := e.browser().get(tc.url)
			if p.status != http.StatusFound {
				t.Fatalf("status %d, want 302 to the client:\n%s", p.status, p.body)
			}
			loc, _ := url.Parse(p.header.Get("Location"))
			q := loc.Query()
			switch {
			case strings.HasPrefix(loc.String(), spaRedirect+"?"):
			case strings.HasPrefix(loc.String(), spaRedirect+"#") && tc.code == "unsupported_response_type":
				// An implicit or hybrid client reads the fragment.
				q, _ = url.ParseQuery(loc.EscapedFragment())
			default:
				t.Fatalf("Location = %s, want the registered redirect URI", loc)
			}
			if q.Get("error") != tc.code || q.Get("state") != "xyz" || q.Get("iss") != e.issuer {
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
	e := newEnv(t)
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
			req, _ := http.NewRequestWithContext(t.Context(), tc.method, e.issuer+"/token", strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, body := e.doJSON(req)
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

func TestCORS(t *testing.T) {
	e := newEnv(t)
	preflight := func(path, origin string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, e.issuer+path, nil)
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
		if got := preflight(path, spaOrigin).Header.Get("Access-Control-Allow-Origin"); got != spaOrigin {
			t.Errorf("preflight %s from the registered origin: ACAO = %q", path, got)
		}
		if got := preflight(path, "https://evil.test").Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("preflight %s from an unregistered origin: ACAO = %q, want none", path, got)
		}
	}
	// The token response itself is readable only by the client's origin.
	c := e.issueCode(e.browser(), "spa", spaRedirect)
	resp, body := e.postForm("/token", url.Values{"grant_type": {"authorization_code"}, "code": {c.code}, "client_id": {"spa"},
		"redirect_uri": {spaRedirect}, "code_verifier": {c.verifier}}, func(r *http.Request) { r.Header.Set("Origin", spaOrigin) })
	if resp.StatusCode != 200 || resp.Header.Get("Access-Control-Allow-Origin") != spaOrigin {
		t.Errorf("token response: %d ACAO=%q %v", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"), body)
	}
	for _, path := range []string{"/.well-known/openid-configuration", "/jwks.json"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.issuer+path, nil)
		req.Header.Set("Origin", "https://anyone.test")
		resp, _ := e.doJSON(req)
		if resp.Header.Get("Access-Control-Allow-Origin") != "*" {
			t.Errorf("%s: ACAO = %q, want *", path, resp.Header.Get("Access-Control-Allow-Origin"))
		}
	}
}

func TestDiscovery(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.issuer+path, nil)
		resp, m := e.doJSON(req)
		if resp.StatusCode != 200 {
			t.Fatalf("%s: %d", path, resp.StatusCode)
		}
		if m["issuer"] != e.issuer || m["authorization_response_iss_parameter_supported"] != true {
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
			if !strings.HasPrefix(u, e.issuer+"/") {
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
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.issuer+"/jwks.json", nil)
	_, jwks := e.doJSON(req)
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
	e := newEnv(t)
	conf := e.oauthConfig("spa", spaRedirect, "openid")
	p := e.browser().get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	want := map[string]string{
		"X-Frame-Options": "DENY", "Referrer-Policy": "no-referrer", "Cache-Control": "no-store",
		"X-Content-Type-Options": "nosniff",
	}
	for h, v := range want {
		if got := p.header.Get(h); got != v {
			t.Errorf("%s = %q, want %q", h, got, v)
		}
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, d := range []string{"frame-ancestors 'none'", "script-src 'self'", "default-src 'none'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
}

// TestLoginCSRF: the login form is refused from another origin, without
// the browser's CSRF cookie, or with a forged interaction.
func TestLoginCSRF(t *testing.T) {
	e := newEnv(t)
	conf := e.oauthConfig("spa", spaRedirect, "openid")
	b := e.browser()
	p := b.get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	form := url.Values{"interaction": {hidden(t, p.body)}, "username": {"alice"}, "password": {alicePassword}}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.test")
	if got := b.do(req); got.status != http.StatusForbidden && got.status != http.StatusBadRequest || got.header.Get("Location") != "" {
		t.Errorf("cross-site login POST: %d, want refused", got.status)
	}
	// Another browser (no CSRF cookie) posting the victim's form.
	if got := e.browser().post(e.issuer+"/login", form); got.status != http.StatusBadRequest || isLoginPage(got) {
		t.Errorf("login without the CSRF cookie: %d, want the error page", got.status)
	}
	forged := url.Values{"interaction": {"AAAA" + hidden(t, p.body)[4:]}, "username": {"alice"}, "password": {alicePassword}}
	if got := b.post(e.issuer+"/login", forged); got.status != http.StatusBadRequest {
		t.Errorf("tampered interaction: %d, want 400", got.status)
	}
	if got := b.post(e.issuer+"/login", form); got.status != http.StatusFound && got.status != http.StatusSeeOther {
		t.Errorf("the genuine form: %d, want a redirect", got.status)
	}
}

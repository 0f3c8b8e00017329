package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// TestCodeFlowWithRealClients drives the whole Authorization Code + PKCE
// flow with golang.org/x/oauth2 and go-oidc: discovery, the login form
// over HTTP, the code exchange, ID token verification (signature, nonce,
// at_hash) and userinfo.
func TestCodeFlowWithRealClients(t *testing.T) {
	e := latchtest.Start(t)
	ctx := latchtest.ClientContext(t.Context())
	provider := e.Provider()
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, oidc.ScopeOpenID, "profile", "email")
	conf.Endpoint = provider.Endpoint()
	verifier := oauth2.GenerateVerifier()
	b := e.Browser()

	p := b.Get(conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-456")))
	if !latchtest.IsLoginPage(p) {
		t.Fatalf("first authorization request: want the login page, got %d", p.Status)
	}
	q := latchtest.Callback(t, b.Login(p, "alice", latchtest.AlicePassword))
	if got := q.Get("state"); got != "state-123" {
		t.Errorf("state = %q, want state-123", got)
	}
	if got := q.Get("iss"); got != e.Issuer {
		t.Errorf("iss = %q, want %q (RFC 9207)", got, e.Issuer)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" {
		t.Errorf("token_type=%q refresh=%v, want Bearer and a refresh token for the SPA", tok.TokenType, tok.RefreshToken != "")
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "spa"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token does not verify: %v", err)
	}
	if idt.Nonce != "nonce-456" || idt.Subject != "user-alice" {
		t.Errorf("ID token nonce=%q sub=%q", idt.Nonce, idt.Subject)
	}
	if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
		t.Errorf("at_hash: %v", err)
	}
	var idClaims struct {
		Email    string `json:"email"`
		Name     string `json:"name"`
		AuthTime int64  `json:"auth_time"`
	}
	if err := idt.Claims(&idClaims); err != nil {
		t.Fatal(err)
	}
	if idClaims.Email != "alice@example.com" || idClaims.Name != "Alice Liddell" || idClaims.AuthTime == 0 {
		t.Errorf("ID token claims = %+v", idClaims)
	}
	ui, err := provider.UserInfo(ctx, oauth2.StaticTokenSource(tok))
	if err != nil {
		t.Fatalf("UserInfo: %v", err)
	}
	if ui.Subject != "user-alice" || ui.Email != "alice@example.com" || !ui.EmailVerified {
		t.Errorf("userinfo = %+v", ui)
	}

	// SSO: a second authorization request in the same browser skips login.
	verifier2 := oauth2.GenerateVerifier()
	p = b.Get(conf.AuthCodeURL("again", oauth2.S256ChallengeOption(verifier2)))
	q = latchtest.Callback(t, p)
	if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier2)); err != nil {
		t.Fatalf("second exchange: %v", err)
	}
}

// TestAccessTokenIsRFC9068JWT checks the access token's header and claims.
func TestAccessTokenIsRFC9068JWT(t *testing.T) {
	e := latchtest.Start(t)
	tok, _ := e.CodeFlow(e.Browser(), "openid")
	header, claims := latchtest.DecodeJWT(t, tok.AccessToken)
	if header["typ"] != "at+jwt" || header["kid"] == nil || header["alg"] != "ES256" {
		t.Errorf("header = %v, want typ at+jwt, a kid and alg ES256", header)
	}
	for _, c := range []string{"iss", "sub", "aud", "client_id", "scope", "exp", "iat", "jti"} {
		if claims[c] == nil {
			t.Errorf("claim %s missing: %v", c, claims)
		}
	}
	if claims["iss"] != e.Issuer || claims["client_id"] != "spa" || claims["sub"] != "user-alice" {
		t.Errorf("claims = %v", claims)
	}
}

func TestConsentRememberedAndDenied(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("web", latchtest.WebRedirect, "openid", "email")
	b := e.Browser()
	verifier := oauth2.GenerateVerifier()
	p := b.Get(conf.AuthCodeURL("s1", oauth2.S256ChallengeOption(verifier)))
	p = b.Login(p, "alice", latchtest.AlicePassword)
	if !latchtest.IsConsentPage(p) {
		t.Fatalf("want the consent page for a third-party client, got %d", p.Status)
	}
	if !strings.Contains(p.Body, "email") {
		t.Errorf("consent page does not list the email scope")
	}
	q := latchtest.Callback(t, b.Consent(p, "allow"))
	if _, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Fatalf("confidential client exchange: %v", err)
	}
	// Remembered: same scopes, no consent page.
	p = b.Get(conf.AuthCodeURL("s2", oauth2.S256ChallengeOption(verifier)))
	if q := latchtest.Callback(t, p); q.Get("code") == "" {
		t.Fatalf("remembered consent: no code in %v", q)
	}
	// prompt=consent asks again; deny returns access_denied with state.
	p = b.Get(conf.AuthCodeURL("s3", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "consent")))
	q = latchtest.Callback(t, b.Consent(p, "deny"))
	if q.Get("error") != "access_denied" || q.Get("state") != "s3" || q.Get("iss") != e.Issuer {
		t.Errorf("deny: callback = %v, want access_denied with state s3 and iss", q)
	}
	// More scopes than consented: asked again.
	conf.Scopes = []string{"openid", "email", "profile"}
	if p := b.Get(conf.AuthCodeURL("s4", oauth2.S256ChallengeOption(verifier))); !latchtest.IsConsentPage(p) {
		t.Errorf("wider scope: want the consent page again, got %d", p.Status)
	}
}

func TestPromptAndMaxAge(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	b := e.Browser()
	v := oauth2.GenerateVerifier()
	none := oauth2.SetAuthURLParam("prompt", "none")

	q := latchtest.Callback(t, b.Get(conf.AuthCodeURL("n1", oauth2.S256ChallengeOption(v), none)))
	if q.Get("error") != "login_required" || q.Get("state") != "n1" {
		t.Fatalf("prompt=none without a session: %v, want login_required", q)
	}
	b.SignIn(conf.AuthCodeURL("x", oauth2.S256ChallengeOption(v)))
	q = latchtest.Callback(t, b.Get(conf.AuthCodeURL("n2", oauth2.S256ChallengeOption(v), none)))
	if q.Get("code") == "" {
		t.Fatalf("prompt=none with a session: %v, want a code", q)
	}
	if p := b.Get(conf.AuthCodeURL("l", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("prompt", "login"))); !latchtest.IsLoginPage(p) {
		t.Errorf("prompt=login with a session: want the login page, got %d", p.Status)
	} else if q := latchtest.Callback(t, b.Login(p, "alice", latchtest.AlicePassword)); q.Get("code") == "" {
		t.Errorf("after prompt=login sign-in: %v, want a code (no loop)", q)
	}
	e.Clock.Advance(2 * time.Minute)
	if p := b.Get(conf.AuthCodeURL("m", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("max_age", "60"))); !latchtest.IsLoginPage(p) {
		t.Errorf("max_age=60 two minutes after login: want the login page, got %d", p.Status)
	}
	q = latchtest.Callback(t, b.Get(conf.AuthCodeURL("m2", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("max_age", "3600"))))
	if q.Get("code") == "" {
		t.Errorf("max_age=3600: %v, want a code", q)
	}
}

// TestPromptNoneSaysWhy: prompt=none answers login_required with the
// actual reason, and a session of another user than login_hint names
// never yields a code (OIDC Core §3.1.2.1).
func TestPromptNoneSaysWhy(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	b := e.Browser()
	v := oauth2.GenerateVerifier()
	none := oauth2.SetAuthURLParam("prompt", "none")
	b.SignIn(conf.AuthCodeURL("x", oauth2.S256ChallengeOption(v)))
	e.Clock.Advance(2 * time.Minute)

	for _, tc := range []struct {
		name, hint, maxAge string
		wantErr, wantDesc  string
	}{
		{name: "max_age expired", maxAge: "60", wantErr: "login_required", wantDesc: "older than max_age"},
		{name: "hint names another user", hint: "mallory", wantErr: "login_required", wantDesc: "login_hint"},
		{name: "hint names the user", hint: "alice"},
		{name: "hint is the user's sub", hint: "user-alice"},
		{name: "hint is the user's email", hint: "Alice@Example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v), none}
			if tc.hint != "" {
				opts = append(opts, oauth2.SetAuthURLParam("login_hint", tc.hint))
			}
			if tc.maxAge != "" {
				opts = append(opts, oauth2.SetAuthURLParam("max_age", tc.maxAge))
			}
			q := latchtest.Callback(t, b.Get(conf.AuthCodeURL("pn", opts...)))
			if tc.wantErr == "" {
				if q.Get("code") == "" {
					t.Fatalf("callback = %v, want a code", q)
				}
				return
			}
			if q.Get("code") != "" || q.Get("error") != tc.wantErr || !strings.Contains(q.Get("error_description"), tc.wantDesc) {
				t.Fatalf("callback = %v, want %s mentioning %q and no code", q, tc.wantErr, tc.wantDesc)
			}
			if strings.Contains(q.Get("error_description"), "not signed in") {
				t.Errorf("error_description = %q: the user is signed in", q.Get("error_description"))
			}
		})
	}
	// Without prompt=none, another user's hint shows the login page,
	// prefilled with the hint.
	p := b.Get(conf.AuthCodeURL("h", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("login_hint", "mallory")))
	if !latchtest.IsLoginPage(p) || !strings.Contains(p.Body, `value="mallory"`) {
		t.Errorf("login_hint of another user: want the login page prefilled, got %d", p.Status)
	}
}

func TestResponseModes(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	b := e.Browser()
	v := oauth2.GenerateVerifier()
	b.SignIn(conf.AuthCodeURL("x", oauth2.S256ChallengeOption(v)))

	p := b.Get(conf.AuthCodeURL("frag", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_mode", "fragment")))
	loc, _ := url.Parse(p.Header.Get("Location"))
	frag, _ := url.ParseQuery(loc.EscapedFragment())
	if loc.RawQuery != "" || frag.Get("code") == "" || frag.Get("state") != "frag" || frag.Get("iss") != e.Issuer {
		t.Errorf("fragment mode: Location = %s", p.Header.Get("Location"))
	}

	p = b.Get(conf.AuthCodeURL("fp", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("response_mode", "form_post")))
	if p.Status != http.StatusOK || !strings.Contains(p.Body, `action="`+latchtest.SPARedirect+`"`) || !strings.Contains(p.Body, `name="code"`) || !strings.Contains(p.Body, `value="fp"`) {
		t.Errorf("form_post: %d\n%s", p.Status, p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+latchtest.SPAOrigin) {
		t.Errorf("form_post CSP = %q, want form-action allowing %s", csp, latchtest.SPAOrigin)
	}
}

func TestLoginFailures(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	b := e.Browser()
	authURL := conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	p := b.Get(authURL)
	wrongPw := b.Login(p, "alice", "wrong")
	unknown := b.Login(wrongPw, "mallory", "wrong") // each form is single-use: the re-rendered one
	for name, got := range map[string]latchtest.Page{"wrong password": wrongPw, "unknown user": unknown} {
		if !latchtest.IsLoginPage(got) || !strings.Contains(got.Body, "Incorrect username or password.") {
			t.Errorf("%s: want the login page again with the generic error, got %d", name, got.Status)
		}
	}
	if wrongPw.Status != unknown.Status {
		t.Errorf("status differs for wrong password (%d) and unknown user (%d): user enumeration", wrongPw.Status, unknown.Status)
	}
	if log := e.AuditLog(); !strings.Contains(log, `"event":"login_failed"`) || strings.Contains(log, "wrong") && strings.Contains(log, `"password"`) {
		t.Errorf("audit log lacks login_failed or contains a password: %s", log)
	}
}

// TestSessionCookie checks the SSO cookie attributes and that a session
// id planted before login is replaced (session fixation).
func TestSessionCookie(t *testing.T) {
	e := latchtest.Start(t)
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	b := e.Browser()
	u, _ := url.Parse(e.Issuer)
	planted := &http.Cookie{Name: "latch_session", Value: "planted-by-attacker", Path: "/"}
	b.Client.Jar.SetCookies(u, []*http.Cookie{planted})
	p := b.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/login", strings.NewReader(url.Values{
		"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"alice"}, "password": {latchtest.AlicePassword},
	}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var sc *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "latch_session" {
			sc = c
		}
	}
	if sc == nil {
		t.Fatal("no session cookie set at login")
	}
	if sc.Value == planted.Value || len(sc.Value) < 40 {
		t.Errorf("session id not renewed at login: %q", sc.Value)
	}
	if !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Secure {
		t.Errorf("cookie HttpOnly=%v SameSite=%v Secure=%v; want HttpOnly, Lax, not Secure on http", sc.HttpOnly, sc.SameSite, sc.Secure)
	}
}

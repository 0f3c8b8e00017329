package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store"
)

// endSession returns the end_session_endpoint from discovery, read with
// go-oidc.
func endSession(t *testing.T, e *latchtest.Env) string {
	t.Helper()
	var meta struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := e.Provider().Claims(&meta); err != nil || meta.EndSession == "" {
		t.Fatalf("discovery has no end_session_endpoint: %v", err)
	}
	return meta.EndSession
}

// promptNone asks for a code with prompt=none in b and returns the
// callback: a code while the SSO session lives, login_required after.
func promptNone(t *testing.T, e *latchtest.Env, b *latchtest.Browser) url.Values {
	t.Helper()
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	p := b.Get(conf.AuthCodeURL("pn", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
	return latchtest.Callback(t, p)
}

func signedIn(t *testing.T, e *latchtest.Env, b *latchtest.Browser) bool {
	t.Helper()
	q := promptNone(t, e, b)
	switch {
	case q.Get("code") != "":
		return true
	case q.Get("error") == "login_required":
		return false
	}
	t.Fatalf("prompt=none: %v, want a code or login_required", q)
	return false
}

func sessions(t *testing.T, e *latchtest.Env) int {
	t.Helper()
	ss, err := e.Store.ListUserSessions(t.Context(), "user-alice", e.Clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	return len(ss)
}

// wantErrorPage: Latch's own HTML error page, never a redirect.
func wantErrorPage(t *testing.T, what string, p latchtest.Page) {
	t.Helper()
	if p.Status != http.StatusBadRequest && p.Status != http.StatusForbidden {
		t.Errorf("%s: status %d, want Latch's error page (400/403)", what, p.Status)
	}
	if loc := p.Header.Get("Location"); loc != "" {
		t.Errorf("%s: redirected to %s, want no redirect", what, loc)
	}
	if ct := p.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Errorf("%s: Content-Type %q, want an HTML page", what, ct)
	}
}

func logoutURL(endpoint string, params ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	return endpoint + "?" + q.Encode()
}

// TestLogoutWithHint: OpenID Connect RP-Initiated Logout end to end with
// x/oauth2 and go-oidc: a valid id_token_hint for the signed-in user, a
// registered post_logout_redirect_uri and state sign the user out at once
// and return to the client; prompt=none then gets login_required.
func TestLogoutWithHint(t *testing.T) {
	e := startLifecycle(t)
	ctx := latchtest.ClientContext(t.Context())
	provider := e.Provider()
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, oidc.ScopeOpenID)
	conf.Endpoint = provider.Endpoint()
	b := e.Browser()
	v := oauth2.GenerateVerifier()
	p := b.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v), oidc.Nonce("n")))
	q := latchtest.Callback(t, b.Login(p, "alice", latchtest.AlicePassword))
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ := tok.Extra("id_token").(string)
	if _, err := provider.Verifier(&oidc.Config{ClientID: "spa", Now: e.Clock.Now}).Verify(ctx, rawID); err != nil {
		t.Fatalf("ID token: %v", err)
	}
	if !signedIn(t, e, b) || sessions(t, e) != 1 {
		t.Fatal("not signed in before logout")
	}

	p = b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID, "post_logout_redirect_uri", spaLogoutURI, "state", "bye-123"))
	if p.Status != http.StatusSeeOther {
		t.Fatalf("logout with a valid hint: %d, want 303 to the client\n%s", p.Status, p.Body)
	}
	if loc := p.Header.Get("Location"); loc != spaLogoutURI+"?state=bye-123" {
		t.Errorf("Location = %q, want %s?state=bye-123", loc, spaLogoutURI)
	}
	cleared := false
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == "latch_session" && c.MaxAge < 0 && c.Value == "" {
			cleared = true
		}
	}
	if !cleared {
		t.Errorf("the SSO cookie was not cleared: %v", p.Header["Set-Cookie"])
	}
	if n := sessions(t, e); n != 0 {
		t.Errorf("%d sessions left in the store, want 0", n)
	}
	if q := promptNone(t, e, b); q.Get("error") != "login_required" || q.Get("state") != "pn" {
		t.Errorf("prompt=none after logout: %v, want login_required", q)
	}
	if findEvent(auditEvents(t, e), "logout", "client_id", "spa", "sub", "user-alice") == nil {
		t.Errorf("no logout audit event:\n%s", e.AuditLog())
	}

	// A new session: the old hint (another sid) asks for confirmation.
	q = b.SignIn(conf.AuthCodeURL("again", oauth2.S256ChallengeOption(v)))
	if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID)); p.Status != http.StatusOK || !strings.Contains(p.Body, `name="decision"`) {
		t.Errorf("logout with the previous session's hint: %d, want the confirmation page", p.Status)
	}
	tok, err = conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	rawID, _ = tok.Extra("id_token").(string)
	// The hint alone (no redirect URI) signs out and shows Latch's page.
	if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID)); p.Status != http.StatusOK || strings.Contains(p.Body, `name="decision"`) {
		t.Errorf("logout with a hint and no redirect: %d, want the signed-out page", p.Status)
	}
	if signedIn(t, e, b) {
		t.Error("still signed in after logout with a hint only")
	}
	// Nobody signed in: the redirect still happens, nothing else.
	if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", rawID, "post_logout_redirect_uri", spaLogoutURI)); p.Status != http.StatusSeeOther {
		t.Errorf("logout without a session: %d, want 303", p.Status)
	}
}

// TestLogoutConfirmation: without a valid hint the user is asked; cancel
// keeps the session, confirm ends it; the confirmation form is CSRF-proof.
func TestLogoutConfirmation(t *testing.T) {
	e := startLifecycle(t)
	b := e.Browser()
	signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	endpoint := endSession(t, e)
	ask := func(b *latchtest.Browser, params ...string) latchtest.Page {
		t.Helper()
		p := b.Get(logoutURL(endpoint, params...))
		if p.Status != http.StatusOK || !strings.Contains(p.Body, `value="logout"`) || !strings.Contains(p.Body, `value="cancel"`) {
			t.Fatalf("logout without a hint: %d, want the confirmation page\n%s", p.Status, p.Body)
		}
		if p.Header.Get("Location") != "" {
			t.Fatal("the confirmation page redirected")
		}
		return p
	}
	confirm := func(b *latchtest.Browser, page latchtest.Page, decision string) latchtest.Page {
		t.Helper()
		return b.Post(e.Issuer+"/logout/confirm", url.Values{"interaction": {latchtest.Hidden(t, page.Body)}, "decision": {decision}})
	}

	p := ask(b, "client_id", "spa", "post_logout_redirect_uri", spaLogoutURI, "state", "s1")
	if !strings.Contains(p.Body, "Demo SPA") {
		t.Error("the confirmation page does not name the client")
	}
	got := confirm(b, p, "cancel")
	if loc := got.Header.Get("Location"); got.Status != http.StatusSeeOther || loc != spaLogoutURI+"?state=s1" {
		t.Errorf("cancel: %d %q, want 303 back to the client with state", got.Status, loc)
	}
	if !signedIn(t, e, b) {
		t.Fatal("cancel ended the session")
	}

	// CSRF: the form posted from another browser (no CSRF cookie), or
	// cross-site from this one, is refused and the session lives on.
	p = ask(b, "client_id", "spa", "post_logout_redirect_uri", spaLogoutURI, "state", "s2")
	wantErrorPage(t, "confirm from another browser", confirm(e.Browser(), p, "logout"))
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/logout/confirm",
		strings.NewReader(url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"logout"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.test")
	wantErrorPage(t, "cross-site confirm", b.Do(req))
	forged := url.Values{"interaction": {"AAAA" + latchtest.Hidden(t, p.Body)[4:]}, "decision": {"logout"}}
	wantErrorPage(t, "tampered interaction", b.Post(e.Issuer+"/logout/confirm", forged))
	if !signedIn(t, e, b) {
		t.Fatal("a refused confirmation ended the session")
	}

	got = confirm(b, p, "logout")
	if loc := got.Header.Get("Location"); got.Status != http.StatusSeeOther || loc != spaLogoutURI+"?state=s2" {
		t.Errorf("confirm: %d %q, want 303 back to the client with state", got.Status, loc)
	}
	if signedIn(t, e, b) {
		t.Error("still signed in after confirming logout")
	}

	// No parameters at all: confirm, then Latch's own signed-out page.
	signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	p = ask(b)
	if got := confirm(b, p, "logout"); got.Status != http.StatusOK || got.Header.Get("Location") != "" {
		t.Errorf("confirm without a redirect URI: %d, want Latch's signed-out page", got.Status)
	}
	if signedIn(t, e, b) {
		t.Error("still signed in")
	}

	// A valid hint for another user is not a reason to sign this one
	// out: the user is asked.
	hash, err := password.Hash("bob-password", password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.MustUser(store.User{ID: "user-bob", Username: "bob", PasswordHash: hash})
	bob := e.Browser()
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	v := oauth2.GenerateVerifier()
	q := latchtest.Callback(t, bob.Login(bob.Get(conf.AuthCodeURL("b", oauth2.S256ChallengeOption(v))), "bob", "bob-password"))
	bobTok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	bobID, _ := bobTok.Extra("id_token").(string)
	signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	ask(b, "id_token_hint", bobID, "post_logout_redirect_uri", spaLogoutURI)
	if !signedIn(t, e, b) {
		t.Error("a hint for another user signed alice out")
	}
}

// TestLogoutPostFromRP: RP-Initiated Logout §2 lets the RP POST to the
// end_session_endpoint from its own origin. Such a cross-site POST
// carries no SameSite=Lax cookie, so Latch answers with a 303 to the same
// request as a GET, which does.
func TestLogoutPostFromRP(t *testing.T) {
	e := startLifecycle(t)
	b := e.Browser()
	s := signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	form := url.Values{"id_token_hint": {s.ID}, "post_logout_redirect_uri": {spaLogoutURI}, "state": {"posted"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, endSession(t, e), strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", latchtest.SPAOrigin)
	p := b.Do(req) // follows the 303 within Latch
	if loc := p.Header.Get("Location"); p.Status != http.StatusSeeOther || loc != spaLogoutURI+"?state=posted" {
		t.Fatalf("cross-site POST logout: %d %q, want 303 to the client with state\n%s", p.Status, loc, p.Body)
	}
	if signedIn(t, e, b) {
		t.Error("still signed in after a POSTed logout")
	}
	// Without a hint the POST leads to the confirmation page, never to a
	// silent logout.
	signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, endSession(t, e), strings.NewReader("client_id=spa"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	req.Header.Set("Origin", "https://evil.test")
	if p := b.Do(req); p.Status != http.StatusOK || !strings.Contains(p.Body, `value="logout"`) {
		t.Errorf("cross-site POST without a hint: %d, want the confirmation page", p.Status)
	}
	if !signedIn(t, e, b) {
		t.Error("a cross-site POST without a hint ended the session")
	}
}

// TestLogoutRefusals: bad redirect URIs and bad hints get Latch's error
// page, never a redirect, and sign nobody out.
func TestLogoutRefusals(t *testing.T) {
	e := startLifecycle(t)
	other := latchtest.Start(t) // another Latch: valid JWTs, wrong keys and issuer
	b := e.Browser()
	s := signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	foreign := signIn(t, other, other.Browser(), "spa", latchtest.SPARedirect, "openid")
	parts := strings.Split(s.ID, ".")
	sig := []byte(parts[2])
	sig[5] ^= 1
	badSig := parts[0] + "." + parts[1] + "." + string(sig)
	endpoint := endSession(t, e)

	cases := []struct {
		name   string
		params []string
	}{
		{"unregistered redirect URI", []string{"client_id", "spa", "post_logout_redirect_uri", "https://evil.test/"}},
		{"registered URI plus a path", []string{"client_id", "spa", "post_logout_redirect_uri", spaLogoutURI + "evil"}},
		{"registered URI minus its slash", []string{"client_id", "spa", "post_logout_redirect_uri", strings.TrimSuffix(spaLogoutURI, "/")}},
		{"registered host as a prefix", []string{"client_id", "spa", "post_logout_redirect_uri", "http://spa.test:3000.evil.test/"}},
		{"registered URI plus a query", []string{"client_id", "spa", "post_logout_redirect_uri", spaLogoutURI + "?next=https://evil.test"}},
		{"registered URI, other case", []string{"client_id", "spa", "post_logout_redirect_uri", strings.ToUpper(spaLogoutURI)}},
		{"another client's URI", []string{"client_id", "native", "post_logout_redirect_uri", spaLogoutURI}},
		{"redirect URI without a client", []string{"post_logout_redirect_uri", spaLogoutURI}},
		{"unknown client", []string{"client_id", "nobody", "post_logout_redirect_uri", spaLogoutURI}},
		{"hint with a forged signature", []string{"id_token_hint", badSig, "post_logout_redirect_uri", spaLogoutURI}},
		{"hint that is not a JWT", []string{"id_token_hint", "garbage", "post_logout_redirect_uri", spaLogoutURI}},
		{"access token as the hint", []string{"id_token_hint", s.Access, "post_logout_redirect_uri", spaLogoutURI}},
		{"hint from another issuer", []string{"id_token_hint", foreign.ID, "post_logout_redirect_uri", spaLogoutURI}},
		{"hint for another client than client_id", []string{"id_token_hint", s.ID, "client_id", "web", "post_logout_redirect_uri", spaLogoutURI}},
		{"valid hint, unregistered redirect URI", []string{"id_token_hint", s.ID, "post_logout_redirect_uri", "https://evil.test/"}},
		{"repeated parameter", []string{"client_id", "spa", "post_logout_redirect_uri", spaLogoutURI, "state", "a"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			u := logoutURL(endpoint, tc.params...)
			if tc.name == "repeated parameter" {
				u += "&state=b"
			}
			wantErrorPage(t, tc.name, b.Get(u))
		})
	}
	if !signedIn(t, e, b) || sessions(t, e) != 1 {
		t.Error("a refused logout request ended the session")
	}
}

// TestLogoutExpiredHint: an expired ID token is still a valid hint
// (RP-Initiated Logout §2), as long as its key is published.
func TestLogoutExpiredHint(t *testing.T) {
	e := startLifecycle(t)
	b := e.Browser()
	s := signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	e.Clock.Advance(e.Config.IDTokenTTL + time.Minute)
	p := b.Get(logoutURL(endSession(t, e), "id_token_hint", s.ID, "post_logout_redirect_uri", spaLogoutURI, "state", "late"))
	if loc := p.Header.Get("Location"); p.Status != http.StatusSeeOther || loc != spaLogoutURI+"?state=late" {
		t.Fatalf("logout with an expired hint: %d %q, want 303 to the client", p.Status, loc)
	}
	if signedIn(t, e, b) {
		t.Error("still signed in")
	}
}

// TestLogoutRevokesRefreshTokens: a client registered with
// RevokeRefreshOnLogout loses its refresh tokens (and their access
// tokens) at logout; another client's survive.
func TestLogoutRevokesRefreshTokens(t *testing.T) {
	e := startLifecycle(t)
	e.MustClient(store.Client{
		ID: "spa-strict", Public: true, FirstParty: true, RedirectURIs: []string{latchtest.SPARedirect},
		PostLogoutRedirectURIs: []string{spaLogoutURI}, GrantTypes: []string{"authorization_code", "refresh_token"},
		RevokeRefreshOnLogout: true,
	})
	b := e.Browser()
	strict := signIn(t, e, b, "spa-strict", latchtest.SPARedirect, "openid")
	relaxed := signIn(t, e, b, "spa", latchtest.SPARedirect, "openid") // SSO
	strictOtherBrowser := signIn(t, e, e.Browser(), "spa-strict", latchtest.SPARedirect, "openid")

	p := b.Get(logoutURL(endSession(t, e), "id_token_hint", strict.ID, "post_logout_redirect_uri", spaLogoutURI))
	if p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	refreshDead(t, e, "spa-strict's refresh token after logout", "spa-strict", strict.Refresh)
	accessDead(t, e, "spa-strict's access token after logout", strict.Access)
	// The user signed out: every grant of the user to that client goes,
	// including one made in another browser.
	refreshDead(t, e, "spa-strict's refresh token from another browser", "spa-strict", strictOtherBrowser.Refresh)
	r := mustRefresh(t, e, "spa", relaxed.Refresh)
	accessAlive(t, e, "spa's access token after spa-strict's logout", r.Access)

	// Logging out through a client without the flag keeps its tokens.
	relaxed2 := signIn(t, e, b, "spa", latchtest.SPARedirect, "openid")
	if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", relaxed2.ID, "post_logout_redirect_uri", spaLogoutURI)); p.Status != http.StatusSeeOther {
		t.Fatalf("logout: %d", p.Status)
	}
	mustRefresh(t, e, "spa", relaxed2.Refresh)
}

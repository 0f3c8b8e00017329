package server_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/verify"
)

// Helpers shared by the token lifecycle tests (lifecycle, introspect,
// logout, keyrotation).

const (
	apiAudience  = "https://api.example.com"
	spaLogoutURI = "http://spa.test:3000/"
)

// tokenSet is what a token response carried.
type tokenSet struct {
	Access, Refresh, ID, Scope string
}

func tokenSetOf(body map[string]any) tokenSet {
	s := func(k string) string { v, _ := body[k].(string); return v }
	return tokenSet{Access: s("access_token"), Refresh: s("refresh_token"), ID: s("id_token"), Scope: s("scope")}
}

// apiResult is one answer of an API endpoint.
type apiResult struct {
	Status int
	Header http.Header
	Body   map[string]any
}

func (r apiResult) errCode() string { s, _ := r.Body["error"].(string); return s }

// call posts form to path as clientID, without touching t (safe in
// goroutines): a confidential client (one with a secret in e.Secrets)
// authenticates with client_secret_basic, a public one sends client_id.
func call(ctx context.Context, e *latchtest.Env, path, clientID string, form url.Values, mutate ...func(*http.Request)) (apiResult, error) {
	f := url.Values{}
	for k, v := range form {
		f[k] = v
	}
	secret, confidential := e.Secrets[clientID]
	if !confidential && clientID != "" {
		f.Set("client_id", clientID)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.Issuer+path, strings.NewReader(f.Encode()))
	if err != nil {
		return apiResult{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if confidential {
		req.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(secret)) // RFC 6749 §2.3.1
	}
	for _, m := range mutate {
		m(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return apiResult{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return apiResult{}, err
	}
	res := apiResult{Status: resp.StatusCode, Header: resp.Header}
	if len(b) > 0 {
		if err := json.Unmarshal(b, &res.Body); err != nil {
			return res, fmt.Errorf("%s: response is not JSON (%d): %q", path, resp.StatusCode, b)
		}
	}
	return res, nil
}

func api(t *testing.T, e *latchtest.Env, path, clientID string, form url.Values, mutate ...func(*http.Request)) apiResult {
	t.Helper()
	res, err := call(t.Context(), e, path, clientID, form, mutate...)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// refresh presents a refresh token; scope, when given, is sent as is.
func refresh(t *testing.T, e *latchtest.Env, clientID, rt string, scope ...string) apiResult {
	t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if len(scope) > 0 {
		form.Set("scope", strings.Join(scope, " "))
	}
	return api(t, e, "/token", clientID, form)
}

func mustRefresh(t *testing.T, e *latchtest.Env, clientID, rt string, scope ...string) tokenSet {
	t.Helper()
	res := refresh(t, e, clientID, rt, scope...)
	if res.Status != http.StatusOK {
		t.Fatalf("refresh as %s: %d %v, want 200", clientID, res.Status, res.Body)
	}
	ts := tokenSetOf(res.Body)
	if ts.Access == "" || ts.Refresh == "" {
		t.Fatalf("refresh as %s: no access or refresh token: %v", clientID, res.Body)
	}
	if ts.Refresh == rt {
		t.Fatalf("refresh as %s returned the presented refresh token: no rotation", clientID)
	}
	return ts
}

// wantError checks an RFC 6749 §5.2 error answer.
func wantError(t *testing.T, what string, res apiResult, status int, code string) {
	t.Helper()
	if res.Status != status || res.errCode() != code {
		t.Errorf("%s: %d %v, want %d %s", what, res.Status, res.Body, status, code)
	}
	if status == http.StatusUnauthorized && res.Header.Get("WWW-Authenticate") == "" {
		t.Errorf("%s: 401 without WWW-Authenticate (RFC 6749 §5.2)", what)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("%s: Cache-Control = %q, want no-store", what, cc)
	}
}

// refreshDead asserts the refresh token is refused with invalid_grant.
func refreshDead(t *testing.T, e *latchtest.Env, what, clientID, rt string) {
	t.Helper()
	wantError(t, what, refresh(t, e, clientID, rt), http.StatusBadRequest, "invalid_grant")
}

// introspect asks as the confidential client introspector.
func introspect(t *testing.T, e *latchtest.Env, introspector, tok string, extra ...string) map[string]any {
	t.Helper()
	form := url.Values{"token": {tok}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	res := api(t, e, "/introspect", introspector, form)
	if res.Status != http.StatusOK {
		t.Fatalf("introspect as %s: %d %v", introspector, res.Status, res.Body)
	}
	if cc := res.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("introspection Cache-Control = %q, want no-store", cc)
	}
	return res.Body
}

func active(t *testing.T, e *latchtest.Env, introspector, tok string) bool {
	t.Helper()
	body := introspect(t, e, introspector, tok)
	a, ok := body["active"].(bool)
	if !ok {
		t.Fatalf("introspection without a boolean active: %v", body)
	}
	if !a && len(body) != 1 {
		t.Errorf("inactive token answered with more than active:false (RFC 7662 §2.2): %v", body)
	}
	return a
}

// accessDead asserts that userinfo refuses the access token and that
// introspection reports it inactive.
func accessDead(t *testing.T, e *latchtest.Env, what, tok string) {
	t.Helper()
	if got := e.UserinfoStatus(tok); got != http.StatusUnauthorized {
		t.Errorf("%s: userinfo = %d, want 401", what, got)
	}
	if active(t, e, "rs", tok) {
		t.Errorf("%s: introspection says active, want inactive", what)
	}
}

func accessAlive(t *testing.T, e *latchtest.Env, what, tok string) {
	t.Helper()
	if got := e.UserinfoStatus(tok); got != http.StatusOK {
		t.Errorf("%s: userinfo = %d, want 200", what, got)
	}
	if !active(t, e, "rs", tok) {
		t.Errorf("%s: introspection says inactive, want active", what)
	}
}

// signIn runs the code flow with PKCE for clientID in browser b (login
// and consent forms over HTTP) and exchanges the code with x/oauth2.
func signIn(t *testing.T, e *latchtest.Env, b *latchtest.Browser, clientID, redirect string, scopes ...string) tokenSet {
	t.Helper()
	conf := e.OAuthConfig(clientID, redirect, scopes...)
	v := oauth2.GenerateVerifier()
	q := b.SignIn(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(v)))
	if q.Get("code") == "" {
		t.Fatalf("sign-in as %s: no code in %v", clientID, q)
	}
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange as %s: %v", clientID, err)
	}
	id, _ := tok.Extra("id_token").(string)
	scope, _ := tok.Extra("scope").(string)
	return tokenSet{Access: tok.AccessToken, Refresh: tok.RefreshToken, ID: id, Scope: scope}
}

// verifyIDToken verifies an ID token with go-oidc (fresh discovery and
// JWKS, the server's clock).
func verifyIDToken(t *testing.T, e *latchtest.Env, clientID, raw string, algs ...string) *oidc.IDToken {
	t.Helper()
	v := e.Provider().Verifier(&oidc.Config{ClientID: clientID, Now: e.Clock.Now, SupportedSigningAlgs: algs})
	idt, err := v.Verify(latchtest.ClientContext(t.Context()), raw)
	if err != nil {
		t.Fatalf("go-oidc: ID token for %s does not verify: %v", clientID, err)
	}
	return idt
}

// startLifecycle starts Latch with the seeded clients plus:
// "rs", a confidential resource server / machine client (client
// credentials, introspection); "web2", a second confidential web client;
// "spa-grace", the spa with a 5 s grace window.
func startLifecycle(t *testing.T, mutate ...func(*config.Config)) *latchtest.Env {
	t.Helper()
	e := latchtest.Start(t, mutate...)
	e.MustClient(store.Client{
		ID: "rs", Name: "Orders API", GrantTypes: []string{"client_credentials"},
		Scopes: []string{"orders:read", "orders:write"}, Audiences: []string{apiAudience},
		ResourceServer: true, // introspects other clients' tokens
	})
	e.MustClient(store.Client{
		ID: "web2", Name: "Other Web App", RedirectURIs: []string{"https://web2.test/callback"},
		GrantTypes: []string{"authorization_code", "refresh_token"},
	})
	e.MustClient(store.Client{
		ID: "spa-grace", Public: true, FirstParty: true, RedirectURIs: []string{latchtest.SPARedirect},
		AllowedOrigins: []string{latchtest.SPAOrigin}, GrantTypes: []string{"authorization_code", "refresh_token"},
		RefreshGrace: 5 * time.Second,
	})
	return e
}

// auditEvents parses the audit log, one JSON object per line.
func auditEvents(t *testing.T, e *latchtest.Env) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(e.AuditLog()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatalf("audit line is not JSON: %q", line)
		}
		out = append(out, m)
	}
	return out
}

// findEvent returns the first audit event named event whose attributes
// include every pair in kv.
func findEvent(events []map[string]any, event string, kv ...any) map[string]any {
next:
	for _, ev := range events {
		if ev["event"] != event {
			continue
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if ev[kv[i].(string)] != kv[i+1] {
				continue next
			}
		}
		return ev
	}
	return nil
}

// TestRefreshRotationAndReuse: every refresh returns a new refresh token
// and retires the old one; presenting a retired token (outside any grace
// window) fails and kills the whole family (RFC 9700 §4.14.2), for public
// and confidential clients.
func TestRefreshRotationAndReuse(t *testing.T) {
	e := startLifecycle(t)
	cases := []struct {
		name, client, redirect string
		scopes                 []string
	}{
		{"public spa", "spa", latchtest.SPARedirect, []string{"openid", "profile"}},
		{"confidential web", "web", latchtest.WebRedirect, []string{"openid", "offline_access"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t0 := signIn(t, e, e.Browser(), tc.client, tc.redirect, tc.scopes...)
			if t0.Refresh == "" {
				t.Fatal("no refresh token")
			}
			t1 := mustRefresh(t, e, tc.client, t0.Refresh)
			t2 := mustRefresh(t, e, tc.client, t1.Refresh)
			if t1.Access == t0.Access || t2.Access == t1.Access {
				t.Error("refresh returned the same access token")
			}
			accessAlive(t, e, "newest access token", t2.Access)

			// The retired t0 comes back: reuse.
			refreshDead(t, e, "reused refresh token", tc.client, t0.Refresh)
			refreshDead(t, e, "newest refresh token after reuse", tc.client, t2.Refresh)
			refreshDead(t, e, "middle refresh token after reuse", tc.client, t1.Refresh)
			for i, at := range []string{t0.Access, t1.Access, t2.Access} {
				accessDead(t, e, fmt.Sprintf("access token %d of the family after reuse", i), at)
			}

			ev := findEvent(auditEvents(t, e), "refresh_token_reuse_detected", "client_id", tc.client)
			if ev == nil {
				t.Fatalf("no refresh_token_reuse_detected event for %s in:\n%s", tc.client, e.AuditLog())
			}
			if ev["sub"] != "user-alice" || ev["grant_id"] == nil {
				t.Errorf("reuse event = %v, want sub user-alice and a grant_id", ev)
			}
			for _, secret := range []string{t0.Refresh, t1.Refresh, t2.Refresh, t0.Access} {
				if strings.Contains(e.AuditLog(), secret) {
					t.Errorf("audit log contains a token")
				}
			}
		})
	}
}

// TestRefreshGraceWindow: two tabs refreshing with the same token at once
// both succeed within the client's grace window and get the same
// successor (derived, not stored); after the window a third use kills the
// family. With the default grace of 0 the second use kills it.
func TestRefreshGraceWindow(t *testing.T) {
	e := startLifecycle(t)

	t.Run("within grace", func(t *testing.T) {
		t0 := signIn(t, e, e.Browser(), "spa-grace", latchtest.SPARedirect, "openid")
		const tabs = 2
		var wg sync.WaitGroup
		results := make([]apiResult, tabs)
		errs := make([]error, tabs)
		for i := range tabs {
			wg.Go(func() {
				results[i], errs[i] = call(t.Context(), e, "/token", "spa-grace", url.Values{
					"grant_type": {"refresh_token"}, "refresh_token": {t0.Refresh},
				}, func(r *http.Request) { r.Header.Set("Origin", latchtest.SPAOrigin) })
			})
		}
		wg.Wait()
		var successors []string
		for i := range tabs {
			if errs[i] != nil {
				t.Fatal(errs[i])
			}
			if results[i].Status != http.StatusOK {
				t.Fatalf("tab %d: %d %v, want 200 within the grace window\n%s", i, results[i].Status, results[i].Body, e.OperationalLog())
			}
			successors = append(successors, tokenSetOf(results[i].Body).Refresh)
		}
		if successors[0] == "" || successors[0] != successors[1] {
			t.Fatalf("the two tabs got different refresh tokens; want the same successor")
		}
		if successors[0] == t0.Refresh {
			t.Fatal("no rotation")
		}
		// A use at the very edge of the window (5 s) is still grace.
		e.Clock.Advance(5 * time.Second)
		if got := tokenSetOf(refresh(t, e, "spa-grace", t0.Refresh).Body).Refresh; got != successors[0] {
			t.Errorf("use at the edge of the grace window: refresh token differs from the successor")
		}
		// The successor works (once): the family is alive.
		s1 := mustRefresh(t, e, "spa-grace", successors[0])

		// After the window: the retired token kills the family.
		e.Clock.Advance(time.Second)
		refreshDead(t, e, "third use after the grace window", "spa-grace", t0.Refresh)
		refreshDead(t, e, "newest token after reuse", "spa-grace", s1.Refresh)
		accessDead(t, e, "newest access token after reuse", s1.Access)
	})

	t.Run("grace does not let a wider scope through", func(t *testing.T) {
		t0 := signIn(t, e, e.Browser(), "spa-grace", latchtest.SPARedirect, "openid")
		mustRefresh(t, e, "spa-grace", t0.Refresh)
		wantError(t, "retired token with a wider scope within grace", refresh(t, e, "spa-grace", t0.Refresh, "openid", "email"),
			http.StatusBadRequest, "invalid_scope")
	})

	t.Run("default grace 0", func(t *testing.T) {
		t0 := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		t1 := mustRefresh(t, e, "spa", t0.Refresh)
		// Same instant, second tab: no grace, so this is reuse.
		refreshDead(t, e, "second use of the same token", "spa", t0.Refresh)
		refreshDead(t, e, "the first tab's successor", "spa", t1.Refresh)
		accessDead(t, e, "the first tab's access token", t1.Access)
	})
}

// TestRefreshLifetimes: idle (sliding) and absolute expiry, for public and
// confidential clients, from the configuration defaults and from
// per-client overrides, with the injectable clock.
func TestRefreshLifetimes(t *testing.T) {
	type tc struct {
		name, client, redirect string
		scopes                 []string
		idle, absolute         time.Duration
	}
	overrides := func(e *latchtest.Env) {
		e.MustClient(store.Client{
			ID: "spa-short", Public: true, FirstParty: true, RedirectURIs: []string{latchtest.SPARedirect},
			GrantTypes: []string{"authorization_code", "refresh_token"}, RefreshIdle: 10 * time.Minute, RefreshAbsolute: 30 * time.Minute,
		})
		e.MustClient(store.Client{
			ID: "web-short", FirstParty: true, RedirectURIs: []string{latchtest.WebRedirect},
			GrantTypes: []string{"authorization_code", "refresh_token"}, RefreshIdle: 20 * time.Minute, RefreshAbsolute: time.Hour,
		})
	}
	perClient := []tc{
		{"public, per-client override", "spa-short", latchtest.SPARedirect, []string{"openid"}, 10 * time.Minute, 30 * time.Minute},
		{"confidential, per-client override", "web-short", latchtest.WebRedirect, []string{"openid", "offline_access"}, 20 * time.Minute, time.Hour},
	}
	def := config.Default()
	envs := []struct {
		name   string
		mutate func(*config.Config)
		cases  []tc
	}{
		{"built-in defaults", func(*config.Config) {}, append([]tc{
			{"public", "spa", latchtest.SPARedirect, []string{"openid"}, def.PublicRefreshIdle, def.PublicRefreshAbsolute},
			{"confidential", "web", latchtest.WebRedirect, []string{"openid", "offline_access"}, def.ConfidentialRefreshIdle, def.ConfidentialRefreshAbsolute},
		}, perClient...)},
		{"configured defaults", func(c *config.Config) {
			c.PublicRefreshIdle, c.PublicRefreshAbsolute = time.Hour, 3*time.Hour
			c.ConfidentialRefreshIdle, c.ConfidentialRefreshAbsolute = 2*time.Hour, 5*time.Hour
		}, append([]tc{
			{"public", "spa", latchtest.SPARedirect, []string{"openid"}, time.Hour, 3 * time.Hour},
			{"confidential", "web", latchtest.WebRedirect, []string{"openid", "offline_access"}, 2 * time.Hour, 5 * time.Hour},
		}, perClient...)},
	}
	if def.PublicRefreshIdle != 24*time.Hour || def.PublicRefreshAbsolute != 7*24*time.Hour ||
		def.ConfidentialRefreshIdle != 30*24*time.Hour || def.ConfidentialRefreshAbsolute != 90*24*time.Hour {
		t.Errorf("refresh defaults = %v/%v public, %v/%v confidential; the README promises 24h/7d and 30d/90d",
			def.PublicRefreshIdle, def.PublicRefreshAbsolute, def.ConfidentialRefreshIdle, def.ConfidentialRefreshAbsolute)
	}
	for _, env := range envs {
		t.Run(env.name, func(t *testing.T) {
			e := startLifecycle(t, env.mutate)
			overrides(e)
			for _, c := range env.cases {
				t.Run(c.name, func(t *testing.T) {
					// Idle: unused for idle, the token is dead.
					t0 := signIn(t, e, e.Browser(), c.client, c.redirect, c.scopes...)
					e.Clock.Advance(c.idle - time.Second)
					t1 := mustRefresh(t, e, c.client, t0.Refresh)
					e.Clock.Advance(c.idle)
					refreshDead(t, e, fmt.Sprintf("refresh after %v idle", c.idle), c.client, t1.Refresh)

					// Sliding: each refresh extends the idle expiry, but
					// never beyond the absolute one.
					tk := signIn(t, e, e.Browser(), c.client, c.redirect, c.scopes...)
					step := c.idle - time.Second
					elapsed := time.Duration(0)
					n := 0
					for elapsed+step < c.absolute {
						e.Clock.Advance(step)
						elapsed += step
						tk = mustRefresh(t, e, c.client, tk.Refresh)
						n++
					}
					if n < 1 && c.absolute > c.idle {
						t.Fatalf("no sliding refresh happened (idle %v, absolute %v)", c.idle, c.absolute)
					}
					e.Clock.Advance(c.absolute - elapsed - time.Second)
					tk = mustRefresh(t, e, c.client, tk.Refresh) // 1 s before the absolute expiry
					e.Clock.Advance(time.Second)
					refreshDead(t, e, fmt.Sprintf("refresh at the absolute expiry (%v), 1 s after the last refresh", c.absolute), c.client, tk.Refresh)
				})
			}
		})
	}
}

// TestRefreshScopeAndIDToken: a refresh may narrow the access token's
// scope but never widen it, and the successor keeps the full scope; the ID
// token from a refresh keeps sub and auth_time (OIDC Core §12.2).
func TestRefreshScopeAndIDToken(t *testing.T) {
	e := startLifecycle(t)
	t0 := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid", "profile", "email")
	orig := verifyIDToken(t, e, "spa", t0.ID)
	var origClaims struct {
		AuthTime int64 `json:"auth_time"`
	}
	if err := orig.Claims(&origClaims); err != nil || origClaims.AuthTime == 0 {
		t.Fatalf("original ID token without auth_time: %v", err)
	}

	e.Clock.Advance(5 * time.Minute)
	narrow := mustRefresh(t, e, "spa", t0.Refresh, "openid", "profile")
	if narrow.Scope != "openid profile" {
		t.Errorf("narrowed refresh: scope = %q, want %q", narrow.Scope, "openid profile")
	}
	_, claims := latchtest.DecodeJWT(t, narrow.Access)
	if claims["scope"] != "openid profile" {
		t.Errorf("narrowed access token scope = %v, want openid profile", claims["scope"])
	}
	// The narrowed access token reaches userinfo without email.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+narrow.Access)
	if resp, ui := e.DoJSON(req); resp.StatusCode != 200 || ui["email"] != nil || ui["name"] == nil {
		t.Errorf("userinfo with the narrowed token: %d %v, want name and no email", resp.StatusCode, ui)
	}

	// ID token from the refresh: same iss, sub, aud, azp and auth_time;
	// a new iat.
	idt := verifyIDToken(t, e, "spa", narrow.ID)
	var c struct {
		AuthTime int64  `json:"auth_time"`
		AZP      string `json:"azp"`
		Nonce    string `json:"nonce"`
	}
	if err := idt.Claims(&c); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != orig.Subject || idt.Issuer != orig.Issuer || !slices.Equal(idt.Audience, orig.Audience) || c.AZP != "spa" {
		t.Errorf("refreshed ID token iss/sub/aud/azp = %s %s %v %s, want those of %s %s %v", idt.Issuer, idt.Subject, idt.Audience, c.AZP, orig.Issuer, orig.Subject, orig.Audience)
	}
	if c.AuthTime != origClaims.AuthTime {
		t.Errorf("refreshed ID token auth_time = %d, want the original %d", c.AuthTime, origClaims.AuthTime)
	}
	if !idt.IssuedAt.After(orig.IssuedAt) {
		t.Errorf("refreshed ID token iat %v is not after the original's %v", idt.IssuedAt, orig.IssuedAt)
	}
	if err := idt.VerifyAccessToken(narrow.Access); err != nil {
		t.Errorf("refreshed ID token at_hash: %v", err)
	}

	// The successor keeps the original scope: a later refresh without
	// scope gets all of it back.
	full := mustRefresh(t, e, "spa", narrow.Refresh)
	if full.Scope != "openid profile email" {
		t.Errorf("refresh after narrowing: scope = %q, want the original openid profile email", full.Scope)
	}
	// Without openid, no ID token.
	noID := mustRefresh(t, e, "spa", full.Refresh, "profile")
	if noID.ID != "" {
		t.Error("refresh narrowed to profile returned an ID token")
	}

	// Widening is refused and does not spend the token.
	for _, scope := range [][]string{{"openid", "profile", "email", "offline_access"}, {"admin"}, {"openid", "orders:read"}} {
		wantError(t, fmt.Sprintf("refresh asking for %v", scope), refresh(t, e, "spa", noID.Refresh, scope...), http.StatusBadRequest, "invalid_scope")
	}
	last := mustRefresh(t, e, "spa", noID.Refresh)

	// A retired token asking for more is reuse, not a scope error: the
	// family dies.
	wantError(t, "retired token asking for a wider scope", refresh(t, e, "spa", noID.Refresh, "openid", "admin"), http.StatusBadRequest, "invalid_grant")
	refreshDead(t, e, "newest token after reuse with a wider scope", "spa", last.Refresh)
}

// TestRefreshTokenIssuancePolicy: who gets a refresh token, and that no
// other client can use or burn one.
func TestRefreshTokenIssuancePolicy(t *testing.T) {
	e := startLifecycle(t)
	e.MustClient(store.Client{
		ID: "web-norefresh", FirstParty: true, RedirectURIs: []string{"https://norefresh.test/cb"},
		GrantTypes: []string{"authorization_code"},
	})
	cases := []struct {
		name, client, redirect string
		scopes                 []string
		want                   bool
	}{
		{"confidential without offline_access", "web", latchtest.WebRedirect, []string{"openid"}, false},
		{"confidential with offline_access", "web", latchtest.WebRedirect, []string{"openid", "offline_access"}, true},
		{"public registered for refresh_token", "spa", latchtest.SPARedirect, []string{"openid"}, true},
		{"public registered for refresh_token, OAuth only", "spa", latchtest.SPARedirect, []string{"profile"}, true},
		{"public not registered for refresh_token", "native", "http://127.0.0.1:4321/callback", []string{"openid", "offline_access"}, false},
		{"confidential not registered for refresh_token", "web-norefresh", "https://norefresh.test/cb", []string{"openid", "offline_access"}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ts := signIn(t, e, e.Browser(), tc.client, tc.redirect, tc.scopes...)
			if got := ts.Refresh != ""; got != tc.want {
				t.Errorf("%s with scope %v: refresh token issued = %v, want %v", tc.client, tc.scopes, got, tc.want)
			}
		})
	}
	t.Run("a client without the grant cannot refresh", func(t *testing.T) {
		wantError(t, "native refresh", refresh(t, e, "native", "anything"), http.StatusBadRequest, "unauthorized_client")
	})

	t.Run("another client can neither use nor burn a refresh token", func(t *testing.T) {
		w := signIn(t, e, e.Browser(), "web", latchtest.WebRedirect, "openid", "offline_access")
		for _, thief := range []string{"web2", "spa", "spa-grace"} {
			refreshDead(t, e, thief+" presenting web's refresh token", thief, w.Refresh)
		}
		w1 := mustRefresh(t, e, "web", w.Refresh) // the owner's token still works
		// web's retired token presented by another client is refused but
		// is not taken as reuse by web.
		refreshDead(t, e, "web2 presenting web's retired token", "web2", w.Refresh)
		w2 := mustRefresh(t, e, "web", w1.Refresh)
		accessAlive(t, e, "web's newest access token", w2.Access)
		// A wrong secret is invalid_client, not a refresh attempt.
		res := api(t, e, "/token", "", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w2.Refresh}},
			func(r *http.Request) { r.SetBasicAuth("web", "wrong-secret") })
		wantError(t, "web with a wrong secret", res, http.StatusUnauthorized, "invalid_client")
		mustRefresh(t, e, "web", w2.Refresh)
	})
}

// TestClientCredentials: machine-to-machine tokens (RFC 6749 §4.4) with
// x/oauth2's clientcredentials package, verified by the verify package
// against the running issuer.
func TestClientCredentials(t *testing.T) {
	e := startLifecycle(t)
	ctx := t.Context()
	cc := func(scopes []string, resource ...string) *clientcredentials.Config {
		c := &clientcredentials.Config{ClientID: "rs", ClientSecret: e.Secrets["rs"], TokenURL: e.Issuer + "/token", Scopes: scopes}
		if len(resource) > 0 {
			c.EndpointParams = url.Values{"resource": resource}
		}
		return c
	}
	v, err := verify.New(ctx, verify.Config{Issuer: e.Issuer, Audience: apiAudience, Now: e.Clock.Now, CacheSize: -1})
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}

	cases := []struct {
		name      string
		scopes    []string
		resource  []string
		wantScope string
	}{
		{"default scope", nil, nil, "orders:read orders:write"},
		{"narrowed scope", []string{"orders:read"}, nil, "orders:read"},
		{"resource indicator", []string{"orders:write"}, []string{apiAudience}, "orders:write"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := cc(tc.scopes, tc.resource...).Token(ctx)
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if tok.RefreshToken != "" || tok.Extra("id_token") != nil {
				t.Errorf("client credentials: refresh=%v id_token=%v, want neither", tok.RefreshToken != "", tok.Extra("id_token") != nil)
			}
			if tok.Extra("scope") != tc.wantScope {
				t.Errorf("scope = %v, want %q", tok.Extra("scope"), tc.wantScope)
			}
			claims, err := v.Verify(ctx, tok.AccessToken)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if claims.ClientID != "rs" || claims.Subject != "rs" || !slices.Equal(claims.Audience, []string{apiAudience}) ||
				strings.Join(claims.Scopes, " ") != tc.wantScope {
				t.Errorf("verified claims = %+v", claims)
			}
			in := introspect(t, e, "rs", tok.AccessToken)
			if in["active"] != true || in["sub"] != "rs" || in["client_id"] != "rs" || in["username"] != nil {
				t.Errorf("introspection of a client credentials token = %v", in)
			}
		})
	}

	// A verifier for another API refuses the token (aud).
	other, err := verify.New(ctx, verify.Config{Issuer: e.Issuer, Audience: "https://other.example.com", Now: e.Clock.Now, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cc(nil).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := other.Verify(ctx, tok.AccessToken); err == nil {
		t.Error("a verifier for another audience accepted the token")
	}
	// Expired: the verifier refuses it after its exp (+ leeway).
	e.Clock.Advance(e.Config.AccessTokenTTL + time.Minute)
	if _, err := v.Verify(ctx, tok.AccessToken); err == nil {
		t.Error("the verifier accepted an expired client credentials token")
	}

	refusals := []struct {
		name, client string
		form         url.Values
		auth         func(*http.Request)
		status       int
		code         string
	}{
		{"scope not registered", "rs", url.Values{"scope": {"admin"}}, nil, 400, "invalid_scope"},
		{"openid is not for machines", "rs", url.Values{"scope": {"openid"}}, nil, 400, "invalid_scope"},
		{"unregistered resource", "rs", url.Values{"resource": {"https://evil.example.com"}}, nil, 400, "invalid_target"},
		{"public client", "spa", nil, nil, 400, "unauthorized_client"},
		{"public client without the grant", "native", nil, nil, 400, "unauthorized_client"},
		{"confidential client not registered for it", "web", nil, nil, 400, "unauthorized_client"},
		{"wrong secret", "", nil, func(r *http.Request) { r.SetBasicAuth("rs", "not-the-secret") }, 401, "invalid_client"},
		{"secret of another client", "", nil, func(r *http.Request) { r.SetBasicAuth("rs", e.Secrets["web"]) }, 401, "invalid_client"},
		{"no authentication", "", nil, nil, 400, "invalid_request"},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"grant_type": {"client_credentials"}}
			for k, v := range tc.form {
				form[k] = v
			}
			var mut []func(*http.Request)
			if tc.auth != nil {
				mut = append(mut, tc.auth)
			}
			res := api(t, e, "/token", tc.client, form, mut...)
			wantError(t, tc.name, res, tc.status, tc.code)
			if res.Body["access_token"] != nil {
				t.Errorf("%s: an access token was issued", tc.name)
			}
		})
	}
}

// TestAuditTrail runs a sign-in, a refresh, a reuse, a revocation, a
// client credentials grant and a logout, and checks the audit log: every
// event is there with its client_id, and no line holds any token, code,
// secret or password the test saw.
func TestAuditTrail(t *testing.T) {
	e := startLifecycle(t)
	ctx := t.Context()
	secrets := map[string]string{
		"password": latchtest.AlicePassword, "web secret": e.Secrets["web"], "rs secret": e.Secrets["rs"],
		"wrong password": "wrong-password-never-logged",
	}
	b := e.Browser()
	conf := e.OAuthConfig("web", latchtest.WebRedirect, "openid", "offline_access")
	verifier := oauth2.GenerateVerifier()
	secrets["verifier"] = verifier
	p := b.Get(conf.AuthCodeURL("audit-state", oauth2.S256ChallengeOption(verifier), oidc.Nonce("audit-nonce")))
	p = b.Login(p, "alice", secrets["wrong password"])
	p = b.Login(p, "alice", latchtest.AlicePassword)
	if latchtest.IsConsentPage(p) {
		p = b.Consent(p, "allow")
	}
	q := latchtest.Callback(t, p)
	secrets["code"] = q.Get("code")
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := tok.Extra("id_token").(string)
	secrets["access"], secrets["refresh"], secrets["id token"] = tok.AccessToken, tok.RefreshToken, id
	// Refresh, then reuse the retired token.
	t1 := mustRefresh(t, e, "web", tok.RefreshToken)
	secrets["refresh 1"], secrets["access 1"] = t1.Refresh, t1.Access
	refreshDead(t, e, "reuse", "web", tok.RefreshToken)
	// A second grant, revoked.
	t2 := signIn(t, e, b, "web", latchtest.WebRedirect, "openid", "offline_access")
	secrets["refresh 2"], secrets["access 2"], secrets["id token 2"] = t2.Refresh, t2.Access, t2.ID
	if res := api(t, e, "/revoke", "web", url.Values{"token": {t2.Refresh}}); res.Status != 200 {
		t.Fatalf("revoke: %d %v", res.Status, res.Body)
	}
	// Machine to machine.
	ccTok, err := (&clientcredentials.Config{ClientID: "rs", ClientSecret: e.Secrets["rs"], TokenURL: e.Issuer + "/token"}).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secrets["client credentials token"] = ccTok.AccessToken
	// Logout with the hint.
	lp := b.Get(e.Issuer + "/logout?" + url.Values{"id_token_hint": {t2.ID}}.Encode())
	if lp.Status != http.StatusOK || strings.Contains(lp.Body, `name="decision"`) {
		t.Fatalf("logout with a valid hint: %d, want the signed-out page", lp.Status)
	}

	events := auditEvents(t, e)
	want := []struct {
		event string
		kv    []any
	}{
		{"login_failed", []any{"client_id", "web", "reason", "bad_password"}},
		{"login_succeeded", []any{"client_id", "web", "sub", "user-alice"}},
		{"token_issued", []any{"client_id", "web", "grant_type", "authorization_code", "sub", "user-alice"}},
		{"token_issued", []any{"client_id", "web", "grant_type", "refresh_token", "sub", "user-alice"}},
		{"refresh_token_reuse_detected", []any{"client_id", "web", "sub", "user-alice"}},
		{"token_revoked", []any{"client_id", "web", "sub", "user-alice", "token_type", "refresh_token"}},
		{"token_issued", []any{"client_id", "rs", "grant_type", "client_credentials"}},
		{"logout", []any{"client_id", "web", "sub", "user-alice"}},
	}
	for _, w := range want {
		if findEvent(events, w.event, w.kv...) == nil {
			t.Errorf("no audit event %s with %v", w.event, w.kv)
		}
	}
	for _, ev := range events {
		if _, ok := ev["client_id"]; !ok {
			t.Errorf("audit event without client_id: %v", ev)
		}
	}
	for name, logText := range map[string]string{"audit log": e.AuditLog(), "operational log": e.OperationalLog()} {
		for what, v := range secrets {
			if v == "" {
				t.Fatalf("the test saw no %s", what)
			}
			if strings.Contains(logText, v) {
				t.Errorf("the %s contains the %s", name, what)
			}
		}
	}
}

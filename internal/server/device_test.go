package server_test

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

const grantDeviceCode = "urn:ietf:params:oauth:grant-type:device_code"

// TestDeviceFlowWithXOAuth2 is RFC 8628 end to end with
// golang.org/x/oauth2's DeviceAuth and DeviceAccessToken, unchanged, as
// the device; the user approves in a browser session over HTTP (sign-in,
// code, confirmation). The device gets an ID token carrying the
// approving session's sid and amr and a rotating refresh token.
func TestDeviceFlowWithXOAuth2(t *testing.T) {
	e := latchtest.Start(t)
	e.DeviceClient()
	ctx := latchtest.ClientContext(t.Context())
	provider := e.Provider()
	var meta struct {
		DeviceEndpoint string   `json:"device_authorization_endpoint"`
		GrantTypes     []string `json:"grant_types_supported"`
	}
	if err := provider.Claims(&meta); err != nil {
		t.Fatal(err)
	}
	if meta.DeviceEndpoint != e.Issuer+"/device_authorization" || !slices.Contains(meta.GrantTypes, grantDeviceCode) {
		t.Fatalf("discovery: device_authorization_endpoint %q, grant types %v", meta.DeviceEndpoint, meta.GrantTypes)
	}
	conf := &oauth2.Config{
		ClientID: "tv", Scopes: []string{oidc.ScopeOpenID, "profile"},
		Endpoint: oauth2.Endpoint{DeviceAuthURL: meta.DeviceEndpoint, TokenURL: provider.Endpoint().TokenURL},
	}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if !regexp.MustCompile(`^[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}$`).MatchString(da.UserCode) {
		t.Errorf("user_code = %q, want XXXX-XXXX from the documented alphabet", da.UserCode)
	}
	if da.VerificationURI != e.Issuer+"/device" || da.VerificationURIComplete != e.Issuer+"/device?user_code="+da.UserCode {
		t.Errorf("verification_uri %q, verification_uri_complete %q", da.VerificationURI, da.VerificationURIComplete)
	}
	if da.Interval != 5 || time.Until(da.Expiry) < 9*time.Minute {
		t.Errorf("interval %d, expiry in %s; want 5 s and 10 minutes", da.Interval, time.Until(da.Expiry))
	}

	b := e.Browser()
	p := b.ApproveDevice(da.VerificationURIComplete, "allow")
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Device connected") {
		t.Fatalf("approval: %d\n%s", p.Status, p.Body)
	}
	tok, err := conf.DeviceAccessToken(ctx, da) // waits one interval (5 s), then polls
	if err != nil {
		t.Fatalf("DeviceAccessToken: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Errorf("no refresh token for a public client registered for refresh_token")
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "tv"}).Verify(ctx, rawID)
	if err != nil {
		t.Fatalf("ID token: %v", err)
	}
	var claims struct {
		AMR  []string `json:"amr"`
		SID  string   `json:"sid"`
		Name string   `json:"name"`
	}
	if err := idt.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if idt.Subject != "user-alice" || !slices.Equal(claims.AMR, []string{"pwd"}) || claims.SID == "" || claims.Name != "Alice Liddell" {
		t.Errorf("ID token sub %q, claims %+v; want alice, amr [pwd] and sid of the approving session", idt.Subject, claims)
	}
	if got := e.UserinfoStatus(tok.AccessToken); got != http.StatusOK {
		t.Errorf("userinfo with the device's access token: %d", got)
	}
	// Refresh tokens rotate as for other public clients.
	old := tok.RefreshToken
	tok.Expiry = time.Now().Add(-time.Minute)
	next, err := conf.TokenSource(ctx, tok).Token()
	if err != nil || next.RefreshToken == "" || next.RefreshToken == old {
		t.Fatalf("refresh: %v (rotated: %v)", err, next != nil && next.RefreshToken != old)
	}
	for _, ev := range []string{`"device_authorization_started"`, `"device_approved"`, `"grant_type":"` + grantDeviceCode + `"`} {
		if !strings.Contains(e.AuditLog(), ev) {
			t.Errorf("audit log lacks %s", ev)
		}
	}
}

// TestDeviceDeniedWithXOAuth2: x/oauth2 reports the user's denial as
// access_denied and stops polling.
func TestDeviceDeniedWithXOAuth2(t *testing.T) {
	e := latchtest.Start(t)
	e.DeviceClient()
	ctx := latchtest.ClientContext(t.Context())
	conf := &oauth2.Config{ClientID: "tv", Endpoint: oauth2.Endpoint{DeviceAuthURL: e.Issuer + "/device_authorization", TokenURL: e.Issuer + "/token"}}
	da, err := conf.DeviceAuth(ctx)
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if p := e.Browser().ApproveDevice(da.VerificationURIComplete, "deny"); !strings.Contains(p.Body, "Request denied") {
		t.Fatalf("denial: %d\n%s", p.Status, p.Body)
	}
	_, err = conf.DeviceAccessToken(ctx, da)
	if got := latchtest.OAuthErrorCode(err); got != "access_denied" {
		t.Errorf("DeviceAccessToken after denial = %v, want access_denied", err)
	}
}

// poll posts one device_code token request for the tv client.
func poll(e *latchtest.Env, deviceCode string) (*http.Response, map[string]any) {
	return e.PostForm("/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {"tv"}, "device_code": {deviceCode}})
}

func wantPoll(t *testing.T, e *latchtest.Env, deviceCode string, status int, code string) map[string]any {
	t.Helper()
	resp, body := poll(e, deviceCode)
	if resp.StatusCode != status || (code != "" && body["error"] != code) || (code == "" && body["access_token"] == nil) {
		t.Fatalf("poll = %d %v, want %d %s", resp.StatusCode, body, status, code)
	}
	if code != "" && resp.Header.Get("Retry-After") != "" {
		t.Errorf("poll answer %s has Retry-After %q; RFC 8628 polling errors carry none", code, resp.Header.Get("Retry-After"))
	}
	return body
}

// TestDevicePollingErrorsInOrder walks the polling answers of RFC 8628
// §3.5 on the server's injected clock: pending → slow_down (interval
// +5 s, kept) → pending → denied; and pending → expired_token.
func TestDevicePollingErrorsInOrder(t *testing.T) {
	e := latchtest.Start(t)
	e.DeviceClient()
	da := e.StartDevice("tv", "openid")
	dc := da["device_code"].(string)
	wantPoll(t, e, dc, http.StatusBadRequest, "authorization_pending")
	e.Clock.Advance(4 * time.Second)
	wantPoll(t, e, dc, http.StatusBadRequest, "slow_down") // interval now 10 s
	e.Clock.Advance(9 * time.Second)
	wantPoll(t, e, dc, http.StatusBadRequest, "slow_down") // 9 s < 10 s: 15 s now
	e.Clock.Advance(15 * time.Second)
	wantPoll(t, e, dc, http.StatusBadRequest, "authorization_pending")
	e.Browser().ApproveDevice(da["verification_uri_complete"].(string), "deny")
	e.Clock.Advance(time.Second) // too early, but a decided request is answered
	wantPoll(t, e, dc, http.StatusBadRequest, "access_denied")
	wantPoll(t, e, dc, http.StatusBadRequest, "access_denied")

	dc2 := e.StartDevice("tv", "openid")["device_code"].(string)
	wantPoll(t, e, dc2, http.StatusBadRequest, "authorization_pending")
	e.Clock.Advance(10 * time.Minute)
	wantPoll(t, e, dc2, http.StatusBadRequest, "expired_token")

	wantPoll(t, e, "not-a-device-code", http.StatusBadRequest, "invalid_grant")
}

// TestDeviceAuthorizationRequests: per-client enablement, scopes as
// /authorize allows them, client authentication as at /token.
func TestDeviceAuthorizationRequests(t *testing.T) {
	e := latchtest.Start(t)
	e.DeviceClient()
	for _, tc := range []struct {
		name   string
		form   url.Values
		status int
		code   string
	}{
		{"not registered for the grant", url.Values{"client_id": {"spa"}}, http.StatusBadRequest, "unauthorized_client"},
		{"unknown client", url.Values{"client_id": {"nope"}}, http.StatusUnauthorized, "invalid_client"},
		{"scope not allowed", url.Values{"client_id": {"tv"}, "scope": {"openid admin"}}, http.StatusBadRequest, "invalid_scope"},
		{"confidential without secret", url.Values{"client_id": {"web"}}, http.StatusUnauthorized, "invalid_client"},
		{"repeated scope", url.Values{"client_id": {"tv"}, "scope": {"openid", "profile"}}, http.StatusBadRequest, "invalid_request"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.PostForm("/device_authorization", tc.form)
			if resp.StatusCode != tc.status || body["error"] != tc.code {
				t.Errorf("POST /device_authorization %v = %d %v, want %d %s", tc.form, resp.StatusCode, body, tc.status, tc.code)
			}
		})
	}
	// The grant at /token is refused to a client not registered for it.
	resp, body := e.PostForm("/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {"spa"}, "device_code": {"x"}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "unauthorized_client" {
		t.Errorf("device_code grant for spa = %d %v, want unauthorized_client", resp.StatusCode, body)
	}
	// Another client cannot redeem tv's device code.
	dc := e.StartDevice("tv", "")["device_code"].(string)
	e.MustClient(store.Client{ID: "tv2", Public: true, GrantTypes: []string{grantDeviceCode}})
	resp, body = e.PostForm("/token", url.Values{"grant_type": {grantDeviceCode}, "client_id": {"tv2"}, "device_code": {dc}})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("tv's device code at tv2 = %d %v, want invalid_grant", resp.StatusCode, body)
	}
}

// TestDevicePage: the verification page's steps, its headers (strict
// CSP, no framing, no caching) and the sign-in detour that comes back.
func TestDevicePage(t *testing.T) {
	e := latchtest.Start(t)
	e.DeviceClient()
	da := e.StartDevice("tv", "openid offline_access")
	b := e.Browser()
	p := b.Get(da["verification_uri_complete"].(string))
	if !latchtest.IsLoginPage(p) {
		t.Fatalf("GET /device without a session: %d, want the sign-in page", p.Status)
	}
	p = b.Login(p, "alice", latchtest.AlicePassword)
	code := da["user_code"].(string)
	if !latchtest.IsDeviceEnterPage(p) || p.URL.Path != "/device" || !strings.Contains(p.Body, `value="`+code+`"`) {
		t.Fatalf("after sign-in: %d at %s, want the code form prefilled with %s:\n%s", p.Status, p.URL, code, p.Body)
	}
	for _, h := range []struct{ name, want string }{
		{"Content-Security-Policy", "frame-ancestors 'none'"},
		{"Content-Security-Policy", "script-src 'self'"},
		{"X-Frame-Options", "DENY"},
		{"Cache-Control", "no-store"},
	} {
		if !strings.Contains(p.Header.Get(h.name), h.want) {
			t.Errorf("%s = %q, want %q", h.name, p.Header.Get(h.name), h.want)
		}
	}
	// Case and dashes do not matter.
	p = b.EnterUserCode(p, strings.ToLower(strings.ReplaceAll(code, "-", " ")))
	if !latchtest.IsConsentPage(p) || !strings.Contains(p.Body, "Living Room TV") || !strings.Contains(p.Body, "offline_access") {
		t.Fatalf("confirmation: %d, want the client name and scopes:\n%s", p.Status, p.Body)
	}
	p = b.DecideDevice(p, "allow")
	if !strings.Contains(p.Body, "Device connected") {
		t.Fatalf("after allow: %d\n%s", p.Status, p.Body)
	}
	// The code is decided: entering it again gets the one answer.
	p = b.EnterUserCode(b.Get(e.Issuer+"/device"), code)
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "not valid or has expired") {
		t.Errorf("a decided code entered again: %d, want the generic refusal", p.Status)
	}
	// German.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/device", nil)
	req.Header.Set("Accept-Language", "de")
	if p := b.Do(req); !strings.Contains(p.Body, "Gerät verbinden") {
		t.Errorf("/device in German: %d\n%s", p.Status, p.Body)
	}
}

// TestDeviceConcurrentPollsAfterApproval: of a burst of polls after the
// approval, exactly one gets tokens (the device_code is single-use), on
// SQLite and PostgreSQL; the others are replays, which revoke the
// winner's grant as racing redemptions of an auth code do (its access
// token is then refused at userinfo).
func TestDeviceConcurrentPollsAfterApproval(t *testing.T) {
	t.Run("sqlite", func(t *testing.T) { concurrentPolls(t, latchtest.Start(t)) })
	t.Run("postgres", func(t *testing.T) {
		st, err := postgres.Open(t.Context(), pgtest.NewTestDB(t), postgres.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		concurrentPolls(t, latchtest.StartWith(t, latchtest.Options{Store: st}))
	})
}

func concurrentPolls(t *testing.T, e *latchtest.Env) {
	e.DeviceClient()
	da := e.StartDevice("tv", "openid")
	e.Browser().ApproveDevice(da["verification_uri_complete"].(string), "allow")
	const n = 16
	codes := make([]string, n)
	access := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Go(func() {
			<-start
			resp, body := poll(e, da["device_code"].(string))
			codes[i] = fmt.Sprint(resp.StatusCode, " ", body["error"])
			access[i], _ = body["access_token"].(string)
		})
	}
	close(start)
	wg.Wait()
	got := map[string]int{}
	for _, c := range codes {
		got[c]++
	}
	if got["200 <nil>"] != 1 || got["400 invalid_grant"] != n-1 {
		t.Errorf("%d concurrent polls after approval: %v, want exactly one 200 and %d invalid_grant", n, got, n-1)
	}
	for _, a := range access {
		if a != "" && e.UserinfoStatus(a) != http.StatusUnauthorized {
			t.Errorf("the winner's access token after %d replays: userinfo accepts it, want its grant revoked", n-1)
		}
	}
}

// TestDeviceSignInDetour: the sign-in page the device page sends a
// signed-out user to behaves as for an authorization request — a wrong
// password shows it again, the lockout page disables it — and the right
// password comes back to /device with the code, never anywhere else.
func TestDeviceSignInDetour(t *testing.T) {
	e := latchtest.Start(t)
	e.DeviceClient()
	da := e.StartDevice("tv", "openid")
	b := e.Browser()
	p := b.Get(da["verification_uri_complete"].(string))
	p = b.Login(p, "alice", "wrong")
	if p.Status != http.StatusUnauthorized || !latchtest.IsLoginPage(p) {
		t.Fatalf("wrong password: %d, want the sign-in page again (401)", p.Status)
	}
	for range 5 {
		p = b.Login(p, "mallory", "wrong")
	}
	if p.Status != http.StatusTooManyRequests || !latchtest.IsLoginPage(p) || !strings.Contains(p.Body, " disabled") {
		t.Fatalf("after the budget: %d, want the locked sign-in page (429)", p.Status)
	}
	e.Clock.Advance(e.Config.ThrottleWindow + e.Config.LockoutMax)
	da = e.StartDevice("tv", "openid")
	b2 := e.Browser()
	b2.Client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	p = b2.Login(b2.Get(da["verification_uri_complete"].(string)), "alice", latchtest.AlicePassword)
	if want := e.Issuer + "/device?user_code=" + da["user_code"].(string); p.Status != http.StatusSeeOther || p.Header.Get("Location") != want {
		t.Fatalf("after sign-in: %d to %q, want 303 to %q", p.Status, p.Header.Get("Location"), want)
	}
	if !strings.Contains(e.AuditLog(), `"login_succeeded"`) {
		t.Error("the sign-in was not audited")
	}
}

// TestDeviceCodeOfDeletedClient: a code whose client was deleted gets the
// one refusal, never a 5xx (PostgreSQL keeps such codes until swept).
func TestDeviceCodeOfDeletedClient(t *testing.T) {
	st, err := postgres.Open(t.Context(), pgtest.NewTestDB(t), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := latchtest.StartWith(t, latchtest.Options{Store: st})
	e.DeviceClient()
	da := e.StartDevice("tv", "openid")
	if err := e.Store.DeleteClient(t.Context(), "tv"); err != nil {
		t.Fatal(err)
	}
	b := e.Browser()
	p := b.Login(b.Get(e.Issuer+"/device"), "alice", latchtest.AlicePassword)
	p = b.EnterUserCode(p, da["user_code"].(string))
	if p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "not valid or has expired") {
		t.Errorf("code of a deleted client: %d, want the generic refusal", p.Status)
	}
}

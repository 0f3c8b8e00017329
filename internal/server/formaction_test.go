package server_test

import (
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
)

// The login and consent forms are answered with a redirect to the client;
// browsers apply CSP form-action to that redirect too, so the pages must
// allow the client's validated redirect origin (found by the e2e tests:
// Chromium blocked the way back to the SPA after login).
func TestLoginAndConsentFormActionAllowsRedirectOrigin(t *testing.T) {
	e := latchtest.Start(t)
	for _, tc := range []struct {
		client, redirect, origin string
		page                     func(latchtest.Page) bool
	}{
		{"spa", latchtest.SPARedirect, latchtest.SPAOrigin, latchtest.IsLoginPage},
		{"web", latchtest.WebRedirect, "https://web.test", latchtest.IsConsentPage},
	} {
		b := e.Browser()
		conf := e.OAuthConfig(tc.client, tc.redirect, "openid")
		p := b.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
		if tc.client == "web" {
			p = b.Login(p, "alice", latchtest.AlicePassword)
		}
		if !tc.page(p) {
			t.Fatalf("%s: not the expected page: %d\n%s", tc.client, p.Status, p.Body)
		}
		csp := p.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "form-action 'self' "+tc.origin+";") {
			t.Errorf("%s: CSP = %q, want form-action 'self' %s", tc.client, csp, tc.origin)
		}
	}
}

// The logout confirmation form is answered with a redirect to the
// registered post_logout_redirect_uri: its CSP must allow that origin.
func TestLogoutConfirmFormActionAllowsPostLogoutOrigin(t *testing.T) {
	e := latchtest.Start(t)
	b := e.Browser()
	b.SignIn(e.OAuthConfig("spa", latchtest.SPARedirect, "openid").AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
	p := b.Get(e.Issuer + "/logout?client_id=spa&post_logout_redirect_uri=" + url.QueryEscape(latchtest.SPAOrigin+"/"))
	if !strings.Contains(p.Body, `value="logout"`) {
		t.Fatalf("want the logout confirmation page, got %d\n%s", p.Status, p.Body)
	}
	if csp := p.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' "+latchtest.SPAOrigin+";") {
		t.Errorf("CSP = %q, want form-action 'self' %s", csp, latchtest.SPAOrigin)
	}
}

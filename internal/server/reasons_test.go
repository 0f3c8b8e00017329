package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// wantReason presents rt as clientID and checks the answer is
// invalid_grant whose error_description ends in the stable
// " (reason: CODE)" suffix, and that an audit event names the reason.
func wantReason(t *testing.T, e *latchtest.Env, clientID, rt string, reason store.Reason) {
	t.Helper()
	res := refresh(t, e, clientID, rt)
	desc, _ := res.Body["error_description"].(string)
	if res.Status != http.StatusBadRequest || res.errCode() != "invalid_grant" || !strings.HasSuffix(desc, grant.ReasonSuffix(reason)) {
		t.Errorf("refresh after %s: %d %v, want 400 invalid_grant with an error_description ending in %q", reason, res.Status, res.Body, grant.ReasonSuffix(reason))
	}
	found := false
	for _, ev := range auditEvents(t, e) {
		if ev["reason"] == string(reason) {
			found = true
		}
	}
	if !found {
		t.Errorf("no audit event with reason %q in:\n%s", reason, e.AuditLog())
	}
}

// reasonClients registers clients for the reason tests: "short" with a
// 1h idle and 3h absolute refresh lifetime, "strict" that revokes its
// refresh tokens on logout.
func reasonClients(e *latchtest.Env) {
	e.MustClient(store.Client{
		ID: "short", Public: true, FirstParty: true, RedirectURIs: []string{latchtest.SPARedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}, RefreshIdle: time.Hour, RefreshAbsolute: 3 * time.Hour,
	})
	e.MustClient(store.Client{
		ID: "strict", Public: true, FirstParty: true, RedirectURIs: []string{latchtest.SPARedirect},
		PostLogoutRedirectURIs: []string{spaLogoutURI}, GrantTypes: []string{"authorization_code", "refresh_token"},
		RevokeRefreshOnLogout: true,
	})
}

// TestRefreshEndReasons: one sub-test per reason code the token endpoint
// can name; each ends a refresh token the way the reason says and checks
// error_description and the audit trail. (admin and password_changed are
// in internal/admin's TestAdminRevocationReasons.)
func TestRefreshEndReasons(t *testing.T) {
	t.Run("reused", func(t *testing.T) {
		e := startLifecycle(t)
		ts := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		mustRefresh(t, e, "spa", ts.Refresh)
		e.Clock.Advance(time.Minute)
		wantReason(t, e, "spa", ts.Refresh, store.ReasonReused)
	})
	t.Run("code_replayed", func(t *testing.T) {
		e := startLifecycle(t)
		c := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)
		tok, err := c.Conf.Exchange(t.Context(), c.Code, oauth2.VerifierOption(c.Verifier))
		if err != nil {
			t.Fatalf("first exchange: %v", err)
		}
		if _, err := c.Conf.Exchange(t.Context(), c.Code, oauth2.VerifierOption(c.Verifier)); err == nil {
			t.Fatal("second exchange of one code succeeded")
		}
		wantReason(t, e, "spa", tok.RefreshToken, store.ReasonCodeReplayed)
	})
	t.Run("idle_expired", func(t *testing.T) {
		e := startLifecycle(t)
		reasonClients(e)
		ts := signIn(t, e, e.Browser(), "short", latchtest.SPARedirect, "openid")
		// Back two hours later, after the sweeper ran: the expired head
		// of the chain is kept (store.ExpiredRefreshRetention), so the
		// app still learns why.
		e.Clock.Advance(2 * time.Hour)
		if _, err := e.Store.DeleteExpired(t.Context(), e.Clock.Now(), 1000); err != nil {
			t.Fatal(err)
		}
		wantReason(t, e, "short", ts.Refresh, store.ReasonIdleExpired)
	})
	t.Run("absolute_expired", func(t *testing.T) {
		e := startLifecycle(t)
		reasonClients(e)
		rt := signIn(t, e, e.Browser(), "short", latchtest.SPARedirect, "openid").Refresh
		for range 3 { // used every 50 minutes: never idle
			e.Clock.Advance(50 * time.Minute)
			rt = mustRefresh(t, e, "short", rt).Refresh
		}
		e.Clock.Advance(40 * time.Minute) // 3h10m after sign-in
		wantReason(t, e, "short", rt, store.ReasonAbsoluteExpired)
	})
	t.Run("revoked_by_client", func(t *testing.T) {
		e := startLifecycle(t)
		ts := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		if res := api(t, e, "/revoke", "spa", url.Values{"token": {ts.Refresh}}); res.Status != http.StatusOK {
			t.Fatalf("revoke: %d %v", res.Status, res.Body)
		}
		wantReason(t, e, "spa", ts.Refresh, store.ReasonRevokedByClient)
	})
	t.Run("logout", func(t *testing.T) {
		e := startLifecycle(t)
		reasonClients(e)
		b := e.Browser()
		ts := signIn(t, e, b, "strict", latchtest.SPARedirect, "openid")
		if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", ts.ID, "post_logout_redirect_uri", spaLogoutURI)); p.Status != http.StatusSeeOther {
			t.Fatalf("logout: %d", p.Status)
		}
		wantReason(t, e, "strict", ts.Refresh, store.ReasonLogout)
	})
	t.Run("session_ended", func(t *testing.T) {
		// The user signs out through spa (which keeps its tokens): the
		// session ends, and strict, which revokes on logout, loses the
		// grant it got in that session — not one from another browser.
		e := startLifecycle(t)
		reasonClients(e)
		b := e.Browser()
		strict := signIn(t, e, b, "strict", latchtest.SPARedirect, "openid")
		spa := signIn(t, e, b, "spa", latchtest.SPARedirect, "openid") // SSO: same session
		elsewhere := signIn(t, e, e.Browser(), "strict", latchtest.SPARedirect, "openid")
		if p := b.Get(logoutURL(endSession(t, e), "id_token_hint", spa.ID, "post_logout_redirect_uri", spaLogoutURI)); p.Status != http.StatusSeeOther {
			t.Fatalf("logout: %d", p.Status)
		}
		wantReason(t, e, "strict", strict.Refresh, store.ReasonSessionEnded)
		mustRefresh(t, e, "spa", spa.Refresh)
		mustRefresh(t, e, "strict", elsewhere.Refresh)
	})
}

// TestRefreshEndReasonNotLeaked: the reason is told only to the client
// the token was issued to, and introspection of an ended token stays a
// bare {"active": false} (RFC 7662 §2.2: nothing else about an inactive
// token).
func TestRefreshEndReasonNotLeaked(t *testing.T) {
	e := startLifecycle(t)
	ts := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
	if res := api(t, e, "/revoke", "spa", url.Values{"token": {ts.Refresh}}); res.Status != http.StatusOK {
		t.Fatalf("revoke: %d %v", res.Status, res.Body)
	}
	other := refresh(t, e, "spa-grace", ts.Refresh)
	if desc, _ := other.Body["error_description"].(string); other.errCode() != "invalid_grant" || strings.Contains(desc, "reason") {
		t.Errorf("another client presenting the token: %v, want invalid_grant without a reason", other.Body)
	}
	body := introspect(t, e, "rs", ts.Refresh)
	if len(body) != 1 || body["active"] != false {
		t.Errorf("introspection of a revoked refresh token = %v, want exactly {\"active\": false}", body)
	}
	unknown := refresh(t, e, "spa", "never-issued")
	if desc, _ := unknown.Body["error_description"].(string); strings.Contains(desc, "reason") {
		t.Errorf("unknown refresh token: %v, want no reason", unknown.Body)
	}
}

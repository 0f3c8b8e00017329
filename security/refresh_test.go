package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

func refreshForm(client, rt string) url.Values {
	f := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}
	if client != "" {
		f.Set("client_id", client)
	}
	return f
}

// tokensOf runs the code flow for spa (public: refresh tokens always) or
// app (confidential: with offline_access) and returns the token response.
func tokensOf(t *testing.T, e *latchtest.Env, b *latchtest.Browser, client string) map[string]any {
	t.Helper()
	var resp *http.Response
	var body map[string]any
	switch client {
	case "spa":
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		resp, body = e.PostForm("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier))
	case "app":
		c := e.IssueCode(b, "app", appRedirect, oauthOffline)
		resp, body = e.PostForm("/token", exchangeForm("app", c.Code, appRedirect, c.Verifier), withSecret(e, "app"))
	}
	if resp.StatusCode != http.StatusOK || body["refresh_token"] == nil {
		t.Fatalf("setup: %s tokens: %d %v", client, resp.StatusCode, body)
	}
	return body
}

// TestRefreshTokenReplayRevokesFamily is RFC 9700 §4.14.2: refresh
// tokens rotate; when a rotated token is presented again, either the
// thief or the client is using a copy, and Latch cannot tell which, so it
// revokes the whole grant: the successor, and the access tokens issued
// from it.
func TestRefreshTokenReplayRevokesFamily(t *testing.T) {
	e := start(t)
	first := tokensOf(t, e, e.Browser(), "spa")
	rt1 := first["refresh_token"].(string)
	resp, second := e.PostForm("/token", refreshForm("spa", rt1))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("control: first refresh: %d %v", resp.StatusCode, second)
	}
	rt2, at2 := second["refresh_token"].(string), second["access_token"].(string)
	if rt2 == rt1 {
		t.Fatal("the refresh token was not rotated")
	}

	e.Clock.Advance(time.Minute) // past any grace window for concurrent tabs
	resp, body := e.PostForm("/token", refreshForm("spa", rt1))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	resp, body = e.PostForm("/token", refreshForm("spa", rt2))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	for name, at := range map[string]string{"first": first["access_token"].(string), "second": at2} {
		if got := e.UserinfoStatus(at); got != http.StatusUnauthorized {
			t.Errorf("%s access token of the revoked family: userinfo %d, want 401", name, got)
		}
	}
	if !strings.Contains(e.AuditLog(), "refresh_token_reuse_detected") {
		t.Error("no refresh_token_reuse_detected audit event")
	}
}

// TestRefreshTokenOfAnotherClient is RFC 9700 §4.14 / RFC 6749 §6: a
// refresh token is bound to its client. Presented by another client it
// gets invalid_grant — and is not burned, so a malicious client cannot
// log users out of another app by replaying its tokens.
func TestRefreshTokenOfAnotherClient(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	spaRT := tokensOf(t, e, b, "spa")["refresh_token"].(string)
	appRT := tokensOf(t, e, b, "app")["refresh_token"].(string)

	resp, body := e.PostForm("/token", refreshForm("spa", appRT))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	resp, body = e.PostForm("/token", refreshForm("native", spaRT))
	if resp.StatusCode != http.StatusBadRequest || body["access_token"] != nil {
		t.Fatalf("native with spa's refresh token: %d %v", resp.StatusCode, body)
	}
	resp, body = e.PostForm("/token", refreshForm("", spaRT), withSecret(e, "app"))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	if resp, body := e.PostForm("/token", refreshForm("spa", spaRT)); resp.StatusCode != http.StatusOK {
		t.Errorf("spa's refresh token after another client tried it: %d %v", resp.StatusCode, body)
	}
	if resp, body := e.PostForm("/token", refreshForm("", appRT), withSecret(e, "app")); resp.StatusCode != http.StatusOK {
		t.Errorf("app's refresh token after another client tried it: %d %v", resp.StatusCode, body)
	}
}

// TestRefreshTokenMisuse: other ways to get more from a refresh token
// than was granted, each refused without spending the token.
func TestRefreshTokenMisuse(t *testing.T) {
	e := start(t)
	tok := tokensOf(t, e, e.Browser(), "spa")
	rt, at := tok["refresh_token"].(string), tok["access_token"].(string)
	t.Run("wider scope", func(t *testing.T) {
		f := refreshForm("spa", rt)
		f.Set("scope", "openid profile email offline_access")
		resp, body := e.PostForm("/token", f)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_scope")
	})
	t.Run("stored hash instead of the token", func(t *testing.T) {
		resp, body := e.PostForm("/token", refreshForm("spa", token.Hash(rt)))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("access token as refresh token", func(t *testing.T) {
		resp, body := e.PostForm("/token", refreshForm("spa", at))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("refresh token as access token", func(t *testing.T) {
		if got := e.UserinfoStatus(rt); got != http.StatusUnauthorized {
			t.Errorf("userinfo with a refresh token: %d, want 401", got)
		}
	})
	t.Run("control: the token still works", func(t *testing.T) {
		if resp, body := e.PostForm("/token", refreshForm("spa", rt)); resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
	})
}

// TestRefreshTokenAfterRevocation: a refresh token revoked by its client
// (RFC 7009), with its grant, no longer refreshes.
func TestRefreshTokenAfterRevocation(t *testing.T) {
	e := start(t)
	tok := tokensOf(t, e, e.Browser(), "spa")
	rt, at := tok["refresh_token"].(string), tok["access_token"].(string)
	if resp, _ := e.PostForm("/revoke", url.Values{"token": {rt}, "client_id": {"spa"}}); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	resp, body := e.PostForm("/token", refreshForm("spa", rt))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	if got := e.UserinfoStatus(at); got != http.StatusUnauthorized {
		t.Errorf("access token of the revoked grant: userinfo %d, want 401", got)
	}
}

// graceClient registers a public client like spa with the given refresh
// grace window (stored directly, as a client registered before the
// 30-second bound would be).
func graceClient(e *latchtest.Env, id string, grace time.Duration) {
	e.MustClient(store.Client{
		ID: id, Public: true, FirstParty: true, RedirectURIs: []string{latchtest.SPARedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"}, RefreshGrace: grace,
	})
}

// TestRefreshGraceOlderToken is RFC 9700 §4.14.2 against the grace
// window: with g0 → g1 → g2, a thief holding g0 presents it while g0 is
// still inside its window. Only the head's immediate predecessor (g1) may
// get the head back; g0 is reuse, so the family is revoked and g2 dies.
// The window itself is capped at 30 s even for a client stored with more.
func TestRefreshGraceOlderToken(t *testing.T) {
	e := start(t)
	graceClient(e, "spa-grace", 10*time.Second)
	graceClient(e, "spa-long-grace", time.Hour)
	chain := func(t *testing.T, client string) (g0, g1, g2 string) {
		t.Helper()
		c := e.IssueCode(e.Browser(), client, latchtest.SPARedirect)
		resp, body := e.PostForm("/token", exchangeForm(client, c.Code, latchtest.SPARedirect, c.Verifier))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("setup: exchange: %d %v", resp.StatusCode, body)
		}
		g0 = body["refresh_token"].(string)
		resp, body = e.PostForm("/token", refreshForm(client, g0))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("setup: g0 → g1: %d %v", resp.StatusCode, body)
		}
		g1 = body["refresh_token"].(string)
		e.Clock.Advance(time.Second)
		resp, body = e.PostForm("/token", refreshForm(client, g1))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("setup: g1 → g2: %d %v", resp.StatusCode, body)
		}
		return g0, g1, body["refresh_token"].(string)
	}
	t.Run("older token inside its window revokes the family", func(t *testing.T) {
		g0, _, g2 := chain(t, "spa-grace")
		resp, body := e.PostForm("/token", refreshForm("spa-grace", g0))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		resp, body = e.PostForm("/token", refreshForm("spa-grace", g2))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("control: the head's predecessor gets the head back", func(t *testing.T) {
		_, g1, g2 := chain(t, "spa-grace")
		resp, body := e.PostForm("/token", refreshForm("spa-grace", g1))
		if resp.StatusCode != http.StatusOK || body["refresh_token"] != g2 {
			t.Fatalf("g1 within grace: %d %v, want 200 with g2", resp.StatusCode, body)
		}
		if resp, body := e.PostForm("/token", refreshForm("spa-grace", g2)); resp.StatusCode != http.StatusOK {
			t.Fatalf("g2 after g1's grace use: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("predecessor after the window revokes the family", func(t *testing.T) {
		_, g1, g2 := chain(t, "spa-grace")
		e.Clock.Advance(11 * time.Second)
		resp, body := e.PostForm("/token", refreshForm("spa-grace", g1))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		resp, body = e.PostForm("/token", refreshForm("spa-grace", g2))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("a stored window above 30 s is capped", func(t *testing.T) {
		_, g1, g2 := chain(t, "spa-long-grace")
		e.Clock.Advance(31 * time.Second)
		resp, body := e.PostForm("/token", refreshForm("spa-long-grace", g1))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		resp, body = e.PostForm("/token", refreshForm("spa-long-grace", g2))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
}

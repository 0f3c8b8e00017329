package security

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/token"
)

// TestCodeReplayRevokesTokens is RFC 9700 §4.3 (a code read from browser
// history) and §4.5 (code replay): the second redemption of a code gets
// invalid_grant, and everything the first one issued is revoked
// (RFC 6749 §4.1.2), because one of the two was an attacker.
func TestCodeReplayRevokesTokens(t *testing.T) {
	e := start(t)
	b := e.Browser()
	c := e.IssueCode(b, "spa", latchtest.SPARedirect)
	form := exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier)
	resp, first := e.PostForm("/token", form)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("first exchange: %d %v", resp.StatusCode, first)
	}
	access, _ := first["access_token"].(string)
	refresh, _ := first["refresh_token"].(string)
	if e.UserinfoStatus(access) != http.StatusOK {
		t.Fatal("control: the fresh access token is refused at userinfo")
	}

	// The attacker replays the same code, verifier and all.
	resp, body := e.PostForm("/token", form)
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	if got := e.UserinfoStatus(access); got != http.StatusUnauthorized {
		t.Errorf("access token of the first exchange after replay: userinfo %d, want 401", got)
	}
	resp, body = e.PostForm("/token", map[string][]string{"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {refresh}})
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	resp, body = e.PostForm("/introspect", map[string][]string{"token": {access}}, withSecret(e, "app"))
	if resp.StatusCode != http.StatusOK || body["active"] != false {
		t.Errorf("introspection of the revoked access token: %d %v, want active=false", resp.StatusCode, body)
	}
	if !strings.Contains(e.AuditLog(), "code_replay_detected") {
		t.Errorf("no code_replay_detected audit event")
	}
}

// TestCodeReplayRace: many redemptions of one code at the same time (an
// attacker racing the client). Exactly one gets tokens — the code is
// spent and its grant stored in one atomic step (store.RedeemAuthCode), so
// never none and never two — and those tokens are then revoked like any
// others issued from a replayed code: every other redemption finds the
// code used only once the winner's grant is committed, and revokes it.
func TestCodeReplayRace(t *testing.T) {
	e := start(t)
	c := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)
	form := exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier)
	const n = 8
	var wg sync.WaitGroup
	statuses := make([]int, n)
	access := make([]string, n)
	for i := range n {
		wg.Go(func() {
			resp, body := e.PostForm("/token", form)
			statuses[i] = resp.StatusCode
			access[i], _ = body["access_token"].(string)
		})
	}
	wg.Wait()
	ok := 0
	for i, s := range statuses {
		switch s {
		case http.StatusOK:
			ok++
			// The replays were detected: whatever the winner got is
			// revoked, however the requests interleaved.
			if got := e.UserinfoStatus(access[i]); got != http.StatusUnauthorized {
				t.Errorf("winner's access token after concurrent replays: userinfo %d, want 401", got)
			}
		case http.StatusBadRequest:
		default:
			t.Errorf("status %d among concurrent redemptions", s)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent redemptions got tokens, want exactly 1 (%v)", ok, n, statuses)
	}
}

// TestCodeExpiry is RFC 9700 §4.3: a code lives at most 60 s, so one
// recovered later from history, logs or a Referer is useless.
func TestCodeExpiry(t *testing.T) {
	e := start(t)
	b := e.Browser()

	c := e.IssueCode(b, "spa", latchtest.SPARedirect)
	e.Clock.Advance(61 * time.Second)
	resp, body := e.PostForm("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	// Control: the same flow within the lifetime succeeds.
	c = e.IssueCode(b, "spa", latchtest.SPARedirect)
	e.Clock.Advance(59 * time.Second)
	if resp, body := e.PostForm("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier)); resp.StatusCode != http.StatusOK {
		t.Fatalf("control: exchange after 59 s: %d %v", resp.StatusCode, body)
	}
}

// TestCodeOfAnotherClient is RFC 9700 §4.5: a code issued to one client
// and redeemed by another (the attacker's) client gets invalid_grant. The
// attacker authenticates as its own client correctly; the binding of the
// code to its client is what stops it (RFC 6749 §4.1.3).
func TestCodeOfAnotherClient(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	t.Run("public client's code at a confidential client", func(t *testing.T) {
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		resp, body := e.PostForm("/token", exchangeForm("app", c.Code, latchtest.SPARedirect, c.Verifier), withSecret(e, "app"))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("confidential client's code at a public client", func(t *testing.T) {
		c := e.IssueCode(b, "app", appRedirect)
		resp, body := e.PostForm("/token", exchangeForm("spa", c.Code, appRedirect, c.Verifier))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("public client's code at another public client", func(t *testing.T) {
		c := e.IssueCode(b, "native", "http://127.0.0.1:50000/callback")
		resp, body := e.PostForm("/token", exchangeForm("spa", c.Code, "http://127.0.0.1:50000/callback", c.Verifier))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
}

// TestCodeInjection is RFC 9700 §4.5: the attacker steals the victim's
// code and injects it into its own session with the legitimate client.
// That session has its own PKCE verifier (and nonce), so the client's
// redemption fails and the attacker is not signed in as the victim.
func TestCodeInjection(t *testing.T) {
	e := start(t)
	victim := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)
	attackerVerifier := oauth2.GenerateVerifier()
	resp, body := e.PostForm("/token", exchangeForm("spa", victim.Code, latchtest.SPARedirect, attackerVerifier))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")

	t.Run("confidential client", func(t *testing.T) {
		// A confidential client that uses PKCE is protected the same way.
		victim := e.IssueCode(signedInWithConsent(t, e), "app", appRedirect)
		resp, body := e.PostForm("/token", exchangeForm("app", victim.Code, appRedirect, oauth2.GenerateVerifier()), withSecret(e, "app"))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
}

// TestCodeGuessingAndStoredHash: codes are 256-bit random values, stored
// only as SHA-256 hashes; neither a guess nor a hash read from a leaked
// database redeems.
func TestCodeGuessingAndStoredHash(t *testing.T) {
	e := start(t)
	c := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)
	guesses := []string{token.Hash(c.Code), c.Code[:len(c.Code)-1], strings.ToUpper(c.Code), c.Code + "A", rand.Text()}
	for _, g := range guesses {
		resp, body := e.PostForm("/token", exchangeForm("spa", g, latchtest.SPARedirect, c.Verifier))
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	}
	// Control: the guesses did not spend the genuine code.
	if resp, body := e.PostForm("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier)); resp.StatusCode != http.StatusOK {
		t.Errorf("the genuine code after the guesses: %d %v", resp.StatusCode, body)
	}
	if len(c.Code) < 43 {
		t.Errorf("code %d characters long, want at least 43 (256 bits)", len(c.Code))
	}
}

// TestAccessTokenInjection is RFC 9700 §4.6. The attack needs access
// tokens in the front channel (the implicit and hybrid flows), which
// Latch never issues: every response_type that asks for a token from the
// authorization endpoint is refused. The client-side check that remains —
// at_hash binding the access token to the ID token — is what go-oidc
// verifies: an access token from another grant does not match.
func TestAccessTokenInjection(t *testing.T) {
	e := start(t)
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect)
	for _, rt := range []string{"token", "id_token", "id_token token", "code token", "code id_token", "code id_token token", "none"} {
		t.Run("response_type="+rt, func(t *testing.T) {
			q := authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())
			q.Set("response_type", rt)
			p := b.Get(authorizeURL(e, q))
			loc := p.Header.Get("Location")
			for _, leak := range []string{"access_token=", "id_token=", "code="} {
				if strings.Contains(loc, leak) || strings.Contains(p.Body, leak) {
					t.Errorf("response carries %s: %q", leak, loc)
				}
			}
			if !strings.Contains(loc, "error=") {
				t.Errorf("status %d Location %q, want an error response", p.Status, loc)
			}
		})
	}
	t.Run("at_hash binds the access token to the ID token", func(t *testing.T) {
		ctx := latchtest.ClientContext(t.Context())
		verifier := e.Provider().Verifier(&oidc.Config{ClientID: "spa", Now: e.Clock.Now})
		first, _ := e.CodeFlow(b, oidc.ScopeOpenID)
		second, _ := e.CodeFlow(b, oidc.ScopeOpenID)
		idt, err := verifier.Verify(ctx, first.Extra("id_token").(string))
		if err != nil {
			t.Fatal(err)
		}
		if err := idt.VerifyAccessToken(first.AccessToken); err != nil {
			t.Fatalf("control: at_hash of the genuine pair: %v", err)
		}
		if err := idt.VerifyAccessToken(second.AccessToken); err == nil {
			t.Error("an access token of another grant matches the ID token's at_hash")
		}
	})
}

package security

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/latchtest"
)

// TestCodeBurnByFailedRedemption: an attacker who holds a victim's code
// but not what the legitimate client holds (the verifier, the client's
// secret, its DPoP key, its redirect URI) presents it first, hoping to
// burn it — the user's sign-in fails — and to make Latch revoke the grant
// and raise a false replay alarm. A redemption that fails the client
// match, the redirect URI, PKCE or the DPoP binding neither consumes the
// code nor counts as a replay; the genuine client then redeems it. Only
// the third refused redemption kills the code (still no replay). A code
// issued with a challenge is never redeemable without the verifier.
func TestCodeBurnByFailedRedemption(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	owner, thief := latchtest.NewDPoPKey(t, jose.ES256), latchtest.NewDPoPKey(t, jose.ES256)
	noReplayAlarm := func(t *testing.T) {
		t.Helper()
		if strings.Contains(e.AuditLog(), "code_replay_detected") {
			t.Fatal("a refused redemption raised code_replay_detected")
		}
	}
	// Each attack is one refused redemption of a fresh spa code with
	// dpop_jkt bound to owner; the genuine redemption follows.
	issue := func(t *testing.T) (code, verifier string) {
		t.Helper()
		v := rand43()
		q := authParams("spa", latchtest.SPARedirect, v)
		q.Set("dpop_jkt", owner.JKT)
		return requireCodeRedirect(t, signIn(b, authorizeURL(e, q)), latchtest.SPARedirect).Get("code"), v
	}
	genuine := func(code, v string) (*http.Response, map[string]any) {
		return e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, v), e.DPoPProof(owner, "POST", "/token", nil))
	}
	attacks := []struct {
		name string
		try  func(code, v string) (*http.Response, map[string]any)
	}{
		{"wrong code_verifier", func(code, _ string) (*http.Response, map[string]any) {
			return e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, rand43()), e.DPoPProof(owner, "POST", "/token", nil))
		}},
		{"no code_verifier", func(code, _ string) (*http.Response, map[string]any) {
			return e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, ""), e.DPoPProof(owner, "POST", "/token", nil))
		}},
		{"wrong redirect_uri", func(code, v string) (*http.Response, map[string]any) {
			return e.PostFormDPoP("/token", exchangeForm("spa", code, "https://evil.test/cb", v), e.DPoPProof(owner, "POST", "/token", nil))
		}},
		{"another client", func(code, v string) (*http.Response, map[string]any) {
			return e.PostForm("/token", exchangeForm("app", code, latchtest.SPARedirect, v), withSecret(e, "app"))
		}},
		{"proof by another DPoP key", func(code, v string) (*http.Response, map[string]any) {
			return e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, v), e.DPoPProof(thief, "POST", "/token", nil))
		}},
		{"no DPoP proof", func(code, v string) (*http.Response, map[string]any) {
			return e.PostForm("/token", exchangeForm("spa", code, latchtest.SPARedirect, v))
		}},
	}
	for _, a := range attacks {
		t.Run(a.name, func(t *testing.T) {
			code, v := issue(t)
			resp, body := a.try(code, v)
			if resp.StatusCode != http.StatusBadRequest || body["access_token"] != nil {
				t.Fatalf("attack: %d %v, want 400 and no token", resp.StatusCode, body)
			}
			if resp, body := genuine(code, v); resp.StatusCode != http.StatusOK {
				t.Fatalf("the genuine redemption after the refused one: %d %v, want 200 (the code was burned)", resp.StatusCode, body)
			}
			noReplayAlarm(t)
		})
	}
	t.Run("the third refused redemption kills the code, without a replay alarm", func(t *testing.T) {
		code, v := issue(t)
		for i := range 3 {
			if resp, body := attacks[i%len(attacks)].try(code, v); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("attack %d: %d %v", i, resp.StatusCode, body)
			}
		}
		resp, body := genuine(code, v)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		noReplayAlarm(t)
	})
	t.Run("two refused redemptions leave the code redeemable", func(t *testing.T) {
		code, v := issue(t)
		for i := range 2 {
			if resp, body := attacks[i].try(code, v); resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("attack %d: %d %v", i, resp.StatusCode, body)
			}
		}
		if resp, body := genuine(code, v); resp.StatusCode != http.StatusOK {
			t.Fatalf("genuine after two refusals: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("burst of wrong verifiers: none gets tokens, the code dies, no alarm", func(t *testing.T) {
		code, v := issue(t)
		const n = 16
		var wg sync.WaitGroup
		statuses := make([]int, n)
		for i := range n {
			wg.Go(func() {
				resp, body := e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, rand43()), e.DPoPProof(owner, "POST", "/token", nil))
				statuses[i] = resp.StatusCode
				if body["access_token"] != nil {
					t.Errorf("a wrong verifier got tokens")
				}
			})
		}
		wg.Wait()
		for i, s := range statuses {
			if s != http.StatusBadRequest {
				t.Errorf("burst request %d: %d, want 400", i, s)
			}
		}
		resp, body := genuine(code, v)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		noReplayAlarm(t)
	})
	t.Run("control: a successful redemption presented again is a replay", func(t *testing.T) {
		code, v := issue(t)
		resp, first := genuine(code, v)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("genuine: %d %v", resp.StatusCode, first)
		}
		resp, body := genuine(code, v)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		if !strings.Contains(e.AuditLog(), "code_replay_detected") {
			t.Error("no code_replay_detected for a true replay")
		}
		if got := e.UserinfoStatus(first["access_token"].(string)); got != http.StatusUnauthorized {
			t.Errorf("access token of the replayed code: userinfo %d, want 401", got)
		}
	})
}

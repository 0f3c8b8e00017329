package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/examples/api"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/verify"
)

const (
	audience = "http://api.test:3001"
	origin   = latchtest.SPAOrigin
)

// setup starts Latch with two SPA clients, one whose tokens are for this
// API and one whose tokens are for another, and the example API in front
// of a verifier for audience.
func setup(t *testing.T) (*latchtest.Env, *httptest.Server) {
	t.Helper()
	e := latchtest.Start(t)
	for id, aud := range map[string]string{"api-spa": audience, "other-spa": "http://other.test"} {
		e.MustClient(store.Client{
			ID: id, Public: true, FirstParty: true,
			RedirectURIs: []string{latchtest.SPARedirect}, AllowedOrigins: []string{origin},
			GrantTypes: []string{"authorization_code"},
			Scopes:     []string{"openid", "profile", api.ScopeMessagesRead},
			Audiences:  []string{aud},
		})
	}
	v, err := verify.New(t.Context(), verify.Config{Issuer: e.Issuer, Audience: audience})
	if err != nil {
		t.Fatalf("verify.New: %v", err)
	}
	srv := httptest.NewServer(api.Handler(v, origin))
	t.Cleanup(srv.Close)
	return e, srv
}

// accessToken signs alice in through the real authorize/login flow and
// exchanges the code, as the SPA does.
func accessToken(t *testing.T, e *latchtest.Env, clientID string, scopes ...string) string {
	t.Helper()
	conf := e.OAuthConfig(clientID, latchtest.SPARedirect, scopes...)
	verifier := oauth2.GenerateVerifier()
	q := e.Browser().SignIn(conf.AuthCodeURL("state", oauth2.S256ChallengeOption(verifier)))
	if q.Get("code") == "" {
		t.Fatalf("no code in callback: %v", q)
	}
	tok, err := conf.Exchange(t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok.AccessToken
}

func get(t *testing.T, srv *httptest.Server, token string) *http.Response {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/messages", nil)
	req.Header.Set("Origin", origin)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func TestMessages(t *testing.T) {
	e, srv := setup(t)

	t.Run("valid token", func(t *testing.T) {
		resp := get(t, srv, accessToken(t, e, "api-spa", "openid", api.ScopeMessagesRead))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("status = %d, want 200", resp.StatusCode)
		}
		var body api.MessagesResponse
		if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
			t.Fatal(err)
		}
		if body.Sub != "user-alice" || body.ClientID != "api-spa" || len(body.Messages) == 0 {
			t.Errorf("body = %+v, want sub user-alice, client_id api-spa and messages", body)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin {
			t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, origin)
		}
		if got := resp.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("Cache-Control = %q, want no-store", got)
		}
	})

	// Each rejection must come with the RFC 6750 §3 challenge naming the
	// reason, and must not leak data.
	for _, tc := range []struct {
		name      string
		token     func(t *testing.T) string
		status    int
		challenge string // substring of the Bearer challenge
		desc      string // substring of error_description
	}{
		{"missing token", func(*testing.T) string { return "" }, http.StatusUnauthorized, `Bearer realm="` + audience + `"`, ""},
		{"garbage token", func(*testing.T) string { return "not-a-jwt" }, http.StatusUnauthorized, `error="invalid_token"`, ""},
		{"without messages:read", func(t *testing.T) string { return accessToken(t, e, "api-spa", "openid", "profile") },
			http.StatusForbidden, `error="insufficient_scope"`, "scope"},
		{"for another API", func(t *testing.T) string { return accessToken(t, e, "other-spa", "openid", api.ScopeMessagesRead) },
			http.StatusUnauthorized, `error="invalid_token"`, "audience"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := get(t, srv, tc.token(t))
			if resp.StatusCode != tc.status {
				t.Fatalf("status = %d, want %d", resp.StatusCode, tc.status)
			}
			if got := strings.Join(resp.Header.Values("WWW-Authenticate"), ", "); !strings.Contains(got, tc.challenge) {
				t.Errorf("WWW-Authenticate = %q, want it to contain %q", got, tc.challenge)
			}
			if tc.name == "missing token" && strings.Contains(resp.Header.Get("WWW-Authenticate"), "error=") {
				t.Errorf("a request without a token must get a challenge without an error code (RFC 6750 §3.1)")
			}
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if desc, _ := body["error_description"].(string); !strings.Contains(desc, tc.desc) {
				t.Errorf("error_description = %q, want it to contain %q", desc, tc.desc)
			}
			if _, leaked := body["messages"]; leaked {
				t.Errorf("rejected request got messages: %v", body)
			}
			// The SPA must be able to read why it failed.
			if got := resp.Header.Get("Access-Control-Expose-Headers"); got != "WWW-Authenticate" {
				t.Errorf("Access-Control-Expose-Headers = %q, want WWW-Authenticate", got)
			}
		})
	}
}

func TestCORSPreflight(t *testing.T) {
	_, srv := setup(t)
	preflight := func(from string) *http.Response {
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodOptions, srv.URL+"/api/messages", nil)
		req.Header.Set("Origin", from)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}

	resp := preflight(origin)
	if resp.StatusCode != http.StatusNoContent {
		t.Errorf("preflight from %s: status = %d, want 204", origin, resp.StatusCode)
	}
	for h, want := range map[string]string{
		"Access-Control-Allow-Origin":  origin,
		"Access-Control-Allow-Methods": "GET",
		"Access-Control-Allow-Headers": "Authorization, DPoP",
	} {
		if got := resp.Header.Get(h); got != want {
			t.Errorf("preflight from %s: %s = %q, want %q", origin, h, got, want)
		}
	}
	if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
		t.Errorf("Access-Control-Allow-Credentials = %q, want none (bearer tokens, no cookies)", got)
	}

	for _, evil := range []string{"https://evil.test", origin + ".evil.test", "null", strings.Replace(origin, "http:", "https:", 1)} {
		resp := preflight(evil)
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("preflight from %s: status = %d, want 403", evil, resp.StatusCode)
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("preflight from %s: Access-Control-Allow-Origin = %q, want none", evil, got)
		}
	}
}

func TestNoCORSWithoutOrigin(t *testing.T) {
	v, err := verify.New(t.Context(), verify.Config{Issuer: "http://127.0.0.1:1", Audience: audience, MinRefreshInterval: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := api.Handler(v, "")
	req := httptest.NewRequestWithContext(t.Context(), http.MethodOptions, "/api/messages", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Access-Control-Request-Method", "GET")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden || rec.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight with CORS disabled: %d %v, want 403 without CORS headers", rec.Code, rec.Header())
	}
}

// TestVaultStepUp: GET /api/vault answers a password-only token with the
// RFC 9470 challenge (which the SPA can read through CORS) and no data.
func TestVaultStepUp(t *testing.T) {
	e, srv := setup(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, srv.URL+"/api/vault", nil)
	req.Header.Set("Origin", origin)
	req.Header.Set("Authorization", "Bearer "+accessToken(t, e, "api-spa", "openid", api.ScopeMessagesRead))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	ch := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(ch, `error="insufficient_user_authentication"`) ||
		!strings.Contains(ch, `acr_values="urn:latch:acr:mfa urn:latch:acr:phr"`) || !strings.Contains(ch, `max_age="900"`) {
		t.Errorf("password-only token at /api/vault: %d %q, want 401 with the step-up challenge", resp.StatusCode, ch)
	}
	if got := resp.Header.Get("Access-Control-Expose-Headers"); got != "WWW-Authenticate" {
		t.Errorf("Access-Control-Expose-Headers = %q: the SPA cannot read the challenge", got)
	}
}

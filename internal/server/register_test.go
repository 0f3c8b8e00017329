package server_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// registrationRequest sends method url with a JSON body (nil: none) and
// bearer token (""): none).
func registrationRequest(t *testing.T, e *latchtest.Env, method, url string, body any, bearer string) (*http.Response, map[string]any) {
	t.Helper()
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), method, url, bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return e.DoJSON(req)
}

func openRegistration(c *config.Config) { c.Registration = "open" }

// TestDCRCodeFlowWithRealClient: a client registers itself (RFC 7591)
// and golang.org/x/oauth2 runs code + PKCE and a refresh with it; the
// user is asked for consent (a registered client is third-party);
// discovery advertises the endpoint.
func TestDCRCodeFlowWithRealClient(t *testing.T) {
	e := latchtest.Start(t, openRegistration)
	_, md := e.DoJSON(mustRequest(t, http.MethodGet, e.Issuer+"/.well-known/oauth-authorization-server"))
	if md["registration_endpoint"] != e.Issuer+"/register" {
		t.Fatalf("registration_endpoint = %v, want %s/register", md["registration_endpoint"], e.Issuer)
	}
	resp, reg := registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", map[string]any{
		"client_name": "MCP Client", "redirect_uris": []string{"http://127.0.0.1/callback"},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"},
		"response_types": []string{"code"}, "logo_uri": "https://ignored.example/logo.png",
	}, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v, want 201", resp.StatusCode, reg)
	}
	id, _ := reg["client_id"].(string)
	for _, k := range []string{"client_id", "registration_access_token", "registration_client_uri", "client_id_issued_at", "redirect_uris", "grant_types"} {
		if reg[k] == nil {
			t.Errorf("registration response lacks %s: %v", k, reg)
		}
	}
	if reg["client_secret"] != nil || reg["token_endpoint_auth_method"] != "none" || reg["registration_client_uri"] != e.Issuer+"/register/"+id {
		t.Errorf("registration response = %v", reg)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store (RFC 7591 §3.2.1)", resp.Header.Get("Cache-Control"))
	}

	conf := e.OAuthConfig(id, "http://127.0.0.1:40111/callback", "openid", "offline_access")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	b := e.Browser()
	verifier := oauth2.GenerateVerifier()
	p := b.Login(b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))), "alice", latchtest.AlicePassword)
	if !latchtest.IsConsentPage(p) || !strings.Contains(p.Body, "<strong>127.0.0.1:40111</strong>") {
		t.Fatalf("a registered client got no consent page naming its redirect host: %d\n%s", p.Status, p.Body)
	}
	q := latchtest.Callback(t, b.Consent(p, "allow"))
	ctx := latchtest.ClientContext(t.Context())
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Fatalf("refresh: %v", err)
	}
	// PKCE cannot be skipped by a registered public client.
	p = b.Get(conf.AuthCodeURL("st"))
	if loc := p.Header.Get("Location"); !strings.Contains(loc, "error=invalid_request") || !strings.Contains(loc, "code_challenge") {
		t.Errorf("authorize without PKCE = %d %q, want invalid_request about code_challenge", p.Status, loc)
	}
}

// TestDCRConfidentialClient: token_endpoint_auth_method defaults to
// client_secret_basic (RFC 7591 §2): a secret is issued once and works.
func TestDCRConfidentialClient(t *testing.T) {
	e := latchtest.Start(t, openRegistration, func(c *config.Config) {
		c.RegistrationGrantTypes = []string{"authorization_code", "refresh_token", "client_credentials"}
	})
	resp, reg := registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", map[string]any{
		"redirect_uris": []string{"https://app.example/cb"}, "grant_types": []string{"client_credentials"},
	}, "")
	if resp.StatusCode != http.StatusCreated || reg["client_secret"] == nil || reg["client_secret_expires_at"] != float64(0) ||
		reg["token_endpoint_auth_method"] != "client_secret_basic" {
		t.Fatalf("register = %d %v, want 201 with a client secret", resp.StatusCode, reg)
	}
	id, secret := reg["client_id"].(string), reg["client_secret"].(string)
	resp, body := e.PostForm("/token", map[string][]string{"grant_type": {"client_credentials"}}, func(r *http.Request) { r.SetBasicAuth(id, secret) })
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("client_credentials with the issued secret = %d %v", resp.StatusCode, body)
	}
	c, err := e.Store.GetClient(t.Context(), id)
	if err != nil || c.SecretHash != token.Hash(secret) || c.Origin != store.OriginDCR || c.FirstParty {
		t.Errorf("stored client = %+v, %v", c, err)
	}
}

// TestDCRManagement: RFC 7592 read, update and delete with the
// registration access token; without it (or with another client's) 401.
func TestDCRManagement(t *testing.T) {
	e := latchtest.Start(t, openRegistration)
	register := func() (string, string, string) {
		resp, reg := registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", map[string]any{
			"client_name": "A", "redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "none",
		}, "")
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("register = %d %v", resp.StatusCode, reg)
		}
		return reg["client_id"].(string), reg["registration_client_uri"].(string), reg["registration_access_token"].(string)
	}
	id, uri, rat := register()
	_, _, otherRAT := register()

	resp, got := registrationRequest(t, e, http.MethodGet, uri, nil, rat)
	if resp.StatusCode != http.StatusOK || got["client_id"] != id || got["client_name"] != "A" || got["registration_access_token"] != rat {
		t.Errorf("read = %d %v", resp.StatusCode, got)
	}
	for name, tok := range map[string]string{"no token": "", "another client's token": otherRAT, "garbage": "x"} {
		resp, body := registrationRequest(t, e, http.MethodGet, uri, nil, tok)
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
			t.Errorf("read with %s = %d %v, want 401 with a Bearer challenge", name, resp.StatusCode, body)
		}
	}
	resp, body := registrationRequest(t, e, http.MethodGet, e.Issuer+"/register/spa", nil, rat)
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("read of an operator's client = %d %v, want 401", resp.StatusCode, body)
	}

	update := map[string]any{"client_id": id, "client_name": "B", "redirect_uris": []string{"https://app.example/cb2"}, "token_endpoint_auth_method": "none"}
	resp, got = registrationRequest(t, e, http.MethodPut, uri, update, rat)
	if resp.StatusCode != http.StatusOK || got["client_name"] != "B" {
		t.Fatalf("update = %d %v", resp.StatusCode, got)
	}
	if c, _ := e.Store.GetClient(t.Context(), id); c.Name != "B" || c.RedirectURIs[0] != "https://app.example/cb2" || c.Origin != store.OriginDCR {
		t.Errorf("after update the store has %+v", c)
	}
	update["redirect_uris"] = []string{"http://app.example/cb"}
	resp, got = registrationRequest(t, e, http.MethodPut, uri, update, rat)
	if resp.StatusCode != http.StatusBadRequest || got["error"] != "invalid_redirect_uri" {
		t.Errorf("update to an http redirect = %d %v, want 400 invalid_redirect_uri", resp.StatusCode, got)
	}
	update["redirect_uris"], update["client_id"] = []string{"https://app.example/cb"}, "spa"
	resp, got = registrationRequest(t, e, http.MethodPut, uri, update, rat)
	if resp.StatusCode != http.StatusBadRequest || got["error"] != "invalid_client_metadata" {
		t.Errorf("update with another client_id = %d %v, want 400 invalid_client_metadata", resp.StatusCode, got)
	}

	resp, _ = registrationRequest(t, e, http.MethodDelete, uri, nil, rat)
	if resp.StatusCode != http.StatusNoContent {
		t.Fatalf("delete = %d, want 204", resp.StatusCode)
	}
	if _, err := e.Store.GetClient(t.Context(), id); err == nil {
		t.Error("the client survived its deletion")
	}
	if resp, _ := registrationRequest(t, e, http.MethodGet, uri, nil, rat); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("read after delete = %d, want 401", resp.StatusCode)
	}
}

// TestDCRBadMetadata: each refusal is 400 with RFC 7591 §3.2.2's code
// and a description naming what to fix.
func TestDCRBadMetadata(t *testing.T) {
	e := latchtest.Start(t, openRegistration, func(c *config.Config) { c.RegistrationMaxPerIP = 100 })
	for _, tt := range []struct {
		name     string
		body     any
		code     string
		describe string
	}{
		{"no redirect URIs", map[string]any{"token_endpoint_auth_method": "none"}, "invalid_redirect_uri", "redirect_uris is required"},
		{"http redirect", map[string]any{"redirect_uris": []string{"http://app.example/cb"}}, "invalid_redirect_uri", "http"},
		{"wildcard redirect", map[string]any{"redirect_uris": []string{"https://*.example/cb"}}, "invalid_redirect_uri", "wildcards"},
		{"fragment", map[string]any{"redirect_uris": []string{"https://app.example/cb#x"}}, "invalid_redirect_uri", "fragment"},
		{"grant type not allowed", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "grant_types": []string{"client_credentials"}}, "invalid_client_metadata", "not allowed for dynamically registered clients"},
		{"unknown grant type", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "grant_types": []string{"implicit"}}, "invalid_client_metadata", "implicit"},
		{"implicit response type", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "response_types": []string{"token"}}, "invalid_client_metadata", "response_types"},
		{"private_key_jwt", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "private_key_jwt"}, "invalid_client_metadata", "token_endpoint_auth_method"},
		{"wrong type", map[string]any{"redirect_uris": "https://app.example/cb"}, "invalid_client_metadata", "redirect_uris has the wrong JSON type"},
		{"bad scope", map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "scope": "a\"b"}, "invalid_client_metadata", "scope"},
		{"not JSON", "just a string", "invalid_client_metadata", "JSON object"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", tt.body, "")
			desc, _ := body["error_description"].(string)
			if resp.StatusCode != http.StatusBadRequest || body["error"] != tt.code || !strings.Contains(desc, tt.describe) {
				t.Errorf("register = %d %v, want 400 %s mentioning %q", resp.StatusCode, body, tt.code, tt.describe)
			}
		})
	}
	clients, _ := e.Store.ListClients(t.Context())
	for _, c := range clients {
		if c.Origin == store.OriginDCR {
			t.Errorf("a refused registration stored client %q", c.ID)
		}
	}
}

// TestDCRInitialAccessToken: in initial-access-token mode a registration
// needs a token an operator created, and spends one of its uses.
func TestDCRInitialAccessToken(t *testing.T) {
	e := latchtest.Start(t, func(c *config.Config) { c.Registration = "initial-access-token" })
	iat := "iat-" + strings.Repeat("x", 40)
	now := e.Clock.Now()
	if err := e.Store.CreateInitialAccessToken(t.Context(), store.InitialAccessToken{Hash: token.Hash(iat), CreatedAt: now, ExpiresAt: now.Add(time.Hour), UsesLeft: 1}); err != nil {
		t.Fatal(err)
	}
	md := map[string]any{"redirect_uris": []string{"https://app.example/cb"}, "token_endpoint_auth_method": "none"}
	resp, body := registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", md, "")
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("register without a token = %d %v, want 401", resp.StatusCode, body)
	}
	resp, body = registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", md, "wrong")
	if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_token" {
		t.Errorf("register with a wrong token = %d %v, want 401 invalid_token", resp.StatusCode, body)
	}
	// A refused registration does not spend the token.
	resp, body = registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", map[string]any{"redirect_uris": []string{"http://x.example/"}}, iat)
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("register bad metadata = %d %v, want 400", resp.StatusCode, body)
	}
	if resp, body = registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", md, iat); resp.StatusCode != http.StatusCreated {
		t.Fatalf("register with the token = %d %v, want 201", resp.StatusCode, body)
	}
	if resp, body = registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", md, iat); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("register with a used-up token = %d %v, want 401", resp.StatusCode, body)
	}
}

// TestDCROffByDefault: no /register unless configured.
func TestDCROffByDefault(t *testing.T) {
	e := latchtest.Start(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/register", strings.NewReader(`{"redirect_uris":["https://a.example/cb"]}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST /register with registration off = %d, want 404", resp.StatusCode)
	}
}

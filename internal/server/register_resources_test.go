package server_test

import (
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
)

const mcpResource = "https://mcp.example.test/mcp"

// TestRegistrationResources: a self-registered client may ask for a
// resource listed in registration-resources (RFC 8707), and its access
// token and refreshed tokens carry it as aud; any other resource is
// invalid_target, and an operator's client does not gain the list.
func TestRegistrationResources(t *testing.T) {
	e := latchtest.Start(t, func(c *config.Config) {
		c.Registration = "open"
		c.RegistrationResources = []string{mcpResource}
	})
	resp, reg := registrationRequest(t, e, http.MethodPost, e.Issuer+"/register", map[string]any{
		"client_name": "MCP Client", "redirect_uris": []string{"http://127.0.0.1/callback"},
		"token_endpoint_auth_method": "none", "grant_types": []string{"authorization_code", "refresh_token"},
	}, "")
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("register = %d %v, want 201", resp.StatusCode, reg)
	}
	id, _ := reg["client_id"].(string)
	conf := e.OAuthConfig(id, "http://127.0.0.1:40111/callback", "openid", "offline_access")
	conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	b := e.Browser()
	verifier := oauth2.GenerateVerifier()
	resource := oauth2.SetAuthURLParam("resource", mcpResource)
	p := b.Login(b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), resource)), "alice", latchtest.AlicePassword)
	q := latchtest.Callback(t, b.Consent(p, "allow"))
	ctx := latchtest.ClientContext(t.Context())
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier), resource)
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if aud := audOf(t, tok.AccessToken); len(aud) != 1 || aud[0] != mcpResource {
		t.Errorf("access token aud = %v, want [%s]", aud, mcpResource)
	}
	refreshed, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if aud := audOf(t, refreshed.AccessToken); len(aud) != 1 || aud[0] != mcpResource {
		t.Errorf("refreshed access token aud = %v, want [%s]", aud, mcpResource)
	}

	// Another resource: invalid_target, for the registered client and
	// for an operator's client alike; the list is not the operator's.
	for _, c := range []struct{ id, redirect string }{{id, "http://127.0.0.1:40111/callback"}, {"native", "http://127.0.0.1/callback"}} {
		for _, res := range []string{"https://other.example.test/mcp", mcpResource} {
			if c.id == id && res == mcpResource {
				continue
			}
			conf := e.OAuthConfig(c.id, c.redirect, "openid")
			p := b.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("resource", res)))
			if loc := p.Header.Get("Location"); !strings.Contains(loc, "error=invalid_target") {
				t.Errorf("client %s, resource %s: authorize = %d %q, want invalid_target", c.id, res, p.Status, loc)
			}
		}
	}
}

// audOf returns the aud of a JWT as a list (RFC 7519 §4.1.3).
func audOf(t *testing.T, raw string) []string {
	t.Helper()
	_, c := latchtest.DecodeJWT(t, raw)
	switch a := c["aud"].(type) {
	case string:
		return []string{a}
	case []any:
		var out []string
		for _, v := range a {
			s, _ := v.(string)
			out = append(out, s)
		}
		return out
	}
	return nil
}

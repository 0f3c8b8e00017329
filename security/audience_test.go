package security

import (
	"net/http"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/verify"
)

// resourceServer is a resource server built with Latch's verify package,
// identifying itself as audience.
func resourceServer(t *testing.T, e *latchtest.Env, audience string) *verify.Verifier {
	t.Helper()
	v, err := verify.New(t.Context(), verify.Config{Issuer: e.Issuer, Audience: audience, Now: e.Clock.Now, CacheSize: -1})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// apiTokens runs api-client's code flow with the given resource
// indicators (RFC 8707) and scope and returns the token response.
func apiTokens(t *testing.T, e *latchtest.Env, b *latchtest.Browser, scope string, resources ...string) map[string]any {
	t.Helper()
	v := oauth2.GenerateVerifier()
	q := authParams("api-client", apiClientRedirect, v)
	q.Set("scope", scope)
	for _, r := range resources {
		q.Add("resource", r)
	}
	code := requireCodeRedirect(t, signIn(b, authorizeURL(e, q)), apiClientRedirect).Get("code")
	resp, body := e.PostForm("/token", exchangeForm("api-client", code, apiClientRedirect, v))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("setup: token: %d %v", resp.StatusCode, body)
	}
	return body
}

// TestAccessTokenWrongAudience is RFC 9700 §4.9 and §4.10.2: an access
// token issued for one resource server, replayed by that server (or by
// whoever stole it there) at another, is refused, because each resource
// server checks that it is among the token's audiences (RFC 9068 §4).
func TestAccessTokenWrongAudience(t *testing.T) {
	e := start(t)
	b := e.Browser()
	orders, billing := resourceServer(t, e, ordersAPI), resourceServer(t, e, billingAPI)
	ctx := t.Context()

	forBilling := apiTokens(t, e, b, "openid", billingAPI)["access_token"].(string)
	if _, err := billing.Verify(ctx, forBilling); err != nil {
		t.Fatalf("control: billing's own token: %v", err)
	}
	if _, err := orders.Verify(ctx, forBilling); err == nil {
		t.Error("orders accepted a token issued for billing")
	}

	t.Run("token for Latch itself", func(t *testing.T) {
		spa, _ := e.CodeFlow(b, "openid")
		if _, err := orders.Verify(ctx, spa.AccessToken); err == nil {
			t.Error("orders accepted a token whose audience is Latch")
		}
	})
	t.Run("ID token as access token", func(t *testing.T) {
		idt := apiTokens(t, e, b, "openid", ordersAPI)["id_token"].(string)
		if _, err := orders.Verify(ctx, idt); err == nil {
			t.Error("orders accepted an ID token as an access token (typ not checked)")
		}
	})
	t.Run("resource not registered for the client", func(t *testing.T) {
		q := authParams("api-client", apiClientRedirect, oauth2.GenerateVerifier())
		q.Set("resource", "https://evil-api.example")
		requireErrorRedirect(t, e, signIn(b, authorizeURL(e, q)), apiClientRedirect, "invalid_target")
	})
	t.Run("widening the audience at the token endpoint", func(t *testing.T) {
		v := oauth2.GenerateVerifier()
		q := authParams("api-client", apiClientRedirect, v)
		q.Set("resource", billingAPI)
		code := requireCodeRedirect(t, signIn(b, authorizeURL(e, q)), apiClientRedirect).Get("code")
		f := exchangeForm("api-client", code, apiClientRedirect, v)
		f.Set("resource", ordersAPI)
		resp, body := e.PostForm("/token", f)
		if at, ok := body["access_token"].(string); ok {
			if _, err := orders.Verify(ctx, at); err == nil {
				t.Errorf("a code granted for billing gave a token for orders (%d)", resp.StatusCode)
			}
		}
	})
	t.Run("widening the audience at refresh", func(t *testing.T) {
		rt := apiTokens(t, e, b, "openid", billingAPI)["refresh_token"].(string)
		f := refreshForm("api-client", rt)
		f.Set("resource", ordersAPI)
		resp, body := e.PostForm("/token", f)
		if at, ok := body["access_token"].(string); ok {
			if _, err := orders.Verify(ctx, at); err == nil {
				t.Errorf("a grant for billing refreshed into a token for orders (%d)", resp.StatusCode)
			}
		}
	})
	t.Run("userinfo with a token lacking openid", func(t *testing.T) {
		at := apiTokens(t, e, b, "profile", billingAPI)["access_token"].(string)
		if got := e.UserinfoStatus(at); got != http.StatusForbidden {
			t.Errorf("userinfo with billing's token without openid: %d, want 403", got)
		}
	})
}

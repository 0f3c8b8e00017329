package security

import (
	"net/http"
	"slices"
	"testing"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
)

// audOf returns the aud claim of an access token as a list.
func audOf(t *testing.T, accessToken string) []string {
	t.Helper()
	_, claims := latchtest.DecodeJWT(t, accessToken)
	switch a := claims["aud"].(type) {
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

// TestResourceIndicatorAtTokenEndpoint is RFC 8707 §2.2 (and RFC 9700
// §4.10.2, audience-restricted tokens) at the token endpoint: a client
// that asks for a resource there gets an access token for that resource
// only, and only among those granted at /authorize. A resource outside
// the grant — registered for the client or not — is invalid_target, for
// the authorization_code grant and at every refresh; it never silently
// yields a token for the grant's other audiences.
func TestResourceIndicatorAtTokenEndpoint(t *testing.T) {
	e := start(t)
	b := e.Browser()
	// code asks /authorize for the given resources and returns a code.
	code := func(t *testing.T, resources ...string) (string, string) {
		t.Helper()
		v := oauth2.GenerateVerifier()
		q := authParams("api-client", apiClientRedirect, v)
		for _, r := range resources {
			q.Add("resource", r)
		}
		return requireCodeRedirect(t, signIn(b, authorizeURL(e, q)), apiClientRedirect).Get("code"), v
	}
	exchange := func(c, v string, resources ...string) (*http.Response, map[string]any) {
		f := exchangeForm("api-client", c, apiClientRedirect, v)
		for _, r := range resources {
			f.Add("resource", r)
		}
		return e.PostForm("/token", f)
	}
	refresh := func(rt string, resources ...string) (*http.Response, map[string]any) {
		f := refreshForm("api-client", rt)
		for _, r := range resources {
			f.Add("resource", r)
		}
		return e.PostForm("/token", f)
	}
	wantAud := func(t *testing.T, body map[string]any, want ...string) {
		t.Helper()
		at, _ := body["access_token"].(string)
		if got := audOf(t, at); !slices.Equal(got, want) {
			t.Errorf("aud = %v, want %v", got, want)
		}
	}

	t.Run("code: unregistered resource", func(t *testing.T) {
		c, v := code(t, ordersAPI, billingAPI)
		resp, body := exchange(c, v, "https://evil-api.example")
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_target")
		// Refused before the code is spent: the client may ask again.
		resp, body = exchange(c, v, ordersAPI)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("the same code with a granted resource: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("code: registered but not granted at /authorize", func(t *testing.T) {
		c, v := code(t, billingAPI)
		resp, body := exchange(c, v, ordersAPI)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_target")
	})
	t.Run("code: narrowing to one granted resource", func(t *testing.T) {
		c, v := code(t, ordersAPI, billingAPI)
		resp, body := exchange(c, v, billingAPI)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		wantAud(t, body, billingAPI)
	})
	t.Run("refresh: one audience per token, never outside the grant", func(t *testing.T) {
		c, v := code(t, ordersAPI, billingAPI)
		resp, body := exchange(c, v)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("%d %v", resp.StatusCode, body)
		}
		wantAud(t, body, ordersAPI, billingAPI) // control: no resource, the whole grant
		rt := body["refresh_token"].(string)

		resp, body = refresh(rt, "https://evil-api.example")
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_target")
		resp, body = refresh(rt, ordersAPI) // the refused request did not spend rt
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh for orders: %d %v", resp.StatusCode, body)
		}
		wantAud(t, body, ordersAPI)
		resp, body = refresh(body["refresh_token"].(string), billingAPI)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("refresh for billing: %d %v", resp.StatusCode, body)
		}
		wantAud(t, body, billingAPI)
	})
	t.Run("refresh: registered but not granted", func(t *testing.T) {
		c, v := code(t, billingAPI)
		_, body := exchange(c, v)
		resp, body := refresh(body["refresh_token"].(string), ordersAPI)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_target")
	})
}

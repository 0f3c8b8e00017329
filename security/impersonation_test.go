package security

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

func basic(id, secret string) func(*http.Request) {
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(id)+":"+url.QueryEscape(secret))))
	}
}

// TestClientImpersonation: an attacker who knows a client's id (public
// information) tries to act as that client at the token endpoint: with a
// made-up, stolen-from-another-client, truncated or hashed secret, with
// none, or by sending a secret for a public client. Every attempt gets
// 401 invalid_client with a WWW-Authenticate challenge (RFC 6749 §5.2),
// is answered before the grant is looked at — so the victim's code is
// not burned — and issues nothing.
func TestClientImpersonation(t *testing.T) {
	e := start(t)
	e.MustClient(store.Client{ID: "other", Name: "Other", RedirectURIs: []string{"https://other.example/cb"}, GrantTypes: []string{"authorization_code"}})
	b := signedInWithConsent(t, e)
	secret := e.Secrets["app"]
	cases := []struct {
		name   string
		client string // whose code is attacked
		form   url.Values
		auth   func(*http.Request)
	}{
		{"public client with client_secret_post", "spa", url.Values{"client_secret": {"guess"}}, nil},
		{"public client with client_secret_basic", "spa", nil, basic("spa", "guess")},
		{"confidential client without a secret", "app", nil, nil},
		{"confidential client with an empty Basic secret", "app", nil, basic("app", "")},
		{"wrong secret (basic)", "app", nil, basic("app", "wrong")},
		{"wrong secret (post)", "app", url.Values{"client_secret": {"wrong"}}, nil},
		{"another client's secret", "app", nil, basic("app", e.Secrets["other"])},
		{"truncated secret", "app", nil, basic("app", secret[:len(secret)-1])},
		{"secret with a suffix", "app", nil, basic("app", secret+"x")},
		{"upper-cased secret", "app", nil, basic("app", strings.ToUpper(secret))},
		{"stored hash of the secret", "app", nil, basic("app", token.Hash(secret))},
		{"client_id in another case", "app", nil, basic("APP", secret)},
		{"secret in the URL query", "app", url.Values{"client_id": {"app"}}, func(r *http.Request) { r.URL.RawQuery = "client_secret=" + url.QueryEscape(secret) }},
		{"unsupported scheme", "app", nil, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+secret) }},
		{"client assertion", "app", url.Values{"client_assertion_type": {"urn:ietf:params:oauth:client-assertion-type:jwt-bearer"}, "client_assertion": {"eyJhbGciOiJub25lIn0.eyJzdWIiOiJhcHAifQ."}}, nil},
	}
	redirects := map[string]string{"spa": latchtest.SPARedirect, "app": appRedirect}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := e.IssueCode(b, tc.client, redirects[tc.client])
			form := exchangeForm(tc.client, c.Code, redirects[tc.client], c.Verifier)
			if tc.auth != nil {
				form.Del("client_id") // the Authorization header names the client
			}
			for k, v := range tc.form {
				form[k] = v
			}
			var mut []func(*http.Request)
			if tc.auth != nil {
				mut = append(mut, tc.auth)
			}
			resp, body := e.PostForm("/token", form, mut...)
			requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			// The code is untouched: the genuine client still redeems it.
			var auth []func(*http.Request)
			if tc.client == "app" {
				auth = append(auth, withSecret(e, "app"))
			}
			if resp, body := e.PostForm("/token", exchangeForm(tc.client, c.Code, redirects[tc.client], c.Verifier), auth...); resp.StatusCode != http.StatusOK {
				t.Errorf("the genuine client's redemption after the attack: %d %v", resp.StatusCode, body)
			}
		})
	}
	t.Run("unknown client", func(t *testing.T) {
		resp, body := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, basic("no-such-client", "x"))
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("Basic id and body client_id disagree", func(t *testing.T) {
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		resp, body := e.PostForm("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier), withSecret(e, "app"))
		if resp.StatusCode < 400 || resp.StatusCode >= 500 || body["access_token"] != nil {
			t.Fatalf("%d %v, want a client error and no token", resp.StatusCode, body)
		}
	})
}

// TestClientImpersonationAtRevocationAndIntrospection: the same client
// authentication guards revocation (RFC 7009 §2.1) and introspection
// (RFC 7662 §2.1); a client cannot revoke another client's tokens, and a
// public client cannot introspect.
func TestClientImpersonationAtRevocationAndIntrospection(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	c := e.IssueCode(b, "app", appRedirect, oauthOffline)
	resp, tok := e.PostForm("/token", exchangeForm("app", c.Code, appRedirect, c.Verifier), withSecret(e, "app"))
	if resp.StatusCode != http.StatusOK || tok["refresh_token"] == nil {
		t.Fatalf("setup: %d %v", resp.StatusCode, tok)
	}
	refresh, access := tok["refresh_token"].(string), tok["access_token"].(string)

	for _, path := range []string{"/revoke", "/introspect"} {
		resp, body := e.PostForm(path, url.Values{"token": {refresh}}, basic("app", "wrong"))
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		resp, body = e.PostForm(path, url.Values{"token": {refresh}, "client_id": {"app"}})
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	}
	resp, body := e.PostForm("/introspect", url.Values{"token": {access}, "client_id": {"spa"}})
	requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")

	// spa (public, authenticated by its id alone) tries to revoke app's tokens.
	for _, tk := range []string{refresh, access} {
		resp, _ := e.PostForm("/revoke", url.Values{"token": {tk}, "client_id": {"spa"}})
		if resp.StatusCode == http.StatusInternalServerError {
			t.Fatalf("revocation by another client: %d", resp.StatusCode)
		}
	}
	if e.UserinfoStatus(access) != http.StatusOK {
		t.Error("another client revoked app's access token")
	}
	resp, body = e.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, withSecret(e, "app"))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("another client revoked app's refresh token: %d %v", resp.StatusCode, body)
	}
}

// TestPublicClientRedirectCannotBeChanged: a public client has no secret,
// so its registered redirect URIs are all that ties its codes to it
// (RFC 9700 §4.1). An attacker using its client_id with the attacker's
// own redirect URI gets the error page, even for a signed-in user.
func TestPublicClientRedirectCannotBeChanged(t *testing.T) {
	e := start(t)
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect)
	for _, redirect := range []string{"https://attacker.example/cb", appRedirect, "http://spa.test:3000/callback/../steal", "http://spa.test:3001/callback"} {
		requireErrorPage(t, b.Get(authorizeURL(e, authParams("spa", redirect, "v"+strings.Repeat("x", 42)))))
	}
}

// TestClientImpersonatingResourceOwner is RFC 9700 §4.15: a client's own
// tokens (client_credentials) must not pass for a user's. Their sub is
// the client_id and equals client_id (RFC 9068 §2.2), they carry no user
// claims, and userinfo refuses them. Clients cannot choose their own
// client_id (no dynamic registration: only an administrator registers
// clients).
func TestClientImpersonatingResourceOwner(t *testing.T) {
	e := start(t)
	e.MustClient(store.Client{ID: "svc", Name: "Service", GrantTypes: []string{"client_credentials"}, Scopes: []string{"openid", "profile", "orders:read"}})
	resp, body := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"openid profile"}}, withSecret(e, "svc"))
	if resp.StatusCode == http.StatusOK {
		t.Fatalf("client_credentials granted user scopes: %v", body)
	}
	resp, body = e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, withSecret(e, "svc"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("control: client_credentials: %d %v", resp.StatusCode, body)
	}
	access := body["access_token"].(string)
	if body["id_token"] != nil || body["refresh_token"] != nil {
		t.Errorf("client_credentials returned %v", body)
	}
	_, claims := latchtest.DecodeJWT(t, access)
	if claims["sub"] != "svc" || claims["client_id"] != "svc" {
		t.Errorf("sub=%v client_id=%v, want both svc", claims["sub"], claims["client_id"])
	}
	if strings.Contains(claims["scope"].(string), "openid") || claims["auth_time"] != nil || claims["amr"] != nil {
		t.Errorf("client token carries user attributes: %v", claims)
	}
	if got := e.UserinfoStatus(access); got != http.StatusForbidden && got != http.StatusUnauthorized {
		t.Errorf("userinfo with the client's own token: %d, want 401 or 403", got)
	}
}

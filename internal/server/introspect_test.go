package server_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
)

// TestRevocation covers RFC 7009: a refresh token revokes its family, an
// access token only itself; unknown tokens get 200; hints are only hints;
// clients authenticate and may revoke only their own tokens.
func TestRevocation(t *testing.T) {
	e := startLifecycle(t)
	fromSPA := func(r *http.Request) { r.Header.Set("Origin", latchtest.SPAOrigin) }

	t.Run("refresh token revokes its family", func(t *testing.T) {
		t0 := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		t1 := mustRefresh(t, e, "spa", t0.Refresh)
		res := api(t, e, "/revoke", "spa", url.Values{"token": {t1.Refresh}, "token_type_hint": {"refresh_token"}}, fromSPA)
		if res.Status != http.StatusOK {
			t.Fatalf("revoke: %d %v", res.Status, res.Body)
		}
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != latchtest.SPAOrigin {
			t.Errorf("revocation response ACAO = %q, want the SPA origin", got)
		}
		refreshDead(t, e, "revoked refresh token", "spa", t1.Refresh)
		accessDead(t, e, "access token of the revoked family", t1.Access)
		accessDead(t, e, "first access token of the revoked family", t0.Access)
		// Revoking again is fine (idempotent).
		if res := api(t, e, "/revoke", "spa", url.Values{"token": {t1.Refresh}}); res.Status != http.StatusOK {
			t.Errorf("second revocation: %d", res.Status)
		}
	})

	t.Run("access token only", func(t *testing.T) {
		t0 := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		if res := api(t, e, "/revoke", "spa", url.Values{"token": {t0.Access}, "token_type_hint": {"access_token"}}); res.Status != http.StatusOK {
			t.Fatalf("revoke: %d %v", res.Status, res.Body)
		}
		accessDead(t, e, "revoked access token", t0.Access)
		t1 := mustRefresh(t, e, "spa", t0.Refresh) // the refresh token lives on
		accessAlive(t, e, "new access token after revoking the old one", t1.Access)
	})

	t.Run("wrong hints are only hints", func(t *testing.T) {
		t0 := signIn(t, e, e.Browser(), "web", latchtest.WebRedirect, "openid", "offline_access")
		if res := api(t, e, "/revoke", "web", url.Values{"token": {t0.Access}, "token_type_hint": {"refresh_token"}}); res.Status != http.StatusOK {
			t.Fatalf("revoke access token hinted as refresh token: %d %v", res.Status, res.Body)
		}
		accessDead(t, e, "access token revoked with the wrong hint", t0.Access)
		t1 := mustRefresh(t, e, "web", t0.Refresh)
		if res := api(t, e, "/revoke", "web", url.Values{"token": {t1.Refresh}, "token_type_hint": {"access_token"}}); res.Status != http.StatusOK {
			t.Fatalf("revoke refresh token hinted as access token: %d %v", res.Status, res.Body)
		}
		refreshDead(t, e, "refresh token revoked with the wrong hint", "web", t1.Refresh)
		accessDead(t, e, "its family's access token", t1.Access)
		if res := api(t, e, "/revoke", "web", url.Values{"token": {"x"}, "token_type_hint": {"id_token"}}); res.Status != http.StatusOK {
			t.Errorf("unknown hint value: %d %v, want 200", res.Status, res.Body)
		}
	})

	t.Run("unknown and foreign tokens get 200", func(t *testing.T) {
		for _, tok := range []string{"no-such-token", strings.Repeat("A", 43), "eyJhbGciOiJub25lIn0.e30.", latchtest.SPARedirect} {
			res := api(t, e, "/revoke", "spa", url.Values{"token": {tok}})
			if res.Status != http.StatusOK || res.Body != nil {
				t.Errorf("revoke %q: %d %v, want 200 with an empty body (RFC 7009 §2.2)", tok, res.Status, res.Body)
			}
		}
	})

	t.Run("a client cannot revoke another client's tokens", func(t *testing.T) {
		s := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		w := signIn(t, e, e.Browser(), "web", latchtest.WebRedirect, "openid", "offline_access")
		attempts := []struct{ client, tok, what string }{
			{"web", s.Refresh, "spa's refresh token"},
			{"web", s.Access, "spa's access token"},
			{"spa", w.Refresh, "web's refresh token"},
			{"spa", w.Access, "web's access token"},
			{"web2", w.Refresh, "web's refresh token"},
		}
		for _, a := range attempts {
			res := api(t, e, "/revoke", a.client, url.Values{"token": {a.tok}})
			if res.Status == http.StatusOK {
				t.Errorf("%s revoking %s: 200, want a refusal", a.client, a.what)
			}
		}
		accessAlive(t, e, "spa's access token after foreign revocations", s.Access)
		accessAlive(t, e, "web's access token after foreign revocations", w.Access)
		mustRefresh(t, e, "spa", s.Refresh)
		mustRefresh(t, e, "web", w.Refresh)
	})

	t.Run("client authentication", func(t *testing.T) {
		w := signIn(t, e, e.Browser(), "web", latchtest.WebRedirect, "openid", "offline_access")
		cases := []struct {
			name   string
			client string
			form   url.Values
			auth   func(*http.Request)
			status int
			code   string
		}{
			{"no authentication", "", nil, nil, 401, "invalid_client"},
			{"wrong secret (basic)", "", nil, func(r *http.Request) { r.SetBasicAuth("web", "wrong") }, 401, "invalid_client"},
			{"wrong secret (post)", "", url.Values{"client_id": {"web"}, "client_secret": {"wrong"}}, nil, 401, "invalid_client"},
			{"confidential client without its secret", "", url.Values{"client_id": {"web"}}, nil, 401, "invalid_client"},
			{"unknown client", "", url.Values{"client_id": {"nobody"}}, nil, 401, "invalid_client"},
			{"public client presenting a secret", "", url.Values{"client_id": {"spa"}, "client_secret": {"x"}}, nil, 401, "invalid_client"},
			{"missing token", "web", url.Values{"token": nil}, nil, 400, "invalid_request"},
			{"repeated token", "web", url.Values{"token": {"a", "b"}}, nil, 400, "invalid_request"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"token": {w.Refresh}}
				for k, v := range tc.form {
					if v == nil {
						delete(form, k)
						continue
					}
					form[k] = v
				}
				var mut []func(*http.Request)
				if tc.auth != nil {
					mut = append(mut, tc.auth)
				}
				wantError(t, "revoke: "+tc.name, api(t, e, "/revoke", tc.client, form, mut...), tc.status, tc.code)
			})
		}
		mustRefresh(t, e, "web", w.Refresh) // nothing was revoked
	})

	t.Run("client_secret_post works too", func(t *testing.T) {
		w := signIn(t, e, e.Browser(), "web", latchtest.WebRedirect, "openid", "offline_access")
		res := api(t, e, "/revoke", "", url.Values{"token": {w.Refresh}, "client_id": {"web"}, "client_secret": {e.Secrets["web"]}})
		if res.Status != http.StatusOK {
			t.Fatalf("revoke with client_secret_post: %d %v", res.Status, res.Body)
		}
		refreshDead(t, e, "refresh token revoked with client_secret_post", "web", w.Refresh)
	})

	t.Run("CORS for the SPA origin only", func(t *testing.T) {
		s := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		res := api(t, e, "/revoke", "spa", url.Values{"token": {s.Access}}, func(r *http.Request) { r.Header.Set("Origin", "https://evil.test") })
		if got := res.Header.Get("Access-Control-Allow-Origin"); got != "" {
			t.Errorf("revocation from an unregistered origin: ACAO = %q, want none", got)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/revoke", nil)
		if resp, _ := e.DoJSON(req); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /revoke: %d, want 405", resp.StatusCode)
		}
	})
}

// TestIntrospection covers RFC 7662: who may ask, what an active token's
// answer holds, and that expired, revoked and reused-family tokens are
// inactive.
func TestIntrospection(t *testing.T) {
	e := startLifecycle(t)

	t.Run("active access token, basic and post authentication", func(t *testing.T) {
		s := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid", "profile")
		_, claims := latchtest.DecodeJWT(t, s.Access)
		basic := introspect(t, e, "rs", s.Access)
		post := api(t, e, "/introspect", "", url.Values{"token": {s.Access}, "client_id": {"rs"}, "client_secret": {e.Secrets["rs"]}})
		if post.Status != http.StatusOK {
			t.Fatalf("client_secret_post: %d %v", post.Status, post.Body)
		}
		for name, body := range map[string]map[string]any{"basic": basic, "post": post.Body} {
			want := map[string]any{
				"active": true, "iss": e.Issuer, "sub": "user-alice", "client_id": "spa", "scope": "openid profile",
				"username": "alice", "token_type": "Bearer", "jti": claims["jti"], "exp": claims["exp"], "iat": claims["iat"],
			}
			for k, v := range want {
				if body[k] != v {
					t.Errorf("%s: %s = %v, want %v", name, k, body[k], v)
				}
			}
			if aud, ok := body["aud"].([]any); !ok || len(aud) == 0 || aud[0] != e.Issuer {
				t.Errorf("%s: aud = %v, want [%s]", name, body["aud"], e.Issuer)
			}
		}
	})

	t.Run("expired access token", func(t *testing.T) {
		s := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		e.Clock.Advance(e.Config.AccessTokenTTL - time.Second)
		if !active(t, e, "rs", s.Access) {
			t.Error("access token 1 s before exp: inactive")
		}
		e.Clock.Advance(time.Second)
		if active(t, e, "rs", s.Access) {
			t.Error("access token at exp: active")
		}
	})

	t.Run("refresh tokens", func(t *testing.T) {
		w := signIn(t, e, e.Browser(), "web", latchtest.WebRedirect, "openid", "offline_access")
		body := introspect(t, e, "web", w.Refresh, "token_type_hint", "refresh_token")
		if body["active"] != true || body["client_id"] != "web" || body["sub"] != "user-alice" || body["scope"] != "openid offline_access" || body["exp"] == nil {
			t.Errorf("the owner introspecting its refresh token: %v", body)
		}
		if body := introspect(t, e, "web", w.Refresh); body["active"] != true {
			t.Errorf("refresh token without hint: %v", body)
		}
		// Refresh tokens are the client's business: another client
		// (e.g. a resource server) learns nothing.
		if active(t, e, "rs", w.Refresh) {
			t.Error("another client introspecting web's refresh token: active")
		}
		w1 := mustRefresh(t, e, "web", w.Refresh)
		if active(t, e, "web", w.Refresh) {
			t.Error("rotated refresh token: active")
		}
		if !active(t, e, "web", w1.Refresh) {
			t.Error("successor refresh token: inactive")
		}
		// Reuse: the family is dead, every member inactive.
		refreshDead(t, e, "reuse", "web", w.Refresh)
		for what, tok := range map[string]string{"newest refresh token": w1.Refresh, "newest access token": w1.Access, "first access token": w.Access} {
			if active(t, e, "web", tok) || active(t, e, "rs", tok) {
				t.Errorf("%s of a reused family: active", what)
			}
		}
	})

	t.Run("revoked tokens", func(t *testing.T) {
		s := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		api(t, e, "/revoke", "spa", url.Values{"token": {s.Access}})
		if active(t, e, "rs", s.Access) {
			t.Error("revoked access token: active")
		}
	})

	t.Run("unknown tokens", func(t *testing.T) {
		for _, tok := range []string{"nope", strings.Repeat("x", 2000), "a.b.c"} {
			if active(t, e, "rs", tok) {
				t.Errorf("%q: active", tok)
			}
		}
	})

	t.Run("who may introspect", func(t *testing.T) {
		s := signIn(t, e, e.Browser(), "spa", latchtest.SPARedirect, "openid")
		cases := []struct {
			name   string
			client string
			form   url.Values
			auth   func(*http.Request)
			status int
			code   string
		}{
			{"public client", "spa", nil, nil, 401, "invalid_client"},
			{"unauthenticated", "", nil, nil, 401, "invalid_client"},
			{"wrong secret", "", nil, func(r *http.Request) { r.SetBasicAuth("rs", "wrong") }, 401, "invalid_client"},
			{"unknown client", "", nil, func(r *http.Request) { r.SetBasicAuth("nobody", "x") }, 401, "invalid_client"},
			{"missing token", "rs", url.Values{"token": nil}, nil, 400, "invalid_request"},
			{"empty token", "rs", url.Values{"token": {""}}, nil, 400, "invalid_request"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				form := url.Values{"token": {s.Access}}
				for k, v := range tc.form {
					if v == nil {
						delete(form, k)
						continue
					}
					form[k] = v
				}
				var mut []func(*http.Request)
				if tc.auth != nil {
					mut = append(mut, tc.auth)
				}
				res := api(t, e, "/introspect", tc.client, form, mut...)
				wantError(t, "introspect: "+tc.name, res, tc.status, tc.code)
				if res.Body["active"] != nil {
					t.Errorf("%s: the answer says something about the token: %v", tc.name, res.Body)
				}
			})
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/introspect?token="+url.QueryEscape(s.Access), nil)
		req.SetBasicAuth("rs", e.Secrets["rs"])
		if resp, _ := e.DoJSON(req); resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /introspect: %d, want 405", resp.StatusCode)
		}
	})
}

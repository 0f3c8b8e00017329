package security

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// Pushed authorization requests (RFC 9126): the threats are a replayed,
// stolen or expired request_uri, a request_uri redeemed by another
// client, parameters added at /authorize to override the pushed ones
// (a redirect_uri swap), a push that /authorize would have refused, and
// a client that must push sneaking a plain request past the rule.

// push sends the authorization request q to /par as client (with its
// secret when it has one) and returns the request_uri.
func push(t *testing.T, e *latchtest.Env, q url.Values) string {
	t.Helper()
	var auth []func(*http.Request)
	if e.Secrets[q.Get("client_id")] != "" {
		auth = append(auth, withSecret(e, q.Get("client_id")))
	}
	resp, body := e.PostForm("/par", q, auth...)
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("PAR: status %d body %v, want 201", resp.StatusCode, body)
	}
	uri, _ := body["request_uri"].(string)
	if !strings.HasPrefix(uri, "urn:ietf:params:oauth:request_uri:") || body["expires_in"] != float64(60) {
		t.Fatalf("PAR answer %v, want a request_uri URN and expires_in 60", body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("PAR Cache-Control = %q, want no-store", cc)
	}
	return uri
}

func pushedURL(e *latchtest.Env, client, requestURI string, extra url.Values) string {
	q := url.Values{"client_id": {client}, "request_uri": {requestURI}}
	for k, v := range extra {
		q[k] = v
	}
	return authorizeURL(e, q)
}

// TestPARFlow: a confidential client pushes its request, the browser
// carries only client_id and request_uri, and the code is exchanged by
// the real x/oauth2 client and the ID token verified by go-oidc.
// Parameters added at /authorize (redirect_uri, scope, state) are
// ignored: the pushed ones rule (RFC 9126 §4).
func TestPARFlow(t *testing.T) {
	e := start(t)
	ctx := latchtest.ClientContext(t.Context())
	provider, err := oidc.NewProvider(ctx, e.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	var meta struct {
		PAR     string `json:"pushed_authorization_request_endpoint"`
		Require bool   `json:"require_pushed_authorization_requests"`
	}
	if err := provider.Claims(&meta); err != nil || meta.PAR != e.Issuer+"/par" || meta.Require {
		t.Fatalf("discovery PAR fields %+v, %v", meta, err)
	}
	conf := e.OAuthConfig("app", appRedirect, oidc.ScopeOpenID)
	conf.Endpoint = provider.Endpoint()
	v := oauth2.GenerateVerifier()
	q := authParams("app", appRedirect, v)
	q.Set("nonce", "n-1")
	uri := push(t, e, q)

	b := signedInWithConsent(t, e)
	p := b.Get(pushedURL(e, "app", uri, url.Values{
		"redirect_uri": {"https://evil.example/cb"}, "state": {"attacker"}, "scope": {"openid profile email"},
	}))
	cb := requireCodeRedirect(t, p, appRedirect)
	if cb.Get("state") != "st-123" || cb.Get("iss") != e.Issuer {
		t.Errorf("callback %v, want the pushed state st-123 and iss", cb)
	}
	tok, err := conf.Exchange(ctx, cb.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if got := tok.Extra("scope"); got != "openid" {
		t.Errorf("granted scope %v, want the pushed openid only", got)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&oidc.Config{ClientID: "app"}).Verify(ctx, raw)
	if err != nil || idt.Nonce != "n-1" {
		t.Fatalf("ID token: %v, nonce %q", err, idt.Nonce)
	}
}

// TestPARReplay: a request_uri is redeemed once. A second use (a replay,
// the back button, a leaked URL) and a use after 60 seconds get Latch's
// error page, never a redirect; one pushed by another client is refused
// (and burnt).
func TestPARReplay(t *testing.T) {
	e := start(t)
	b := signedInWithConsent(t, e)
	pushSPA := func() string { return push(t, e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())) }

	uri := pushSPA()
	requireCodeRedirect(t, b.Get(pushedURL(e, "spa", uri, nil)), latchtest.SPARedirect)
	p := b.Get(pushedURL(e, "spa", uri, nil))
	requireErrorPage(t, p)
	if !strings.Contains(p.Body, "invalid_request_uri") && !strings.Contains(p.Body, "expired") {
		t.Errorf("replay page does not say why:\n%s", p.Body)
	}

	uri = pushSPA()
	e.Clock.Advance(61 * time.Second)
	requireErrorPage(t, b.Get(pushedURL(e, "spa", uri, nil)))

	uri = pushSPA()
	requireErrorPage(t, b.Get(pushedURL(e, "app", uri, nil)))
	requireErrorPage(t, b.Get(pushedURL(e, "spa", uri, nil))) // burnt by the attempt

	for name, u := range map[string]string{
		"not Latch's URN":     pushedURL(e, "spa", "https://attacker.example/request.jwt", nil),
		"unknown":             pushedURL(e, "spa", "urn:ietf:params:oauth:request_uri:nope", nil),
		"without a client_id": authorizeURL(e, url.Values{"request_uri": {pushSPA()}}),
		"request_uri twice":   authorizeURL(e, url.Values{"client_id": {"spa"}, "request_uri": {pushSPA(), pushSPA()}}),
	} {
		t.Run(name, func(t *testing.T) { requireErrorPage(t, b.Get(u)) })
	}
}

// TestPARConcurrentRedemption: N browsers redeeming one request_uri at
// once: exactly one gets past it (to the sign-in page), the rest get the
// error page, on both stores.
func TestPARConcurrentRedemption(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			e := startBackend(t, be)
			uri := push(t, e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))
			const n = 16
			var won, refused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					p := e.Browser().Get(pushedURL(e, "spa", uri, nil))
					switch {
					case latchtest.IsLoginPage(p):
						won.Add(1)
					case p.Status == http.StatusBadRequest && p.Header.Get("Location") == "":
						refused.Add(1)
					default:
						t.Errorf("status %d Location %q", p.Status, p.Header.Get("Location"))
					}
				})
			}
			close(start)
			wg.Wait()
			if won.Load() != 1 || refused.Load() != n-1 {
				t.Fatalf("%d concurrent redemptions: %d reached sign-in, %d refused; want exactly 1", n, won.Load(), refused.Load())
			}
		})
	}
}

// TestPARValidatesLikeAuthorize: the PAR endpoint refuses, as JSON, what
// /authorize would refuse — by the same validation code — and
// authenticates the client as the token endpoint does.
func TestPARValidatesLikeAuthorize(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	with := func(client, redirect string, edit map[string]string) url.Values {
		q := authParams(client, redirect, v)
		for k, val := range edit {
			if val == "" {
				q.Del(k)
			} else {
				q.Set(k, val)
			}
		}
		return q
	}
	cases := []struct {
		name   string
		form   url.Values
		auth   func(*http.Request)
		status int
		code   string
	}{
		{"unregistered redirect_uri", with("spa", "https://evil.example/cb", nil), nil, 400, "invalid_request"},
		{"public client without PKCE", with("spa", latchtest.SPARedirect, map[string]string{"code_challenge": "", "code_challenge_method": ""}), nil, 400, "invalid_request"},
		{"implicit flow", with("spa", latchtest.SPARedirect, map[string]string{"response_type": "token"}), nil, 400, "unsupported_response_type"},
		{"scope not allowed", with("spa", latchtest.SPARedirect, map[string]string{"scope": "openid admin"}), nil, 400, "invalid_scope"},
		{"request_uri pushed", with("spa", latchtest.SPARedirect, map[string]string{"request_uri": "urn:ietf:params:oauth:request_uri:x"}), nil, 400, "invalid_request"},
		{"confidential client without its secret", with("app", appRedirect, nil), nil, 401, "invalid_client"},
		{"confidential client with a wrong secret", with("app", appRedirect, nil), basic("app", "wrong"), 401, "invalid_client"},
		{"client_id of another client", with("spa", latchtest.SPARedirect, nil), withSecret(e, "app"), 400, "invalid_request"},
		{"unknown client", with("nobody", "https://x.example/cb", nil), nil, 401, "invalid_client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var mut []func(*http.Request)
			if tc.auth != nil {
				mut = append(mut, tc.auth)
			}
			resp, body := e.PostForm("/par", tc.form, mut...)
			requireTokenError(t, resp, body, tc.status, tc.code)
			if body["request_uri"] != nil || resp.Header.Get("Location") != "" {
				t.Errorf("refused push answered %v, Location %q", body, resp.Header.Get("Location"))
			}
		})
	}
	t.Run("GET", func(t *testing.T) {
		resp, err := http.Get(e.Issuer + "/par?" + with("spa", latchtest.SPARedirect, nil).Encode())
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("GET /par = %d, want 405", resp.StatusCode)
		}
	})
	t.Run("private_key_jwt", func(t *testing.T) {
		k := newKeyedClient(t, "keyed")
		e.MustClient(store.Client{ID: k.id, AuthMethod: "private_key_jwt", JWKS: k.jwks(t), RedirectURIs: []string{"https://keyed.example/cb"}, GrantTypes: []string{"authorization_code"}})
		q := with(k.id, "https://keyed.example/cb", nil)
		q.Set("client_assertion_type", assertionType)
		q.Set("client_assertion", k.assertion(t, e, nil))
		if resp, body := e.PostForm("/par", q); resp.StatusCode != http.StatusCreated {
			t.Fatalf("PAR with private_key_jwt: %d %v", resp.StatusCode, body)
		}
		resp, body := e.PostForm("/par", q) // the same assertion again
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	})
}

// TestPARRequired: a client registered with require-par, or every client
// when the server requires PAR, gets an error for a plain authorization
// request (redirected: the client and redirect URI are validated) and a
// code for a pushed one.
func TestPARRequired(t *testing.T) {
	t.Run("per client", func(t *testing.T) {
		e := start(t)
		e.MustClient(store.Client{ID: "strict", Public: true, FirstParty: true, RequirePAR: true, RedirectURIs: []string{"https://strict.example/cb"}, GrantTypes: []string{"authorization_code"}})
		b := signedInWithConsent(t, e)
		q := authParams("strict", "https://strict.example/cb", oauth2.GenerateVerifier())
		requireErrorRedirect(t, e, b.Get(authorizeURL(e, q)), "https://strict.example/cb", "invalid_request")
		requireCodeRedirect(t, b.Get(pushedURL(e, "strict", push(t, e, q), nil)), "https://strict.example/cb")
		// Other clients are not affected.
		requireCodeRedirect(t, b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()))), latchtest.SPARedirect)
	})
	t.Run("server-wide", func(t *testing.T) {
		e := start(t, func(c *config.Config) { c.RequirePAR = true })
		var meta struct {
			Require bool `json:"require_pushed_authorization_requests"`
		}
		if err := e.Provider().Claims(&meta); err != nil || !meta.Require {
			t.Fatalf("discovery require_pushed_authorization_requests = %v, %v; want true", meta.Require, err)
		}
		b := e.Browser()
		q := authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())
		requireCodeRedirect(t, signIn(b, pushedURL(e, "spa", push(t, e, q), nil)), latchtest.SPARedirect)
		requireErrorRedirect(t, e, b.Get(authorizeURL(e, q)), latchtest.SPARedirect, "invalid_request")
	})
}

package security

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// The private_key_jwt threats (RFC 7523 §2.2, §3; OIDC Core §9;
// draft-ietf-oauth-rfc7523bis; RFC 7521 §8): a replayed assertion, an
// assertion made for another audience (the token endpoint of this or
// another server), a forged or unsigned one, one signed for another
// client, and a long-lived one.

const assertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// keyedClient is a confidential client registered for private_key_jwt
// with its signing key.
type keyedClient struct {
	id  string
	key crypto.Signer
	alg jose.SignatureAlgorithm
	kid string
}

func newKeyedClient(t testing.TB, id string) keyedClient {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keyedClient{id: id, key: k, alg: jose.ES256, kid: id + "-1"}
}

func (k keyedClient) jwks(t testing.TB) string {
	t.Helper()
	b, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.key.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// register adds k to e with inline jwks (jwksURI "") or a jwks_uri.
func (k keyedClient) register(e *latchtest.Env, t testing.TB, jwksURI string) {
	t.Helper()
	c := store.Client{
		ID: k.id, Name: "Keyed", AuthMethod: "private_key_jwt",
		GrantTypes: []string{"client_credentials"}, ResourceServer: true,
	}
	if jwksURI == "" {
		c.JWKS = k.jwks(t)
	} else {
		c.JWKSURI = jwksURI
	}
	e.MustClient(c)
}

// assertion signs claims with k; a nil value deletes a claim.
func (k keyedClient) assertion(t testing.TB, e *latchtest.Env, edit map[string]any) string {
	t.Helper()
	now := e.Clock.Now()
	claims := map[string]any{
		"iss": k.id, "sub": k.id, "aud": e.Issuer, "jti": rand.Text(),
		"iat": now.Unix(), "exp": now.Add(time.Minute).Unix(),
	}
	for name, v := range edit {
		if v == nil {
			delete(claims, name)
		} else {
			claims[name] = v
		}
	}
	return signWith(t, k.key, k.alg, k.kid, claims)
}

func signWith(t testing.TB, key any, alg jose.SignatureAlgorithm, kid string, claims any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader(jose.HeaderKey("kid"), kid)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jwt.Signed(s).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// ccForm is a client_credentials request authenticated by assertion.
func ccForm(assertion string) url.Values {
	return url.Values{"grant_type": {"client_credentials"}, "client_assertion_type": {assertionType}, "client_assertion": {assertion}}
}

// TestClientAssertionReplay: a client assertion is accepted once (RFC
// 7523 §3 item 7): its jti is recorded in the store shared by every
// instance until the assertion expires. N concurrent requests carrying
// one captured assertion get exactly one token, on both stores; a later
// replay is invalid_client too.
func TestClientAssertionReplay(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := startBackend(t, b)
			k := newKeyedClient(t, "keyed")
			k.register(e, t, "")
			a := k.assertion(t, e, nil)
			const n = 16
			var ok, refused atomic.Int32
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range n {
				wg.Go(func() {
					<-start
					resp, body := e.PostForm("/token", ccForm(a))
					switch {
					case resp.StatusCode == http.StatusOK && body["access_token"] != nil:
						ok.Add(1)
					case resp.StatusCode == http.StatusUnauthorized && body["error"] == "invalid_client":
						refused.Add(1)
					default:
						t.Errorf("status %d body %v, want 200 or 401 invalid_client", resp.StatusCode, body)
					}
				})
			}
			close(start)
			wg.Wait()
			if ok.Load() != 1 || refused.Load() != n-1 {
				t.Fatalf("%d concurrent requests with one assertion: %d tokens, %d refused; want exactly 1 token", n, ok.Load(), refused.Load())
			}
			resp, body := e.PostForm("/token", ccForm(a))
			requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
			if d, _ := body["error_description"].(string); !strings.Contains(d, "used before") {
				t.Errorf("replay error_description = %q, want it to say the assertion was used before", d)
			}
			// A fresh assertion still works: the client is not locked out.
			if resp, body := e.PostForm("/token", ccForm(k.assertion(t, e, nil))); resp.StatusCode != http.StatusOK {
				t.Fatalf("fresh assertion after the replays: %d %v", resp.StatusCode, body)
			}
		})
	}
}

// TestClientAssertionForged: every assertion that is not a fresh,
// correctly signed statement by the client about itself, addressed to
// this issuer alone, is invalid_client with a description the developer
// can act on — never a token, never a 5xx.
func TestClientAssertionForged(t *testing.T) {
	e := start(t)
	k := newKeyedClient(t, "keyed")
	k.register(e, t, "")
	other := newKeyedClient(t, "other-keyed")
	other.register(e, t, "")
	now := e.Clock.Now()
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	claims := func(edit map[string]any) map[string]any {
		c := map[string]any{"iss": k.id, "sub": k.id, "aud": e.Issuer, "jti": rand.Text(), "exp": now.Add(time.Minute).Unix()}
		for n, v := range edit {
			if v == nil {
				delete(c, n)
			} else {
				c[n] = v
			}
		}
		return c
	}
	unsigned := func(c map[string]any) string {
		h, _ := json.Marshal(map[string]string{"alg": "none", "typ": "JWT"})
		p, _ := json.Marshal(c)
		return b64(h) + "." + b64(p) + "."
	}
	cases := []struct {
		name, assertion, want string
	}{
		{"aud is the token endpoint (OIDC Core 9, refused by rfc7523bis)", k.assertion(t, e, map[string]any{"aud": e.Issuer + "/token"}), "aud must be the issuer"},
		{"aud is another server", k.assertion(t, e, map[string]any{"aud": "https://other.example"}), "aud must be the issuer"},
		{"aud lists the issuer and another server", k.assertion(t, e, map[string]any{"aud": []string{e.Issuer, "https://other.example"}}), "aud must be the issuer"},
		{"aud is the issuer with a trailing slash", k.assertion(t, e, map[string]any{"aud": e.Issuer + "/"}), "aud must be the issuer"},
		{"no aud", k.assertion(t, e, map[string]any{"aud": nil}), "aud must be the issuer"},
		{"alg none", unsigned(claims(nil)), "compact JWS"},
		{"HS256 keyed with the client id", signWith(t, []byte(strings.Repeat(k.id, 8)), jose.HS256, k.kid, claims(nil)), "compact JWS"},
		{"signed by an unregistered key", signWith(t, edKey, jose.EdDSA, "", claims(nil)), "does not verify"},
		{"signed by an unregistered RSA key with the client's kid", signWith(t, rsaKey, jose.RS256, k.kid, claims(nil)), "does not verify"},
		{"signed by another client about this one", signWith(t, other.key, other.alg, other.kid, claims(nil)), "does not verify"},
		{"iss is another client", k.assertion(t, e, map[string]any{"iss": other.id}), "iss and sub"},
		{"sub is another client", k.assertion(t, e, map[string]any{"sub": other.id}), "iss and sub"},
		{"no exp", k.assertion(t, e, map[string]any{"exp": nil}), "no exp"},
		{"expired", k.assertion(t, e, map[string]any{"exp": now.Add(-time.Minute).Unix()}), "expired"},
		{"exp an hour ahead", k.assertion(t, e, map[string]any{"exp": now.Add(time.Hour).Unix()}), "more than 5m0s ahead"},
		{"nbf in the future", k.assertion(t, e, map[string]any{"nbf": now.Add(2 * time.Minute).Unix()}), "not valid yet"},
		{"iat in the future", k.assertion(t, e, map[string]any{"iat": now.Add(2 * time.Minute).Unix()}), "iat"},
		{"no jti", k.assertion(t, e, map[string]any{"jti": nil}), "jti"},
		{"jti with a NUL", k.assertion(t, e, map[string]any{"jti": "a\x00b"}), "jti"},
		{"garbage", "not-a-jwt", "compact JWS"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			form := ccForm(tc.assertion)
			form.Set("client_id", k.id)
			resp, body := e.PostForm("/token", form)
			requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
			if d, _ := body["error_description"].(string); !strings.Contains(d, tc.want) {
				t.Errorf("error_description = %q, want it to contain %q", d, tc.want)
			}
		})
	}
	t.Run("client_id differs from the assertion's client", func(t *testing.T) {
		form := ccForm(other.assertion(t, e, nil))
		form.Set("client_id", k.id)
		resp, body := e.PostForm("/token", form)
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("a secret client presents an assertion", func(t *testing.T) {
		form := ccForm(k.assertion(t, e, map[string]any{"iss": "app", "sub": "app"}))
		resp, body := e.PostForm("/token", form)
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("the keyed client presents no assertion", func(t *testing.T) {
		resp, body := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {k.id}})
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		if d, _ := body["error_description"].(string); !strings.Contains(d, "private_key_jwt") {
			t.Errorf("error_description = %q, want it to name private_key_jwt", d)
		}
	})
	t.Run("the right assertion works", func(t *testing.T) {
		if resp, body := e.PostForm("/token", ccForm(k.assertion(t, e, nil))); resp.StatusCode != http.StatusOK {
			t.Fatalf("status %d body %v", resp.StatusCode, body)
		}
	})
	if log := e.OperationalLog(); strings.Contains(log, "panic") {
		t.Errorf("the server panicked:\n%s", log)
	}
}

// TestClientAssertionEveryEndpoint: private_key_jwt is the same
// authentication step at the token, introspection and revocation
// endpoints (and PAR, in par_test.go): what one accepts, all accept, and
// a replayed assertion is refused at another endpoint too.
func TestClientAssertionEveryEndpoint(t *testing.T) {
	e := start(t)
	k := newKeyedClient(t, "keyed")
	k.register(e, t, "")
	resp, body := e.PostForm("/token", ccForm(k.assertion(t, e, nil)))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("token: %d %v", resp.StatusCode, body)
	}
	at, _ := body["access_token"].(string)
	used := k.assertion(t, e, nil)
	form := url.Values{"token": {at}, "client_assertion_type": {assertionType}, "client_assertion": {used}}
	resp, body = e.PostForm("/introspect", form)
	if resp.StatusCode != http.StatusOK || body["active"] != true {
		t.Fatalf("introspect: %d %v, want the token active", resp.StatusCode, body)
	}
	resp, body = e.PostForm("/revoke", form) // the same assertion again
	requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	form.Set("client_assertion", k.assertion(t, e, nil))
	if resp, body := e.PostForm("/revoke", form); resp.StatusCode != http.StatusOK {
		t.Fatalf("revoke: %d %v", resp.StatusCode, body)
	}
	form.Set("client_assertion", k.assertion(t, e, nil))
	if resp, body := e.PostForm("/introspect", form); resp.StatusCode != http.StatusOK || body["active"] != false {
		t.Fatalf("introspect after revocation: %d %v, want inactive", resp.StatusCode, body)
	}
}

// TestClientAssertionJWKSURI: keys published at a jwks_uri are fetched
// and cached; a rotated key (a kid the cache lacks) makes one refetch; a
// jwks_uri that redirects, answers an error, or serves a huge or
// malformed document gives invalid_client, never a 5xx, and a redirect is
// never followed. http is fetched only from loopback in latch dev (Dev
// here); production takes https only (clientkeys tests).
func TestClientAssertionJWKSURI(t *testing.T) {
	e := start(t, func(c *config.Config) { c.Dev = true })
	k := newKeyedClient(t, "keyed")
	var mu sync.Mutex
	doc := k.jwks(t)
	var fetches, followed atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		mu.Lock()
		defer mu.Unlock()
		w.Header().Set("Content-Type", "application/jwk-set+json")
		fmt.Fprint(w, doc)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/followed", http.StatusFound) })
	mux.HandleFunc("/followed", func(w http.ResponseWriter, r *http.Request) { followed.Add(1); fmt.Fprint(w, doc) })
	mux.HandleFunc("/error", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusInternalServerError) })
	mux.HandleFunc("/huge", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"keys":[`+strings.Repeat(" ", 1<<20)+`]}`)
	})
	mux.HandleFunc("/private", func(w http.ResponseWriter, r *http.Request) {
		b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.key, KeyID: k.kid}}})
		w.Write(b)
	})
	ks := httptest.NewServer(mux)
	t.Cleanup(ks.Close)
	k.register(e, t, ks.URL+"/jwks")

	for range 3 {
		if resp, body := e.PostForm("/token", ccForm(k.assertion(t, e, nil))); resp.StatusCode != http.StatusOK {
			t.Fatalf("token with jwks_uri: %d %v", resp.StatusCode, body)
		}
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("jwks_uri fetched %d times for 3 requests, want 1 (cached)", n)
	}
	// Rotation: the client publishes a new key and signs with it at once.
	rotated := newKeyedClient(t, "keyed")
	rotated.kid = "keyed-2"
	mu.Lock()
	doc = rotated.jwks(t)
	mu.Unlock()
	e.Clock.Advance(time.Minute) // past the refresh floor
	if resp, body := e.PostForm("/token", ccForm(rotated.assertion(t, e, nil))); resp.StatusCode != http.StatusOK {
		t.Fatalf("token with a rotated key: %d %v", resp.StatusCode, body)
	}
	if n := fetches.Load(); n != 2 {
		t.Errorf("jwks_uri fetched %d times after the rotation, want 2", n)
	}
	// A burst of assertions by unknown keys refetches at most once more.
	for range 5 {
		resp, body := e.PostForm("/token", ccForm(k.assertion(t, e, nil)))
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	}
	if n := fetches.Load(); n > 3 {
		t.Errorf("jwks_uri fetched %d times for 5 assertions by an unknown key, want at most one refetch", n)
	}

	for _, path := range []string{"/redirect", "/error", "/huge", "/private", "/missing"} {
		t.Run(path, func(t *testing.T) {
			c := newKeyedClient(t, "keyed"+strings.ReplaceAll(path, "/", "-"))
			c.register(e, t, ks.URL+path)
			resp, body := e.PostForm("/token", ccForm(c.assertion(t, e, nil)))
			requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
			if d, _ := body["error_description"].(string); !strings.Contains(d, "jwks_uri") {
				t.Errorf("error_description = %q, want it to point at the jwks_uri", d)
			}
		})
	}
	if n := followed.Load(); n != 0 {
		t.Errorf("a jwks_uri redirect was followed %d times", n)
	}
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

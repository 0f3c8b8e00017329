package bff_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/verify"
)

// With Config.DPoP the tokens are DPoP-bound (RFC 9449) and the proxy
// proves possession at the API, here a real resource server (the verify
// package) that refuses a bound token without a valid proof — also after
// a refresh, whose token request carries a proof too.
func TestDPoPBoundTokens(t *testing.T) {
	f := newFixture(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	dk, err := bff.NewDPoPKey(key, f.env.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	api := httptest.NewUnstartedServer(nil)
	apiURL := "http://" + api.Listener.Addr().String()
	v, err := verify.New(t.Context(), verify.Config{Issuer: f.env.Issuer, Audience: apiURL, Now: f.env.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	var schemes []string
	api.Config.Handler = v.Middleware()(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, _ := verify.FromContext(r.Context())
		schemes = append(schemes, strings.Fields(r.Header.Get("Authorization"))[0])
		json.NewEncoder(w).Encode(map[string]any{"sub": c.Subject})
	}))
	api.Start()
	t.Cleanup(api.Close)

	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	f.env.MustClient(store.Client{
		ID: clientID, Name: "BFF", RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/"},
		GrantTypes: []string{"authorization_code", "refresh_token"}, Audiences: []string{apiURL},
	})
	ts.Config.Handler = f.newBFF(f.config(base, nil, func(c *bff.Config) {
		c.DPoP = dk
		c.Resources = []string{apiURL}
		c.Upstreams = []bff.Upstream{{Prefix: "/api/", URL: apiURL}}
	}))
	ts.Start()
	t.Cleanup(ts.Close)

	b := f.browser()
	signIn(t, b, base, f.env.Issuer)
	for i, advance := range []bool{false, true} {
		if advance {
			f.env.Clock.Advance(f.env.Config.AccessTokenTTL)
		}
		res, body := b.do(t, http.MethodGet, base+"/api/messages", xhr)
		if res.StatusCode != http.StatusOK || !strings.Contains(body, "user-alice") {
			t.Fatalf("call %d: DPoP-bound call through the BFF = %d %s, want 200 from the verify-protected API", i, res.StatusCode, body)
		}
	}
	if f.rt.count("refresh_token") != 1 {
		t.Errorf("refreshes = %d, want 1", f.rt.count("refresh_token"))
	}
	for _, s := range schemes {
		if s != "DPoP" {
			t.Errorf("the API got Authorization scheme %q, want DPoP", s)
		}
	}
}

// tokenRequests records the form and Authorization header of every
// request to Latch's token and revocation endpoints, then sends it on.
type tokenRequests struct {
	next   http.RoundTripper
	issuer string
	mu     sync.Mutex
	seen   []tokenRequest
}

type tokenRequest struct {
	path   string
	form   url.Values
	auth   string
	status int // Latch's answer
}

func (tr *tokenRequests) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || !strings.HasPrefix(r.URL.String(), tr.issuer+"/") || r.Body == nil {
		return tr.next.RoundTrip(r)
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	q, _ := url.ParseQuery(string(body))
	res, err := tr.next.RoundTrip(r)
	seen := tokenRequest{path: r.URL.Path, form: q, auth: r.Header.Get("Authorization")}
	if err == nil {
		seen.status = res.StatusCode
	}
	tr.mu.Lock()
	tr.seen = append(tr.seen, seen)
	tr.mu.Unlock()
	return res, err
}

// TestPrivateKeyJWT: a BFF registered at Latch with
// token_endpoint_auth_method=private_key_jwt and an inline jwks signs in,
// refreshes and revokes at logout, each request authenticated by a fresh
// client assertion (RFC 7523 §2.2, aud the issuer) that Latch verifies —
// and no secret anywhere (the client has none).
func TestPrivateKeyJWT(t *testing.T) {
	f := newFixture(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	if err != nil {
		t.Fatal(err)
	}
	assertion, err := bff.PrivateKeyAssertion(clientID, key, "k1", f.env.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	f.env.MustClient(store.Client{
		ID: clientID, Name: "BFF", RedirectURIs: []string{base + "/callback"}, PostLogoutRedirectURIs: []string{base + "/"},
		GrantTypes: []string{"authorization_code", "refresh_token"},
		AuthMethod: "private_key_jwt", JWKS: string(jwks),
	})
	if f.env.Secrets[clientID] != "" {
		t.Fatal("a private_key_jwt client got a secret")
	}
	rec := &tokenRequests{next: f.rt, issuer: f.env.Issuer}
	ts.Config.Handler = f.newBFF(f.config(base, nil, func(c *bff.Config) {
		c.ClientAuth, c.ClientSecret, c.ClientAssertion = bff.PrivateKeyJWT, "", assertion
		c.HTTPClient = &http.Client{Transport: rec}
	}))
	ts.Start()
	t.Cleanup(ts.Close)

	b := f.browser()
	signIn(t, b, base, f.env.Issuer)
	// The access token expires: the next proxied call refreshes first.
	f.env.Clock.Advance(f.env.Config.AccessTokenTTL)
	if res, body := b.do(t, http.MethodGet, base+"/api/messages", xhr); res.StatusCode != http.StatusOK {
		t.Fatalf("proxied call after the access token expired = %d %s, want 200 (refreshed)", res.StatusCode, body)
	}
	if got := f.rt.count("refresh_token"); got != 1 {
		t.Fatalf("refreshes = %d, want 1", got)
	}
	if res, body := b.do(t, http.MethodPost, base+"/logout", xhr); res.StatusCode != http.StatusOK {
		t.Fatalf("POST /logout = %d %s", res.StatusCode, body)
	}

	rec.mu.Lock()
	seen := append([]tokenRequest(nil), rec.seen...)
	rec.mu.Unlock()
	var paths []string
	jtis := map[string]bool{}
	for _, r := range seen {
		paths = append(paths, r.path+" "+r.form.Get("grant_type"))
		if r.status != http.StatusOK {
			t.Errorf("%s %s: Latch answered %d, want 200 (the assertion accepted)", r.path, r.form.Get("grant_type"), r.status)
		}
		if r.auth != "" || r.form.Get("client_secret") != "" {
			t.Errorf("%s carries a secret (Authorization %q)", r.path, r.auth)
		}
		if r.form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || r.form.Get("client_assertion") == "" {
			t.Errorf("%s %v: want a jwt-bearer client_assertion", r.path, r.form)
			continue
		}
		_, c := latchtest.DecodeJWT(t, r.form.Get("client_assertion"))
		if c["iss"] != clientID || c["sub"] != clientID || c["aud"] != f.env.Issuer {
			t.Errorf("%s: client assertion iss %v sub %v aud %v, want %s, %s and the issuer (RFC 7523 §3)", r.path, c["iss"], c["sub"], c["aud"], clientID, clientID)
		}
		jti, _ := c["jti"].(string)
		if jti == "" || jtis[jti] {
			t.Errorf("%s: client assertion jti %q empty or reused", r.path, jti)
		}
		jtis[jti] = true
	}
	if want := []string{"/token authorization_code", "/token refresh_token", "/revoke "}; !slices.Equal(paths, want) {
		t.Errorf("requests to Latch = %q, want %q", paths, want)
	}
}

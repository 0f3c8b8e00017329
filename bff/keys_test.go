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
	"strings"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchauth/latch/bff"
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

// assertionTransport stands for a server that accepts private_key_jwt
// (Latch does not yet): it checks the client assertion of each token
// request against the client's public key, then authenticates the
// request to Latch with the client secret instead.
type assertionTransport struct {
	t      *testing.T
	next   http.RoundTripper
	issuer string
	pub    *ecdsa.PublicKey
	secret string
	seen   int
}

func (a *assertionTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodPost || r.URL.String() != a.issuer+"/token" {
		return a.next.RoundTrip(r)
	}
	body, _ := io.ReadAll(r.Body)
	q, _ := url.ParseQuery(string(body))
	if r.Header.Get("Authorization") != "" || q.Get("client_secret") != "" {
		a.t.Errorf("private_key_jwt token request also carries a secret")
	}
	if q.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || q.Get("client_id") != clientID {
		a.t.Errorf("token request %v: want client_assertion_type jwt-bearer and client_id", q)
	}
	tok, err := jwt.ParseSigned(q.Get("client_assertion"), []jose.SignatureAlgorithm{jose.ES256})
	var c jwt.Claims
	if err == nil {
		err = tok.Claims(a.pub, &c)
	}
	if err != nil {
		a.t.Errorf("client assertion does not verify with the client's key: %v", err)
	} else if c.Issuer != clientID || c.Subject != clientID || !c.Audience.Contains(a.issuer) || c.ID == "" || c.Expiry == nil {
		a.t.Errorf("client assertion claims = %+v, want iss = sub = %s, aud %s, jti, exp (RFC 7523 §3)", c, clientID, a.issuer)
	}
	a.seen++
	for _, k := range []string{"client_assertion", "client_assertion_type", "client_id"} {
		q.Del(k)
	}
	out := r.Clone(r.Context())
	enc := q.Encode()
	out.Body, out.ContentLength = io.NopCloser(bytes.NewReader([]byte(enc))), int64(len(enc))
	out.SetBasicAuth(clientID, a.secret)
	return a.next.RoundTrip(out)
}

func TestPrivateKeyJWT(t *testing.T) {
	f := newFixture(t)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	assertion, err := bff.PrivateKeyAssertion(clientID, key, "k1", f.env.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewUnstartedServer(nil)
	base := "http://" + ts.Listener.Addr().String()
	f.register(base)
	at := &assertionTransport{t: t, next: f.rt, issuer: f.env.Issuer, pub: &key.PublicKey, secret: f.env.Secrets[clientID]}
	ts.Config.Handler = f.newBFF(f.config(base, nil, func(c *bff.Config) {
		c.ClientAuth, c.ClientSecret, c.ClientAssertion = bff.PrivateKeyJWT, "", assertion
		c.HTTPClient = &http.Client{Transport: at}
	}))
	ts.Start()
	t.Cleanup(ts.Close)
	b := f.browser()
	signIn(t, b, base, f.env.Issuer)
	if at.seen != 1 {
		t.Errorf("token requests with a client assertion = %d, want 1", at.seen)
	}
}

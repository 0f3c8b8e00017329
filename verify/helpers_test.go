package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const testAudience = "https://api.example.test"

// testRSAKey is generated once per test binary (RSA generation is slow
// under -race) and never mutated. Every RS256 testKey shares it: tests
// that need two distinct keys use ES256 or EdDSA.
var testRSAKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

// fakeClock is a settable clock; tests never sleep.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testKey is a signing key of the test issuer.
type testKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

func (k testKey) public() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Algorithm: string(k.alg), Use: "sig"}
}

// newTestKey makes a key for alg with the given kid.
func newTestKey(t testing.TB, alg jose.SignatureAlgorithm, kid string) testKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256:
		priv = testRSAKey()
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		t.Fatalf("newTestKey: unsupported alg %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	return testKey{kid: kid, alg: alg, priv: priv}
}

// testIssuer is an httptest authorization server serving discovery and
// JWKS, counting requests, and minting tokens.
type testIssuer struct {
	srv   *httptest.Server
	clock *fakeClock

	mu        sync.Mutex
	published []jose.JSONWebKey
	jwksFail  bool

	jwksHits      atomic.Int64
	discoveryHits atomic.Int64
}

func newTestIssuer(t testing.TB) *testIssuer {
	t.Helper()
	ti := &testIssuer{clock: newFakeClock()}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		ti.discoveryHits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, ti.srv.URL, ti.srv.URL+"/jwks")
	})
	mux.HandleFunc("GET /jwks", func(w http.ResponseWriter, r *http.Request) {
		ti.jwksHits.Add(1)
		ti.mu.Lock()
		defer ti.mu.Unlock()
		if ti.jwksFail {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: ti.published})
	})
	ti.srv = httptest.NewServer(mux)
	t.Cleanup(ti.srv.Close)
	return ti
}

func (ti *testIssuer) issuer() string { return ti.srv.URL }

// publish adds k's public key to the JWKS.
func (ti *testIssuer) publish(k testKey) {
	ti.mu.Lock()
	defer ti.mu.Unlock()
	ti.published = append(ti.published, k.public())
}

// addKey makes and publishes a key.
func (ti *testIssuer) addKey(t testing.TB, alg jose.SignatureAlgorithm, kid string) testKey {
	k := newTestKey(t, alg, kid)
	ti.publish(k)
	return k
}

// claims returns valid access-token claims at the issuer's clock.
func (ti *testIssuer) claims() map[string]any {
	now := ti.clock.Now()
	return map[string]any{
		"iss":       ti.issuer(),
		"sub":       "user-123",
		"aud":       []string{testAudience},
		"client_id": "client-abc",
		"scope":     "openid orders:read",
		"iat":       now.Unix(),
		"exp":       now.Add(5 * time.Minute).Unix(),
		"jti":       "jti-1",
		"auth_time": now.Add(-time.Minute).Unix(),
		"amr":       []string{"pwd"},
		"gid":       "grant-9",
	}
}

// verifier returns a Verifier for the issuer on its clock; edit may
// change the config.
func (ti *testIssuer) verifier(t testing.TB, edit func(*Config)) *Verifier {
	t.Helper()
	cfg := Config{Issuer: ti.issuer(), Audience: testAudience, Now: ti.clock.Now}
	if edit != nil {
		edit(&cfg)
	}
	v, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// sign returns a compact JWS of payload signed by priv with alg and the
// given extra protected headers (which may override kid, typ, jwk).
func sign(t testing.TB, alg jose.SignatureAlgorithm, priv any, hdr map[string]any, payload any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range hdr {
		opts.WithHeader(jose.HeaderKey(k), v)
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: priv}, opts)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	b, err := json.Marshal(payload)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatalf("Sign: %v", err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// mint signs claims as an access token with k (typ at+jwt, kid k.kid).
func mint(t testing.TB, k testKey, claims any) string {
	t.Helper()
	return sign(t, k.alg, k.priv, map[string]any{"typ": "at+jwt", "kid": k.kid}, claims)
}

// b64 is base64url without padding.
func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// thumbprint is the RFC 7638 SHA-256 thumbprint of priv's public key.
func thumbprint(t testing.TB, priv crypto.Signer) string {
	t.Helper()
	jwk := jose.JSONWebKey{Key: priv.Public()}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return b64(tp)
}

// ath is base64url(SHA-256(token)) (RFC 9449 §4.2).
func ath(token string) string {
	sum := sha256.Sum256([]byte(token))
	return b64(sum[:])
}

// dpopProof builds a DPoP proof signed by priv (alg) with an embedded
// public jwk; edit may change the claims or headers.
func dpopProof(t testing.TB, alg jose.SignatureAlgorithm, priv crypto.Signer, claims map[string]any, hdr map[string]any) string {
	t.Helper()
	h := map[string]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: priv.Public()}}
	for k, v := range hdr {
		if v == nil {
			delete(h, k)
			continue
		}
		h[k] = v
	}
	return sign(t, alg, priv, h, claims)
}

package latchtest

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
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
)

// DPoPKey is a client's DPoP key pair (RFC 9449), as a browser would hold
// it in WebCrypto, for building real proofs in tests.
type DPoPKey struct {
	Alg  jose.SignatureAlgorithm
	Priv crypto.Signer
	// Public is the public JWK (what a proof embeds); JKT its RFC 7638
	// SHA-256 thumbprint, base64url (cnf.jkt, dpop_jkt).
	Public jose.JSONWebKey
	JKT    string
}

// NewDPoPKey generates a key for alg: ES256 (P-256), EdDSA (Ed25519),
// RS256 or PS256 (RSA 2048).
func NewDPoPKey(t testing.TB, alg jose.SignatureAlgorithm) *DPoPKey {
	t.Helper()
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.EdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	case jose.RS256, jose.PS256:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	default:
		t.Fatalf("NewDPoPKey: unsupported alg %s", alg)
	}
	if err != nil {
		t.Fatal(err)
	}
	pub := jose.JSONWebKey{Key: priv.Public()}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		t.Fatal(err)
	}
	return &DPoPKey{Alg: alg, Priv: priv, Public: pub, JKT: base64.RawURLEncoding.EncodeToString(tp)}
}

// ATH is the ath claim for an access token: base64url(SHA-256(token)).
func ATH(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Proof returns a proof for method and htu issued at iat, with a random
// jti. extra adds or overrides claims; a nil value removes the claim.
func (k *DPoPKey) Proof(t testing.TB, method, htu string, iat time.Time, extra map[string]any) string {
	t.Helper()
	claims := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(randomBytes(t, 16)),
		"htm": method,
		"htu": htu,
		"iat": iat.Unix(),
	}
	maps.Copy(claims, extra)
	maps.DeleteFunc(claims, func(_ string, v any) bool { return v == nil })
	return k.Sign(t, nil, claims)
}

// Sign signs claims with k's private key. The protected header has alg,
// typ "dpop+jwt" and k's public jwk; header adds or overrides members
// (e.g. a "jwk" of another key, a private JWK, another "typ").
func (k *DPoPKey) Sign(t testing.TB, header map[string]any, claims map[string]any) string {
	t.Helper()
	return SignJWS(t, jose.SigningKey{Algorithm: k.Alg, Key: k.Priv}, k.Public, header, claims)
}

// SignJWS signs claims with key (any go-jose signing key, HMAC included),
// with typ "dpop+jwt" and jwk in the protected header; header overrides.
func SignJWS(t testing.TB, key jose.SigningKey, jwk jose.JSONWebKey, header map[string]any, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", jwk)
	for name, v := range header {
		opts = opts.WithHeader(jose.HeaderKey(name), v)
	}
	sg, err := jose.NewSigner(key, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	jws, err := sg.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// UnsignedJWT builds an alg "none" JWT (an attack input: it must never
// be accepted).
func UnsignedJWT(t testing.TB, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + "."
}

func randomBytes(t testing.TB, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// DPoPProof is a proof by k for method on this Latch's path, issued now
// by the env clock.
func (e *Env) DPoPProof(k *DPoPKey, method, path string, extra map[string]any) string {
	e.t.Helper()
	return k.Proof(e.t, method, e.Issuer+path, e.Clock.Now(), extra)
}

// PostFormDPoP posts form to path with a DPoP header (none when proof is
// empty).
func (e *Env) PostFormDPoP(path string, form url.Values, proof string) (*http.Response, map[string]any) {
	e.t.Helper()
	return e.PostForm(path, form, func(r *http.Request) {
		if proof != "" {
			r.Header.Set("DPoP", proof)
		}
	})
}

// Userinfo calls userinfo with the given Authorization scheme, token and
// DPoP proof (none when empty).
func (e *Env) Userinfo(method, scheme, accessToken, proof string) (*http.Response, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), method, e.Issuer+"/userinfo", nil)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", strings.TrimSpace(scheme+" "+accessToken))
	if proof != "" {
		req.Header.Set("DPoP", proof)
	}
	return e.DoJSON(req)
}

// NewInstance is a second Latch over the same store, configuration and
// clock, as another replica behind a load balancer would be: anything
// shared through the store (DPoP replay cache, throttle counters, keys)
// must hold across it. Serve requests to it with ServeHTTP; URLs in them
// still name the issuer.
func (e *Env) NewInstance() http.Handler {
	e.t.Helper()
	srv, _ := e.NewInstanceHasher()
	return srv
}

// NewInstanceHasher is NewInstance, also returning the instance's
// password hasher (to count its checks or read its parameters).
func (e *Env) NewInstanceHasher() (http.Handler, *password.Hasher) {
	e.t.Helper()
	return e.NewInstanceOn(e.Store)
}

// NewInstanceOn is NewInstanceHasher over st: another connection to the
// same database, as another process would have.
func (e *Env) NewInstanceOn(st store.Store) (http.Handler, *password.Hasher) {
	e.t.Helper()
	var h *password.Hasher
	srv, err := app.Assemble(e.t.Context(), e.Config, st, nil, nil, e.Clock.Now, nil,
		func(o *server.Options) { h = o.Passwords })
	if err != nil {
		e.t.Fatalf("Assemble (second instance): %v", err)
	}
	return srv, h
}

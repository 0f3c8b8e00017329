package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/token"
)

// FuzzVerifyClientAssertion: whatever the input, VerifyClientAssertion
// never panics; a refusal wraps ErrInvalidClientAssertion; an acceptance
// has a jti and an expiry within MaxClientAssertionLifetime plus twice
// the leeway of now, and never happens for an unsigned assertion.
func FuzzVerifyClientAssertion(f *testing.F) {
	const issuer, client = "https://id.example.com", "app"
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	doc, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1"}}})
	keys, err := token.ParseClientJWKS(doc)
	if err != nil {
		f.Fatal(err)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	if err != nil {
		f.Fatal(err)
	}
	sign := func(c jwt.Claims) string {
		raw, err := jwt.Signed(signer).Claims(c).Serialize()
		if err != nil {
			f.Fatal(err)
		}
		return raw
	}
	good := jwt.Claims{Issuer: client, Subject: client, Audience: jwt.Audience{issuer}, ID: "j1", Expiry: jwt.NewNumericDate(fuzzNow.Add(time.Minute))}
	f.Add(sign(good))
	bad := good
	bad.Audience = jwt.Audience{issuer + "/token"}
	f.Add(sign(bad))
	f.Add("")
	f.Add("a.b.c")
	f.Add(latchtest.UnsignedJWT(f, map[string]any{"alg": "none"}, map[string]any{"iss": client, "sub": client, "aud": issuer, "jti": "j", "exp": fuzzNow.Add(time.Minute).Unix()}))
	check := token.ClientAssertionCheck{ClientID: client, Issuer: issuer, Now: fuzzNow}
	f.Fuzz(func(t *testing.T, raw string) {
		a, err := token.VerifyClientAssertion(raw, keys, check)
		if err != nil {
			if !errors.Is(err, token.ErrInvalidClientAssertion) {
				t.Fatalf("refusal %v does not wrap ErrInvalidClientAssertion", err)
			}
			return
		}
		if a.JTI == "" || a.Expires.After(fuzzNow.Add(token.MaxClientAssertionLifetime+2*token.ClientAssertionLeeway)) || !a.Expires.After(fuzzNow) {
			t.Fatalf("accepted %+v", a)
		}
		if _, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256}); err != nil {
			t.Fatalf("accepted an assertion that is not an ES256 JWS: %v", err)
		}
	})
}

// FuzzParseClientJWKS: never panics; an accepted set has 1 to 32 keys.
func FuzzParseClientJWKS(f *testing.F) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	doc, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1"}}})
	f.Add(doc)
	f.Add([]byte(`{"keys":[{"kty":"oct","k":"AAAA"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := token.ParseClientJWKS(data)
		if err == nil && (s.Len() < 1 || s.Len() > 32) {
			t.Fatalf("accepted a set of %d keys", s.Len())
		}
	})
}

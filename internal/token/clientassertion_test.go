package token

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// TestParseClientJWKS: only public signature keys of the accepted types
// are registered; anything a client could share with Latch, or that
// Latch would not verify with, is refused with a reason.
func TestParseClientJWKS(t *testing.T) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ec384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	edPub, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	set := func(keys ...jose.JSONWebKey) string {
		b, err := json.Marshal(jose.JSONWebKeySet{Keys: keys})
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	cases := []struct {
		name, doc, wantErr string
	}{
		{"EC and Ed25519 public keys", set(jose.JSONWebKey{Key: ec.Public(), KeyID: "a", Use: "sig"}, jose.JSONWebKey{Key: edPub, KeyID: "b", Algorithm: "EdDSA"}), ""},
		{"private key", set(jose.JSONWebKey{Key: edPriv, KeyID: "p"}), "private or symmetric"},
		{"symmetric key", `{"keys":[{"kty":"oct","k":"c2VjcmV0c2VjcmV0c2VjcmV0","kid":"s"}]}`, "private or symmetric"},
		{"RSA 1024", set(jose.JSONWebKey{Key: small.Public(), KeyID: "r"}), "shorter than 2048"},
		{"P-384", set(jose.JSONWebKey{Key: ec384.Public(), KeyID: "e"}), "P-256"},
		{"encryption key", set(jose.JSONWebKey{Key: ec.Public(), KeyID: "a", Use: "enc"}), "use"},
		{"HS256 alg", set(jose.JSONWebKey{Key: ec.Public(), KeyID: "a", Algorithm: "HS256"}), "alg"},
		{"no keys", `{"keys":[]}`, "no keys"},
		{"not JSON", `keys`, "not a JWK Set"},
		{"too big", `{"keys":[` + strings.Repeat(" ", MaxJWKSBytes) + `]}`, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseClientJWKS([]byte(tc.doc))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("ParseClientJWKS = %v, want nil", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("ParseClientJWKS = %v, want an error containing %q", err, tc.wantErr)
			}
		})
	}
}

// BenchmarkVerifyClientAssertion: one ES256 assertion verified against a
// one-key set (the per-request cost of private_key_jwt before the jti
// write).
func BenchmarkVerifyClientAssertion(b *testing.B) {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	doc, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: k.Public(), KeyID: "k1"}}})
	keys, err := ParseClientJWKS(doc)
	if err != nil {
		b.Fatal(err)
	}
	s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	now := time.Unix(1_750_000_000, 0)
	raw, _ := jwt.Signed(s).Claims(jwt.Claims{Issuer: "app", Subject: "app", Audience: jwt.Audience{"https://id.example"}, ID: "j", Expiry: jwt.NewNumericDate(now.Add(time.Minute))}).Serialize()
	check := ClientAssertionCheck{ClientID: "app", Issuer: "https://id.example", Now: now}
	for b.Loop() {
		if _, err := VerifyClientAssertion(raw, keys, check); err != nil {
			b.Fatal(err)
		}
	}
}

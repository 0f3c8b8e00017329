package token_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/token"
)

const (
	testHTU   = "https://id.example.com/token"
	testToken = "eyJhbGciOiJFUzI1NiJ9.access.token"
)

var testNow = time.Unix(1_750_000_000, 0)

func TestParseDPoPProofAlgorithms(t *testing.T) {
	for _, alg := range []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.PS256} {
		t.Run(string(alg), func(t *testing.T) {
			k := latchtest.NewDPoPKey(t, alg)
			raw := k.Proof(t, "POST", testHTU, testNow, map[string]any{"jti": "jti-1"})
			p, err := token.ParseDPoPProof(raw, token.DPoPCheck{Method: "POST", URL: testHTU, Now: testNow})
			if err != nil {
				t.Fatalf("ParseDPoPProof(valid %s proof) = %v", alg, err)
			}
			if p.JKT != k.JKT || p.JTI != "jti-1" || !p.IssuedAt.Equal(testNow) {
				t.Errorf("proof = %+v, want jkt %s jti jti-1 iat %v", p, k.JKT, testNow)
			}
			if want := testNow.Add(token.DefaultDPoPWindow + token.DefaultDPoPLeeway); !p.Expires.Equal(want) {
				t.Errorf("Expires = %v, want %v", p.Expires, want)
			}
		})
	}
	if got := token.DPoPAlgorithms(); strings.Join(got, " ") != "ES256 EdDSA RS256 PS256" {
		t.Errorf("DPoPAlgorithms() = %v", got)
	}
}

// TestParseDPoPProofAttacks: every malformed, misdirected, stale or
// forged proof is refused with ErrInvalidDPoPProof.
func TestParseDPoPProofAttacks(t *testing.T) {
	k := latchtest.NewDPoPKey(t, jose.ES256)
	other := latchtest.NewDPoPKey(t, jose.ES256)
	rsaSmall, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	claims := func(extra map[string]any) map[string]any {
		c := map[string]any{"jti": "j", "htm": "POST", "htu": testHTU, "iat": testNow.Unix()}
		for n, v := range extra {
			if v == nil {
				delete(c, n)
			} else {
				c[n] = v
			}
		}
		return c
	}
	proof := func(extra map[string]any) string { return k.Proof(t, "POST", testHTU, testNow, extra) }
	window := token.DefaultDPoPWindow + token.DefaultDPoPLeeway

	cases := []struct {
		name  string
		raw   string
		check token.DPoPCheck // Method, URL and Now default to POST, testHTU, testNow
		nonce bool            // want ErrDPoPNonce
	}{
		{name: "empty", raw: ""},
		{name: "garbage", raw: "not.a.jwt"},
		{name: "oversized", raw: proof(map[string]any{"pad": strings.Repeat("x", 9000)})},
		{name: "alg none", raw: latchtest.UnsignedJWT(t, map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": k.Public}, claims(nil))},
		{name: "HS256 keyed with anything", raw: latchtest.SignJWS(t, jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, k.Public, nil, claims(nil))},
		{name: "ES384 not accepted", raw: func() string {
			p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
			return latchtest.SignJWS(t, jose.SigningKey{Algorithm: jose.ES384, Key: p384}, jose.JSONWebKey{Key: p384.Public()}, nil, claims(nil))
		}()},
		{name: "typ JWT", raw: k.Sign(t, map[string]any{"typ": "JWT"}, claims(nil))},
		{name: "typ at+jwt", raw: k.Sign(t, map[string]any{"typ": "at+jwt"}, claims(nil))},
		{name: "jwk with private key", raw: k.Sign(t, map[string]any{"jwk": jose.JSONWebKey{Key: ecPriv}}, claims(nil))},
		{name: "signed by A, jwk of B", raw: k.Sign(t, map[string]any{"jwk": other.Public}, claims(nil))},
		{name: "jwk alg differs from alg", raw: k.Sign(t, map[string]any{"jwk": jose.JSONWebKey{Key: k.Public.Key, Algorithm: "RS256"}}, claims(nil))},
		{name: "kid instead of jwk", raw: func() string {
			sg, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ecPriv}, (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("kid", "k1"))
			jws, _ := sg.Sign([]byte(`{"jti":"j","htm":"POST","htu":"` + testHTU + `","iat":` + strconv.FormatInt(testNow.Unix(), 10) + `}`))
			s, _ := jws.CompactSerialize()
			return s
		}()},
		{name: "RSA 1024", raw: latchtest.SignJWS(t, jose.SigningKey{Algorithm: jose.RS256, Key: rsaSmall}, jose.JSONWebKey{Key: rsaSmall.Public()}, nil, claims(nil))},
		{name: "no jti", raw: proof(map[string]any{"jti": nil})},
		{name: "jti too long", raw: proof(map[string]any{"jti": strings.Repeat("j", 257)})},
		{name: "jti with a NUL (the replay cache stores it)", raw: proof(map[string]any{"jti": "a\x00b"})},
		{name: "no htm", raw: proof(map[string]any{"htm": nil})},
		{name: "no htu", raw: proof(map[string]any{"htu": nil})},
		{name: "no iat", raw: proof(map[string]any{"iat": nil})},
		{name: "iat a string", raw: proof(map[string]any{"iat": "now"})},
		{name: "htm GET for POST", raw: proof(map[string]any{"htm": "GET"})},
		{name: "htm lower case", raw: proof(map[string]any{"htm": "post"})},
		{name: "htu other host", raw: proof(map[string]any{"htu": "https://evil.example.com/token"})},
		{name: "htu other path", raw: proof(map[string]any{"htu": "https://id.example.com/userinfo"})},
		{name: "htu trailing slash", raw: proof(map[string]any{"htu": testHTU + "/"})},
		{name: "htu http for https", raw: proof(map[string]any{"htu": "http://id.example.com/token"})},
		{name: "htu other port", raw: proof(map[string]any{"htu": "https://id.example.com:8443/token"})},
		{name: "htu with userinfo", raw: proof(map[string]any{"htu": "https://a@id.example.com/token"})},
		{name: "htu relative", raw: proof(map[string]any{"htu": "/token"})},
		{name: "iat too old", raw: proof(map[string]any{"iat": testNow.Add(-window - time.Second).Unix()})},
		{name: "iat in the future", raw: proof(map[string]any{"iat": testNow.Add(window + time.Second).Unix()})},
		{name: "iat huge", raw: proof(map[string]any{"iat": 1e300})},
		{name: "ath missing", raw: proof(nil), check: token.DPoPCheck{AccessToken: testToken}},
		{name: "ath of another token", raw: proof(map[string]any{"ath": latchtest.ATH("other")}), check: token.DPoPCheck{AccessToken: testToken}},
		{name: "nonce missing", raw: proof(nil), check: token.DPoPCheck{Nonce: func(string) bool { return true }}, nonce: true},
		{name: "nonce refused", raw: proof(map[string]any{"nonce": "stale"}), check: token.DPoPCheck{Nonce: func(n string) bool { return n == "fresh" }}, nonce: true},
		{name: "nonce not a string", raw: proof(map[string]any{"nonce": 7}), check: token.DPoPCheck{Nonce: func(string) bool { return true }}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			c.Method, c.URL, c.Now = "POST", testHTU, testNow
			p, err := token.ParseDPoPProof(tc.raw, c)
			if err == nil {
				t.Fatalf("ParseDPoPProof accepted the proof: %+v", p)
			}
			if !errors.Is(err, token.ErrInvalidDPoPProof) {
				t.Errorf("error %v does not wrap ErrInvalidDPoPProof", err)
			}
			if got := errors.Is(err, token.ErrDPoPNonce); got != tc.nonce {
				t.Errorf("errors.Is(%v, ErrDPoPNonce) = %v, want %v", err, got, tc.nonce)
			}
			var de *token.DPoPError
			if !errors.As(err, &de) || de.Reason == "" {
				t.Errorf("error %v is not a *DPoPError with a reason", err)
			} else if strings.Contains(de.Reason, "evil") || strings.Contains(de.Reason, "stale") {
				t.Errorf("Reason %q echoes the proof", de.Reason)
			}
		})
	}
}

// TestParseDPoPProofAccepts: what the RFC allows is accepted.
func TestParseDPoPProofAccepts(t *testing.T) {
	k := latchtest.NewDPoPKey(t, jose.EdDSA)
	window := token.DefaultDPoPWindow + token.DefaultDPoPLeeway
	cases := []struct {
		name  string
		extra map[string]any
		check token.DPoPCheck
	}{
		{name: "query and fragment ignored", extra: map[string]any{"htu": testHTU + "?a=b#frag"}},
		{name: "default port and host case", extra: map[string]any{"htu": "HTTPS://ID.Example.COM:443/token"}},
		{name: "iat at the oldest edge", extra: map[string]any{"iat": testNow.Add(-window).Unix()}},
		{name: "iat at the newest edge", extra: map[string]any{"iat": testNow.Add(window).Unix()}},
		{name: "ath matches", extra: map[string]any{"ath": latchtest.ATH(testToken)}, check: token.DPoPCheck{AccessToken: testToken}},
		{name: "ath ignored without a token", extra: map[string]any{"ath": "whatever"}},
		{name: "nonce accepted", extra: map[string]any{"nonce": "fresh"}, check: token.DPoPCheck{Nonce: func(n string) bool { return n == "fresh" }}},
		{name: "nonce ignored when off", extra: map[string]any{"nonce": "anything"}},
		{name: "custom window", extra: map[string]any{"iat": testNow.Add(-9 * time.Second).Unix()}, check: token.DPoPCheck{Window: 5 * time.Second, Leeway: 5 * time.Second}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.check
			c.Method, c.URL, c.Now = "POST", testHTU, testNow
			if _, err := token.ParseDPoPProof(k.Proof(t, "POST", testHTU, testNow, tc.extra), c); err != nil {
				t.Errorf("ParseDPoPProof = %v, want accepted", err)
			}
		})
	}
	// A custom window is honoured on the refusing side too.
	c := token.DPoPCheck{Method: "POST", URL: testHTU, Now: testNow, Window: 5 * time.Second, Leeway: -1}
	if _, err := token.ParseDPoPProof(k.Proof(t, "POST", testHTU, testNow.Add(-6*time.Second), nil), c); err == nil {
		t.Error("proof 6s old accepted with a 5s window and no leeway")
	}
}

func TestNormalizeHTU(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://ID.example.com", "https://id.example.com/"},
		{"https://id.example.com:443/a?b#c", "https://id.example.com/a"},
		{"http://127.0.0.1:80/token", "http://127.0.0.1/token"},
		{"http://[::1]:8080/token", "http://[::1]:8080/token"},
		{"ftp://x/y", ""},
		{"https:///path", ""},
		{"https://u:p@x/", ""},
		{"mailto:a@b", ""},
	} {
		got, err := token.NormalizeHTU(tc.in)
		if (err != nil) != (tc.want == "") || got != tc.want {
			t.Errorf("NormalizeHTU(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

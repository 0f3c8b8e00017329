package security

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/latchtest"
)

// forgery is one way to make a JWT that Latch must not accept.
type forgery struct {
	name string
	make func(real string) string
}

// forgeries returns attacks on a real token of Latch (typ is its JOSE
// typ), each claiming to be from Latch: claims taken from the real token,
// with sub switched to sub where the attack controls the payload.
func forgeries(t *testing.T, e *latchtest.Env, typ, sub string) []forgery {
	t.Helper()
	latch := jwks(t, e).Keys[0]
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := x509.MarshalPKIXPublicKey(latch.Key)
	if err != nil {
		t.Fatal(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	jwkJSON, _ := json.Marshal(latch.Public())

	claimsOf := func(real string) map[string]any {
		_, c := latchtest.DecodeJWT(t, real)
		c["sub"] = sub
		return c
	}
	sign := func(key jose.SigningKey, header map[string]any, claims map[string]any) string {
		opts := &jose.SignerOptions{}
		for k, v := range header {
			opts = opts.WithHeader(jose.HeaderKey(k), v)
		}
		sg, err := jose.NewSigner(key, opts)
		if err != nil {
			t.Fatalf("signer %s: %v", key.Algorithm, err)
		}
		payload, _ := json.Marshal(claims)
		jws, err := sg.Sign(payload)
		if err != nil {
			t.Fatal(err)
		}
		s, _ := jws.CompactSerialize()
		return s
	}
	hmac := func(key []byte) func(string) string {
		return func(real string) string {
			return sign(jose.SigningKey{Algorithm: jose.HS256, Key: key}, map[string]any{"kid": latch.KeyID, "typ": typ}, claimsOf(real))
		}
	}
	attackerKey := jose.SigningKey{Algorithm: jose.ES256, Key: attacker}
	attackerJWK := jose.JSONWebKey{Key: attacker.Public(), KeyID: "attacker", Algorithm: "ES256", Use: "sig"}
	parts := func(real string) []string { return strings.Split(real, ".") }
	enc := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }
	header := func(real string) map[string]any { h, _ := latchtest.DecodeJWT(t, real); return h }

	return []forgery{
		{"signed by another key under Latch's kid", func(real string) string {
			return sign(attackerKey, map[string]any{"kid": latch.KeyID, "typ": typ}, claimsOf(real))
		}},
		{"signed by another key with an unknown kid", func(real string) string {
			return sign(attackerKey, map[string]any{"kid": "attacker", "typ": typ}, claimsOf(real))
		}},
		{"signed by another key without kid", func(real string) string {
			return sign(attackerKey, map[string]any{"typ": typ}, claimsOf(real))
		}},
		{"attacker's key embedded as jwk", func(real string) string {
			return sign(attackerKey, map[string]any{"kid": latch.KeyID, "typ": typ, "jwk": attackerJWK.Public()}, claimsOf(real))
		}},
		{"attacker's key by jku", func(real string) string {
			return sign(attackerKey, map[string]any{"kid": "attacker", "typ": typ, "jku": "https://attacker.example/jwks.json"}, claimsOf(real))
		}},
		{"alg none", func(real string) string {
			return latchtest.UnsignedJWT(t, map[string]any{"alg": "none", "kid": latch.KeyID, "typ": typ}, claimsOf(real))
		}},
		{"alg None", func(real string) string {
			return latchtest.UnsignedJWT(t, map[string]any{"alg": "None", "kid": latch.KeyID, "typ": typ}, claimsOf(real))
		}},
		{"alg none with the real signature", func(real string) string {
			p := parts(real)
			h := header(real)
			h["alg"] = "none"
			return enc(h) + "." + enc(claimsOf(real)) + "." + p[2]
		}},
		{"HS256 keyed with the public JWK", hmac(jwkJSON)},
		{"HS256 keyed with the public key PEM", hmac(pemKey)},
		{"HS256 keyed with the public key DER", hmac(der)},
		{"real token, alg switched to HS256", func(real string) string {
			p, h := parts(real), header(real)
			h["alg"] = "HS256"
			return enc(h) + "." + p[1] + "." + p[2]
		}},
		{"real token, alg switched to RS256", func(real string) string {
			p, h := parts(real), header(real)
			h["alg"] = "RS256"
			return enc(h) + "." + p[1] + "." + p[2]
		}},
		{"real signature, payload changed", func(real string) string {
			p := parts(real)
			return p[0] + "." + enc(claimsOf(real)) + "." + p[2]
		}},
		{"signature stripped", func(real string) string {
			p := parts(real)
			return p[0] + "." + p[1] + "."
		}},
		{"JWS JSON serialization of the real token", func(real string) string {
			p := parts(real)
			b, _ := json.Marshal(map[string]string{"protected": p[0], "payload": p[1], "signature": p[2]})
			return string(b)
		}},
		{"another Latch's genuine token", func(string) string {
			other := start(t)
			if typ == "at+jwt" {
				tok, _ := other.CodeFlow(other.Browser(), "openid")
				return tok.AccessToken
			}
			tok, _ := other.CodeFlow(other.Browser(), "openid")
			return tok.Extra("id_token").(string)
		}},
	}
}

// TestForgedAccessTokens is RFC 9700 §4.9 and RFC 8725 §2.1, §3.1: a
// resource server must accept only tokens Latch signed. Every forgery —
// alg none, another key, algorithm confusion (HMAC keyed with Latch's
// public key), a tampered payload, a token of another issuer — is
// refused by userinfo, by introspection and by the verify package.
func TestForgedAccessTokens(t *testing.T) {
	e := start(t)
	tok, _ := e.CodeFlow(e.Browser(), "openid")
	real := tok.AccessToken
	rs := resourceServer(t, e, e.Issuer)
	introspect := func(tk string) map[string]any {
		resp, body := e.PostForm("/introspect", url.Values{"token": {tk}}, withSecret(e, "app"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("introspection: %d %v", resp.StatusCode, body)
		}
		return body
	}
	// Controls: the genuine token passes everywhere.
	if e.UserinfoStatus(real) != http.StatusOK || introspect(real)["active"] != true {
		t.Fatal("control: the genuine token is refused")
	}
	if _, err := rs.Verify(t.Context(), real); err != nil {
		t.Fatalf("control: verify refuses the genuine token: %v", err)
	}
	for _, f := range forgeries(t, e, "at+jwt", "user-mallory") {
		t.Run(f.name, func(t *testing.T) {
			forged := f.make(real)
			if got := e.UserinfoStatus(forged); got != http.StatusUnauthorized && got != http.StatusBadRequest {
				t.Errorf("userinfo: %d, want 401", got)
			}
			if body := introspect(forged); body["active"] != false {
				t.Errorf("introspection: %v, want active=false", body)
			}
			if c, err := rs.Verify(t.Context(), forged); err == nil {
				t.Errorf("verify accepted the forgery: sub=%s", c.Subject)
			}
		})
	}
	t.Run("expired genuine token", func(t *testing.T) {
		e.Clock.Advance(11 * time.Minute)
		if got := e.UserinfoStatus(real); got != http.StatusUnauthorized {
			t.Errorf("userinfo: %d, want 401", got)
		}
		if body := introspect(real); body["active"] != false {
			t.Errorf("introspection: %v, want active=false", body)
		}
		if _, err := rs.Verify(t.Context(), real); err == nil {
			t.Error("verify accepted an expired token")
		}
	})
}

// TestTokenTypeConfusion is RFC 8725 §3.11: explicit typing keeps one kind
// of Latch token from passing for another. An ID token is not an access
// token, and an access token is not an ID token hint.
func TestTokenTypeConfusion(t *testing.T) {
	e := start(t)
	tok, _ := e.CodeFlow(e.Browser(), "openid")
	idToken := tok.Extra("id_token").(string)
	if got := e.UserinfoStatus(idToken); got != http.StatusUnauthorized {
		t.Errorf("userinfo with an ID token: %d, want 401", got)
	}
	if _, err := resourceServer(t, e, "spa").Verify(t.Context(), idToken); err == nil {
		t.Error("verify accepted an ID token (aud spa) as an access token")
	}
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect)
	p := b.Get(e.Issuer + "/logout?" + url.Values{"id_token_hint": {tok.AccessToken}, "post_logout_redirect_uri": {"http://spa.test:3000/"}}.Encode())
	requireErrorPage(t, p)
}

// TestForgedIDTokenHint: an id_token_hint lets RP-Initiated Logout sign
// the user out without asking (OIDC RP-Initiated Logout §2). A forged
// hint must not: Latch shows its error page, does not redirect, and the
// user stays signed in.
func TestForgedIDTokenHint(t *testing.T) {
	e := start(t)
	tok, _ := e.CodeFlow(e.Browser(), "openid")
	real := tok.Extra("id_token").(string)
	logoutURL := func(hint string) string {
		return e.Issuer + "/logout?" + url.Values{"id_token_hint": {hint}, "post_logout_redirect_uri": {"http://spa.test:3000/"}}.Encode()
	}
	signedIn := func() *latchtest.Browser {
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		return b
	}
	// The victim's own subject in the forgeries: the attack is to sign
	// the victim out without asking.
	for _, f := range forgeries(t, e, "JWT", "user-alice") {
		t.Run(f.name, func(t *testing.T) {
			b := signedIn()
			requireErrorPage(t, b.Get(logoutURL(f.make(real))))
			requireCodeRedirect(t, b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, strings.Repeat("v", 43)))), latchtest.SPARedirect)
		})
	}
	t.Run("control: the genuine hint of this session signs out", func(t *testing.T) {
		b := e.Browser()
		tok, _ := e.CodeFlow(b, "openid")
		p := b.Get(logoutURL(tok.Extra("id_token").(string)))
		if !strings.HasPrefix(p.Header.Get("Location"), "http://spa.test:3000/") {
			t.Fatalf("genuine hint: %d %q", p.Status, p.Header.Get("Location"))
		}
		requireNotSignedIn(t, e, b)
	})
}

package security

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/verify"
)

// dpopTokens runs spa's code flow with a DPoP proof by k (RFC 9449 §5).
func dpopTokens(t *testing.T, e *latchtest.Env, k *latchtest.DPoPKey) map[string]any {
	t.Helper()
	c := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)
	resp, body := e.PostFormDPoP("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier), e.DPoPProof(k, "POST", "/token", nil))
	if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
		t.Fatalf("setup: DPoP code exchange: %d %v", resp.StatusCode, body)
	}
	return body
}

// TestDPoPStolenAccessToken is RFC 9700 §4.10.1 (sender-constrained
// tokens) with RFC 9449 §7: a DPoP-bound access token stolen from the
// browser is useless without the private key, which never leaves it
// (a non-extractable WebCrypto key in the example SPA).
func TestDPoPStolenAccessToken(t *testing.T) {
	e := start(t)
	owner, thief := latchtest.NewDPoPKey(t, jose.ES256), latchtest.NewDPoPKey(t, jose.ES256)
	at := dpopTokens(t, e, owner)["access_token"].(string)
	proofFor := func(k *latchtest.DPoPKey, extra map[string]any) string {
		if extra == nil {
			extra = map[string]any{}
		}
		if _, ok := extra["ath"]; !ok {
			extra["ath"] = latchtest.ATH(at)
		}
		return e.DPoPProof(k, "GET", "/userinfo", extra)
	}
	if resp, _ := e.Userinfo("GET", "DPoP", at, proofFor(owner, nil)); resp.StatusCode != http.StatusOK {
		t.Fatalf("control: the owner's request: %d", resp.StatusCode)
	}
	replayed := proofFor(owner, nil)
	e.Userinfo("GET", "DPoP", at, replayed)
	cases := []struct {
		name, scheme, proof string
	}{
		{"as a Bearer token", "Bearer", ""},
		{"DPoP scheme without a proof", "DPoP", ""},
		{"with the thief's own key", "DPoP", proofFor(thief, nil)},
		{"with a replayed proof of the owner", "DPoP", replayed},
		{"with the owner's proof for another token (ath)", "DPoP", proofFor(owner, map[string]any{"ath": latchtest.ATH("another-token")})},
		{"with the owner's proof without ath", "DPoP", proofFor(owner, map[string]any{"ath": nil})},
		{"with the owner's proof for another URL", "DPoP", owner.Proof(t, "GET", e.Issuer+"/token", e.Clock.Now(), map[string]any{"ath": latchtest.ATH(at)})},
		{"with the owner's proof for another method", "DPoP", owner.Proof(t, "POST", e.Issuer+"/userinfo", e.Clock.Now(), map[string]any{"ath": latchtest.ATH(at)})},
		{"with an old proof of the owner", "DPoP", owner.Proof(t, "GET", e.Issuer+"/userinfo", e.Clock.Now().Add(-time.Hour), map[string]any{"ath": latchtest.ATH(at)})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.Userinfo("GET", tc.scheme, at, tc.proof)
			if resp.StatusCode != http.StatusUnauthorized && resp.StatusCode != http.StatusBadRequest {
				t.Errorf("userinfo: %d %v, want 401", resp.StatusCode, body)
			}
			if body["sub"] != nil {
				t.Errorf("user data returned: %v", body)
			}
		})
	}

	t.Run("at a resource server using verify", func(t *testing.T) {
		rs := resourceServer(t, e, e.Issuer)
		api := httptest.NewRequestWithContext(t.Context(), "GET", "https://api.example/orders", nil)
		api.Header.Set("Authorization", "Bearer "+at)
		if _, err := rs.VerifyRequest(api); err == nil {
			t.Error("verify accepted a DPoP-bound token as Bearer")
		}
		if _, err := rs.Verify(t.Context(), at); err == nil {
			t.Error("verify.Verify accepted a DPoP-bound token without a proof")
		}
		if _, err := rs.VerifyDPoP(t.Context(), at, thief.Proof(t, "GET", "https://api.example/orders", e.Clock.Now(), map[string]any{"ath": latchtest.ATH(at)}), "GET", "https://api.example/orders"); err == nil {
			t.Error("verify accepted the thief's proof")
		}
		if _, err := rs.VerifyDPoP(t.Context(), at, owner.Proof(t, "GET", "https://api.example/orders", e.Clock.Now(), map[string]any{"ath": latchtest.ATH(at)}), "GET", "https://api.example/orders"); err != nil {
			t.Errorf("control: verify refused the owner's proof: %v", err)
		}
	})
}

// TestDPoPStolenRefreshToken is RFC 9700 §4.14.2 with RFC 9449 §5: a
// public client's refresh token is bound to the DPoP key of the code
// exchange. Stolen, it does not refresh without that key — and the
// thief's attempts do not burn it for the owner.
func TestDPoPStolenRefreshToken(t *testing.T) {
	e := start(t)
	owner, thief := latchtest.NewDPoPKey(t, jose.ES256), latchtest.NewDPoPKey(t, jose.EdDSA)
	rt := dpopTokens(t, e, owner)["refresh_token"].(string)
	for name, proof := range map[string]string{
		"no proof":          "",
		"the thief's proof": e.DPoPProof(thief, "POST", "/token", nil),
	} {
		t.Run(name, func(t *testing.T) {
			resp, body := e.PostFormDPoP("/token", refreshForm("spa", rt), proof)
			requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
	}
	resp, body := e.PostFormDPoP("/token", refreshForm("spa", rt), e.DPoPProof(owner, "POST", "/token", nil))
	if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
		t.Fatalf("control: the owner's refresh after the thief's attempts: %d %v", resp.StatusCode, body)
	}
}

// TestDPoPForgedProofs: a proof is a JWT Latch accepts, so the JWT
// attacks apply: alg none, HMAC, a private key in the header, a header
// key that did not sign, the wrong typ. Each is invalid_dpop_proof and the
// code is not spent.
func TestDPoPForgedProofs(t *testing.T) {
	e := start(t)
	k, other := latchtest.NewDPoPKey(t, jose.ES256), latchtest.NewDPoPKey(t, jose.ES256)
	now := e.Clock.Now()
	claims := func() map[string]any {
		return map[string]any{"jti": rand43(), "htm": "POST", "htu": e.Issuer + "/token", "iat": now.Unix()}
	}
	privJWK := jose.JSONWebKey{Key: k.Priv}
	cases := map[string]string{
		"alg none":                      latchtest.UnsignedJWT(t, map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": k.Public}, claims()),
		"HS256 keyed with the JWK":      latchtest.SignJWS(t, jose.SigningKey{Algorithm: jose.HS256, Key: []byte(`{"kty":"EC","crv":"P-256"}-padding-to-32-bytes`)}, k.Public, nil, claims()),
		"private key in the header":     latchtest.SignJWS(t, jose.SigningKey{Algorithm: jose.ES256, Key: k.Priv}, privJWK, nil, claims()),
		"header key is not the signer":  latchtest.SignJWS(t, jose.SigningKey{Algorithm: jose.ES256, Key: other.Priv}, k.Public, nil, claims()),
		"typ JWT":                       k.Sign(t, map[string]any{"typ": "JWT"}, claims()),
		"iat in the future":             k.Proof(t, "POST", e.Issuer+"/token", now.Add(time.Hour), nil),
		"htu with another host":         k.Proof(t, "POST", "https://attacker.example/token", now, nil),
		"htu with another path":         k.Proof(t, "POST", e.Issuer+"/userinfo", now, nil),
		"no jti":                        k.Proof(t, "POST", e.Issuer+"/token", now, map[string]any{"jti": nil}),
		"not a JWT":                     "not-a-jwt",
		"access-token-shaped (at+jwt)":  k.Sign(t, map[string]any{"typ": "at+jwt"}, claims()),
		"proof by key with a bad curve": latchtest.UnsignedJWT(t, map[string]any{"alg": "ES256", "typ": "dpop+jwt", "jwk": map[string]any{"kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"}}, claims()),
	}
	b := e.Browser()
	for name, proof := range cases {
		t.Run(name, func(t *testing.T) {
			c := e.IssueCode(b, "spa", latchtest.SPARedirect)
			form := exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier)
			resp, body := e.PostFormDPoP("/token", form, proof)
			requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
			// The code was not spent by the bad proof.
			if resp, body := e.PostFormDPoP("/token", form, e.DPoPProof(k, "POST", "/token", nil)); resp.StatusCode != http.StatusOK {
				t.Errorf("the code after a rejected proof: %d %v", resp.StatusCode, body)
			}
		})
	}
	t.Run("replayed proof", func(t *testing.T) {
		proof := e.DPoPProof(k, "POST", "/token", nil)
		c := e.IssueCode(b, "spa", latchtest.SPARedirect)
		if resp, body := e.PostFormDPoP("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier), proof); resp.StatusCode != http.StatusOK {
			t.Fatalf("control: %d %v", resp.StatusCode, body)
		}
		c = e.IssueCode(b, "spa", latchtest.SPARedirect)
		resp, body := e.PostFormDPoP("/token", exchangeForm("spa", c.Code, latchtest.SPARedirect, c.Verifier), proof)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
	})
}

// TestDPoPBindingAtAuthorize: a code requested with dpop_jkt (RFC 9449
// §10) is redeemed only with a proof by that key, so a stolen code is
// useless even with the verifier.
func TestDPoPBindingAtAuthorize(t *testing.T) {
	e := start(t)
	owner, thief := latchtest.NewDPoPKey(t, jose.ES256), latchtest.NewDPoPKey(t, jose.ES256)
	b := e.Browser()
	issue := func() (string, string) {
		v := rand43()
		q := authParams("spa", latchtest.SPARedirect, v)
		q.Set("dpop_jkt", owner.JKT)
		return requireCodeRedirect(t, signIn(b, authorizeURL(e, q)), latchtest.SPARedirect).Get("code"), v
	}
	for name, proof := range map[string]func() string{
		"thief's key": func() string { return e.DPoPProof(thief, "POST", "/token", nil) },
		"no proof":    func() string { return "" },
	} {
		code, v := issue()
		resp, body := e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, v), proof())
		if resp.StatusCode != http.StatusBadRequest || body["access_token"] != nil {
			t.Errorf("%s: %d %v, want 400 and no token", name, resp.StatusCode, body)
		}
	}
	code, v := issue()
	if resp, body := e.PostFormDPoP("/token", exchangeForm("spa", code, latchtest.SPARedirect, v), e.DPoPProof(owner, "POST", "/token", nil)); resp.StatusCode != http.StatusOK {
		t.Fatalf("control: %d %v", resp.StatusCode, body)
	}
}

// TestDPoPRequiredByClient: a client registered to require DPoP cannot be
// downgraded to Bearer by leaving the proof out.
func TestDPoPRequiredByClient(t *testing.T) {
	e := start(t)
	e.MustClient(store.Client{ID: "strict", Public: true, FirstParty: true, RequireDPoP: true,
		RedirectURIs: []string{"https://strict.example/cb"}, GrantTypes: []string{"authorization_code", "refresh_token"}})
	c := e.IssueCode(e.Browser(), "strict", "https://strict.example/cb")
	form := exchangeForm("strict", c.Code, "https://strict.example/cb", c.Verifier)
	resp, body := e.PostForm("/token", form)
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
	k := latchtest.NewDPoPKey(t, jose.ES256)
	if resp, body := e.PostFormDPoP("/token", form, e.DPoPProof(k, "POST", "/token", nil)); resp.StatusCode != http.StatusOK {
		t.Fatalf("control: %d %v", resp.StatusCode, body)
	}
}

// TestDPoPDiscovery: only asymmetric proof algorithms are advertised,
// and every one of them is accepted by the verify package's defaults —
// end to end: a client proving with any advertised algorithm gets a
// token that a verify-protected API accepts with a proof by the same key
// (issue 11 item 17: PS256 was advertised, accepted at /token, and
// refused by verify).
func TestDPoPDiscovery(t *testing.T) {
	e := start(t)
	var meta struct {
		Algs []string `json:"dpop_signing_alg_values_supported"`
	}
	getJSON(t, e.Issuer+"/.well-known/openid-configuration", &meta)
	if len(meta.Algs) == 0 {
		t.Fatal("dpop_signing_alg_values_supported missing")
	}
	for _, a := range meta.Algs {
		if a == "none" || a[:2] == "HS" {
			t.Errorf("advertised DPoP alg %q", a)
		}
		if !slices.Contains(verify.DefaultDPoPAlgorithms(), a) {
			t.Errorf("advertised DPoP alg %q is not among verify.DefaultDPoPAlgorithms() %v", a, verify.DefaultDPoPAlgorithms())
		}
	}
	rs, err := verify.New(t.Context(), verify.Config{Issuer: e.Issuer, Audience: e.Issuer, Now: e.Clock.Now, CacheSize: -1,
		ExternalURL: "https://api.example"})
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range meta.Algs {
		t.Run(a, func(t *testing.T) {
			k := latchtest.NewDPoPKey(t, jose.SignatureAlgorithm(a))
			at := dpopTokens(t, e, k)["access_token"].(string)
			proof := k.Proof(t, "GET", "https://api.example/orders", e.Clock.Now(), map[string]any{"ath": latchtest.ATH(at)})
			if _, err := rs.VerifyDPoP(t.Context(), at, proof, "GET", "https://api.example/orders"); err != nil {
				t.Errorf("verify refused a token bound to a %s key with a %s proof: %v", a, a, err)
			}
		})
	}
}

package server_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

func codeForm(c latchtest.Issued, clientID string) url.Values {
	return url.Values{"grant_type": {"authorization_code"}, "code": {c.Code}, "redirect_uri": {c.Conf.RedirectURL}, "client_id": {clientID}, "code_verifier": {c.Verifier}}
}

func refreshForm(clientID, rt string) url.Values {
	return url.Values{"grant_type": {"refresh_token"}, "client_id": {clientID}, "refresh_token": {rt}}
}

// wantTokenError checks an RFC 6749 §5.2 error response.
func wantTokenError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Errorf("status %d error %v (%v), want %d %s", resp.StatusCode, body["error"], body["error_description"], status, code)
	}
}

// wantChallenge checks a protected-resource error: status and a
// WWW-Authenticate of the scheme with the error code.
func wantChallenge(t *testing.T, resp *http.Response, status int, scheme, code string) {
	t.Helper()
	h := resp.Header.Get("WWW-Authenticate")
	if resp.StatusCode != status || !strings.HasPrefix(h, scheme+" ") || !strings.Contains(h, `error="`+code+`"`) {
		t.Errorf("status %d, WWW-Authenticate %q; want %d with %s error=%q", resp.StatusCode, h, status, scheme, code)
	}
}

// dpopTokens runs the code flow for the spa client with a DPoP proof by k
// and returns the token response.
func dpopTokens(t *testing.T, e *latchtest.Env, b *latchtest.Browser, k *latchtest.DPoPKey) map[string]any {
	t.Helper()
	c := e.IssueCode(b, "spa", latchtest.SPARedirect)
	resp, body := e.PostFormDPoP("/token", codeForm(c, "spa"), e.DPoPProof(k, "POST", "/token", nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("code exchange with a DPoP proof: %d %v", resp.StatusCode, body)
	}
	return body
}

func str(v any) string { s, _ := v.(string); return s }

// TestDPoPBoundTokens: a proof at the token endpoint binds the access
// token (cnf.jkt, token_type DPoP) and a public client's refresh token;
// the bound tokens work with proofs by the same key.
func TestDPoPBoundTokens(t *testing.T) {
	e := latchtest.Start(t)
	b := e.Browser()
	k := latchtest.NewDPoPKey(t, jose.ES256)
	tok := dpopTokens(t, e, b, k)
	at := str(tok["access_token"])
	if tok["token_type"] != "DPoP" {
		t.Errorf("token_type = %v, want DPoP", tok["token_type"])
	}
	_, claims := latchtest.DecodeJWT(t, at)
	if cnf, _ := claims["cnf"].(map[string]any); cnf["jkt"] != k.JKT {
		t.Errorf("access token cnf = %v, want jkt %s", claims["cnf"], k.JKT)
	}
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		resp, body := e.Userinfo(m, "DPoP", at, e.DPoPProof(k, m, "/userinfo", map[string]any{"ath": latchtest.ATH(at)}))
		if resp.StatusCode != http.StatusOK || body["sub"] != "user-alice" {
			t.Errorf("%s userinfo with DPoP: %d %v", m, resp.StatusCode, body)
		}
	}
	// The scheme name is case-insensitive (RFC 9110 §11.1).
	if resp, _ := e.Userinfo("GET", "dpop", at, e.DPoPProof(k, "GET", "/userinfo", map[string]any{"ath": latchtest.ATH(at)})); resp.StatusCode != http.StatusOK {
		t.Errorf("userinfo with scheme dpop: %d", resp.StatusCode)
	}
	// Introspection reports the binding (RFC 9449 §6.2).
	resp, in := e.PostForm("/introspect", url.Values{"token": {at}}, func(r *http.Request) { r.SetBasicAuth("web", e.Secrets["web"]) })
	if cnf, _ := in["cnf"].(map[string]any); resp.StatusCode != 200 || in["token_type"] != "DPoP" || cnf["jkt"] != k.JKT {
		t.Errorf("introspection of a bound token: %d %v", resp.StatusCode, in)
	}
	// Refresh with a proof by the same key: a new bound token.
	resp, next := e.PostFormDPoP("/token", refreshForm("spa", str(tok["refresh_token"])), e.DPoPProof(k, "POST", "/token", nil))
	if resp.StatusCode != http.StatusOK || next["token_type"] != "DPoP" {
		t.Fatalf("refresh with the bound key: %d %v", resp.StatusCode, next)
	}
	if _, c := latchtest.DecodeJWT(t, str(next["access_token"])); c["cnf"] == nil {
		t.Error("refreshed access token is not bound")
	}
}

// TestDPoPUnboundStillBearer: without a proof nothing changes.
func TestDPoPUnboundStillBearer(t *testing.T) {
	e := latchtest.Start(t)
	tok, _ := e.CodeFlow(e.Browser(), "openid")
	if tok.TokenType != "Bearer" {
		t.Errorf("token_type = %q, want Bearer", tok.TokenType)
	}
	if _, c := latchtest.DecodeJWT(t, tok.AccessToken); c["cnf"] != nil {
		t.Errorf("unbound flow produced cnf %v", c["cnf"])
	}
	// An unbound token with the DPoP scheme is refused (RFC 9449 §7.1).
	k := latchtest.NewDPoPKey(t, jose.ES256)
	resp, _ := e.Userinfo("GET", "DPoP", tok.AccessToken, e.DPoPProof(k, "GET", "/userinfo", map[string]any{"ath": latchtest.ATH(tok.AccessToken)}))
	wantChallenge(t, resp, http.StatusUnauthorized, "DPoP", "invalid_token")
}

// TestDPoPTokenEndpointAttacks: every bad proof at the token endpoint is
// refused with invalid_dpop_proof, and none of them burns the code.
func TestDPoPTokenEndpointAttacks(t *testing.T) {
	e := latchtest.Start(t)
	b := e.Browser()
	k := latchtest.NewDPoPKey(t, jose.ES256)
	other := latchtest.NewDPoPKey(t, jose.ES256)
	ecPriv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	c := e.IssueCode(b, "spa", latchtest.SPARedirect)
	now := func() time.Time { return e.Clock.Now() }
	claims := func() map[string]any {
		return map[string]any{"jti": "x-" + time.Now().String(), "htm": "POST", "htu": e.Issuer + "/token", "iat": now().Unix()}
	}
	window := 65 * time.Second
	cases := []struct {
		name  string
		proof func() string
	}{
		{"wrong htm", func() string { return e.DPoPProof(k, "GET", "/token", nil) }},
		{"wrong htu", func() string { return e.DPoPProof(k, "POST", "/userinfo", nil) }},
		{"htu of another server", func() string { return k.Proof(t, "POST", "https://evil.example/token", now(), nil) }},
		{"iat too old", func() string { return k.Proof(t, "POST", e.Issuer+"/token", now().Add(-window-time.Second), nil) }},
		{"iat in the future", func() string { return k.Proof(t, "POST", e.Issuer+"/token", now().Add(window+time.Second), nil) }},
		{"alg none", func() string {
			return latchtest.UnsignedJWT(t, map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": k.Public}, claims())
		}},
		{"HS256", func() string {
			return latchtest.SignJWS(t, jose.SigningKey{Algorithm: jose.HS256, Key: []byte("0123456789abcdef0123456789abcdef")}, k.Public, nil, claims())
		}},
		{"jwk with private key", func() string { return k.Sign(t, map[string]any{"jwk": jose.JSONWebKey{Key: ecPriv}}, claims()) }},
		{"signed by key A, jwk of key B", func() string { return k.Sign(t, map[string]any{"jwk": other.Public}, claims()) }},
		{"typ JWT", func() string { return k.Sign(t, map[string]any{"typ": "JWT"}, claims()) }},
		{"not a JWT", func() string { return "dpop" }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, body := e.PostFormDPoP("/token", codeForm(c, "spa"), tc.proof())
			wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
		})
	}
	t.Run("two DPoP headers", func(t *testing.T) {
		p1, p2 := e.DPoPProof(k, "POST", "/token", nil), e.DPoPProof(k, "POST", "/token", nil)
		resp, body := e.PostForm("/token", codeForm(c, "spa"), func(r *http.Request) { r.Header.Add("DPoP", p1); r.Header.Add("DPoP", p2) })
		wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
	})
	// The code survived every bad proof.
	resp, body := e.PostFormDPoP("/token", codeForm(c, "spa"), e.DPoPProof(k, "POST", "/token", nil))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the code did not survive the refused proofs: %d %v", resp.StatusCode, body)
	}
	t.Run("replayed proof", func(t *testing.T) {
		p := e.DPoPProof(k, "POST", "/token", nil)
		resp, body := e.PostFormDPoP("/token", refreshForm("spa", str(body["refresh_token"])), p)
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("first use of the proof: %d %v", resp.StatusCode, body)
		}
		resp, again := e.PostFormDPoP("/token", refreshForm("spa", str(body["refresh_token"])), p)
		wantTokenError(t, resp, again, http.StatusBadRequest, "invalid_dpop_proof")
	})
}

// TestDPoPStolenRefreshToken: a public client's refresh token is bound to
// its DPoP key; a thief without the key can neither use nor burn it.
func TestDPoPStolenRefreshToken(t *testing.T) {
	e := latchtest.Start(t)
	k := latchtest.NewDPoPKey(t, jose.ES256)
	thief := latchtest.NewDPoPKey(t, jose.ES256)
	rt := str(dpopTokens(t, e, e.Browser(), k)["refresh_token"])
	t.Run("from another key", func(t *testing.T) {
		resp, body := e.PostFormDPoP("/token", refreshForm("spa", rt), e.DPoPProof(thief, "POST", "/token", nil))
		wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("without a proof", func(t *testing.T) {
		resp, body := e.PostFormDPoP("/token", refreshForm("spa", rt), "")
		wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
	resp, body := e.PostFormDPoP("/token", refreshForm("spa", rt), e.DPoPProof(k, "POST", "/token", nil))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("the owner's refresh after the thief's attempts: %d %v (the token was burned)", resp.StatusCode, body)
	}
}

// TestDPoPUserinfoAttacks: a bound access token is useless without the
// key: as Bearer, without a proof, or with a proof that is not for this
// request, this token, this key, or is replayed.
func TestDPoPUserinfoAttacks(t *testing.T) {
	e := latchtest.Start(t)
	k := latchtest.NewDPoPKey(t, jose.ES256)
	other := latchtest.NewDPoPKey(t, jose.ES256)
	at := str(dpopTokens(t, e, e.Browser(), k)["access_token"])
	ath := map[string]any{"ath": latchtest.ATH(at)}
	cases := []struct {
		name   string
		scheme string
		proof  func() string
		code   string
	}{
		{"bound token as Bearer", "Bearer", func() string { return "" }, "invalid_token"},
		{"bound token as Bearer with a valid proof", "Bearer", func() string { return e.DPoPProof(k, "GET", "/userinfo", ath) }, "invalid_token"},
		{"no proof", "DPoP", func() string { return "" }, "invalid_dpop_proof"},
		{"missing ath", "DPoP", func() string { return e.DPoPProof(k, "GET", "/userinfo", nil) }, "invalid_dpop_proof"},
		{"ath of another token", "DPoP", func() string {
			return e.DPoPProof(k, "GET", "/userinfo", map[string]any{"ath": latchtest.ATH(at + "x")})
		}, "invalid_dpop_proof"},
		{"wrong htm", "DPoP", func() string { return e.DPoPProof(k, "POST", "/userinfo", ath) }, "invalid_dpop_proof"},
		{"wrong htu", "DPoP", func() string { return e.DPoPProof(k, "GET", "/token", ath) }, "invalid_dpop_proof"},
		{"proof by another key", "DPoP", func() string { return e.DPoPProof(other, "GET", "/userinfo", ath) }, "invalid_dpop_proof"},
		{"stale proof", "DPoP", func() string {
			return k.Proof(t, "GET", e.Issuer+"/userinfo", e.Clock.Now().Add(-2*time.Minute), ath)
		}, "invalid_dpop_proof"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := e.Userinfo("GET", tc.scheme, at, tc.proof())
			wantChallenge(t, resp, http.StatusUnauthorized, "DPoP", tc.code)
			if h := resp.Header.Get("WWW-Authenticate"); !strings.Contains(h, `algs="ES256 EdDSA RS256 PS256"`) {
				t.Errorf("DPoP challenge without algs: %q", h)
			}
		})
	}
	t.Run("replayed proof, same and another instance", func(t *testing.T) {
		p := e.DPoPProof(k, "GET", "/userinfo", ath)
		if resp, body := e.Userinfo("GET", "DPoP", at, p); resp.StatusCode != http.StatusOK {
			t.Fatalf("first use: %d %v", resp.StatusCode, body)
		}
		resp, _ := e.Userinfo("GET", "DPoP", at, p)
		wantChallenge(t, resp, http.StatusUnauthorized, "DPoP", "invalid_dpop_proof")
		// A replica sharing the store refuses it too.
		replica := e.NewInstance()
		req := httptest.NewRequest(http.MethodGet, e.Issuer+"/userinfo", nil)
		req.Header.Set("Authorization", "DPoP "+at)
		req.Header.Set("DPoP", p)
		rec := httptest.NewRecorder()
		replica.ServeHTTP(rec, req)
		wantChallenge(t, rec.Result(), http.StatusUnauthorized, "DPoP", "invalid_dpop_proof")
		// ...while a fresh proof works there.
		req.Header.Set("DPoP", e.DPoPProof(k, "GET", "/userinfo", ath))
		rec = httptest.NewRecorder()
		replica.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			t.Errorf("fresh proof at the replica: %d %s", rec.Code, rec.Body)
		}
	})
}

// TestDPoPBindingAtAuthorize: a code requested with dpop_jkt (RFC 9449
// §10) is redeemed only with a proof by that key.
func TestDPoPBindingAtAuthorize(t *testing.T) {
	e := latchtest.Start(t)
	b := e.Browser()
	k := latchtest.NewDPoPKey(t, jose.ES256)
	other := latchtest.NewDPoPKey(t, jose.ES256)
	jkt := oauth2.SetAuthURLParam("dpop_jkt", k.JKT)
	for name, proof := range map[string]func() string{
		"proof by another key": func() string { return e.DPoPProof(other, "POST", "/token", nil) },
		"no proof":             func() string { return "" },
	} {
		t.Run(name, func(t *testing.T) {
			c := e.IssueCode(b, "spa", latchtest.SPARedirect, jkt)
			resp, body := e.PostFormDPoP("/token", codeForm(c, "spa"), proof())
			wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
		})
	}
	c := e.IssueCode(b, "spa", latchtest.SPARedirect, jkt)
	if resp, body := e.PostFormDPoP("/token", codeForm(c, "spa"), e.DPoPProof(k, "POST", "/token", nil)); resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
		t.Errorf("exchange with the dpop_jkt key: %d %v", resp.StatusCode, body)
	}
}

// TestDPoPRequiredByClient: a client registered with RequireDPoP gets no
// token without a proof, and its code is not burned by the attempt.
func TestDPoPRequiredByClient(t *testing.T) {
	e := latchtest.Start(t)
	e.MustClient(store.Client{
		ID: "spa-dpop", Public: true, FirstParty: true, RequireDPoP: true,
		RedirectURIs: []string{latchtest.SPARedirect}, GrantTypes: []string{"authorization_code", "refresh_token"},
	})
	e.MustClient(store.Client{ID: "svc", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api"}, RequireDPoP: true})
	k := latchtest.NewDPoPKey(t, jose.EdDSA)
	c := e.IssueCode(e.Browser(), "spa-dpop", latchtest.SPARedirect)
	resp, body := e.PostFormDPoP("/token", codeForm(c, "spa-dpop"), "")
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
	resp, body = e.PostFormDPoP("/token", codeForm(c, "spa-dpop"), e.DPoPProof(k, "POST", "/token", nil))
	if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
		t.Fatalf("exchange with a proof: %d %v", resp.StatusCode, body)
	}
	// A confidential client too, on client_credentials.
	cc := url.Values{"grant_type": {"client_credentials"}}
	basic := func(r *http.Request) { r.SetBasicAuth("svc", e.Secrets["svc"]) }
	resp, body = e.PostForm("/token", cc, basic)
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_dpop_proof")
	p := e.DPoPProof(k, "POST", "/token", nil)
	resp, body = e.PostForm("/token", cc, basic, func(r *http.Request) { r.Header.Set("DPoP", p) })
	if resp.StatusCode != http.StatusOK || body["token_type"] != "DPoP" {
		t.Errorf("client_credentials with a proof: %d %v", resp.StatusCode, body)
	}
}

// TestDPoPNonce: with dpop-nonce on, a proof without the server's nonce
// gets use_dpop_nonce and a DPoP-Nonce header; the retry with it works;
// a stale or forged nonce is refused.
func TestDPoPNonce(t *testing.T) {
	e := latchtest.Start(t, func(c *config.Config) { c.DPoPNonce = true })
	k := latchtest.NewDPoPKey(t, jose.ES256)
	c := e.IssueCode(e.Browser(), "spa", latchtest.SPARedirect)

	resp, body := e.PostFormDPoP("/token", codeForm(c, "spa"), e.DPoPProof(k, "POST", "/token", nil))
	wantTokenError(t, resp, body, http.StatusBadRequest, "use_dpop_nonce")
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("use_dpop_nonce without a DPoP-Nonce header")
	}
	resp, body = e.PostFormDPoP("/token", codeForm(c, "spa"), e.DPoPProof(k, "POST", "/token", map[string]any{"nonce": "forged"}))
	wantTokenError(t, resp, body, http.StatusBadRequest, "use_dpop_nonce")
	resp, tok := e.PostFormDPoP("/token", codeForm(c, "spa"), e.DPoPProof(k, "POST", "/token", map[string]any{"nonce": nonce}))
	if resp.StatusCode != http.StatusOK || tok["token_type"] != "DPoP" {
		t.Fatalf("retry with the nonce: %d %v", resp.StatusCode, tok)
	}
	if resp.Header.Get("DPoP-Nonce") == "" {
		t.Error("successful token response without a fresh DPoP-Nonce")
	}
	at := str(tok["access_token"])
	ath := latchtest.ATH(at)

	// Userinfo: 401 with a DPoP challenge, then success with the nonce.
	resp, _ = e.Userinfo("GET", "DPoP", at, e.DPoPProof(k, "GET", "/userinfo", map[string]any{"ath": ath}))
	wantChallenge(t, resp, http.StatusUnauthorized, "DPoP", "use_dpop_nonce")
	if resp.Header.Get("DPoP-Nonce") == "" {
		t.Error("userinfo use_dpop_nonce without DPoP-Nonce")
	}
	if resp, body := e.Userinfo("GET", "DPoP", at, e.DPoPProof(k, "GET", "/userinfo", map[string]any{"ath": ath, "nonce": nonce})); resp.StatusCode != http.StatusOK {
		t.Errorf("userinfo with the nonce: %d %v", resp.StatusCode, body)
	}
	// The nonce is good on another instance sharing the secret.
	req := httptest.NewRequest(http.MethodGet, e.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "DPoP "+at)
	req.Header.Set("DPoP", e.DPoPProof(k, "GET", "/userinfo", map[string]any{"ath": ath, "nonce": nonce}))
	rec := httptest.NewRecorder()
	e.NewInstance().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Errorf("nonce at a replica: %d %s", rec.Code, rec.Body)
	}
	// Ten minutes later the nonce is stale (proof iat is current).
	e.Clock.Advance(10*time.Minute + time.Second)
	resp, body = e.PostFormDPoP("/token", refreshForm("spa", str(tok["refresh_token"])), e.DPoPProof(k, "POST", "/token", map[string]any{"nonce": nonce}))
	wantTokenError(t, resp, body, http.StatusBadRequest, "use_dpop_nonce")
	fresh := resp.Header.Get("DPoP-Nonce")
	if fresh == "" || fresh == nonce {
		t.Fatalf("stale nonce answered with DPoP-Nonce %q", fresh)
	}
	resp, body = e.PostFormDPoP("/token", refreshForm("spa", str(tok["refresh_token"])), e.DPoPProof(k, "POST", "/token", map[string]any{"nonce": fresh}))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("refresh with the fresh nonce: %d %v", resp.StatusCode, body)
	}
}

// TestDPoPDiscovery: the accepted proof algorithms are advertised, and
// they are asymmetric only.
func TestDPoPDiscovery(t *testing.T) {
	e := latchtest.Start(t)
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/.well-known/openid-configuration", nil)
	_, md := e.DoJSON(req)
	algs, _ := md["dpop_signing_alg_values_supported"].([]any)
	if len(algs) == 0 {
		t.Fatalf("dpop_signing_alg_values_supported = %v", md["dpop_signing_alg_values_supported"])
	}
	for _, a := range algs {
		if s := str(a); s == "none" || strings.HasPrefix(s, "HS") {
			t.Errorf("advertised DPoP alg %q", s)
		}
	}
}

// TestDPoPNonceAtPAR: with dpop-nonce on, the PAR endpoint asks for the
// server nonce as /token does (RFC 9449 §8, §10.1): a proof without it
// gets use_dpop_nonce and a DPoP-Nonce header, the retry with it is
// accepted, and every /par response carries a fresh nonce. A push
// without a DPoP header needs no nonce.
func TestDPoPNonceAtPAR(t *testing.T) {
	e := latchtest.Start(t, func(c *config.Config) { c.DPoPNonce = true })
	k := latchtest.NewDPoPKey(t, jose.ES256)
	q := url.Values{
		"client_id": {"spa"}, "redirect_uri": {latchtest.SPARedirect}, "response_type": {"code"}, "scope": {"openid"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(oauth2.GenerateVerifier())}, "code_challenge_method": {"S256"},
	}
	resp, body := e.PostFormDPoP("/par", q, e.DPoPProof(k, "POST", "/par", nil))
	wantTokenError(t, resp, body, http.StatusBadRequest, "use_dpop_nonce")
	nonce := resp.Header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("use_dpop_nonce at /par without a DPoP-Nonce header")
	}
	resp, body = e.PostFormDPoP("/par", q, e.DPoPProof(k, "POST", "/par", map[string]any{"nonce": "forged"}))
	wantTokenError(t, resp, body, http.StatusBadRequest, "use_dpop_nonce")
	resp, body = e.PostFormDPoP("/par", q, e.DPoPProof(k, "POST", "/par", map[string]any{"nonce": nonce}))
	if resp.StatusCode != http.StatusCreated || resp.Header.Get("DPoP-Nonce") == "" {
		t.Fatalf("push with the nonce: %d %v, DPoP-Nonce %q", resp.StatusCode, body, resp.Header.Get("DPoP-Nonce"))
	}
	if resp, body := e.PostFormDPoP("/par", q, ""); resp.StatusCode != http.StatusCreated {
		t.Errorf("push without DPoP: %d %v", resp.StatusCode, body)
	}
}

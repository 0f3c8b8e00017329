package bff_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/bff"
)

// bclKey signs the tests' logout tokens; its public half is served in
// the issuer's JWKS (countingTransport.extraJWKS), as Latch would serve
// its own key.
type bclKey struct {
	priv *ecdsa.PrivateKey
	kid  string
}

func newBCLKey(t *testing.T, kid string) bclKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return bclKey{k, kid}
}

func (k bclKey) jwk(t *testing.T) json.RawMessage {
	b, err := json.Marshal(jose.JSONWebKey{Key: &k.priv.PublicKey, KeyID: k.kid, Algorithm: "ES256", Use: "sig"})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (k bclKey) sign(t *testing.T, typ string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithHeader(jose.HeaderKey("kid"), k.kid)
	if typ != "" {
		opts = opts.WithType(jose.ContentType(typ))
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: k.priv}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := s.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var jtiN int

func postLogoutToken(t *testing.T, base, token string) (int, string) {
	t.Helper()
	res, err := http.PostForm(base+"/backchannel-logout", url.Values{"logout_token": {token}})
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var body struct {
		Desc string `json:"error_description"`
	}
	_ = json.NewDecoder(res.Body).Decode(&body)
	return res.StatusCode, body.Desc
}

// OpenID Connect Back-Channel Logout 1.0 §2.6: every check on the logout
// token, each refusal a 400 that leaves the session alone; a valid token
// ends every session of its subject (or sid), once.
func TestBackchannelLogout(t *testing.T) {
	f := newFixture(t)
	key, stranger := newBCLKey(t, "bcl-test"), newBCLKey(t, "not-published")
	f.rt.extraJWKS = []json.RawMessage{key.jwk(t)}
	sessions := bff.NewMemoryStore()
	base, _ := f.single(sessions)
	b1, b2 := f.browser(), f.browser()
	signIn(t, b1, base, f.env.Issuer)
	signIn(t, b2, base, f.env.Issuer)

	now := f.env.Clock.Now()
	claims := func(mutate func(map[string]any)) map[string]any {
		jtiN++
		c := map[string]any{
			"iss": f.env.Issuer, "aud": clientID, "iat": now.Unix(), "exp": now.Add(2 * time.Minute).Unix(),
			"jti": "jti-" + strings.Repeat("x", jtiN), "sub": "user-alice",
			"events": map[string]any{"http://schemas.openid.net/event/backchannel-logout": map[string]any{}},
		}
		if mutate != nil {
			mutate(c)
		}
		return c
	}
	for _, tt := range []struct {
		name  string
		token string
		want  string
	}{
		{"not a JWT", "garbage", "not a JWS"},
		{"typ JWT", key.sign(t, "JWT", claims(nil)), "typ"},
		{"no typ", key.sign(t, "", claims(nil)), "typ"},
		{"key not in the issuer's JWKS", stranger.sign(t, "logout+jwt", claims(nil)), "signature"},
		{"another issuer", key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["iss"] = "https://evil.example" })), "iss"},
		{"another audience", key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["aud"] = []string{"other"} })), "aud"},
		{"expired", key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["exp"] = now.Add(-2 * time.Minute).Unix() })), "exp"},
		{"no exp", key.sign(t, "logout+jwt", claims(func(c map[string]any) { delete(c, "exp") })), "exp"},
		{"iat in the future", key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["iat"] = now.Add(time.Hour).Unix() })), "iat"},
		{"iat too old", key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["iat"] = now.Add(-time.Hour).Unix() })), "iat"},
		{"no events", key.sign(t, "logout+jwt", claims(func(c map[string]any) { delete(c, "events") })), "events"},
		{"wrong event", key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["events"] = map[string]any{"urn:other": map[string]any{}} })), "events"},
		{"nonce", key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["nonce"] = "n" })), "nonce"},
		{"neither sid nor sub", key.sign(t, "logout+jwt", claims(func(c map[string]any) { delete(c, "sub") })), "sid nor sub"},
		{"no jti", key.sign(t, "logout+jwt", claims(func(c map[string]any) { delete(c, "jti") })), "jti"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			code, desc := postLogoutToken(t, base, tt.token)
			if code != http.StatusBadRequest || !strings.Contains(desc, tt.want) {
				t.Errorf("logout token %s = %d %q, want 400 naming %q", tt.name, code, desc, tt.want)
			}
			if code, _ := me(t, b1, base); code != http.StatusOK {
				t.Fatal("a refused logout token ended the session")
			}
		})
	}
	if res, _ := http.Get(base + "/backchannel-logout"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET /backchannel-logout = %d, want 405", res.StatusCode)
	}

	// A sid that names no session ends nothing (sid takes precedence over sub).
	if code, desc := postLogoutToken(t, base, key.sign(t, "logout+jwt", claims(func(c map[string]any) { c["sid"] = "unknown-sid" }))); code != http.StatusOK {
		t.Fatalf("logout token with an unknown sid = %d %q, want 200", code, desc)
	}
	if code, _ := me(t, b1, base); code != http.StatusOK {
		t.Fatal("a logout token for another sid ended alice's session")
	}

	// The valid token, posted 8 times at once: exactly one is accepted.
	valid := key.sign(t, "logout+jwt", claims(nil))
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	for range 8 {
		wg.Go(func() {
			code, _ := postLogoutToken(t, base, valid)
			mu.Lock()
			codes[code]++
			mu.Unlock()
		})
	}
	wg.Wait()
	if codes[http.StatusOK] != 1 || codes[http.StatusBadRequest] != 7 {
		t.Errorf("8 concurrent posts of one logout token: %v, want one 200 and seven 400 (jti single-use)", codes)
	}
	for i, b := range []*browser{b1, b2} {
		if code, _ := me(t, b, base); code != http.StatusUnauthorized {
			t.Errorf("browser %d: /me after back-channel logout = %d, want 401", i+1, code)
		}
	}
}

package verify

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// edit returns claims with the given members set (nil value: deleted).
func edit(c map[string]any, kv ...any) map[string]any {
	for i := 0; i < len(kv); i += 2 {
		k := kv[i].(string)
		if kv[i+1] == nil {
			delete(c, k)
			continue
		}
		c[k] = kv[i+1]
	}
	return c
}

func TestVerify(t *testing.T) {
	ti := newTestIssuer(t)
	rsKey := ti.addKey(t, jose.RS256, "rs-1")
	esKey := ti.addKey(t, jose.ES256, "es-1")
	edKey := ti.addKey(t, jose.EdDSA, "ed-1")
	attacker := newTestKey(t, jose.ES256, "es-1") // same kid, other key
	now := ti.clock.Now()
	v := ti.verifier(t, func(c *Config) { c.CacheSize = -1 })

	rsaPubDER, err := x509.MarshalPKIXPublicKey(rsKey.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	rsaPubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: rsaPubDER})

	tests := []struct {
		name  string
		token func() string
		want  error // nil: accepted
	}{
		{"RS256 valid", func() string { return mint(t, rsKey, ti.claims()) }, nil},
		{"ES256 valid", func() string { return mint(t, esKey, ti.claims()) }, nil},
		{"EdDSA valid", func() string { return mint(t, edKey, ti.claims()) }, nil},
		{"aud as a string", func() string { return mint(t, esKey, edit(ti.claims(), "aud", testAudience)) }, nil},
		{"aud among several", func() string {
			return mint(t, esKey, edit(ti.claims(), "aud", []string{"https://other.test", testAudience}))
		}, nil},
		{"typ application/at+jwt", func() string {
			return sign(t, esKey.alg, esKey.priv, map[string]any{"typ": "application/at+jwt", "kid": esKey.kid}, ti.claims())
		}, nil},
		{"typ in upper case", func() string {
			return sign(t, esKey.alg, esKey.priv, map[string]any{"typ": "AT+JWT", "kid": esKey.kid}, ti.claims())
		}, nil},
		{"expired within leeway", func() string {
			return mint(t, esKey, edit(ti.claims(), "exp", now.Add(-29*time.Second).Unix()))
		}, nil},
		{"nbf within leeway", func() string {
			return mint(t, esKey, edit(ti.claims(), "nbf", now.Add(29*time.Second).Unix()))
		}, nil},

		{"expired", func() string { return mint(t, esKey, edit(ti.claims(), "exp", now.Add(-31*time.Second).Unix())) }, ErrExpired},
		{"expired exactly at leeway", func() string {
			return mint(t, esKey, edit(ti.claims(), "exp", now.Add(-30*time.Second).Unix()))
		}, ErrExpired},
		{"not yet valid", func() string { return mint(t, esKey, edit(ti.claims(), "nbf", now.Add(time.Minute).Unix())) }, ErrNotYetValid},
		{"issued in the future", func() string { return mint(t, esKey, edit(ti.claims(), "iat", now.Add(time.Minute).Unix())) }, ErrNotYetValid},
		{"wrong audience", func() string { return mint(t, esKey, edit(ti.claims(), "aud", "https://other.test")) }, ErrAudience},
		{"no audience", func() string { return mint(t, esKey, edit(ti.claims(), "aud", nil)) }, ErrAudience},
		{"wrong issuer", func() string { return mint(t, esKey, edit(ti.claims(), "iss", "https://evil.test")) }, ErrIssuer},
		{"issuer with trailing slash", func() string { return mint(t, esKey, edit(ti.claims(), "iss", ti.issuer()+"/")) }, ErrIssuer},
		{"no exp", func() string { return mint(t, esKey, edit(ti.claims(), "exp", nil)) }, ErrMissingClaim},
		{"no iat", func() string { return mint(t, esKey, edit(ti.claims(), "iat", nil)) }, ErrMissingClaim},
		{"no sub", func() string { return mint(t, esKey, edit(ti.claims(), "sub", nil)) }, ErrMissingClaim},
		{"no client_id", func() string { return mint(t, esKey, edit(ti.claims(), "client_id", nil)) }, ErrMissingClaim},
		{"typ JWT (an ID token)", func() string {
			return sign(t, esKey.alg, esKey.priv, map[string]any{"typ": "JWT", "kid": esKey.kid}, ti.claims())
		}, ErrTokenType},
		{"no typ", func() string { return sign(t, esKey.alg, esKey.priv, map[string]any{"kid": esKey.kid}, ti.claims()) }, ErrTokenType},
		{"typ dpop+jwt", func() string {
			return sign(t, esKey.alg, esKey.priv, map[string]any{"typ": "dpop+jwt", "kid": esKey.kid}, ti.claims())
		}, ErrTokenType},
		{"unknown kid", func() string { return mint(t, testKey{"nope", esKey.alg, esKey.priv}, ti.claims()) }, ErrUnknownKey},
		{"no kid", func() string { return sign(t, esKey.alg, esKey.priv, map[string]any{"typ": "at+jwt"}, ti.claims()) }, ErrUnknownKey},
		{"kid of a key with another alg", func() string {
			return mint(t, testKey{rsKey.kid, esKey.alg, esKey.priv}, ti.claims())
		}, ErrUnknownKey},
		{"alg none", func() string { return noneToken(t, ti.claims(), esKey.kid) }, ErrMalformedToken},
		{"HS256 keyed with the RSA public key PEM", func() string {
			return sign(t, jose.HS256, rsaPubPEM, map[string]any{"typ": "at+jwt", "kid": rsKey.kid}, ti.claims())
		}, ErrMalformedToken},
		{"HS256 keyed with the RSA public key DER", func() string {
			return sign(t, jose.HS256, rsaPubDER, map[string]any{"typ": "at+jwt", "kid": rsKey.kid}, ti.claims())
		}, ErrMalformedToken},
		{"signed by another key with the same kid", func() string { return mint(t, attacker, ti.claims()) }, ErrSignature},
		{"attacker key embedded as jwk", func() string {
			return sign(t, attacker.alg, attacker.priv,
				map[string]any{"typ": "at+jwt", "kid": esKey.kid, "jwk": jose.JSONWebKey{Key: attacker.priv.Public()}}, ti.claims())
		}, ErrSignature},
		{"payload swapped", func() string {
			a := strings.Split(mint(t, esKey, ti.claims()), ".")
			b := strings.Split(mint(t, esKey, edit(ti.claims(), "sub", "admin")), ".")
			return a[0] + "." + b[1] + "." + a[2]
		}, ErrSignature},
		{"cnf with an unsupported method", func() string {
			return mint(t, esKey, edit(ti.claims(), "cnf", map[string]any{"x5t#S256": "abc"}))
		}, ErrMalformedToken},
		{"DPoP-bound token without proof", func() string {
			return mint(t, esKey, edit(ti.claims(), "cnf", map[string]any{"jkt": "abc"}))
		}, ErrDPoPRequired},
		{"not a JWT", func() string { return "abc" }, ErrMalformedToken},
		{"empty", func() string { return "" }, ErrMalformedToken},
		{"too large", func() string { return strings.Repeat("a", maxTokenSize+1) }, ErrMalformedToken},
		{"JSON serialization", func() string { return `{"payload":"e30","signatures":[]}` }, ErrMalformedToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tok := tt.token()
			c, err := v.Verify(t.Context(), tok)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("Verify() = %v, want success", err)
				}
				if c.Subject != "user-123" || c.ClientID != "client-abc" || !slices.Contains(c.Audience, testAudience) {
					t.Errorf("Verify() claims = %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatalf("Verify() = %+v, want error %v", c, tt.want)
			}
			if !errors.Is(err, tt.want) {
				t.Errorf("Verify() error = %v, want errors.Is %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidToken {
				t.Errorf("Verify() error = %#v, want *Error with Code %q", err, CodeInvalidToken)
			}
			if e != nil && e.StatusCode() != http.StatusUnauthorized {
				t.Errorf("StatusCode() = %d, want 401", e.StatusCode())
			}
		})
	}
}

// noneToken hand-crafts an unsigned token (RFC 7519 §6.1).
func noneToken(t *testing.T, claims map[string]any, kid string) string {
	t.Helper()
	h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "at+jwt", "kid": kid})
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	return b64(h) + "." + b64(p) + "."
}

func TestVerifyClaims(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k1")
	now := ti.clock.Now()
	v := ti.verifier(t, nil)
	c, err := v.Verify(t.Context(), mint(t, k, edit(ti.claims(), "nbf", now.Unix(), "custom", "x")))
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct {
		name      string
		got, want any
	}{
		{"Issuer", c.Issuer, ti.issuer()},
		{"Subject", c.Subject, "user-123"},
		{"Audience", c.Audience, []string{testAudience}},
		{"ClientID", c.ClientID, "client-abc"},
		{"Scopes", c.Scopes, []string{"openid", "orders:read"}},
		{"IssuedAt", c.IssuedAt.Unix(), now.Unix()},
		{"ExpiresAt", c.ExpiresAt.Unix(), now.Add(5 * time.Minute).Unix()},
		{"NotBefore", c.NotBefore.Unix(), now.Unix()},
		{"AuthTime", c.AuthTime.Unix(), now.Add(-time.Minute).Unix()},
		{"JWTID", c.JWTID, "jti-1"},
		{"GrantID", c.GrantID, "grant-9"},
		{"AMR", c.AMR, []string{"pwd"}},
		{"JKT", c.JKT, ""},
		{"Raw[custom]", c.Raw["custom"], "x"},
		{"HasScope(orders:read)", c.HasScope("orders:read"), true},
		{"HasScope(orders)", c.HasScope("orders"), false},
	}
	for _, ch := range checks {
		if g, w := ch.got, ch.want; !equalJSON(g, w) {
			t.Errorf("Claims.%s = %v, want %v", ch.name, g, w)
		}
	}
}

func equalJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func TestVerifyAlgorithmsConfig(t *testing.T) {
	ti := newTestIssuer(t)
	rs := ti.addKey(t, jose.RS256, "rs")
	es := ti.addKey(t, jose.ES256, "es")
	v := ti.verifier(t, func(c *Config) { c.Algorithms = []string{"ES256"} })
	if _, err := v.Verify(t.Context(), mint(t, es, ti.claims())); err != nil {
		t.Errorf("Verify(ES256) = %v, want success", err)
	}
	if _, err := v.Verify(t.Context(), mint(t, rs, ti.claims())); !errors.Is(err, ErrMalformedToken) {
		t.Errorf("Verify(RS256) with Algorithms=[ES256] = %v, want %v", err, ErrMalformedToken)
	}
}

func TestSkipAudienceCheck(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, func(c *Config) { c.Audience = ""; c.SkipAudienceCheck = true })
	if _, err := v.Verify(t.Context(), mint(t, k, edit(ti.claims(), "aud", "https://other.test"))); err != nil {
		t.Errorf("Verify(other aud) with SkipAudienceCheck = %v, want success", err)
	}
}

func TestLeewayConfig(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	tok := mint(t, k, edit(ti.claims(), "exp", ti.clock.Now().Add(-5*time.Second).Unix()))
	tests := []struct {
		leeway time.Duration
		want   error
	}{
		{0, nil},                  // default 30 s
		{-1, ErrExpired},          // none
		{time.Second, ErrExpired}, // 1 s
		{10 * time.Second, nil},   // 10 s
	}
	for _, tt := range tests {
		v := ti.verifier(t, func(c *Config) { c.Leeway = tt.leeway; c.CacheSize = -1 })
		if _, err := v.Verify(t.Context(), tok); !errors.Is(err, tt.want) {
			t.Errorf("Leeway %v: Verify(exp 5s ago) = %v, want %v", tt.leeway, err, tt.want)
		}
	}
}

// failingTransport fails every request at once (no DNS, no network).
type failingTransport struct{}

func (failingTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("no network in this test")
}

func TestNewConfig(t *testing.T) {
	client := &http.Client{Transport: failingTransport{}}
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" means success
	}{
		{"minimal", Config{Issuer: "https://login.example", Audience: "api"}, ""},
		{"loopback http", Config{Issuer: "http://127.0.0.1:8080", Audience: "api"}, ""},
		{"localhost http", Config{Issuer: "http://localhost:8080", Audience: "api"}, ""},
		{"skip audience", Config{Issuer: "https://login.example", SkipAudienceCheck: true}, ""},
		{"insecure http allowed", Config{Issuer: "http://login.example", Audience: "api", InsecureAllowHTTP: true}, ""},
		{"all algorithms", Config{Issuer: "https://login.example", Audience: "api", Algorithms: supportedAlgs}, ""},
		{"no issuer", Config{Audience: "api"}, "Issuer is required"},
		{"no audience", Config{Issuer: "https://login.example"}, "Audience is required"},
		{"http issuer", Config{Issuer: "http://login.example", Audience: "api"}, "must use https"},
		{"relative issuer", Config{Issuer: "login.example", Audience: "api"}, "not an absolute URL"},
		{"ftp issuer", Config{Issuer: "ftp://login.example", Audience: "api"}, "must use https"},
		{"http JWKS URL", Config{Issuer: "https://login.example", Audience: "api", JWKSURL: "http://keys.example/jwks"}, "must use https"},
		{"alg none", Config{Issuer: "https://login.example", Audience: "api", Algorithms: []string{"none"}}, "not allowed"},
		{"alg HS256", Config{Issuer: "https://login.example", Audience: "api", Algorithms: []string{"RS256", "HS256"}}, "not allowed"},
		{"DPoP alg HS256", Config{Issuer: "https://login.example", Audience: "api", DPoPAlgorithms: []string{"HS256"}}, "not allowed"},
		{"bad external URL", Config{Issuer: "https://login.example", Audience: "api", ExternalURL: "api.example/x"}, "ExternalURL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.HTTPClient = client
			v, err := New(t.Context(), tt.cfg)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("New(%+v) = %v, want success", tt.cfg, err)
			case tt.wantErr == "" && v == nil:
				t.Errorf("New(%+v) = nil Verifier", tt.cfg)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("New(%+v) = %v, want error containing %q", tt.cfg, err, tt.wantErr)
			}
		})
	}
}

// TestVerifyContextCanceled: a caller whose context ends while waiting
// for a key fetch gets an error, not a hang.
func TestVerifyContextCanceled(t *testing.T) {
	ti := newTestIssuer(t)
	k := newTestKey(t, jose.ES256, "late")
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	canceled, cancel := context.WithCancel(t.Context())
	cancel()
	// New's warm-up gives up at once on the canceled context.
	v, err := New(canceled, Config{
		Issuer: ti.issuer(), Audience: testAudience, Now: ti.clock.Now,
		HTTPClient: &http.Client{Transport: blockingTransport{release}},
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fetch this starts blocks until cleanup; the caller must not.
	if _, err := v.Verify(canceled, mint(t, k, ti.claims())); !errors.Is(err, ErrUnknownKey) || !errors.Is(err, context.Canceled) {
		t.Errorf("Verify(canceled ctx) = %v, want %v wrapping %v", err, ErrUnknownKey, context.Canceled)
	}
}

// blockingTransport blocks until its request's context ends or release
// is closed.
type blockingTransport struct{ release chan struct{} }

func (b blockingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	select {
	case <-r.Context().Done():
		return nil, r.Context().Err()
	case <-b.release:
		return nil, errors.New("released")
	}
}

// TestECDSAKeyCurveMismatch: an ES256 token cannot be verified with a
// P-384 key published under its kid.
func TestECDSAKeyCurveMismatch(t *testing.T) {
	ti := newTestIssuer(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ti.mu.Lock()
	ti.published = append(ti.published, jose.JSONWebKey{Key: p384.Public(), KeyID: "p384"})
	ti.mu.Unlock()
	es := newTestKey(t, jose.ES256, "p384")
	v := ti.verifier(t, nil)
	if _, err := v.Verify(t.Context(), mint(t, es, ti.claims())); err == nil {
		t.Error("Verify(ES256 token, P-384 key) succeeded, want error")
	}
}

// TestAlgorithmConfusion: alg none and HS256 tokens are refused by the
// parser's allowed-algorithm list, before any key is looked up.
func TestAlgorithmConfusion(t *testing.T) {
	ti := newTestIssuer(t)
	rs := ti.addKey(t, jose.RS256, "rs")
	v := ti.verifier(t, nil)
	der, err := x509.MarshalPKIXPublicKey(rs.priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	jwkJSON, err := json.Marshal(rs.public())
	if err != nil {
		t.Fatal(err)
	}
	secrets := map[string][]byte{
		"PEM":   pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
		"DER":   der,
		"JWK":   jwkJSON,
		"PKCS1": x509.MarshalPKCS1PublicKey(&rs.priv.(*rsa.PrivateKey).PublicKey),
	}
	tokens := map[string]string{"none": noneToken(t, ti.claims(), rs.kid)}
	for name, secret := range secrets {
		for _, alg := range []jose.SignatureAlgorithm{jose.HS256, jose.HS384, jose.HS512} {
			tokens[string(alg)+" "+name] = sign(t, alg, secret, map[string]any{"typ": "at+jwt", "kid": rs.kid}, ti.claims())
		}
	}
	before := ti.jwksHits.Load()
	for name, tok := range tokens {
		_, err := v.Verify(t.Context(), tok)
		if !errors.Is(err, ErrMalformedToken) || !strings.Contains(err.Error(), "unexpected signature algorithm") {
			t.Errorf("Verify(%s) = %v, want %v from the algorithm allow-list", name, err, ErrMalformedToken)
		}
	}
	if got := ti.jwksHits.Load(); got != before {
		t.Errorf("JWKS fetches during confusion attempts = %d, want 0", got-before)
	}
}

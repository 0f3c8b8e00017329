package token

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// privateKey opens the active private key of alg from the store, as an
// attacker who stole it (or a test building a token Keys would never
// sign) would have it.
func (e *env) privateKey(t testing.TB, alg string) (string, crypto.Signer) {
	t.Helper()
	sk := e.store.active()[alg]
	der, err := testSealer(t).Open(sk.Private, []byte(sk.ID))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		t.Fatal(err)
	}
	return sk.ID, priv.(crypto.Signer)
}

// forge signs claims with go-jose directly: any alg, any key, any headers.
func forge(t testing.TB, alg jose.SignatureAlgorithm, key any, headers map[jose.HeaderKey]any, claims any) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	for k, v := range headers {
		opts.WithHeader(k, v)
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatalf("NewSigner(%s): %v", alg, err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return raw
}

// unsigned builds a JWS with the given header and an empty signature,
// the shape of an "alg":"none" token. go-jose refuses to produce one.
func unsigned(header map[string]any, claims any) string {
	h, _ := json.Marshal(header)
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

func TestSignVerifyRoundTrip(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	ctx := t.Context()
	for _, alg := range Algorithms() {
		t.Run(alg, func(t *testing.T) {
			ac := e.access()
			ac.AuthTime = ac.IssuedAt - 60
			ac.AMR = []string{"pwd"}
			ac.Cnf = &Confirmation{JKT: "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"}
			raw := e.sign(t, alg, TypeAccessToken, ac)
			if n := strings.Count(raw, "."); n != 2 {
				t.Fatalf("Sign = %q: want compact serialization", raw)
			}
			hdr := header(t, raw)
			if hdr["alg"] != alg || hdr["typ"] != TypeAccessToken || hdr["kid"] != e.store.active()[alg].ID || len(hdr) != 3 {
				t.Errorf("header = %v, want exactly alg %s, typ at+jwt, kid of the active key", hdr, alg)
			}
			got, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0)
			if err != nil {
				t.Fatalf("VerifyAccessToken: %v", err)
			}
			if !reflect.DeepEqual(got, ac) {
				t.Errorf("VerifyAccessToken = %+v, want %+v", got, ac)
			}

			ic := e.idClaims()
			yes := true
			ic.EmailVerified = &yes
			ic.AtHash = AtHash(alg, raw)
			ic.AMR = []string{"pwd"}
			idt := e.sign(t, alg, TypeIDToken, ic)
			if hdr := header(t, idt); hdr["typ"] != "JWT" || hdr["alg"] != alg {
				t.Errorf("ID token header = %v, want typ JWT alg %s", hdr, alg)
			}
			gotID, err := e.keys.ParseIDTokenHint(ctx, idt, testIssuer)
			if err != nil {
				t.Fatalf("ParseIDTokenHint: %v", err)
			}
			if !reflect.DeepEqual(gotID, ic) {
				t.Errorf("ParseIDTokenHint = %+v, want %+v", gotID, ic)
			}
		})
	}
	// "" signs with the default (Algs[0]).
	if hdr := header(t, e.sign(t, "", TypeAccessToken, e.access())); hdr["alg"] != RS256 {
		t.Errorf("Sign(\"\") alg = %v, want RS256", hdr["alg"])
	}
	if _, err := e.keys.Sign(ctx, ES256, TypeAccessToken, map[string]any{"bad": make(chan int)}); err == nil {
		t.Error("Sign of unmarshalable claims succeeded")
	}
}

func header(t testing.TB, raw string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.SplitN(raw, ".", 2)[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	if err := json.Unmarshal(b, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// TestVerifyTyp: explicit typing (RFC 8725 §3.11) keeps an ID token from
// being used as an access token and vice versa.
func TestVerifyTyp(t *testing.T) {
	e := newEnv(t, ES256)
	ctx := t.Context()
	tests := []struct {
		signTyp          string
		asAccess, asHint bool
	}{
		{TypeAccessToken, true, false},
		{"application/at+jwt", true, false},
		{"AT+JWT", true, false},
		{"Application/At+Jwt", true, false},
		{TypeIDToken, false, true},
		{"jwt", false, true},
		{"application/jwt", false, true},
		{"", false, false},
		{"at+jwt ", false, false},
		{"jwt+at", false, false},
		{"dpop+jwt", false, false},
		{"logout+jwt", false, false},
		{"application/", false, false},
	}
	for _, tt := range tests {
		// Claims valid for both checks: a string aud fails AccessClaims'
		// []string, so use a map with the common fields.
		claims := map[string]any{"iss": testIssuer, "sub": "u", "iat": e.clock.Now().Unix(), "exp": e.clock.Now().Add(time.Hour).Unix()}
		raw := e.sign(t, ES256, tt.signTyp, claims)
		_, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0)
		if (err == nil) != tt.asAccess {
			t.Errorf("VerifyAccessToken(typ %q) error = %v, want accepted=%v", tt.signTyp, err, tt.asAccess)
		}
		_, err = e.keys.ParseIDTokenHint(ctx, raw, testIssuer)
		if (err == nil) != tt.asHint {
			t.Errorf("ParseIDTokenHint(typ %q) error = %v, want accepted=%v", tt.signTyp, err, tt.asHint)
		}
	}
	// Verify with an empty expected typ accepts nothing.
	var m map[string]any
	if err := e.keys.Verify(ctx, e.sign(t, ES256, "", map[string]any{}), "", &m); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify(typ \"\") of a token without typ: %v, want ErrInvalidToken", err)
	}
	// Real tokens: each kind is rejected as the other.
	at := e.sign(t, ES256, TypeAccessToken, e.access())
	idt := e.sign(t, ES256, TypeIDToken, e.idClaims())
	if _, err := e.keys.VerifyAccessToken(ctx, idt, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("ID token as access token: %v, want ErrInvalidToken", err)
	}
	if _, err := e.keys.ParseIDTokenHint(ctx, at, testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("access token as id_token_hint: %v, want ErrInvalidToken", err)
	}
}

func TestVerifyAccessTokenClaims(t *testing.T) {
	e := newEnv(t, EdDSA)
	ctx := t.Context()
	now := e.clock.Now().Unix()
	tests := []struct {
		name    string
		mod     func(*AccessClaims)
		issuer  string
		leeway  time.Duration
		wantErr error // nil: accepted
	}{
		{"valid", func(*AccessClaims) {}, testIssuer, 0, nil},
		{"exp in one second", func(c *AccessClaims) { c.ExpiresAt = now + 1 }, testIssuer, 0, nil},
		{"exp now", func(c *AccessClaims) { c.ExpiresAt = now }, testIssuer, 0, ErrExpired},
		{"expired", func(c *AccessClaims) { c.ExpiresAt = now - 1 }, testIssuer, 0, ErrExpired},
		{"expired, leeway does not extend exp", func(c *AccessClaims) { c.ExpiresAt = now - 1 }, testIssuer, time.Minute, ErrExpired},
		{"long expired", func(c *AccessClaims) { c.IssuedAt, c.ExpiresAt = now-7200, now-3600 }, testIssuer, 0, ErrExpired},
		{"no exp", func(c *AccessClaims) { c.ExpiresAt = 0 }, testIssuer, 0, ErrInvalidToken},
		{"no iat", func(c *AccessClaims) { c.IssuedAt = 0 }, testIssuer, 0, ErrInvalidToken},
		{"iat in the future", func(c *AccessClaims) { c.IssuedAt = now + 120 }, testIssuer, time.Minute, ErrInvalidToken},
		{"iat in the future within leeway", func(c *AccessClaims) { c.IssuedAt = now + 30 }, testIssuer, time.Minute, nil},
		{"iat one second ahead, no leeway", func(c *AccessClaims) { c.IssuedAt = now + 1 }, testIssuer, 0, ErrInvalidToken},
		{"wrong iss", func(c *AccessClaims) { c.Issuer = "https://evil.example" }, testIssuer, 0, ErrInvalidToken},
		{"iss with trailing slash", func(c *AccessClaims) { c.Issuer = testIssuer + "/" }, testIssuer, 0, ErrInvalidToken},
		{"iss differs in case", func(c *AccessClaims) { c.Issuer = strings.ToUpper(testIssuer) }, testIssuer, 0, ErrInvalidToken},
		{"empty iss accepted by nobody", func(c *AccessClaims) { c.Issuer = "" }, "", 0, ErrInvalidToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := e.access()
			tt.mod(&c)
			raw := e.sign(t, "", TypeAccessToken, c)
			got, err := e.keys.VerifyAccessToken(ctx, raw, tt.issuer, tt.leeway)
			if tt.wantErr == nil {
				if err != nil || got.ID != c.ID {
					t.Errorf("VerifyAccessToken = %+v, %v; want accepted", got, err)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) || !errors.Is(err, ErrInvalidToken) {
				t.Errorf("VerifyAccessToken error = %v, want %v (and ErrInvalidToken)", err, tt.wantErr)
			}
			if !reflect.DeepEqual(got, AccessClaims{}) {
				t.Errorf("rejected token returned claims %+v", got)
			}
		})
	}
}

// TestAlgNone: an unsigned token is refused whatever it claims.
func TestAlgNone(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	kid := e.store.active()[ES256].ID
	for _, alg := range []string{"none", "None", "NONE", "nOnE", ""} {
		raw := unsigned(map[string]any{"alg": alg, "typ": TypeAccessToken, "kid": kid}, e.access())
		if _, err := e.keys.VerifyAccessToken(t.Context(), raw, testIssuer, time.Minute); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("alg %q unsigned token: err %v, want ErrInvalidToken", alg, err)
		}
		// With a signature copied from a genuine token.
		genuine := e.sign(t, ES256, TypeAccessToken, e.access())
		withSig := raw + genuine[strings.LastIndex(genuine, ".")+1:]
		if _, err := e.keys.VerifyAccessToken(t.Context(), withSig, testIssuer, time.Minute); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("alg %q token with a borrowed signature: err %v, want ErrInvalidToken", alg, err)
		}
	}
}

// TestHMACConfusion: the classic attack signs HS256 with the server's
// public key as the HMAC secret, hoping the verifier feeds the "key" it
// has for that kid to HMAC. go-jose is told to accept RS256/ES256/EdDSA
// only, so no form of the public key works.
func TestHMACConfusion(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	ctx := t.Context()
	jwks, _ := e.keys.JWKS(ctx)
	forged := 0
	for alg, sk := range e.store.active() {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(sk.Public); err != nil {
			t.Fatal(err)
		}
		der, err := x509.MarshalPKIXPublicKey(jwk.Key)
		if err != nil {
			t.Fatal(err)
		}
		secrets := map[string][]byte{
			"public JWK JSON": sk.Public,
			"PEM":             pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}),
			"PKIX DER":        der,
			"JWKS":            jwks,
		}
		if alg == RS256 {
			pkcs1 := x509.MarshalPKCS1PublicKey(jwk.Key.(*rsa.PublicKey))
			secrets["PKCS#1 PEM"] = pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: pkcs1})
		}
		for name, secret := range secrets {
			for hs, minLen := range map[jose.SignatureAlgorithm]int{jose.HS256: 32, jose.HS384: 48, jose.HS512: 64} {
				if len(secret) < minLen {
					continue // go-jose refuses HMAC keys shorter than the hash
				}
				forged++
				raw := forge(t, hs, secret, map[jose.HeaderKey]any{"kid": sk.ID, "typ": TypeAccessToken}, e.access())
				if _, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
					t.Errorf("%s keyed with %s key's %s: err %v, want ErrInvalidToken", hs, alg, name, err)
				}
				var m map[string]any
				if err := e.keys.Verify(ctx, raw, TypeAccessToken, &m); err == nil || m != nil {
					t.Errorf("Verify of %s token filled claims %v, err %v", hs, m, err)
				}
			}
		}
	}
	if forged < 30 {
		t.Errorf("only %d HMAC tokens forged; the test lost its cases", forged)
	}
}

// TestWrongAlgWithRealKey: even signed with our own private key, an
// algorithm outside the allowed list (PS256, RS384, RS512, ES256 with the
// RSA key's kid...) is refused.
func TestWrongAlgWithRealKey(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	rsaKid, rsaKey := e.privateKey(t, RS256)
	ecKid, ecKey := e.privateKey(t, ES256)
	edKid, edKey := e.privateKey(t, EdDSA)
	tests := []struct {
		name string
		alg  jose.SignatureAlgorithm
		key  any
		kid  string
	}{
		{"PS256 with the RSA key", jose.PS256, rsaKey, rsaKid},
		{"RS384 with the RSA key", jose.RS384, rsaKey, rsaKid},
		{"RS512 with the RSA key", jose.RS512, rsaKey, rsaKid},
		{"ES256 signature under the EdDSA kid", jose.ES256, ecKey, edKid},
		{"EdDSA signature under the ES256 kid", jose.EdDSA, edKey, ecKid},
		{"RS256 signature under the ES256 kid", jose.RS256, rsaKey, ecKid},
	}
	for _, tt := range tests {
		raw := forge(t, tt.alg, tt.key, map[jose.HeaderKey]any{"kid": tt.kid, "typ": TypeAccessToken}, e.access())
		if _, err := e.keys.VerifyAccessToken(t.Context(), raw, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err %v, want ErrInvalidToken", tt.name, err)
		}
	}
	// Control: the same forging path with the right alg and kid verifies,
	// so the rejections above are about the algorithm.
	raw := forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"kid": ecKid, "typ": TypeAccessToken}, e.access())
	if _, err := e.keys.VerifyAccessToken(t.Context(), raw, testIssuer, 0); err != nil {
		t.Errorf("control token: %v", err)
	}
	// And without a kid, even the right key is refused.
	raw = forge(t, jose.ES256, ecKey, map[jose.HeaderKey]any{"typ": TypeAccessToken}, e.access())
	if _, err := e.keys.VerifyAccessToken(t.Context(), raw, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("token without kid: err %v, want ErrInvalidToken", err)
	}
}

// TestUnknownKey: tokens signed by keys that are not ours.
func TestUnknownKey(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	ourKid := e.store.active()[ES256].ID
	attacker, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	_, attackerEd, _ := ed25519.GenerateKey(rand.Reader)
	attackerJWK := jose.JSONWebKey{Key: attacker.Public(), KeyID: ourKid, Algorithm: "ES256", Use: "sig"}
	tests := []struct {
		name string
		raw  string
	}{
		{"attacker key, our kid", forge(t, jose.ES256, attacker, map[jose.HeaderKey]any{"kid": ourKid, "typ": TypeAccessToken}, e.access())},
		{"attacker key, made-up kid", forge(t, jose.ES256, attacker, map[jose.HeaderKey]any{"kid": "made-up", "typ": TypeAccessToken}, e.access())},
		{"attacker Ed25519 key, our EdDSA kid", forge(t, jose.EdDSA, attackerEd, map[jose.HeaderKey]any{"kid": e.store.active()[EdDSA].ID, "typ": TypeAccessToken}, e.access())},
		{"embedded jwk header", forge(t, jose.ES256, attacker, map[jose.HeaderKey]any{"kid": ourKid, "jwk": attackerJWK, "typ": TypeAccessToken}, e.access())},
		{"another Latch deployment", func() string { o := newEnv(t, ES256); return o.sign(t, ES256, TypeAccessToken, e.access()) }()},
	}
	for _, tt := range tests {
		if _, err := e.keys.VerifyAccessToken(ctx, tt.raw, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err %v, want ErrInvalidToken", tt.name, err)
		}
	}
}

func TestTamperedAndMalformed(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	raw := e.sign(t, ES256, TypeAccessToken, e.access())
	parts := strings.Split(raw, ".")
	other := e.access()
	other.Subject = "admin"
	otherPayload, _ := json.Marshal(other)
	var jsonSer string
	{
		_, ecKey := e.privateKey(t, ES256)
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: ecKey},
			(&jose.SignerOptions{}).WithType(TypeAccessToken).WithHeader("kid", e.store.active()[ES256].ID))
		p, _ := json.Marshal(e.access())
		jws, _ := signer.Sign(p)
		jsonSer = jws.FullSerialize()
	}
	tests := []struct{ name, raw string }{
		{"empty", ""},
		{"garbage", "not a token"},
		{"two parts", parts[0] + "." + parts[1]},
		{"four parts", raw + ".x"},
		{"swapped payload", parts[0] + "." + base64.RawURLEncoding.EncodeToString(otherPayload) + "." + parts[2]},
		{"signature dropped", parts[0] + "." + parts[1] + "."},
		{"signature truncated", raw[:len(raw)-4]},
		{"signature bit flipped", parts[0] + "." + parts[1] + "." + flipChar(parts[2])},
		{"payload bit flipped", parts[0] + "." + flipChar(parts[1]) + "." + parts[2]},
		{"header bit flipped", flipChar(parts[0]) + "." + parts[1] + "." + parts[2]},
		{"padded", raw + "=="},
		{"JWS JSON serialization", jsonSer},
	}
	for _, tt := range tests {
		if _, err := e.keys.VerifyAccessToken(ctx, tt.raw, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("%s: err %v, want ErrInvalidToken", tt.name, err)
		}
	}
	// The claims type must fit: an error, not a partial fill.
	var wrong struct {
		Sub int `json:"sub"`
	}
	if err := e.keys.Verify(ctx, raw, TypeAccessToken, &wrong); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("Verify into a mismatched claims type: %v, want ErrInvalidToken", err)
	}
}

// flipChar changes the middle character of a base64url string.
func flipChar(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// TestRetiredKeys: a retired key verifies while it is published and not
// after RetiredTTL, even when the store cannot be read to notice.
func TestRetiredKeys(t *testing.T) {
	for _, storeDown := range []bool{false, true} {
		name := "store up"
		if storeDown {
			name = "store down"
		}
		t.Run(name, func(t *testing.T) {
			e := newEnv(t, ES256)
			ctx := t.Context()
			c := e.access()
			c.ExpiresAt = e.clock.Now().Add(30 * 24 * time.Hour).Unix() // outlives the key
			idc := e.idClaims()
			oldAT := e.sign(t, ES256, TypeAccessToken, c)
			oldID := e.sign(t, ES256, TypeIDToken, idc)
			if _, err := e.keys.RotateNow(ctx, ES256); err != nil {
				t.Fatal(err)
			}
			e.clock.Advance(e.cfg.RetiredTTL - time.Second)
			if _, err := e.keys.VerifyAccessToken(ctx, oldAT, testIssuer, 0); err != nil {
				t.Errorf("token of a retired, published key: %v", err)
			}
			if _, err := e.keys.ParseIDTokenHint(ctx, oldID, testIssuer); err != nil {
				t.Errorf("id_token_hint of a retired, published key: %v", err)
			}
			if storeDown {
				e.store.setListErr(errors.New("database is down"))
			}
			e.clock.Advance(time.Second)
			if _, err := e.keys.VerifyAccessToken(ctx, oldAT, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("token of a key retired RetiredTTL ago: err %v, want ErrInvalidToken", err)
			}
			if _, err := e.keys.ParseIDTokenHint(ctx, oldID, testIssuer); !errors.Is(err, ErrInvalidToken) {
				t.Errorf("id_token_hint of a key retired RetiredTTL ago: err %v, want ErrInvalidToken", err)
			}
			// New tokens still work.
			if _, err := e.keys.VerifyAccessToken(ctx, e.sign(t, ES256, TypeAccessToken, e.access()), testIssuer, 0); err != nil {
				t.Errorf("token of the active key: %v", err)
			}
		})
	}
}

func TestParseIDTokenHint(t *testing.T) {
	e := newEnv(t, EdDSA)
	ctx := t.Context()
	expired := e.idClaims()
	expired.IssuedAt -= 7200
	expired.ExpiresAt = expired.IssuedAt + 600
	raw := e.sign(t, EdDSA, TypeIDToken, expired)
	got, err := e.keys.ParseIDTokenHint(ctx, raw, testIssuer)
	if err != nil || got.Subject != expired.Subject || got.SID != expired.SID {
		t.Errorf("ParseIDTokenHint(expired hint) = %+v, %v; want accepted (RP-Initiated Logout §2)", got, err)
	}
	if _, err := e.keys.ParseIDTokenHint(ctx, raw, "https://other.example"); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("hint for another issuer: err %v, want ErrInvalidToken", err)
	}
	if _, err := e.keys.ParseIDTokenHint(ctx, raw, ""); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("empty issuer: err %v, want ErrInvalidToken", err)
	}
	o := newEnv(t, EdDSA)
	if _, err := e.keys.ParseIDTokenHint(ctx, o.sign(t, EdDSA, TypeIDToken, e.idClaims()), testIssuer); !errors.Is(err, ErrInvalidToken) {
		t.Errorf("hint signed by another deployment: err %v, want ErrInvalidToken", err)
	}
}

func TestAtHash(t *testing.T) {
	// OIDC Core 1.0 Appendix A.3/A.4 (signed with RS256).
	if got := AtHash(RS256, "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y"); got != "77QmUPtjPfzWtF2AnpK9RQ" {
		t.Errorf("AtHash(RS256, spec example) = %q, want 77QmUPtjPfzWtF2AnpK9RQ", got)
	}
	at := "eyJhbGciOiJFUzI1NiJ9.payload.signature"
	s256 := sha256.Sum256([]byte(at))
	s512 := sha512.Sum512([]byte(at))
	tests := []struct{ alg, want string }{
		{RS256, base64.RawURLEncoding.EncodeToString(s256[:16])},
		{ES256, base64.RawURLEncoding.EncodeToString(s256[:16])},
		{EdDSA, base64.RawURLEncoding.EncodeToString(s512[:32])},
		{"HS256", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := AtHash(tt.alg, at); got != tt.want {
			t.Errorf("AtHash(%q, %q) = %q, want %q", tt.alg, at, got, tt.want)
		}
	}
	if len(AtHash(RS256, at)) != 22 || len(AtHash(EdDSA, at)) != 43 {
		t.Error("AtHash lengths: want 22 (128 bits) for SHA-256 and 43 (256 bits) for SHA-512")
	}
}

// TestGoOIDCVerifies: an independent relying-party library (go-oidc, the
// one our users run) fetches the JWKS over HTTP, verifies ID tokens of
// every algorithm and checks their at_hash.
func TestGoOIDCVerifies(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := e.keys.JWKS(r.Context())
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/jwk-set+json")
		w.Write(b)
	}))
	defer srv.Close()
	ctx := t.Context()
	verifier := oidc.NewVerifier(testIssuer, oidc.NewRemoteKeySet(ctx, srv.URL), &oidc.Config{
		ClientID:             "client-1",
		SupportedSigningAlgs: Algorithms(),
		Now:                  e.clock.Now,
	})
	for _, alg := range Algorithms() {
		at := e.sign(t, alg, TypeAccessToken, e.access())
		c := e.idClaims()
		c.AtHash = AtHash(alg, at)
		idt, err := verifier.Verify(ctx, e.sign(t, alg, TypeIDToken, c))
		if err != nil {
			t.Errorf("go-oidc rejected our %s ID token: %v", alg, err)
			continue
		}
		if idt.Subject != c.Subject || idt.Nonce != c.Nonce {
			t.Errorf("go-oidc read sub %q nonce %q, want %q %q", idt.Subject, idt.Nonce, c.Subject, c.Nonce)
		}
		if err := idt.VerifyAccessToken(at); err != nil {
			t.Errorf("go-oidc rejected our %s at_hash: %v", alg, err)
		}
		if err := idt.VerifyAccessToken(at + "x"); err == nil {
			t.Errorf("go-oidc accepted a %s at_hash for another token", alg)
		}
	}
}

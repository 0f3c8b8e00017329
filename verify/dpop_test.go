package verify

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const apiURL = "https://api.example.test/orders"

// dpopFixture is an issuer, a verifier with ExternalURL
// https://api.example.test, a client DPoP key and a token bound to it.
type dpopFixture struct {
	ti     *testIssuer
	v      *Verifier
	key    testKey       // issuer's signing key
	client crypto.Signer // client's ES256 DPoP key
	token  string
}

func newDPoPFixture(t testing.TB) *dpopFixture {
	t.Helper()
	f := &dpopFixture{ti: newTestIssuer(t)}
	f.key = f.ti.addKey(t, jose.ES256, "k")
	f.v = f.ti.verifier(t, func(c *Config) { c.ExternalURL = "https://api.example.test/" })
	client, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	f.client = client
	f.token = f.bind(t, client)
	return f
}

// bind mints a token bound to key's thumbprint.
func (f *dpopFixture) bind(t testing.TB, key crypto.Signer) string {
	return mint(t, f.key, edit(f.ti.claims(), "cnf", map[string]any{"jkt": thumbprint(t, key)}))
}

// claims are valid proof claims for GET apiURL with f.token.
func (f *dpopFixture) claims() map[string]any {
	return map[string]any{
		"jti": rand.Text(),
		"htm": http.MethodGet,
		"htu": apiURL,
		"iat": f.ti.clock.Now().Unix(),
		"ath": ath(f.token),
	}
}

// proof signs claims with the client key, ES256, embedded jwk.
func (f *dpopFixture) proof(t testing.TB, claims map[string]any) string {
	return dpopProof(t, jose.ES256, f.client, claims, nil)
}

// request is GET on the internal address with the query the proof's htu
// must ignore; ExternalURL maps it to apiURL.
func request(auth string, proofs ...string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://10.0.0.7:8080/orders?page=2", nil)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	for _, p := range proofs {
		r.Header.Add("DPoP", p)
	}
	return r
}

func TestDPoP(t *testing.T) {
	f := newDPoPFixture(t)
	now := f.ti.clock.Now()
	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ed := newTestKey(t, jose.EdDSA, "")
	rs := newTestKey(t, jose.RS256, "")
	unbound := mint(t, f.key, f.ti.claims())

	tests := []struct {
		name     string
		req      func() *http.Request
		want     error  // nil: accepted
		wantCode string // Error.Code when rejected
		wantDesc string // in Error.Description when rejected
	}{
		{"valid ES256 proof", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, f.claims()))
		}, nil, "", ""},
		{"scheme case-insensitive", func() *http.Request {
			return request("dpop "+f.token, f.proof(t, f.claims()))
		}, nil, "", ""},
		{"valid EdDSA proof", func() *http.Request {
			tok := f.bind(t, ed.priv)
			return request("DPoP "+tok, dpopProof(t, jose.EdDSA, ed.priv, edit(f.claims(), "ath", ath(tok)), nil))
		}, nil, "", ""},
		{"valid RS256 proof", func() *http.Request {
			tok := f.bind(t, rs.priv)
			return request("DPoP "+tok, dpopProof(t, jose.RS256, rs.priv, edit(f.claims(), "ath", ath(tok)), nil))
		}, nil, "", ""},
		{"htu with query, upper-case host and default port", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "htu", "HTTPS://API.example.test:443/orders?x=1#f")))
		}, nil, "", ""},
		{"proof iat within leeway in the future", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "iat", now.Add(29*time.Second).Unix())))
		}, nil, "", ""},
		{"proof 59 s old", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "iat", now.Add(-59*time.Second).Unix())))
		}, nil, "", ""},

		{"wrong htm", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "htm", "POST")))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "htm mismatch"},
		{"htm in lower case", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "htm", "get")))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "htm mismatch"},
		{"wrong htu path", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "htu", "https://api.example.test/admin")))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "htu mismatch"},
		{"wrong htu host", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "htu", "https://evil.test/orders")))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "htu mismatch"},
		{"htu of the internal address", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "htu", "http://10.0.0.7:8080/orders")))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "htu mismatch"},
		{"wrong ath", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "ath", ath(unbound))))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "ath mismatch"},
		{"no ath", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "ath", nil)))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "ath mismatch"},
		{"no jti", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "jti", nil)))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "lacks jti"},
		{"jti too long", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "jti", strings.Repeat("j", maxJTILength+1))))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "lacks jti"},
		{"no iat", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "iat", nil)))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "lacks jti"},
		{"iat too old", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "iat", now.Add(-61*time.Second).Unix())))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "iat outside"},
		{"iat in the future", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, edit(f.claims(), "iat", now.Add(31*time.Second).Unix())))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "iat outside"},
		{"typ JWT", func() *http.Request {
			return request("DPoP "+f.token, dpopProof(t, jose.ES256, f.client, f.claims(), map[string]any{"typ": "JWT"}))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "typ must be dpop+jwt"},
		{"no jwk", func() *http.Request {
			return request("DPoP "+f.token, dpopProof(t, jose.ES256, f.client, f.claims(), map[string]any{"jwk": nil}))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "needs a public jwk"},
		{"jwk with the private key", func() *http.Request {
			return request("DPoP "+f.token, dpopProof(t, jose.ES256, f.client, f.claims(),
				map[string]any{"jwk": jose.JSONWebKey{Key: f.client}}))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "malformed DPoP proof"},
		{"proof by another key (thumbprint mismatch)", func() *http.Request {
			return request("DPoP "+f.token, dpopProof(t, jose.ES256, other, f.claims(), nil))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "does not match the token's cnf.jkt"},
		{"client's jwk, signed by another key", func() *http.Request {
			return request("DPoP "+f.token, dpopProof(t, jose.ES256, other, f.claims(),
				map[string]any{"jwk": jose.JSONWebKey{Key: f.client.Public()}}))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "invalid DPoP proof signature"},
		{"HS256 proof", func() *http.Request {
			return request("DPoP "+f.token, sign(t, jose.HS256, []byte("0123456789abcdef0123456789abcdef"),
				map[string]any{"typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: f.client.Public()}}, f.claims()))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "malformed DPoP proof"},
		{"alg none proof", func() *http.Request {
			h, _ := json.Marshal(map[string]any{"alg": "none", "typ": "dpop+jwt", "jwk": jose.JSONWebKey{Key: f.client.Public()}})
			p, _ := json.Marshal(f.claims())
			return request("DPoP "+f.token, b64(h)+"."+b64(p)+".")
		}, ErrDPoPProof, CodeInvalidDPoPProof, "malformed DPoP proof"},
		{"missing proof", func() *http.Request {
			return request("DPoP " + f.token)
		}, ErrDPoPProof, CodeInvalidDPoPProof, "missing DPoP proof"},
		{"two proofs", func() *http.Request {
			return request("DPoP "+f.token, f.proof(t, f.claims()), f.proof(t, f.claims()))
		}, ErrDPoPProof, CodeInvalidDPoPProof, "more than one DPoP proof"},
		{"proof is garbage", func() *http.Request {
			return request("DPoP "+f.token, "not-a-jwt")
		}, ErrDPoPProof, CodeInvalidDPoPProof, "malformed DPoP proof"},
		{"bound token as Bearer", func() *http.Request {
			return request("Bearer "+f.token, f.proof(t, f.claims()))
		}, ErrDPoPRequired, CodeInvalidToken, "DPoP proof is required"},
		{"unbound token with DPoP scheme", func() *http.Request {
			return request("DPoP "+unbound, f.proof(t, edit(f.claims(), "ath", ath(unbound))))
		}, ErrNotDPoPBound, CodeInvalidToken, "not DPoP-bound"},
		{"invalid token with DPoP scheme", func() *http.Request {
			return request("DPoP "+f.token+"x", f.proof(t, f.claims()))
		}, ErrSignature, CodeInvalidToken, "invalid signature"},
		{"invalid token, no proof", func() *http.Request {
			return request("DPoP " + f.token + "x")
		}, ErrSignature, CodeInvalidToken, "invalid signature"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := f.v.VerifyRequest(tt.req())
			if tt.want == nil {
				if err != nil {
					t.Fatalf("VerifyRequest() = %v, want success", err)
				}
				if c.JKT == "" || c.Subject != "user-123" {
					t.Errorf("VerifyRequest() claims = %+v, want bound claims of user-123", c)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("VerifyRequest() = %v, want errors.Is %v", err, tt.want)
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != tt.wantCode || e.StatusCode() != http.StatusUnauthorized ||
				!strings.Contains(e.Description, tt.wantDesc) {
				t.Errorf("VerifyRequest() error = %#v, want Code %q, 401, description containing %q", err, tt.wantCode, tt.wantDesc)
			}
		})
	}
}

func TestDPoPReplay(t *testing.T) {
	f := newDPoPFixture(t)
	proof := f.proof(t, f.claims())
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, proof)); err != nil {
		t.Fatalf("first use: VerifyRequest() = %v, want success", err)
	}
	f.ti.clock.Advance(10 * time.Second)
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, proof)); !errors.Is(err, ErrDPoPReplay) {
		t.Fatalf("replay: VerifyRequest() = %v, want %v", err, ErrDPoPReplay)
	}
	// A fresh proof (new jti) from the same client is fine.
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, f.proof(t, f.claims()))); err != nil {
		t.Errorf("fresh proof: VerifyRequest() = %v, want success", err)
	}
	// A proof that failed another check does not burn its jti.
	c := f.claims()
	bad := f.proof(t, edit(maps(c), "htm", "POST"))
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, bad)); !errors.Is(err, ErrDPoPProof) {
		t.Fatalf("bad htm: VerifyRequest() = %v, want %v", err, ErrDPoPProof)
	}
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, f.proof(t, c))); err != nil {
		t.Errorf("same jti after a rejected proof: VerifyRequest() = %v, want success", err)
	}
}

// maps returns a shallow copy of m.
func maps(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestDPoPMiddleware: the HTTP answers for DPoP successes and failures.
func TestDPoPMiddleware(t *testing.T) {
	f := newDPoPFixture(t)
	realm := `realm="` + testAudience + `"`

	got := serve(t, f.v, request("DPoP "+f.token, f.proof(t, f.claims())), "orders:read")
	if got.status != http.StatusOK || got.claims == nil || got.claims.JKT != thumbprint(t, f.client) {
		t.Errorf("valid proof: status %d, claims %+v; want 200 with JKT", got.status, got.claims)
	}

	got = serve(t, f.v, request("DPoP "+f.token, f.proof(t, edit(f.claims(), "htm", "DELETE"))))
	wantChallenges := []string{
		`DPoP ` + realm + `, error="invalid_dpop_proof", error_description="DPoP proof htm mismatch", algs="ES256 EdDSA RS256 PS256"`,
		`Bearer ` + realm,
	}
	if got.status != http.StatusUnauthorized || strings.Join(got.challenges, "\n") != strings.Join(wantChallenges, "\n") ||
		got.body["error"] != CodeInvalidDPoPProof {
		t.Errorf("bad proof: status %d, challenges %q, body %v; want 401, %q, invalid_dpop_proof",
			got.status, got.challenges, got.body, wantChallenges)
	}

	got = serve(t, f.v, request("DPoP "+f.token, f.proof(t, f.claims())), "orders:write")
	want403 := `DPoP ` + realm + `, error="insufficient_scope", error_description="the token lacks a required scope", scope="orders:write", algs="ES256 EdDSA RS256 PS256"`
	if got.status != http.StatusForbidden || len(got.challenges) != 1 || got.challenges[0] != want403 {
		t.Errorf("missing scope: status %d, challenges %q; want 403, %q", got.status, got.challenges, want403)
	}
}

// TestDPoPDefaultURI: without ExternalURL the htu is rebuilt from the
// request's Host and TLS state.
func TestDPoPDefaultURI(t *testing.T) {
	f := newDPoPFixture(t)
	v := f.ti.verifier(t, nil) // no ExternalURL
	tests := []struct {
		target string
		htu    string
		ok     bool
	}{
		{"http://api.local/orders", "http://api.local/orders", true},
		{"http://api.local:8080/orders?q=1", "http://api.local:8080/orders", true},
		{"https://api.local/orders", "https://api.local/orders", true}, // httptest sets r.TLS for https
		{"http://api.local/orders", "https://api.local/orders", false},
		{"http://api.local/orders", "http://api.local/orders/", false},
	}
	for _, tt := range tests {
		r := httptest.NewRequest(http.MethodGet, tt.target, nil)
		r.Header.Set("Authorization", "DPoP "+f.token)
		r.Header.Set("DPoP", f.proof(t, edit(f.claims(), "htu", tt.htu)))
		_, err := v.VerifyRequest(r)
		if (err == nil) != tt.ok {
			t.Errorf("request %s, htu %s: VerifyRequest() = %v, want ok=%v", tt.target, tt.htu, err, tt.ok)
		}
	}
}

// TestVerifyDPoPDirect: VerifyDPoP is usable without an http.Request.
func TestVerifyDPoPDirect(t *testing.T) {
	f := newDPoPFixture(t)
	c, err := f.v.VerifyDPoP(t.Context(), f.token, f.proof(t, edit(f.claims(), "htm", "POST")), "POST", apiURL)
	if err != nil {
		t.Fatalf("VerifyDPoP() = %v, want success", err)
	}
	if c.JKT != thumbprint(t, f.client) {
		t.Errorf("JKT = %q, want the client's thumbprint", c.JKT)
	}
}

func TestNormalizeHTU(t *testing.T) {
	tests := []struct {
		in, want string // want "" means error
	}{
		{"https://api.example/x", "https://api.example/x"},
		{"HTTPS://API.Example/x", "https://api.example/x"},
		{"https://api.example:443/x", "https://api.example/x"},
		{"http://api.example:80/x", "http://api.example/x"},
		{"https://api.example:8443/x", "https://api.example:8443/x"},
		{"https://api.example", "https://api.example/"},
		{"https://api.example/x?y=1#z", "https://api.example/x"},
		{"https://[::1]:443/x", "https://[::1]/x"},
		{"https://[::1]:8443/x", "https://[::1]:8443/x"},
		{"https://api.example/a%2Fb", "https://api.example/a%2Fb"},
		{"https://api.example/X", "https://api.example/X"}, // paths are case-sensitive
		{"https://user@api.example/x", ""},
		{"ftp://api.example/x", ""},
		{"/x", ""},
		{"mailto:a@b", ""},
		{"https://api.example/%zz", ""},
	}
	for _, tt := range tests {
		got, err := normalizeHTU(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("normalizeHTU(%q) = %q, want error", tt.in, got)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("normalizeHTU(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

func TestReplaySet(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := func(s string) [32]byte { return replayKey("jkt", s) }
	s := newReplaySet(3)
	if got := s.add(key("a"), now, now.Add(time.Minute)); got != replayNew {
		t.Fatalf("add(a) = %v, want replayNew", got)
	}
	if got := s.add(key("a"), now.Add(time.Minute), now.Add(2*time.Minute)); got != replaySeen {
		t.Errorf("add(a) again at the last instant of its window = %v, want replaySeen", got)
	}
	if got := s.add(key("a"), now.Add(time.Minute+time.Nanosecond), now.Add(2*time.Minute)); got != replayNew {
		t.Errorf("add(a) after its window = %v, want replayNew", got)
	}
	if got := s.add(key("z"), now.Add(3*time.Minute), now.Add(2*time.Minute)); got != replayUnusable {
		t.Errorf("add(z) already expired = %v, want replayUnusable", got)
	}

	// Capacity: a full set refuses new keys and forgets nothing early.
	// Expiry follows each entry's own until, not insertion order.
	s = newReplaySet(3)
	for _, e := range []struct {
		k     string
		until time.Duration
	}{{"a", 50 * time.Second}, {"b", 10 * time.Second}, {"c", 30 * time.Second}} {
		if got := s.add(key(e.k), now, now.Add(e.until)); got != replayNew {
			t.Fatalf("add(%s) = %v, want replayNew", e.k, got)
		}
	}
	if got := s.add(key("d"), now, now.Add(time.Minute)); got != replayFullNow {
		t.Errorf("add(d) to a full set = %v, want replayFullNow", got)
	}
	if got := s.add(key("e"), now, now.Add(time.Minute)); got != replayFull {
		t.Errorf("add(e) to a full set = %v, want replayFull", got)
	}
	for _, k := range []string{"a", "b", "c"} {
		if got := s.add(key(k), now.Add(10*time.Second), now.Add(time.Minute)); got != replaySeen {
			t.Errorf("add(%s) to a full set = %v, want replaySeen (never forgotten early)", k, got)
		}
	}
	// b expires first (it was added second): room for exactly one.
	if got := s.add(key("d"), now.Add(11*time.Second), now.Add(time.Minute)); got != replayNew {
		t.Errorf("add(d) once b expired = %v, want replayNew", got)
	}
	if got := s.add(key("e"), now.Add(11*time.Second), now.Add(time.Minute)); got != replayFullNow {
		t.Errorf("add(e) = %v, want replayFullNow", got)
	}
	if got := s.add(key("a"), now.Add(50*time.Second), now.Add(time.Minute)); got != replaySeen {
		t.Errorf("add(a) at its last instant = %v, want replaySeen", got)
	}
	if len(s.seen) != 2 || len(s.exp) != 2 { // a and d; c expired at 30 s
		t.Errorf("entries = %d/%d, want 2/2", len(s.seen), len(s.exp))
	}
}

// TestDPoPReplayFloodFailsClosed is the attack of issue 11 item 4: the
// attacker, holding a token bound to its own key, floods the verifier
// with valid proofs to push a captured victim proof out of the replay
// set, then replays it. The set must refuse new proofs when full, never
// forget the victim's; once the victim's proof is too old to be accepted
// anyway, the set has room again.
func TestDPoPReplayFloodFailsClosed(t *testing.T) {
	const capacity = 8
	f := newDPoPFixture(t)
	f.v = f.ti.verifier(t, func(c *Config) {
		c.ExternalURL = "https://api.example.test/"
		c.DPoPReplayCapacity = capacity
	})
	victim := f.proof(t, f.claims())
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, victim)); err != nil {
		t.Fatalf("victim's request: VerifyRequest() = %v, want success", err)
	}

	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	atok := f.bind(t, attacker)
	flood := func() error {
		_, err := f.v.VerifyRequest(request("DPoP "+atok,
			dpopProof(t, jose.ES256, attacker, edit(f.claims(), "ath", ath(atok)), nil)))
		return err
	}
	accepted := 0
	for i := range 3 * capacity {
		err := flood()
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, ErrDPoPReplayCacheFull):
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidDPoPProof || e.StatusCode() != http.StatusUnauthorized {
				t.Fatalf("flood proof %d: %#v, want 401 invalid_dpop_proof", i, err)
			}
		default:
			t.Fatalf("flood proof %d: %v", i, err)
		}
		f.ti.clock.Advance(time.Second)
	}
	if accepted != capacity-1 {
		t.Errorf("flood: %d proofs accepted, want %d (capacity %d, one taken by the victim)", accepted, capacity-1, capacity)
	}
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, victim)); !errors.Is(err, ErrDPoPReplay) {
		t.Fatalf("victim's proof replayed after the flood: VerifyRequest() = %v, want %v", err, ErrDPoPReplay)
	}

	// The victim's proof leaves the set only when it is too old anyway.
	f.ti.clock.Advance(DefaultDPoPProofMaxAge - time.Duration(3*capacity)*time.Second + time.Second)
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, victim)); !errors.Is(err, ErrDPoPProof) || errors.Is(err, ErrDPoPReplay) {
		t.Fatalf("victim's proof after its window: VerifyRequest() = %v, want %v (iat)", err, ErrDPoPProof)
	}
	if _, err := f.v.VerifyRequest(request("DPoP "+f.token, f.proof(t, f.claims()))); err != nil {
		t.Errorf("fresh proof once entries expired: VerifyRequest() = %v, want success", err)
	}
}

// TestDPoPReplayBurst: concurrent presentations of one proof are
// accepted exactly once, and a burst of distinct proofs against a small
// set is accepted exactly up to its capacity.
func TestDPoPReplayBurst(t *testing.T) {
	const n, capacity = 40, 10
	f := newDPoPFixture(t)
	f.v = f.ti.verifier(t, func(c *Config) {
		c.ExternalURL = "https://api.example.test/"
		c.DPoPReplayCapacity = capacity
	})
	burst := func(proofs []string) (ok, replayed, full int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		start := make(chan struct{})
		for _, p := range proofs {
			wg.Go(func() {
				<-start
				_, err := f.v.VerifyRequest(request("DPoP "+f.token, p))
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, ErrDPoPReplay):
					replayed++
				case errors.Is(err, ErrDPoPReplayCacheFull):
					full++
				default:
					t.Errorf("VerifyRequest() = %v", err)
				}
			})
		}
		close(start)
		wg.Wait()
		return ok, replayed, full
	}
	same := make([]string, n)
	same[0] = f.proof(t, f.claims())
	for i := range same {
		same[i] = same[0]
	}
	if ok, replayed, full := burst(same); ok != 1 || replayed != n-1 || full != 0 {
		t.Errorf("one proof %d times at once: %d accepted, %d replays, %d full; want 1, %d, 0", n, ok, replayed, full, n-1)
	}
	distinct := make([]string, n)
	for i := range distinct {
		distinct[i] = f.proof(t, f.claims())
	}
	if ok, replayed, full := burst(distinct); ok != capacity-1 || replayed != 0 || full != n-capacity+1 {
		t.Errorf("%d distinct proofs at once: %d accepted, %d replays, %d full; want %d, 0, %d", n, ok, replayed, full, capacity-1, n-capacity+1)
	}
}

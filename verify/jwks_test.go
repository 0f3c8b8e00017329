package verify

import (
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestUnknownKidFloodIsRateLimited: 1000 tokens with random kids, sent
// concurrently, cause at most one JWKS fetch per MinRefreshInterval.
func TestUnknownKidFloodIsRateLimited(t *testing.T) {
	ti := newTestIssuer(t)
	good := ti.addKey(t, jose.ES256, "good")
	attacker := newTestKey(t, jose.ES256, "")
	v := ti.verifier(t, nil)
	if got := ti.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS fetches after New = %d, want 1 (warm-up)", got)
	}
	flood := func() {
		t.Helper()
		tokens := make([]string, 1000)
		for i := range tokens {
			tokens[i] = mint(t, testKey{rand.Text(), attacker.alg, attacker.priv}, ti.claims())
		}
		var wg sync.WaitGroup
		errs := make(chan error, len(tokens))
		for _, tok := range tokens {
			wg.Go(func() {
				_, err := v.Verify(t.Context(), tok)
				errs <- err
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			if !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Verify(random kid) = %v, want %v", err, ErrUnknownKey)
			}
		}
	}

	// Right after the warm-up: no fetch at all.
	flood()
	if got := ti.jwksHits.Load(); got != 1 {
		t.Errorf("JWKS fetches after a flood within MinRefreshInterval = %d, want 1", got)
	}
	// After the interval: the flood shares exactly one fetch.
	ti.clock.Advance(DefaultMinRefreshInterval)
	flood()
	if got := ti.jwksHits.Load(); got != 2 {
		t.Errorf("JWKS fetches after a flood past MinRefreshInterval = %d, want 2", got)
	}
	if got := ti.discoveryHits.Load(); got != 1 {
		t.Errorf("discovery fetches = %d, want 1 (remembered)", got)
	}
	// Known keys still work throughout.
	if _, err := v.Verify(t.Context(), mint(t, good, ti.claims())); err != nil {
		t.Errorf("Verify(good) after flood = %v", err)
	}
}

// TestKeyRotation: a token signed with a newly published key verifies
// once the rate limit allows a refetch; the refetched set replaces the old
// one, so a key the issuer dropped stops verifying new tokens.
func TestKeyRotation(t *testing.T) {
	ti := newTestIssuer(t)
	oldKey := ti.addKey(t, jose.ES256, "old")
	v := ti.verifier(t, func(c *Config) { c.CacheSize = -1 })
	if _, err := v.Verify(t.Context(), mint(t, oldKey, ti.claims())); err != nil {
		t.Fatalf("Verify(old) = %v", err)
	}

	newKey := newTestKey(t, jose.EdDSA, "new")
	ti.mu.Lock()
	ti.published = []jose.JSONWebKey{newKey.public()} // old key dropped
	ti.mu.Unlock()
	newToken := mint(t, newKey, ti.claims())

	// Within MinRefreshInterval of the warm-up the refetch is refused.
	ti.clock.Advance(DefaultMinRefreshInterval - time.Second)
	if _, err := v.Verify(t.Context(), newToken); !errors.Is(err, ErrUnknownKey) {
		t.Fatalf("Verify(new) before the interval = %v, want %v", err, ErrUnknownKey)
	}
	ti.clock.Advance(time.Second)
	c, err := v.Verify(t.Context(), newToken)
	if err != nil {
		t.Fatalf("Verify(new) after the interval = %v, want success", err)
	}
	if c.Subject != "user-123" {
		t.Errorf("Subject = %q, want user-123", c.Subject)
	}
	if got := ti.jwksHits.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2", got)
	}
	if _, err := v.Verify(t.Context(), mint(t, oldKey, ti.claims())); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Verify(dropped key) = %v, want %v", err, ErrUnknownKey)
	}
}

// TestWarmUpFailure: if the issuer is down when New runs, New succeeds
// and the first Verify fetches at once (a failed warm-up does not start
// the rate-limit clock).
func TestWarmUpFailure(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	ti.mu.Lock()
	ti.jwksFail = true
	ti.mu.Unlock()
	v := ti.verifier(t, nil)
	ti.mu.Lock()
	ti.jwksFail = false
	ti.mu.Unlock()
	if _, err := v.Verify(t.Context(), mint(t, k, ti.claims())); err != nil {
		t.Errorf("Verify after failed warm-up = %v, want success", err)
	}
	if got := ti.jwksHits.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2", got)
	}
}

// TestFetchFailureKeepsKeys: a failed refetch keeps the keys already
// known, and the failure is rate-limited too.
func TestFetchFailureKeepsKeys(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, func(c *Config) { c.CacheSize = -1 })
	ti.mu.Lock()
	ti.jwksFail = true
	ti.mu.Unlock()
	ti.clock.Advance(time.Hour)
	unknown := mint(t, testKey{"other", k.alg, k.priv}, ti.claims())
	for range 3 {
		if _, err := v.Verify(t.Context(), unknown); !errors.Is(err, ErrUnknownKey) {
			t.Fatalf("Verify(unknown kid) = %v, want %v", err, ErrUnknownKey)
		}
	}
	if got := ti.jwksHits.Load(); got != 2 {
		t.Errorf("JWKS fetches = %d, want 2 (warm-up + one failed refetch)", got)
	}
	if _, err := v.Verify(t.Context(), mint(t, k, ti.claims())); err != nil {
		t.Errorf("Verify(known kid) after failed refetch = %v, want success", err)
	}
}

func TestDiscovery(t *testing.T) {
	key := newTestKey(t, jose.ES256, "k")
	jwks, err := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{key.public()}})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string // issuer path
		handler func(issuer string) http.HandlerFunc
		jwksURL bool // configure JWKSURL instead of discovering
		wantOK  bool
	}{
		{"openid-configuration", "", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/.well-known/openid-configuration":
					fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss, iss+"/keys")
				case "/keys":
					w.Write(jwks)
				default:
					http.NotFound(w, r)
				}
			}
		}, false, true},
		{"RFC 8414 fallback with issuer path", "/tenant", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/.well-known/oauth-authorization-server/tenant":
					fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss, iss+"/keys")
				case "/tenant/keys":
					w.Write(jwks)
				default:
					http.NotFound(w, r)
				}
			}
		}, false, true},
		{"discovered issuer mismatch", "", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				switch r.URL.Path {
				case "/.well-known/openid-configuration":
					fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, "https://evil.test", iss+"/keys")
				case "/keys":
					w.Write(jwks)
				default:
					http.NotFound(w, r)
				}
			}
		}, false, false},
		{"no jwks_uri", "", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				fmt.Fprintf(w, `{"issuer":%q}`, iss)
			}
		}, false, false},
		{"configured JWKSURL, no discovery", "", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path != "/keys" {
					t.Errorf("unexpected request %s", r.URL.Path)
					http.NotFound(w, r)
					return
				}
				w.Write(jwks)
			}
		}, true, true},
		{"JWKS not JSON", "", func(iss string) http.HandlerFunc {
			return func(w http.ResponseWriter, r *http.Request) {
				if r.URL.Path == "/.well-known/openid-configuration" {
					fmt.Fprintf(w, `{"issuer":%q,"jwks_uri":%q}`, iss, iss+"/keys")
					return
				}
				w.Write([]byte("<html>"))
			}
		}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h http.HandlerFunc
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h(w, r) }))
			defer srv.Close()
			iss := srv.URL + tt.path
			h = tt.handler(iss)
			clock := newFakeClock()
			cfg := Config{Issuer: iss, Audience: testAudience, Now: clock.Now}
			if tt.jwksURL {
				cfg.JWKSURL = iss + "/keys"
			}
			v, err := New(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			now := clock.Now()
			tok := mint(t, key, map[string]any{"iss": iss, "sub": "s", "aud": testAudience, "client_id": "c",
				"iat": now.Unix(), "exp": now.Add(time.Minute).Unix()})
			_, err = v.Verify(t.Context(), tok)
			if tt.wantOK && err != nil {
				t.Errorf("Verify() = %v, want success", err)
			}
			if !tt.wantOK && !errors.Is(err, ErrUnknownKey) {
				t.Errorf("Verify() = %v, want %v", err, ErrUnknownKey)
			}
		})
	}
}

func TestWellKnownURLs(t *testing.T) {
	tests := []struct {
		issuer string
		want   []string
	}{
		{"https://login.example", []string{
			"https://login.example/.well-known/openid-configuration",
			"https://login.example/.well-known/oauth-authorization-server",
		}},
		{"https://login.example/", []string{
			"https://login.example/.well-known/openid-configuration",
			"https://login.example/.well-known/oauth-authorization-server",
		}},
		{"https://login.example/t/acme", []string{
			"https://login.example/t/acme/.well-known/openid-configuration",
			"https://login.example/.well-known/oauth-authorization-server/t/acme",
		}},
	}
	for _, tt := range tests {
		if got := wellKnownURLs(tt.issuer); !slices.Equal(got, tt.want) {
			t.Errorf("wellKnownURLs(%q) = %q, want %q", tt.issuer, got, tt.want)
		}
	}
}

func TestParseKeySet(t *testing.T) {
	es := newTestKey(t, jose.ES256, "es")
	esJSON, _ := json.Marshal(es.public())
	private, _ := json.Marshal(jose.JSONWebKey{Key: es.priv, KeyID: "priv"})
	noKID, _ := json.Marshal(jose.JSONWebKey{Key: es.priv.Public()})
	enc, _ := json.Marshal(jose.JSONWebKey{Key: es.priv.Public(), KeyID: "enc", Use: "enc"})
	tests := []struct {
		name     string
		keys     []string
		wantKIDs []string // nil: error
	}{
		{"one key", []string{string(esJSON)}, []string{"es"}},
		{"symmetric key skipped", []string{string(esJSON), `{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`}, []string{"es"}},
		{"unknown kty skipped", []string{`{"kty":"XYZ","kid":"x"}`, string(esJSON)}, []string{"es"}},
		{"private key skipped", []string{string(private), string(esJSON)}, []string{"es"}},
		{"key without kid skipped", []string{string(noKID), string(esJSON)}, []string{"es"}},
		{"encryption key skipped", []string{string(enc), string(esJSON)}, []string{"es"}},
		{"only unusable keys", []string{`{"kty":"oct","kid":"hmac","k":"c2VjcmV0"}`}, nil},
		{"empty", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := `{"keys":[` + strings.Join(tt.keys, ",") + `]}`
			set, _, err := parseKeySet([]byte(body))
			if tt.wantKIDs == nil {
				if err == nil {
					t.Errorf("parseKeySet(%s) = %v, want error", body, set.byKID)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseKeySet(%s) = %v", body, err)
			}
			var kids []string
			for kid := range set.byKID {
				kids = append(kids, kid)
			}
			slices.Sort(kids)
			if !slices.Equal(kids, tt.wantKIDs) {
				t.Errorf("parseKeySet kids = %q, want %q", kids, tt.wantKIDs)
			}
		})
	}
}

// TestKeySetMaxAge: an old key set is refetched in the background, so a
// key the issuer withdrew stops verifying without any new kid appearing.
func TestKeySetMaxAge(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, func(c *Config) { c.CacheSize = -1 })
	ti.mu.Lock()
	ti.published = []jose.JSONWebKey{newTestKey(t, jose.ES256, "other").public()} // k withdrawn
	ti.mu.Unlock()

	ti.clock.Advance(keySetMaxAge - time.Second)
	if _, err := v.Verify(t.Context(), mint(t, k, ti.claims())); err != nil {
		t.Fatalf("Verify() with a young key set = %v, want success", err)
	}
	if got := ti.jwksHits.Load(); got != 1 {
		t.Fatalf("JWKS fetches = %d, want 1", got)
	}

	ti.clock.Advance(time.Second)
	// This verification still uses the current keys and starts a refresh.
	if _, err := v.Verify(t.Context(), mint(t, k, ti.claims())); err != nil {
		t.Fatalf("Verify() while refreshing = %v, want success", err)
	}
	v.keys.mu.Lock()
	call := v.keys.inflight
	v.keys.mu.Unlock()
	if call != nil {
		<-call.done
	}
	if got := ti.jwksHits.Load(); got != 2 {
		t.Fatalf("JWKS fetches after max age = %d, want 2", got)
	}
	if _, err := v.Verify(t.Context(), mint(t, k, ti.claims())); !errors.Is(err, ErrUnknownKey) {
		t.Errorf("Verify(withdrawn key) after refresh = %v, want %v", err, ErrUnknownKey)
	}
}

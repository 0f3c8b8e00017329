package server_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"

	"golang.org/x/oauth2"
)

// Benchmarks of the hot endpoints, through the whole handler stack
// (middleware, parsing, store, signing) but without the network: requests
// go straight to the handler. Latch runs on a real SQLite store with ES256
// (latchtest's default). The load tool (latch bench) measures the same
// paths over HTTP under concurrency.

// benchEnv is a started Latch, its handler and a signed-in session
// cookie for alice.
type benchEnv struct {
	e       *latchtest.Env
	h       http.Handler
	cookie  *http.Cookie
	issuer  string
	authURL func(verifier string) string
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	e := latchtest.Start(b)
	br := e.Browser()
	e.CodeFlow(br, "openid") // signs alice in: the jar now holds the session
	u, _ := url.Parse(e.Issuer)
	var cookie *http.Cookie
	for _, c := range br.Client.Jar.Cookies(u) {
		if strings.Contains(strings.ToLower(c.Name), "session") {
			cookie = c
		}
	}
	if cookie == nil {
		b.Fatalf("no session cookie after sign-in: %v", br.Client.Jar.Cookies(u))
	}
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid", "profile", "email")
	return &benchEnv{
		e: e, h: e.Server.Config.Handler, cookie: cookie, issuer: e.Issuer,
		authURL: func(v string) string {
			return conf.AuthCodeURL("state", oauth2.S256ChallengeOption(v), oauth2.SetAuthURLParam("nonce", "n"))
		},
	}
}

// authorize runs GET /authorize with the session and returns the code.
func (be *benchEnv) authorize(b *testing.B, verifier string) string {
	req := httptest.NewRequest(http.MethodGet, be.authURL(verifier), nil)
	req.AddCookie(be.cookie)
	rec := httptest.NewRecorder()
	be.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusFound {
		b.Fatalf("authorize: %d, want 302: %s", rec.Code, rec.Body)
	}
	loc, err := url.Parse(rec.Header().Get("Location"))
	if err != nil || loc.Query().Get("code") == "" {
		b.Fatalf("authorize: no code in %q", rec.Header().Get("Location"))
	}
	return loc.Query().Get("code")
}

// token posts form to /token and returns the decoded response.
func (be *benchEnv) token(b *testing.B, form url.Values, basic ...string) map[string]any {
	req := httptest.NewRequest(http.MethodPost, be.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if len(basic) == 2 {
		req.SetBasicAuth(basic[0], basic[1])
	}
	rec := httptest.NewRecorder()
	be.h.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("token (%s): %d: %s", form.Get("grant_type"), rec.Code, rec.Body)
	}
	var m map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &m); err != nil {
		b.Fatal(err)
	}
	return m
}

func (be *benchEnv) exchange(b *testing.B, code, verifier string) map[string]any {
	return be.token(b, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "client_id": {"spa"},
		"redirect_uri": {latchtest.SPARedirect}, "code_verifier": {verifier},
	})
}

// BenchmarkAuthorizeCode is code issuance: GET /authorize for a user with
// an SSO session → 302 with a fresh code (one store read for the client,
// two for the session and user, one insert of the challenge into the
// single-use set, one insert of the code).
func BenchmarkAuthorizeCode(b *testing.B) {
	be := newBenchEnv(b)
	b.ReportAllocs()
	stop := cpuMeter(b)
	for b.Loop() {
		be.authorize(b, oauth2.GenerateVerifier()) // a fresh challenge, as every request must have
	}
	stop()
}

// BenchmarkExchangeCode is the code exchange alone: PKCE check, grant and
// refresh token insert, access and ID token signatures. Codes are issued
// before the timer starts.
func BenchmarkExchangeCode(b *testing.B) {
	be := newBenchEnv(b)
	codes, verifiers := make([]string, b.N), make([]string, b.N)
	for i := range codes {
		verifiers[i] = oauth2.GenerateVerifier()
		codes[i] = be.authorize(b, verifiers[i])
	}
	b.ReportAllocs()
	b.ResetTimer()
	stop := cpuMeter(b)
	for i := range b.N {
		m := be.exchange(b, codes[i], verifiers[i])
		if m["id_token"] == nil || m["refresh_token"] == nil {
			b.Fatalf("exchange: no id_token or refresh_token: %v", m)
		}
	}
	stop()
}

// BenchmarkCodeFlow is W2 of latch bench without the network: authorize
// with a session, then exchange.
func BenchmarkCodeFlow(b *testing.B) {
	be := newBenchEnv(b)
	b.ReportAllocs()
	stop := cpuMeter(b)
	for b.Loop() {
		v := oauth2.GenerateVerifier()
		be.exchange(b, be.authorize(b, v), v)
	}
	stop()
}

// BenchmarkRefreshRotation is the refresh_token grant: lookup, atomic
// rotation, access and ID token signatures; each iteration presents the
// newest token.
func BenchmarkRefreshRotation(b *testing.B) {
	be := newBenchEnv(b)
	v := oauth2.GenerateVerifier()
	rt := be.exchange(b, be.authorize(b, v), v)["refresh_token"].(string)
	b.ReportAllocs()
	stop := cpuMeter(b)
	for b.Loop() {
		m := be.token(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}})
		next, _ := m["refresh_token"].(string)
		if next == "" || next == rt {
			b.Fatalf("refresh: not rotated: %v", m)
		}
		rt = next
	}
	stop()
}

// BenchmarkClientCredentials is the client_credentials grant: client
// authentication (SHA-256 of the secret) and one access token signature.
func BenchmarkClientCredentials(b *testing.B) {
	be := newBenchEnv(b)
	be.e.MustClient(latchtestServiceClient())
	secret := be.e.Secrets["bench-service"]
	b.ReportAllocs()
	stop := cpuMeter(b)
	for b.Loop() {
		be.token(b, url.Values{"grant_type": {"client_credentials"}}, "bench-service", secret)
	}
	stop()
}

// BenchmarkIntrospect is introspection of a user's access token by a
// confidential client: signature check, revocation and grant lookups.
func BenchmarkIntrospect(b *testing.B) {
	be := newBenchEnv(b)
	be.e.MustClient(latchtestServiceClient())
	secret := be.e.Secrets["bench-service"]
	v := oauth2.GenerateVerifier()
	at := be.exchange(b, be.authorize(b, v), v)["access_token"].(string)
	form := url.Values{"token": {at}}.Encode()
	b.ReportAllocs()
	stop := cpuMeter(b)
	for b.Loop() {
		req := httptest.NewRequest(http.MethodPost, be.issuer+"/introspect", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("bench-service", secret)
		rec := httptest.NewRecorder()
		be.h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"active":true`) {
			b.Fatalf("introspect: %d %s", rec.Code, rec.Body)
		}
	}
	stop()
}

// latchtestServiceClient is a confidential machine client; MustClient
// gives it a secret.
func latchtestServiceClient() store.Client {
	// A resource server: it introspects a user's token issued to another
	// client (RFC 7662 §2.2; issue 11 item 9), as W4 does.
	return store.Client{ID: "bench-service", GrantTypes: []string{"client_credentials"}, Scopes: []string{"api:read"}, ResourceServer: true}
}

// BenchmarkCodeFlowParallel is BenchmarkCodeFlow from 32 goroutines per
// CPU: the concurrency at which the store's group commit batches writes.
func BenchmarkCodeFlowParallel(b *testing.B) {
	be := newBenchEnv(b)
	b.SetParallelism(32)
	b.ReportAllocs()
	stop := cpuMeter(b)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			v := oauth2.GenerateVerifier()
			be.exchange(b, be.authorize(b, v), v)
		}
	})
	stop()
}

// BenchmarkRefreshRotationParallel is BenchmarkRefreshRotation from 32
// goroutines per CPU, each rotating its own chain.
func BenchmarkRefreshRotationParallel(b *testing.B) {
	be := newBenchEnv(b)
	b.SetParallelism(32)
	b.ReportAllocs()
	stop := cpuMeter(b)
	b.RunParallel(func(pb *testing.PB) {
		v := oauth2.GenerateVerifier()
		rt := be.exchange(b, be.authorize(b, v), v)["refresh_token"].(string)
		for pb.Next() {
			m := be.token(b, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"}})
			rt, _ = m["refresh_token"].(string)
		}
	})
	stop()
}

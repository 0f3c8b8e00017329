package bff_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

const clientID = "bff"

// testKey is the CookieKey of every test BFF: instances sharing a store
// share it, as they must.
var testKey = bytes.Repeat([]byte{7}, 32)

// fixture is a real Latch (latchtest), an API that records what it
// receives, and one or more BFF instances on httptest servers.
type fixture struct {
	t   *testing.T
	env *latchtest.Env
	rt  *countingTransport
	api *httptest.Server

	apiMu   sync.Mutex
	apiSeen []*http.Request
}

// countingTransport counts the token requests BFFs make, by grant type,
// and, for the back-channel logout tests, adds extra keys to Latch's JWKS
// as a JWKS server would serve them.
type countingTransport struct {
	issuer string
	mu     sync.Mutex
	grants map[string]int
	// hold, when set, delays each refresh request until it is closed.
	hold chan struct{}
	// extraJWKS is added to the keys of the issuer's jwks_uri.
	extraJWKS []json.RawMessage
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.String() == c.issuer+"/token" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		q, _ := url.ParseQuery(string(body))
		c.mu.Lock()
		c.grants[q.Get("grant_type")]++
		hold := c.hold
		c.mu.Unlock()
		if hold != nil && q.Get("grant_type") == "refresh_token" {
			<-hold
		}
	}
	res, err := http.DefaultTransport.RoundTrip(r)
	c.mu.Lock()
	extra := c.extraJWKS
	c.mu.Unlock()
	if err == nil && r.Method == http.MethodGet && strings.HasPrefix(r.URL.String(), c.issuer) && strings.Contains(r.URL.Path, "jwks") && len(extra) > 0 {
		var set struct {
			Keys []json.RawMessage `json:"keys"`
		}
		_ = json.NewDecoder(res.Body).Decode(&set)
		res.Body.Close()
		set.Keys = append(set.Keys, extra...)
		b, _ := json.Marshal(set)
		res.Body = io.NopCloser(bytes.NewReader(b))
		res.ContentLength = int64(len(b))
		res.Header.Del("Content-Length")
	}
	return res, err
}

func (c *countingTransport) count(grant string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.grants[grant]
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, latchtest.Options{})
}

// newFixtureWith is newFixture with a Latch started with o.
func newFixtureWith(t *testing.T, o latchtest.Options) *fixture {
	t.Helper()
	env := latchtest.StartWith(t, o)
	f := &fixture{t: t, env: env, rt: &countingTransport{issuer: env.Issuer, grants: map[string]int{}}}
	f.api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.apiMu.Lock()
		f.apiSeen = append(f.apiSeen, r.Clone(r.Context()))
		f.apiMu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "from_api", Value: "x"})
		w.Header().Set("Access-Control-Allow-Origin", "https://evil.example")
		w.Header().Set("Access-Control-Allow-Credentials", "true")
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "query": r.URL.RawQuery})
	}))
	t.Cleanup(f.api.Close)
	return f
}

// register registers the BFF client for base (its redirect and
// post-logout redirect URIs).
func (f *fixture) register(base string) {
	f.env.MustClient(store.Client{
		ID: clientID, Name: "BFF", RedirectURIs: []string{base + "/callback"},
		PostLogoutRedirectURIs: []string{base + "/"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
	})
}

func (f *fixture) config(base string, sessions bff.SessionStore, mutate ...func(*bff.Config)) bff.Config {
	cfg := bff.Config{
		Issuer: f.env.Issuer, ClientID: clientID, ClientSecret: f.env.Secrets[clientID],
		BaseURL: base, CookieKey: testKey, Sessions: sessions,
		Upstreams:  []bff.Upstream{{Prefix: "/api/", URL: f.api.URL}},
		HTTPClient: &http.Client{Transport: f.rt},
		Now:        f.env.Clock.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	return cfg
}

func (f *fixture) newBFF(cfg bff.Config) *bff.BFF {
	f.t.Helper()
	b, err := bff.New(f.t.Context(), cfg)
	if err != nil {
		f.t.Fatalf("bff.New: %v", err)
	}
	return b
}

// single starts one BFF instance on its own server and returns its URL.
func (f *fixture) single(sessions bff.SessionStore, mutate ...func(*bff.Config)) (string, *bff.BFF) {
	f.t.Helper()
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	base := "http://" + ts.Listener.Addr().String()
	f.register(base)
	b := f.newBFF(f.config(base, sessions, mutate...))
	ts.Config.Handler = b
	ts.Start()
	f.t.Cleanup(ts.Close)
	return base, b
}

func (f *fixture) seen() []*http.Request {
	f.apiMu.Lock()
	defer f.apiMu.Unlock()
	return append([]*http.Request(nil), f.apiSeen...)
}

// browser is a user agent: one cookie jar shared by a client that follows
// redirects inside Latch (latchtest's) and one that follows none.
type browser struct {
	*latchtest.Browser
	raw *http.Client
	// every response body and Set-Cookie the BFF sent, for the
	// no-token-reaches-the-browser check
	mu  sync.Mutex
	got []string
}

func (f *fixture) browser() *browser {
	b := f.env.Browser()
	return &browser{Browser: b, raw: &http.Client{Jar: b.Client.Jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// do sends a request without following redirects.
func (b *browser) do(t *testing.T, method, u string, mutate ...func(*http.Request)) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range mutate {
		m(req)
	}
	res, err := b.raw.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	b.mu.Lock()
	b.got = append(b.got, string(body), strings.Join(res.Header.Values("Set-Cookie"), "\n"), res.Header.Get("Location"))
	b.mu.Unlock()
	return res, string(body)
}

// xhr marks a request as the page's own script's (the CSRF header; same
// origin).
func xhr(r *http.Request) {
	r.Header.Set("X-Requested-With", "fetch")
	r.Header.Set("Sec-Fetch-Site", "same-origin")
}

// noTokenLeaked fails when anything the BFF sent the browser contains a
// JWT (every Latch token here is one) or a token field.
func (b *browser) noTokenLeaked(t *testing.T) {
	t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, s := range b.got {
		if strings.Contains(s, "eyJ") || strings.Contains(s, "access_token") || strings.Contains(s, "refresh_token") {
			if strings.Contains(s, "id_token_hint=") && !strings.Contains(s, "access_token") && !strings.Contains(s, "refresh_token") {
				continue // the logout URL for Latch carries the ID token as hint (RP-Initiated Logout §2)
			}
			t.Errorf("a response to the browser carries a token:\n%.300s", s)
		}
	}
}

// login is one started sign-in.
type login struct {
	authURL *url.URL
	cookie  *http.Cookie
}

func startLogin(t *testing.T, b *browser, base, issuer string) login {
	t.Helper()
	res, _ := b.do(t, http.MethodGet, base+"/login")
	if res.StatusCode != http.StatusFound {
		t.Fatalf("GET /login = %d, want 302", res.StatusCode)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), issuer+"/authorize?") {
		t.Fatalf("GET /login redirects to %q, want Latch's /authorize", res.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, sc := range res.Cookies() {
		if strings.Contains(sc.Name, "bff_login_") {
			c = sc
		}
	}
	if c == nil {
		t.Fatalf("GET /login set no login cookie: %v", res.Header.Values("Set-Cookie"))
	}
	return login{authURL: u, cookie: c}
}

// authorize signs in at Latch for l and returns the callback URL Latch
// redirects to, without following it.
func authorize(t *testing.T, b *browser, l login, base string) string {
	t.Helper()
	p := b.Get(l.authURL.String())
	if latchtest.IsLoginPage(p) {
		p = b.Login(p, "alice", latchtest.AlicePassword)
	}
	if latchtest.IsConsentPage(p) {
		p = b.Consent(p, "allow")
	}
	loc := p.Header.Get("Location")
	if !strings.HasPrefix(loc, base+"/callback?") {
		t.Fatalf("Latch answered %d → %q, want a redirect to the BFF's callback:\n%s", p.Status, loc, p.Body)
	}
	return loc
}

func signIn(t *testing.T, b *browser, base, issuer string) {
	t.Helper()
	cb := authorize(t, b, startLogin(t, b, base, issuer), base)
	res, body := b.do(t, http.MethodGet, cb)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		t.Fatalf("callback = %d → %q, want 303 → /:\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
}

func me(t *testing.T, b *browser, base string) (int, map[string]any) {
	t.Helper()
	res, body := b.do(t, http.MethodGet, base+"/me")
	var m map[string]any
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			t.Fatalf("/me is not JSON: %q", body)
		}
	}
	return res.StatusCode, m
}

func cookieNamed(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

// sessionCookie is the browser's session cookie for base.
func sessionCookie(t *testing.T, b *browser, base string) string {
	t.Helper()
	u, _ := url.Parse(base)
	for _, c := range b.raw.Jar.Cookies(u) {
		if c.Name == "bff_session" {
			return c.Value
		}
	}
	return ""
}

func httptestRecorder(h http.Handler, method, path string) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	return rec
}

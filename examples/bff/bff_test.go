package bff

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// fixture is a Latch (latchtest), the BFF under test on its own
// httptest server, and an API that echoes what it receives.
type fixture struct {
	t       *testing.T
	env     *latchtest.Env
	bff     *BFF
	url     string // the BFF's base URL
	tokenRT *countingTransport

	apiMu   sync.Mutex
	apiSeen []http.Header
	// entered, when set, is told of each request reaching the BFF's /api/.
	entered atomic.Pointer[sync.WaitGroup]
}

// countingTransport counts the token requests the BFF makes, by grant.
// When hold is set, a refresh request waits until hold is closed (or a
// deadline passes) before it goes out.
type countingTransport struct {
	issuer string
	mu     sync.Mutex
	grants map[string]int
	hold   chan struct{}
}

func (c *countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPost && r.URL.String() == c.issuer+"/token" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(strings.NewReader(string(body)))
		q, _ := url.ParseQuery(string(body))
		c.mu.Lock()
		c.grants[q.Get("grant_type")]++
		hold := c.hold
		c.mu.Unlock()
		if hold != nil && q.Get("grant_type") == "refresh_token" {
			select {
			case <-hold:
			case <-time.After(5 * time.Second):
			}
		}
	}
	return http.DefaultTransport.RoundTrip(r)
}

func (c *countingTransport) count(grant string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.grants[grant]
}

const clientID = "bff"

func start(t *testing.T, mutate ...func(*Config)) *fixture {
	t.Helper()
	env := latchtest.Start(t)
	f := &fixture{t: t, env: env, tokenRT: &countingTransport{issuer: env.Issuer, grants: map[string]int{}}}

	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.apiMu.Lock()
		f.apiSeen = append(f.apiSeen, r.Header.Clone())
		f.apiMu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "from_api", Value: "x"})
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]string{"path": r.URL.Path, "query": r.URL.RawQuery})
	}))
	t.Cleanup(api.Close)

	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	f.url = "http://" + ts.Listener.Addr().String()
	env.MustClient(store.Client{
		ID: clientID, Name: "BFF", RedirectURIs: []string{f.url + "/callback"},
		PostLogoutRedirectURIs: []string{f.url + "/"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
	})
	cfg := Config{
		Issuer: env.Issuer, ClientID: clientID, ClientSecret: env.Secrets[clientID],
		BaseURL: f.url, APIURL: api.URL,
		HTTPClient: &http.Client{Transport: f.tokenRT},
		Now:        env.Clock.Now,
	}
	for _, m := range mutate {
		m(&cfg)
	}
	b, err := New(t.Context(), cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	f.bff = b
	ts.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if wg := f.entered.Load(); wg != nil && strings.HasPrefix(r.URL.Path, "/api/") {
			wg.Done()
		}
		b.ServeHTTP(w, r)
	})
	ts.Start()
	t.Cleanup(ts.Close)
	return f
}

// browser is a user agent: one cookie jar, shared by a client that
// follows redirects inside Latch (latchtest's) and one that follows none.
type browser struct {
	*latchtest.Browser
	raw *http.Client
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
	return res, string(body)
}

// login is one started sign-in: the authorization URL the BFF sent the
// browser to and the login cookie it set.
type login struct {
	authURL *url.URL
	cookie  *http.Cookie
}

func (f *fixture) startLogin(b *browser) login {
	f.t.Helper()
	res, _ := b.do(f.t, http.MethodGet, f.url+"/login")
	if res.StatusCode != http.StatusFound {
		f.t.Fatalf("GET /login = %d, want 302", res.StatusCode)
	}
	u, err := url.Parse(res.Header.Get("Location"))
	if err != nil || !strings.HasPrefix(u.String(), f.env.Issuer+"/authorize?") {
		f.t.Fatalf("GET /login redirects to %q, want Latch's /authorize", res.Header.Get("Location"))
	}
	var c *http.Cookie
	for _, sc := range res.Cookies() {
		if strings.HasPrefix(sc.Name, "bff_login_") {
			c = sc
		}
	}
	if c == nil {
		f.t.Fatalf("GET /login set no login cookie: %v", res.Header.Values("Set-Cookie"))
	}
	return login{authURL: u, cookie: c}
}

// authorize signs the browser in at Latch (login and consent) for l and
// returns the callback URL Latch redirects to, without following it.
func (f *fixture) authorize(b *browser, l login) string {
	f.t.Helper()
	p := b.Get(l.authURL.String())
	if latchtest.IsLoginPage(p) {
		p = b.Login(p, "alice", latchtest.AlicePassword)
	}
	if latchtest.IsConsentPage(p) {
		p = b.Consent(p, "allow")
	}
	loc := p.Header.Get("Location")
	if !strings.HasPrefix(loc, f.url+"/callback?") {
		f.t.Fatalf("Latch answered %d → %q, want a redirect to the BFF's callback:\n%s", p.Status, loc, p.Body)
	}
	return loc
}

// signIn runs a whole sign-in through the BFF.
func (f *fixture) signIn(b *browser) {
	f.t.Helper()
	cb := f.authorize(b, f.startLogin(b))
	res, body := b.do(f.t, http.MethodGet, cb)
	if res.StatusCode != http.StatusSeeOther || res.Header.Get("Location") != "/" {
		f.t.Fatalf("callback = %d → %q, want 303 → /:\n%s", res.StatusCode, res.Header.Get("Location"), body)
	}
}

func (f *fixture) me(b *browser) (int, map[string]any) {
	f.t.Helper()
	res, body := b.do(f.t, http.MethodGet, f.url+"/me")
	var m map[string]any
	if res.StatusCode == http.StatusOK {
		if err := json.Unmarshal([]byte(body), &m); err != nil {
			f.t.Fatalf("/me is not JSON: %q", body)
		}
	}
	return res.StatusCode, m
}

// seen returns the headers of the requests the API received.
func (f *fixture) seen() []http.Header {
	f.apiMu.Lock()
	defer f.apiMu.Unlock()
	return append([]http.Header(nil), f.apiSeen...)
}

func cookieNamed(res *http.Response, name string) *http.Cookie {
	for _, c := range res.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func TestSignIn(t *testing.T) {
	f := start(t)
	b := f.browser()
	if code, _ := f.me(b); code != http.StatusUnauthorized {
		t.Fatalf("/me before sign-in = %d, want 401", code)
	}

	l := f.startLogin(b)
	// The login cookie: sealed, HttpOnly, Lax, only for /callback, 10 min.
	c := l.cookie
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/callback" || c.MaxAge != 600 || c.Secure {
		t.Errorf("login cookie = %+v, want HttpOnly, SameSite=Lax, Path=/callback, Max-Age=600, not Secure over http", c)
	}
	q := l.authURL.Query()
	for k, want := range map[string]string{"client_id": clientID, "response_type": "code", "code_challenge_method": "S256", "redirect_uri": f.url + "/callback"} {
		if q.Get(k) != want {
			t.Errorf("authorization request %s = %q, want %q", k, q.Get(k), want)
		}
	}
	for _, k := range []string{"state", "nonce", "code_challenge"} {
		if len(q.Get(k)) < 22 {
			t.Errorf("authorization request %s = %q, want a random value", k, q.Get(k))
		}
	}
	if c.Name != "bff_login_"+q.Get("state") {
		t.Errorf("login cookie name = %q, want bff_login_<state>", c.Name)
	}
	// The cookie is opaque: neither the verifier nor the nonce shows.
	if strings.Contains(c.Value, q.Get("nonce")) || strings.Contains(c.Value, "verifier") {
		t.Errorf("login cookie is readable: %q", c.Value)
	}

	cb := f.authorize(b, l)
	res, body := b.do(t, http.MethodGet, cb)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback = %d, want 303:\n%s", res.StatusCode, body)
	}
	sc := cookieNamed(res, "bff_session")
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteLaxMode || sc.Path != "/" || sc.Secure || sc.MaxAge <= 0 {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Lax, Path=/", sc)
	}
	if lc := cookieNamed(res, l.cookie.Name); lc == nil || lc.MaxAge >= 0 {
		t.Errorf("callback did not clear the login cookie: %v", res.Header.Values("Set-Cookie"))
	}
	if n := len(res.Header.Values("Set-Cookie")); n != 2 {
		t.Errorf("callback set %d cookies, want 2 (session, cleared login): the browser gets nothing else", n)
	}
	if got := f.tokenRT.count("authorization_code"); got != 1 {
		t.Errorf("token exchanges = %d, want 1", got)
	}

	code, m := f.me(b)
	if code != http.StatusOK || m["sub"] != "user-alice" || m["name"] != "Alice Liddell" {
		t.Fatalf("/me = %d %v, want alice's profile", code, m)
	}
	_, raw := b.do(t, http.MethodGet, f.url+"/me")
	if strings.Contains(raw, "eyJ") || strings.Contains(raw, "token") {
		t.Errorf("/me leaks a token: %s", raw)
	}
	if f.bff.sessions.len() != 1 {
		t.Errorf("sessions = %d, want 1", f.bff.sessions.len())
	}
}

// The attacks on the callback: each is refused before any code exchange.
func TestCallbackRefusals(t *testing.T) {
	t.Run("tampered state", func(t *testing.T) {
		f := start(t)
		b := f.browser()
		cb := f.authorize(b, f.startLogin(b))
		u, _ := url.Parse(cb)
		q := u.Query()
		st := q.Get("state")
		flip := "A"
		if st[0] == 'A' {
			flip = "B"
		}
		q.Set("state", flip+st[1:]) // same length, one character changed
		u.RawQuery = q.Encode()
		res, body := b.do(t, http.MethodGet, u.String())
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("tampered state = %d, want 400:\n%s", res.StatusCode, body)
		}
		if n := f.tokenRT.count("authorization_code"); n != 0 {
			t.Fatalf("tampered state: %d token exchanges, want 0", n)
		}
		if code, _ := f.me(b); code != http.StatusUnauthorized {
			t.Fatalf("tampered state signed the browser in (/me = %d)", code)
		}
		// The real response still completes: a forged one cannot burn it.
		if res, body := b.do(t, http.MethodGet, cb); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("genuine callback after a tampered one = %d:\n%s", res.StatusCode, body)
		}
	})

	t.Run("no login cookie (no state found)", func(t *testing.T) {
		f := start(t)
		b := f.browser()
		cb := f.authorize(b, f.startLogin(b))
		fresh := f.browser() // another browser: no cookies at all
		res, body := fresh.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No sign-in in progress") || !strings.Contains(body, `href="/login"`) {
			t.Fatalf("callback without a login cookie = %d, want 400 with a clear page:\n%s", res.StatusCode, body)
		}
		if ct := res.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
			t.Errorf("error page Content-Type = %q", ct)
		}
		if n := f.tokenRT.count("authorization_code"); n != 0 {
			t.Fatalf("%d token exchanges, want 0", n)
		}
	})

	t.Run("callback of another browser's sign-in", func(t *testing.T) {
		// Login CSRF: the attacker signs in in their browser and sends the
		// victim their callback link; the victim's browser has a sign-in
		// of its own in progress.
		f := start(t)
		attacker, victim := f.browser(), f.browser()
		cbAttacker := f.authorize(attacker, f.startLogin(attacker))
		victimLogin := f.startLogin(victim)
		res, body := victim.do(t, http.MethodGet, cbAttacker)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("victim following the attacker's callback = %d, want 400:\n%s", res.StatusCode, body)
		}
		if code, _ := f.me(victim); code != http.StatusUnauthorized {
			t.Fatal("the victim got signed in to the attacker's account")
		}
		if n := f.tokenRT.count("authorization_code"); n != 0 {
			t.Fatalf("%d token exchanges, want 0", n)
		}
		// The victim's own sign-in is untouched.
		cb := f.authorize(victim, victimLogin)
		if res, body := victim.do(t, http.MethodGet, cb); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("victim's own callback = %d:\n%s", res.StatusCode, body)
		}
	})

	t.Run("login cookie of another browser under this state", func(t *testing.T) {
		// A sealed value is bound to its cookie's name (the state): moving
		// another browser's login cookie under this state's name fails.
		f := start(t)
		other, b := f.browser(), f.browser()
		otherLogin := f.startLogin(other)
		l := f.startLogin(b)
		cb := f.authorize(b, l)
		u, _ := url.Parse(f.url + "/callback")
		b.raw.Jar.SetCookies(u, []*http.Cookie{{Name: l.cookie.Name, Value: otherLogin.cookie.Value, Path: "/callback"}})
		res, body := b.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("callback with another browser's cookie value = %d, want 400:\n%s", res.StatusCode, body)
		}
		if n := f.tokenRT.count("authorization_code"); n != 0 {
			t.Fatalf("%d token exchanges, want 0", n)
		}
	})

	t.Run("replayed callback", func(t *testing.T) {
		f := start(t)
		b := f.browser()
		l := f.startLogin(b)
		cb := f.authorize(b, l)
		if res, _ := b.do(t, http.MethodGet, cb); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback = %d", res.StatusCode)
		}
		// Same browser again (reload, Back button): the login cookie is gone.
		res, body := b.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "No sign-in in progress") {
			t.Fatalf("replayed callback = %d, want 400 no state found:\n%s", res.StatusCode, body)
		}
		if n := f.tokenRT.count("authorization_code"); n != 1 {
			t.Fatalf("%d token exchanges, want 1", n)
		}
		// With a copy of the login cookie, the code itself is spent: Latch
		// refuses the second exchange (RFC 6749 §4.1.2), and so does the BFF.
		other := f.browser()
		u, _ := url.Parse(f.url + "/callback")
		other.raw.Jar.SetCookies(u, []*http.Cookie{{Name: l.cookie.Name, Value: l.cookie.Value, Path: "/callback"}})
		res, body = other.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("replayed callback with the cookie = %d, want 400:\n%s", res.StatusCode, body)
		}
		if code, _ := f.me(other); code != http.StatusUnauthorized {
			t.Fatal("a replayed callback created a session")
		}
	})

	t.Run("wrong or missing iss", func(t *testing.T) {
		for _, iss := range []string{"https://evil.example", ""} {
			f := start(t)
			b := f.browser()
			cb := f.authorize(b, f.startLogin(b))
			u, _ := url.Parse(cb)
			q := u.Query()
			if iss == "" {
				q.Del("iss")
			} else {
				q.Set("iss", iss)
			}
			u.RawQuery = q.Encode()
			res, body := b.do(t, http.MethodGet, u.String())
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "expected sign-in server") {
				t.Fatalf("iss %q = %d, want 400:\n%s", iss, res.StatusCode, body)
			}
			if n := f.tokenRT.count("authorization_code"); n != 0 {
				t.Fatalf("iss %q: %d token exchanges, want 0", iss, n)
			}
		}
	})

	t.Run("expired sign-in", func(t *testing.T) {
		f := start(t)
		b := f.browser()
		l := f.startLogin(b)
		cb := f.authorize(b, l)
		f.env.Clock.Advance(loginTTL + time.Second) // the jar's own expiry runs on real time
		res, body := b.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "longer than 10 minutes") {
			t.Fatalf("expired sign-in = %d, want 400:\n%s", res.StatusCode, body)
		}
		if n := f.tokenRT.count("authorization_code"); n != 0 {
			t.Fatalf("%d token exchanges, want 0", n)
		}
	})

	t.Run("sealed state differs from the response's", func(t *testing.T) {
		// Belt and braces behind the name binding: the state sealed in the
		// cookie is compared (in constant time) with the response's.
		f := start(t)
		b := f.browser()
		l := f.startLogin(b)
		ls, err := f.bff.open(l.cookie.Name, l.cookie.Value)
		if err != nil {
			t.Fatal(err)
		}
		cb := f.authorize(b, l)
		ls.State = "another-state"
		v, err := f.bff.seal(l.cookie.Name, ls)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(f.url + "/callback")
		b.raw.Jar.SetCookies(u, []*http.Cookie{{Name: l.cookie.Name, Value: v, Path: "/callback"}})
		res, body := b.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not match") {
			t.Fatalf("sealed state mismatch = %d, want 400:\n%s", res.StatusCode, body)
		}
		if n := f.tokenRT.count("authorization_code"); n != 0 {
			t.Fatalf("%d token exchanges, want 0", n)
		}
	})

	t.Run("ID token with another nonce", func(t *testing.T) {
		f := start(t)
		b := f.browser()
		l := f.startLogin(b)
		ls, err := f.bff.open(l.cookie.Name, l.cookie.Value)
		if err != nil {
			t.Fatal(err)
		}
		cb := f.authorize(b, l)
		ls.Nonce = "not-the-nonce-sent"
		v, err := f.bff.seal(l.cookie.Name, ls)
		if err != nil {
			t.Fatal(err)
		}
		u, _ := url.Parse(f.url + "/callback")
		b.raw.Jar.SetCookies(u, []*http.Cookie{{Name: l.cookie.Name, Value: v, Path: "/callback"}})
		res, body := b.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "does not belong to this sign-in") {
			t.Fatalf("nonce mismatch = %d, want 400:\n%s", res.StatusCode, body)
		}
		if code, _ := f.me(b); code != http.StatusUnauthorized {
			t.Fatal("a nonce mismatch created a session")
		}
	})

	t.Run("access denied", func(t *testing.T) {
		f := start(t)
		b := f.browser()
		l := f.startLogin(b)
		p := b.Login(b.Get(l.authURL.String()), "alice", latchtest.AlicePassword)
		p = b.Consent(p, "deny")
		res, body := b.do(t, http.MethodGet, p.Header.Get("Location"))
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "Access was denied") {
			t.Fatalf("denied consent = %d, want 400 access denied:\n%s", res.StatusCode, body)
		}
	})
}

func TestProxy(t *testing.T) {
	f := start(t)
	b := f.browser()

	// No session: 401, and the API is never called.
	res, _ := b.do(t, http.MethodGet, f.url+"/api/messages")
	if res.StatusCode != http.StatusUnauthorized || len(f.seen()) != 0 {
		t.Fatalf("/api without a session = %d (API called %d times), want 401 and none", res.StatusCode, len(f.seen()))
	}

	f.signIn(b)
	res, body := b.do(t, http.MethodGet, f.url+"/api/messages?x=1")
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"path":"/api/messages"`) || !strings.Contains(body, `"query":"x=1"`) {
		t.Fatalf("/api/messages = %d %s", res.StatusCode, body)
	}
	if c := cookieNamed(res, "from_api"); c != nil {
		t.Error("the API's Set-Cookie reached the browser")
	}
	seen := f.seen()[len(f.seen())-1]
	auth := seen.Get("Authorization")
	tok, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok {
		t.Fatalf("the API got Authorization %q, want a Bearer token", auth)
	}
	_, claims := latchtest.DecodeJWT(t, tok)
	if claims["sub"] != "user-alice" || claims["client_id"] != clientID {
		t.Errorf("access token claims = %v, want alice's token for the BFF", claims)
	}
	if seen.Get("Cookie") != "" {
		t.Errorf("the API got the browser's cookies: %q", seen.Get("Cookie"))
	}

	// A header the browser sends cannot replace the BFF's token.
	b.do(t, http.MethodGet, f.url+"/api/messages", func(r *http.Request) { r.Header.Set("Authorization", "Bearer forged") })
	if got := f.seen()[len(f.seen())-1].Get("Authorization"); got != auth {
		t.Errorf("browser's Authorization header reached the API: %q", got)
	}

	// A cross-site POST through the proxy is refused (the session cookie
	// would otherwise make it a CSRF vector).
	n := len(f.seen())
	res, _ = b.do(t, http.MethodPost, f.url+"/api/messages", func(r *http.Request) {
		r.Header.Set("Origin", "https://evil.example")
		r.Header.Set("Sec-Fetch-Site", "cross-site")
	})
	if res.StatusCode != http.StatusForbidden || len(f.seen()) != n {
		t.Errorf("cross-site POST /api = %d (API called: %v), want 403 and not forwarded", res.StatusCode, len(f.seen()) != n)
	}
}

// When the access token expires, concurrent API calls of one session
// share one refresh: Latch rotates refresh tokens and would revoke the
// whole grant if the old one were used twice.
func TestProxyRefreshesOncePerSession(t *testing.T) {
	f := start(t)
	b := f.browser()
	f.signIn(b)
	b.do(t, http.MethodGet, f.url+"/api/x")
	before := f.seen()[0].Get("Authorization")

	f.env.Clock.Advance(10 * time.Minute) // the default access token TTL
	const n = 8
	// The first refresh is held until all n requests are inside the BFF,
	// so they really are concurrent with it.
	all := make(chan struct{})
	var entered sync.WaitGroup
	entered.Add(n)
	go func() { entered.Wait(); close(all) }()
	f.entered.Store(&entered)
	f.tokenRT.mu.Lock()
	f.tokenRT.hold = all
	f.tokenRT.mu.Unlock()
	var wg sync.WaitGroup
	codes := make([]int, n)
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, f.url+"/api/x", nil)
			res, err := b.raw.Do(req)
			if err != nil {
				return
			}
			res.Body.Close()
			codes[i] = res.StatusCode
		})
	}
	wg.Wait()
	for i, c := range codes {
		if c != http.StatusOK {
			t.Fatalf("request %d after expiry = %d, want 200 (all: %v)", i, c, codes)
		}
	}
	if got := f.tokenRT.count("refresh_token"); got != 1 {
		t.Fatalf("refreshes = %d, want exactly 1", got)
	}
	after := f.seen()[len(f.seen())-1].Get("Authorization")
	if after == before {
		t.Fatal("the API still got the expired token")
	}
	for _, h := range f.seen()[1:] {
		if h.Get("Authorization") != after {
			t.Fatal("requests after the refresh carried different tokens")
		}
	}
	// Still signed in: the grant was not revoked by a double refresh.
	if code, _ := f.me(b); code != http.StatusOK {
		t.Fatalf("/me after refresh = %d", code)
	}
}

// A refresh Latch refuses (the grant was revoked) ends the BFF session.
func TestRefreshRefusedEndsSession(t *testing.T) {
	f := start(t)
	b := f.browser()
	f.signIn(b)
	if _, err := f.env.Store.RevokeUserGrants(t.Context(), "user-alice", clientID, f.env.Clock.Now(), store.ReasonAdmin); err != nil {
		t.Fatal(err)
	}
	f.env.Clock.Advance(10 * time.Minute)
	res, body := b.do(t, http.MethodGet, f.url+"/api/x")
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "login_required") {
		t.Fatalf("/api after revocation = %d %s, want 401 login_required", res.StatusCode, body)
	}
	if code, _ := f.me(b); code != http.StatusUnauthorized {
		t.Fatalf("/me after a refused refresh = %d, want 401", code)
	}
	if len(f.seen()) != 0 {
		t.Fatal("the API was called without a valid token")
	}
}

func TestSessionExpires(t *testing.T) {
	f := start(t, func(c *Config) { c.SessionTTL = time.Hour })
	b := f.browser()
	f.signIn(b)
	f.env.Clock.Advance(time.Hour)
	if code, _ := f.me(b); code != http.StatusUnauthorized {
		t.Fatalf("/me after the session's TTL = %d, want 401", code)
	}
	if f.bff.sessions.len() != 0 {
		t.Fatalf("expired session still stored")
	}
}

func TestLogout(t *testing.T) {
	f := start(t)
	b := f.browser()
	f.signIn(b)
	var rt string
	for _, s := range f.bff.sessions.m {
		rt = s.token.RefreshToken
	}
	if rt == "" {
		t.Fatal("no refresh token in the session")
	}

	// A cross-origin POST (another site's form) is refused; still signed in.
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site"},
		{"Origin": "https://evil.example"},
	} {
		res, _ := b.do(t, http.MethodPost, f.url+"/logout", func(r *http.Request) {
			for k, v := range h {
				r.Header.Set(k, v)
			}
		})
		if res.StatusCode != http.StatusForbidden {
			t.Fatalf("cross-origin logout %v = %d, want 403", h, res.StatusCode)
		}
		if code, _ := f.me(b); code != http.StatusOK {
			t.Fatalf("cross-origin logout %v ended the session", h)
		}
	}
	if res, _ := b.do(t, http.MethodGet, f.url+"/logout"); res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /logout = %d, want 405", res.StatusCode)
	}

	// The page's own form.
	res, _ := b.do(t, http.MethodPost, f.url+"/logout", func(r *http.Request) {
		r.Header.Set("Origin", f.url)
		r.Header.Set("Sec-Fetch-Site", "same-origin")
	})
	loc, _ := url.Parse(res.Header.Get("Location"))
	if res.StatusCode != http.StatusSeeOther || loc == nil || loc.Scheme+"://"+loc.Host+loc.Path != f.env.Issuer+"/logout" {
		t.Fatalf("logout = %d → %q, want 303 → Latch's end_session_endpoint", res.StatusCode, res.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("id_token_hint") == "" || q.Get("post_logout_redirect_uri") != f.url+"/" {
		t.Errorf("end-session request %v lacks id_token_hint or post_logout_redirect_uri", q)
	}
	if c := cookieNamed(res, "bff_session"); c == nil || c.MaxAge >= 0 {
		t.Errorf("logout did not clear the session cookie")
	}
	if code, _ := f.me(b); code != http.StatusUnauthorized {
		t.Fatalf("/me after logout = %d, want 401", code)
	}
	// The refresh token was revoked at Latch.
	resp, body := f.env.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, func(r *http.Request) {
		r.SetBasicAuth(clientID, f.env.Secrets[clientID])
	})
	if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("refresh after logout = %d %v, want invalid_grant", resp.StatusCode, body)
	}
	// Latch ends its session (the hint names the signed-in user) and
	// returns to the BFF.
	p := b.Get(loc.String())
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != f.url+"/" {
		t.Fatalf("end session at Latch = %d → %q, want 303 → %s/", p.Status, p.Header.Get("Location"), f.url)
	}
	// Signing in again needs the password: Latch's session is over too.
	if p := b.Get(f.startLogin(b).authURL.String()); !latchtest.IsLoginPage(p) {
		t.Fatalf("after logout, /authorize did not ask for the password (%d)", p.Status)
	}
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	env := latchtest.Start(t)
	b, err := New(t.Context(), Config{
		Issuer: env.Issuer, ClientID: "web", ClientSecret: "s", BaseURL: "https://app.example", APIURL: "https://api.example",
	})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	b.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "https://app.example/login", nil))
	res := rec.Result()
	cs := res.Cookies()
	if len(cs) != 1 || !strings.HasPrefix(cs[0].Name, "__Secure-bff_login_") || !cs[0].Secure || !cs[0].HttpOnly {
		t.Fatalf("login cookie over https = %+v, want __Secure- prefix, Secure, HttpOnly", cs)
	}
	if b.sessionCookieName() != "__Host-bff_session" {
		t.Errorf("session cookie name over https = %q, want the __Host- prefix", b.sessionCookieName())
	}
	rec = httptest.NewRecorder()
	b.setSessionCookie(rec, "id", time.Hour)
	if c := rec.Result().Cookies()[0]; !c.Secure || c.Path != "/" || c.Domain != "" {
		t.Errorf("session cookie over https = %+v, want Secure, Path=/, no Domain", c)
	}
}

func TestPageHeaders(t *testing.T) {
	f := start(t)
	b := f.browser()
	for path, ct := range map[string]string{"/": "text/html; charset=utf-8", "/app.js": "text/javascript; charset=utf-8", "/app.css": "text/css; charset=utf-8"} {
		res, body := b.do(t, http.MethodGet, f.url+path)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != ct {
			t.Errorf("GET %s = %d %q, want 200 %q", path, res.StatusCode, res.Header.Get("Content-Type"), ct)
		}
		csp := res.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "form-action 'self' "+f.env.Issuer) || strings.Contains(csp, "unsafe-inline") {
			t.Errorf("GET %s: CSP = %q", path, csp)
		}
		if path == "/" && (strings.Contains(body, "<script>") || strings.Contains(body, "style=")) {
			t.Errorf("index.html has inline script or style")
		}
	}
	if res, _ := b.do(t, http.MethodGet, f.url+"/nope"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /nope = %d, want 404", res.StatusCode)
	}
}

func TestNewValidates(t *testing.T) {
	env := latchtest.Start(t)
	good := Config{Issuer: env.Issuer, ClientID: "web", ClientSecret: "s", BaseURL: "http://app.test", APIURL: "http://api.test"}
	for name, mutate := range map[string]func(*Config){
		"no issuer":       func(c *Config) { c.Issuer = "" },
		"no secret":       func(c *Config) { c.ClientSecret = "" },
		"relative base":   func(c *Config) { c.BaseURL = "/app" },
		"bad api":         func(c *Config) { c.APIURL = "ftp://api" },
		"short key":       func(c *Config) { c.CookieKey = []byte("short") },
		"unknown issuer":  func(c *Config) { c.Issuer = env.Issuer + "/other" },
		"issuer mismatch": func(c *Config) { c.Issuer = strings.Replace(env.Issuer, "127.0.0.1", "localhost", 1) },
	} {
		cfg := good
		mutate(&cfg)
		if _, err := New(t.Context(), cfg); err == nil {
			t.Errorf("New with %s succeeded", name)
		}
	}
	if _, err := New(t.Context(), good); err != nil {
		t.Fatalf("New(valid) = %v", err)
	}
}

// Two instances sharing a CookieKey: a sign-in started on one completes
// on the other (a load balancer), with no shared state at all.
func TestLoginCookieWorksOnAnyInstance(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	f := start(t, func(c *Config) { c.CookieKey = key })
	l := f.startLogin(f.browser())
	twin, err := New(t.Context(), Config{
		Issuer: f.env.Issuer, ClientID: clientID, ClientSecret: "x", BaseURL: f.url, APIURL: "http://api.test", CookieKey: key,
	})
	if err != nil {
		t.Fatal(err)
	}
	ls, err := twin.open(l.cookie.Name, l.cookie.Value)
	if err != nil || ls.State != l.authURL.Query().Get("state") {
		t.Fatalf("the other instance could not open the login cookie: %v", err)
	}
	stranger, err := New(t.Context(), Config{
		Issuer: f.env.Issuer, ClientID: clientID, ClientSecret: "x", BaseURL: f.url, APIURL: "http://api.test",
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := stranger.open(l.cookie.Name, l.cookie.Value); err == nil {
		t.Fatal("an instance with another key opened the login cookie")
	}
}

package bff_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/internal/latchtest"
)

func TestSignIn(t *testing.T) {
	f := newFixture(t)
	sessions := bff.NewMemoryStore()
	base, _ := f.single(sessions)
	b := f.browser()
	if code, _ := me(t, b, base); code != http.StatusUnauthorized {
		t.Fatalf("/me before sign-in = %d, want 401", code)
	}
	l := startLogin(t, b, base, f.env.Issuer)
	c := l.cookie
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 600 || c.Secure {
		t.Errorf("login cookie = %+v, want HttpOnly, SameSite=Lax, Path=/, Max-Age=600, not Secure over http", c)
	}
	q := l.authURL.Query()
	for k, want := range map[string]string{"client_id": clientID, "response_type": "code", "code_challenge_method": "S256", "redirect_uri": base + "/callback"} {
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
	if strings.Contains(c.Value, q.Get("nonce")) {
		t.Errorf("login cookie is readable: %q", c.Value)
	}

	cb := authorize(t, b, l, base)
	res, body := b.do(t, http.MethodGet, cb)
	if res.StatusCode != http.StatusSeeOther {
		t.Fatalf("callback = %d, want 303:\n%s", res.StatusCode, body)
	}
	sc := cookieNamed(res, "bff_session")
	if sc == nil || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode || sc.Path != "/" || sc.Secure || sc.MaxAge <= 0 || sc.Domain != "" {
		t.Fatalf("session cookie = %+v, want HttpOnly, SameSite=Strict, Path=/, no Domain", sc)
	}
	if lc := cookieNamed(res, l.cookie.Name); lc == nil || lc.MaxAge >= 0 {
		t.Errorf("callback did not clear the login cookie: %v", res.Header.Values("Set-Cookie"))
	}
	if n := len(res.Header.Values("Set-Cookie")); n != 2 {
		t.Errorf("callback set %d cookies, want 2 (session, cleared login): the browser gets nothing else", n)
	}
	if got := f.rt.count("authorization_code"); got != 1 {
		t.Errorf("token exchanges = %d, want 1", got)
	}
	code, m := me(t, b, base)
	if code != http.StatusOK || m["sub"] != "user-alice" || m["name"] != "Alice Liddell" {
		t.Fatalf("/me = %d %v, want alice's profile", code, m)
	}
	// The store keeps the id's hash only, and no readable token.
	id := sessionCookie(t, b, base)
	if _, err := sessions.GetSession(t.Context(), id); !errors.Is(err, bff.ErrNotFound) {
		t.Errorf("the store holds the session under its raw id (%v)", err)
	}
	s, err := sessions.GetSession(t.Context(), bff.SessionKey(id))
	if err != nil {
		t.Fatalf("no session under SessionKey(id): %v", err)
	}
	if strings.Contains(string(s.Secret), "eyJ") {
		t.Error("the store holds the tokens unsealed")
	}
	if s.Subject != "user-alice" {
		t.Errorf("session subject = %q", s.Subject)
	}
	b.noTokenLeaked(t)
}

// A second sign-in of the same browser starts a new session (new id) and
// ends the old one: the session id rotates at login.
func TestSessionRotatesAtLogin(t *testing.T) {
	f := newFixture(t)
	sessions := bff.NewMemoryStore()
	base, _ := f.single(sessions)
	b := f.browser()
	signIn(t, b, base, f.env.Issuer)
	first := sessionCookie(t, b, base)
	signIn(t, b, base, f.env.Issuer)
	second := sessionCookie(t, b, base)
	if first == "" || first == second {
		t.Fatalf("session id did not change at sign-in: %q → %q", first, second)
	}
	if _, err := sessions.GetSession(t.Context(), bff.SessionKey(first)); !errors.Is(err, bff.ErrNotFound) {
		t.Errorf("the old session survives the new sign-in: %v", err)
	}
}

// Two tabs sign in at once: each has its own login cookie, and both
// callbacks succeed, in either order.
func TestTwoTabsSignIn(t *testing.T) {
	f := newFixture(t)
	base, _ := f.single(nil)
	b := f.browser()
	l1 := startLogin(t, b, base, f.env.Issuer)
	l2 := startLogin(t, b, base, f.env.Issuer)
	if l1.cookie.Name == l2.cookie.Name {
		t.Fatal("two sign-ins share one login cookie: the second overwrites the first")
	}
	cb1 := authorize(t, b, l1, base)
	cb2 := authorize(t, b, l2, base)
	for _, cb := range []string{cb2, cb1} {
		if res, body := b.do(t, http.MethodGet, cb); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("callback = %d, want 303:\n%s", res.StatusCode, body)
		}
	}
}

// The attacks on the callback: each a 400 page, before any code exchange,
// and the browser is not signed in.
func TestCallbackRefusals(t *testing.T) {
	f := newFixture(t)
	base, _ := f.single(nil)
	tests := []struct {
		name   string
		mutate func(t *testing.T, b *browser, cb *url.URL)
	}{
		{"missing state", func(t *testing.T, b *browser, cb *url.URL) { del(cb, "state") }},
		{"forged state", func(t *testing.T, b *browser, cb *url.URL) {
			st := cb.Query().Get("state")
			set(cb, "state", flip(st))
		}},
		{"state of another browser's login", func(t *testing.T, b *browser, cb *url.URL) {
			other := f.browser()
			l := startLogin(t, other, base, f.env.Issuer)
			set(cb, "state", l.authURL.Query().Get("state"))
		}},
		{"iss mismatch", func(t *testing.T, b *browser, cb *url.URL) { set(cb, "iss", "https://evil.example") }},
		{"iss missing", func(t *testing.T, b *browser, cb *url.URL) { del(cb, "iss") }},
		{"repeated code", func(t *testing.T, b *browser, cb *url.URL) {
			q := cb.Query()
			q.Add("code", "other")
			cb.RawQuery = q.Encode()
		}},
		{"no code", func(t *testing.T, b *browser, cb *url.URL) { del(cb, "code") }},
		{"error from the server", func(t *testing.T, b *browser, cb *url.URL) { del(cb, "code"); set(cb, "error", "access_denied") }},
		{"login expired", func(t *testing.T, b *browser, cb *url.URL) { f.env.Clock.Advance(11 * time.Minute) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := f.browser()
			cb, _ := url.Parse(authorize(t, b, startLogin(t, b, base, f.env.Issuer), base))
			before := f.rt.count("authorization_code")
			tt.mutate(t, b, cb)
			res, body := b.do(t, http.MethodGet, cb.String())
			if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, `id="error-message"`) {
				t.Fatalf("callback = %d, want the 400 error page:\n%s", res.StatusCode, body)
			}
			if n := f.rt.count("authorization_code") - before; n != 0 {
				t.Errorf("%d code exchanges, want 0", n)
			}
			if code, _ := me(t, b, base); code != http.StatusUnauthorized {
				t.Errorf("/me = %d after a refused callback, want 401", code)
			}
			b.noTokenLeaked(t)
		})
	}

	t.Run("replayed callback", func(t *testing.T) {
		b := f.browser()
		cb := authorize(t, b, startLogin(t, b, base, f.env.Issuer), base)
		if res, _ := b.do(t, http.MethodGet, cb); res.StatusCode != http.StatusSeeOther {
			t.Fatalf("first callback = %d", res.StatusCode)
		}
		before := f.rt.count("authorization_code")
		res, body := b.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest || !strings.Contains(body, "not started in this browser") {
			t.Fatalf("replayed callback = %d, want 400 no state:\n%s", res.StatusCode, body)
		}
		if f.rt.count("authorization_code") != before {
			t.Error("a replayed callback reached the token endpoint")
		}
	})
	t.Run("callback in another browser (login CSRF)", func(t *testing.T) {
		victim, attacker := f.browser(), f.browser()
		cb := authorize(t, attacker, startLogin(t, attacker, base, f.env.Issuer), base)
		res, _ := victim.do(t, http.MethodGet, cb)
		if res.StatusCode != http.StatusBadRequest {
			t.Fatalf("attacker's callback in the victim's browser = %d, want 400", res.StatusCode)
		}
		if code, _ := me(t, victim, base); code != http.StatusUnauthorized {
			t.Fatal("the victim is signed in as the attacker")
		}
	})
}

func set(u *url.URL, k, v string) {
	q := u.Query()
	q.Set(k, v)
	u.RawQuery = q.Encode()
}

func del(u *url.URL, k string) {
	q := u.Query()
	q.Del(k)
	u.RawQuery = q.Encode()
}

func flip(s string) string {
	if s == "" {
		return "A"
	}
	if s[0] == 'A' {
		return "B" + s[1:]
	}
	return "A" + s[1:]
}

func TestProxy(t *testing.T) {
	f := newFixture(t)
	base, _ := f.single(nil)
	b := f.browser()
	signIn(t, b, base, f.env.Issuer)

	res, body := b.do(t, http.MethodGet, base+"/api/messages?x=1", xhr, func(r *http.Request) {
		r.Header.Set("Authorization", "Bearer from-the-browser")
	})
	if res.StatusCode != http.StatusOK || !strings.Contains(body, `"path":"/api/messages"`) || !strings.Contains(body, `"query":"x=1"`) {
		t.Fatalf("GET /api/messages = %d %s, want the API's answer", res.StatusCode, body)
	}
	seen := f.seen()
	if len(seen) != 1 {
		t.Fatalf("API requests = %d, want 1", len(seen))
	}
	h := seen[0].Header
	if a := h.Get("Authorization"); !strings.HasPrefix(a, "Bearer eyJ") {
		t.Errorf("API got Authorization %q, want the session's access token", a)
	}
	if h.Get("Cookie") != "" {
		t.Errorf("API got the browser's cookies: %q", h.Get("Cookie"))
	}
	if res.Header.Get("Set-Cookie") != "" {
		t.Errorf("the API set a cookie on the BFF's origin: %q", res.Header.Get("Set-Cookie"))
	}
	if res.Header.Get("Access-Control-Allow-Origin") != "" || res.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("the API's CORS headers opened the BFF's origin: %v", res.Header)
	}

	// Refusals: each a clear 4xx, none reaches the API.
	for _, tt := range []struct {
		name   string
		path   string
		method string
		mutate func(*http.Request)
		want   int
		code   string
	}{
		{"missing CSRF header", "/api/messages", http.MethodGet, func(r *http.Request) {}, 403, "csrf_header_missing"},
		{"missing CSRF header on POST", "/api/messages", http.MethodPost, func(r *http.Request) { r.Header.Set("Origin", base) }, 403, "csrf_header_missing"},
		{"wrong Origin", "/api/messages", http.MethodPost, func(r *http.Request) { xhr(r); r.Header.Set("Origin", "https://evil.example") }, 403, "cross_origin"},
		{"cross-site fetch", "/api/messages", http.MethodGet, func(r *http.Request) { xhr(r); r.Header.Set("Sec-Fetch-Site", "cross-site") }, 403, "cross_origin"},
		{"upstream not allow-listed", "/admin/users", http.MethodGet, xhr, 404, ""},
		{"prefix without slash", "/apiX", http.MethodGet, xhr, 404, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			n := len(f.seen())
			res, body := b.do(t, tt.method, base+tt.path, tt.mutate)
			if res.StatusCode != tt.want || (tt.code != "" && !strings.Contains(body, `"error":"`+tt.code+`"`)) {
				t.Errorf("%s %s = %d %s, want %d %s", tt.method, tt.path, res.StatusCode, body, tt.want, tt.code)
			}
			if len(f.seen()) != n {
				t.Error("the refused request reached the API")
			}
		})
	}
	// A path climbing out of the prefix is cleaned first (a redirect),
	// never forwarded.
	n := len(f.seen())
	res, _ = b.do(t, http.MethodGet, base+"/api/../admin", xhr)
	if res.StatusCode == http.StatusOK || len(f.seen()) != n {
		t.Errorf("GET /api/../admin = %d, forwarded %d", res.StatusCode, len(f.seen())-n)
	}

	// Without a session: 401, not forwarded.
	anon := f.browser()
	res, body = anon.do(t, http.MethodGet, base+"/api/messages", xhr)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "login_required") {
		t.Errorf("anonymous /api = %d %s, want 401 login_required", res.StatusCode, body)
	}
	// An unknown session id: 401, and the cookie is cleared.
	res, _ = anon.do(t, http.MethodGet, base+"/api/messages", xhr, func(r *http.Request) {
		r.AddCookie(&http.Cookie{Name: "bff_session", Value: "forged-session-id"})
	})
	if res.StatusCode != http.StatusUnauthorized {
		t.Errorf("unknown session /api = %d, want 401", res.StatusCode)
	}
	if c := cookieNamed(res, "bff_session"); c == nil || c.MaxAge >= 0 {
		t.Error("an unknown session's cookie was not cleared")
	}
	b.noTokenLeaked(t)
}

// Angular's convention: XSRF-TOKEN cookie, X-XSRF-TOKEN header on
// mutating requests.
func TestDoubleSubmitCSRF(t *testing.T) {
	f := newFixture(t)
	base, _ := f.single(nil, func(c *bff.Config) { c.CSRF.DoubleSubmit = true })
	b := f.browser()
	signIn(t, b, base, f.env.Issuer)
	u, _ := url.Parse(base)
	var token string
	for _, c := range b.raw.Jar.Cookies(u) {
		if c.Name == "XSRF-TOKEN" {
			token = c.Value
		}
	}
	if token == "" {
		t.Fatal("no XSRF-TOKEN cookie after sign-in")
	}
	post := func(hdr string) int {
		res, _ := b.do(t, http.MethodPost, base+"/api/messages", func(r *http.Request) {
			r.Header.Set("Origin", base)
			if hdr != "" {
				r.Header.Set("X-XSRF-TOKEN", hdr)
			}
		})
		return res.StatusCode
	}
	if got := post(""); got != http.StatusForbidden {
		t.Errorf("POST without X-XSRF-TOKEN = %d, want 403", got)
	}
	if got := post(flip(token)); got != http.StatusForbidden {
		t.Errorf("POST with a wrong X-XSRF-TOKEN = %d, want 403", got)
	}
	if got := post(token); got != http.StatusOK {
		t.Errorf("POST with X-XSRF-TOKEN = %d, want 200", got)
	}
	// Angular sends no header on GET: the Origin check alone guards it.
	if res, _ := b.do(t, http.MethodGet, base+"/api/messages"); res.StatusCode != http.StatusOK {
		t.Errorf("GET without header in double-submit mode = %d, want 200", res.StatusCode)
	}
}

func TestSessionExpires(t *testing.T) {
	for _, tt := range []struct {
		name    string
		advance []time.Duration
	}{
		{"idle", []time.Duration{61 * time.Minute}},
		{"absolute", []time.Duration{50 * time.Minute, 50 * time.Minute, 50 * time.Minute}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			base, _ := f.single(nil, func(c *bff.Config) { c.IdleTimeout = time.Hour; c.SessionTTL = 2 * time.Hour })
			b := f.browser()
			signIn(t, b, base, f.env.Issuer)
			for i, d := range tt.advance {
				f.env.Clock.Advance(d)
				code, _ := me(t, b, base)
				if last := i == len(tt.advance)-1; last != (code == http.StatusUnauthorized) {
					t.Fatalf("after %v: /me = %d", d, code)
				}
			}
			res, body := b.do(t, http.MethodGet, base+"/api/messages", xhr)
			if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "login_required") {
				t.Errorf("expired session /api = %d %s, want 401", res.StatusCode, body)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	f := newFixture(t)
	sessions := bff.NewMemoryStore()
	base, _ := f.single(sessions)
	b := f.browser()
	signIn(t, b, base, f.env.Issuer)

	for _, m := range []func(*http.Request){
		func(r *http.Request) {},
		func(r *http.Request) { xhr(r); r.Header.Set("Origin", "https://evil.example") },
		func(r *http.Request) { r.Header.Set("Origin", base) },
	} {
		if res, _ := b.do(t, http.MethodPost, base+"/logout", m); res.StatusCode != http.StatusForbidden {
			t.Fatalf("logout without the CSRF header or from another origin = %d, want 403", res.StatusCode)
		}
	}
	if code, _ := me(t, b, base); code != http.StatusOK {
		t.Fatal("a refused logout ended the session")
	}
	if res, _ := b.do(t, http.MethodGet, base+"/logout", xhr); res.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET /logout = %d, want 405", res.StatusCode)
	}
	res, body := b.do(t, http.MethodPost, base+"/logout", xhr, func(r *http.Request) { r.Header.Set("Origin", base) })
	var out struct {
		LogoutURL string `json:"logout_url"`
	}
	if res.StatusCode != http.StatusOK || json.Unmarshal([]byte(body), &out) != nil {
		t.Fatalf("logout = %d %s", res.StatusCode, body)
	}
	loc, _ := url.Parse(out.LogoutURL)
	q := loc.Query()
	if loc.Scheme+"://"+loc.Host+loc.Path != f.env.Issuer+"/logout" || q.Get("id_token_hint") == "" || q.Get("post_logout_redirect_uri") != base+"/" || q.Get("client_id") != clientID {
		t.Fatalf("logout_url = %q, want Latch's end_session_endpoint with id_token_hint, client_id, post_logout_redirect_uri", out.LogoutURL)
	}
	if c := cookieNamed(res, "bff_session"); c == nil || c.MaxAge >= 0 {
		t.Error("logout did not clear the session cookie")
	}
	if code, _ := me(t, b, base); code != http.StatusUnauthorized {
		t.Fatalf("/me after logout = %d, want 401", code)
	}
	// Latch ends its session too and returns to the BFF.
	p := b.Get(loc.String())
	if p.Status != http.StatusSeeOther || p.Header.Get("Location") != base+"/" {
		t.Fatalf("end session at Latch = %d → %q, want 303 → %s/", p.Status, p.Header.Get("Location"), base)
	}
	if p := b.Get(startLogin(t, b, base, f.env.Issuer).authURL.String()); !latchtest.IsLoginPage(p) {
		t.Fatalf("after logout, /authorize did not ask for the password (%d)", p.Status)
	}
	if strings.Contains(f.env.AuditLog(), "refresh_token_reuse") {
		t.Error("logout triggered reuse detection")
	}
}

func TestSecureCookiesOverHTTPS(t *testing.T) {
	for _, tt := range []struct {
		hostHTTP bool
		prefix   string
	}{{false, "__Host-"}, {true, "__Host-Http-"}} {
		f := newFixture(t)
		f.register("https://app.example")
		b := f.newBFF(f.config("https://app.example", nil, func(c *bff.Config) { c.Cookies.HostHTTPPrefix = tt.hostHTTP }))
		rec := httptestRecorder(b, http.MethodGet, "/login")
		var login *http.Cookie
		for _, c := range rec.Result().Cookies() {
			login = c
		}
		if login == nil || !strings.HasPrefix(login.Name, tt.prefix+"bff_login_") || !login.Secure || !login.HttpOnly || login.Path != "/" || login.Domain != "" {
			t.Errorf("https login cookie = %+v, want %sbff_login_…, Secure, HttpOnly, Path=/", login, tt.prefix)
		}
		rec = httptestRecorder(b, http.MethodGet, "/me")
		if c := rec.Result().Cookies(); len(c) == 0 || c[0].Name != tt.prefix+"bff_session" || !c[0].Secure {
			t.Errorf("https session cookie = %+v, want %sbff_session, Secure", c, tt.prefix)
		}
	}
}

func TestNewValidates(t *testing.T) {
	f := newFixture(t)
	good := f.config("http://app.test", nil)
	for name, m := range map[string]func(*bff.Config){
		"no issuer":          func(c *bff.Config) { c.Issuer = "" },
		"no secret":          func(c *bff.Config) { c.ClientSecret = "" },
		"short key":          func(c *bff.Config) { c.CookieKey = []byte("short") },
		"base with path":     func(c *bff.Config) { c.BaseURL = "http://app.test/x" },
		"SameSite None":      func(c *bff.Config) { c.Cookies.SameSite = http.SameSiteNoneMode },
		"upstream /":         func(c *bff.Config) { c.Upstreams = []bff.Upstream{{Prefix: "/", URL: f.api.URL}} },
		"upstream over /me":  func(c *bff.Config) { c.Upstreams = []bff.Upstream{{Prefix: "/me/", URL: f.api.URL}} },
		"upstream not http":  func(c *bff.Config) { c.Upstreams = []bff.Upstream{{Prefix: "/api/", URL: "file:///etc"}} },
		"pkjwt no assertion": func(c *bff.Config) { c.ClientAuth = bff.PrivateKeyJWT },
	} {
		cfg := good
		m(&cfg)
		if _, err := bff.New(t.Context(), cfg); err == nil {
			t.Errorf("New with %s: no error", name)
		}
	}
}

// Expired sessions do not pile up in the store: a sign-in sweeps them
// (at most once a minute per instance).
func TestExpiredSessionsSwept(t *testing.T) {
	f := newFixture(t)
	sessions := bff.NewMemoryStore()
	base, _ := f.single(sessions)
	b1, b2 := f.browser(), f.browser()
	signIn(t, b1, base, f.env.Issuer)
	old := bff.SessionKey(sessionCookie(t, b1, base))
	f.env.Clock.Advance(61 * time.Minute) // past the idle timeout
	signIn(t, b2, base, f.env.Issuer)
	if _, err := sessions.GetSession(t.Context(), old); !errors.Is(err, bff.ErrNotFound) {
		t.Errorf("an idle-expired session is still stored after a later sign-in: %v", err)
	}
	if _, err := sessions.GetSession(t.Context(), bff.SessionKey(sessionCookie(t, b2, base))); err != nil {
		t.Errorf("the new session: %v", err)
	}
}

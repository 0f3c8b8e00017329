package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

const malloryPassword = "mallory's own password"

// addMallory registers the attacker's own account.
func addMallory(t *testing.T, e *latchtest.Env) {
	t.Helper()
	hash, err := password.Hash(malloryPassword, password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.MustUser(store.User{ID: "user-mallory", Username: "mallory", Email: "mallory@example.com", Name: "Mallory", PasswordHash: hash})
}

// plant sets a cookie in b's jar for Latch, as an attacker with a
// foothold on a sibling domain or on plain http could.
func plant(t *testing.T, e *latchtest.Env, b *latchtest.Browser, name, value string) {
	t.Helper()
	u, err := url.Parse(e.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// sessionOf returns the latch_session cookie b holds.
func sessionOf(t *testing.T, e *latchtest.Env, b *latchtest.Browser) string {
	t.Helper()
	u, _ := url.Parse(e.Issuer)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == "latch_session" {
			return c.Value
		}
	}
	return ""
}

// TestSessionFixation: an attacker plants a session id in the victim's
// browser before the victim signs in, hoping to share the session
// afterwards. Latch issues a fresh random session id at every login and
// ends the planted one, so the attacker's value is worthless.
func TestSessionFixation(t *testing.T) {
	e := start(t)
	addMallory(t, e)
	v := oauth2.GenerateVerifier()

	t.Run("made-up session id", func(t *testing.T) {
		victim := e.Browser()
		planted := token.NewOpaque()
		plant(t, e, victim, "latch_session", planted)
		p := victim.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v)))
		p = victim.Login(p, "alice", latchtest.AlicePassword)
		requireCodeRedirect(t, p, latchtest.SPARedirect)
		got, set := cookie(p, "latch_session")
		if !set || got == planted || len(got) < 43 {
			t.Fatalf("login set latch_session=%q (set %v), want a fresh random value unlike the planted one", got, set)
		}
		attacker := e.Browser()
		plant(t, e, attacker, "latch_session", planted)
		requireNotSignedIn(t, e, attacker)
	})

	t.Run("attacker's own live session", func(t *testing.T) {
		attacker := e.Browser()
		p := attacker.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, v)))
		requireCodeRedirect(t, attacker.Login(p, "mallory", malloryPassword), latchtest.SPARedirect)
		planted := sessionOf(t, e, attacker)

		victim := e.Browser()
		plant(t, e, victim, "latch_session", planted)
		q := authParams("spa", latchtest.SPARedirect, v)
		q.Set("prompt", "login") // the victim signs in (again) as alice
		p = victim.Get(authorizeURL(e, q))
		p = victim.Login(p, "alice", latchtest.AlicePassword)
		requireCodeRedirect(t, p, latchtest.SPARedirect)
		if now := sessionOf(t, e, victim); now == planted || now == "" {
			t.Fatalf("victim's session after login = planted one")
		}
		// The planted session was ended: the attacker's browser is out.
		requireNotSignedIn(t, e, attacker)
	})

	t.Run("session id after logout", func(t *testing.T) {
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		old := sessionOf(t, e, b)
		p := b.Get(e.Issuer + "/logout")
		b.Post(formAction(t, p.Body), url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"logout"}})
		replay := e.Browser()
		plant(t, e, replay, "latch_session", old)
		requireNotSignedIn(t, e, replay)
	})

	t.Run("stored hash is not a session id", func(t *testing.T) {
		// A database leak yields only hashes, which do not sign in.
		b := e.Browser()
		e.IssueCode(b, "spa", latchtest.SPARedirect)
		raw := sessionOf(t, e, b)
		if _, err := e.Store.GetSession(t.Context(), token.Hash(raw), e.Clock.Now()); err != nil {
			t.Fatalf("control: the session is not stored under its hash: %v", err)
		}
		if _, err := e.Store.GetSession(t.Context(), raw, e.Clock.Now()); err == nil {
			t.Error("the raw session id is stored")
		}
		thief := e.Browser()
		plant(t, e, thief, "latch_session", token.Hash(raw))
		requireNotSignedIn(t, e, thief)
	})
}

// TestSessionCookieAttributes: the session and CSRF cookies are out of
// reach of scripts (HttpOnly), not sent on cross-site subrequests or
// posts (SameSite=Lax), and Secure when the issuer is https.
func TestSessionCookieAttributes(t *testing.T) {
	check := func(t *testing.T, p latchtest.Page, name string, secure bool) {
		t.Helper()
		for _, c := range (&http.Response{Header: p.Header}).Cookies() {
			if c.Name != name {
				continue
			}
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure != secure {
				t.Errorf("%s: HttpOnly=%v SameSite=%v Secure=%v, want true, Lax, %v", name, c.HttpOnly, c.SameSite, c.Secure, secure)
			}
			return
		}
		t.Errorf("no %s cookie set", name)
	}
	t.Run("http issuer (development)", func(t *testing.T) {
		e := start(t)
		b := e.Browser()
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
		check(t, p, "latch_csrf", false)
		check(t, b.Login(p, "alice", latchtest.AlicePassword), "latch_session", false)
	})
	t.Run("https issuer", func(t *testing.T) {
		e := latchtest.Start(t, func(c *config.Config) { c.Issuer = strings.Replace(c.Issuer, "http://", "https://", 1) })
		p := get(t, authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())), nil)
		check(t, p, "__Host-latch_csrf", true)
		csrf, _ := cookie(p, "__Host-latch_csrf")
		form := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"alice"}, "password": {latchtest.AlicePassword}}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: "__Host-latch_csrf", Value: csrf})
		check(t, do(t, req), "__Host-latch_session", true)
	})
}

// httpsSignIn signs user in at an https Latch served (in the test) over
// plain http at base (the issuer's URL with its path), handling cookies by
// hand as a browser would for a Secure origin. It returns every cookie
// Latch set along the way.
func httpsSignIn(t *testing.T, base, user, pw string, jar map[string]*http.Cookie) latchtest.Page {
	t.Helper()
	add := func(p latchtest.Page) {
		for _, c := range (&http.Response{Header: p.Header}).Cookies() {
			jar[c.Name] = c
		}
	}
	send := func(req *http.Request) latchtest.Page {
		for _, c := range jar {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		p := do(t, req)
		add(p)
		return p
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/authorize?"+authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()).Encode(), nil)
	p := send(req)
	if !latchtest.IsLoginPage(p) {
		return p
	}
	form := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {user}, "password": {pw}}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return send(req)
}

// TestCookieTossing: an attacker controlling a sibling subdomain (or any
// http page on the domain) can set cookies for Latch's host, but not
// __Host- ones (RFC 6265bis §4.1.3.2: Secure, Path=/, no Domain, set by
// the host itself). Under an https issuer Latch's cookies carry the
// prefix and only the prefixed names are read, so the attacker's own
// session planted under the plain name does not sign the victim in to the
// attacker's account (login CSRF), with or without a path in the issuer.
func TestCookieTossing(t *testing.T) {
	for _, path := range []string{"", "/auth"} {
		t.Run("issuer path "+path, func(t *testing.T) {
			e := latchtest.Start(t, func(c *config.Config) { c.Issuer = strings.Replace(c.Issuer, "http://", "https://", 1) + path })
			addMallory(t, e)
			base := e.Issuer + path
			// The attacker signs in to its own account.
			jar := map[string]*http.Cookie{}
			p := httpsSignIn(t, base, "mallory", malloryPassword, jar)
			requireCodeRedirect(t, p, latchtest.SPARedirect)
			var session string
			for name, c := range jar {
				if !strings.HasPrefix(name, "__Host-latch_") {
					t.Errorf("cookie %s set without the __Host- prefix", name)
				}
				if !c.Secure || c.Path != "/" || c.Domain != "" {
					t.Errorf("cookie %s: Secure=%v Path=%q Domain=%q, want Secure, Path=/ and no Domain (__Host-)", name, c.Secure, c.Path, c.Domain)
				}
				if strings.Contains(name, "latch_session") {
					session = c.Value
				}
			}
			if session == "" {
				t.Fatalf("no session cookie among %v", jar)
			}
			if path != "" {
				if _, ok := jar["__Host-latch_session"]; ok {
					t.Error("an issuer with a path uses the root issuer's cookie name: two issuers on one host would share it")
				}
			}
			// Tossed into the victim's browser under every name a sibling
			// can set, with the victim's own (absent) session.
			for _, name := range []string{"latch_session", "latch_session_" + strings.TrimPrefix(path, "/")} {
				req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/authorize?"+authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()).Encode(), nil)
				req.AddCookie(&http.Cookie{Name: name, Value: session})
				if p := do(t, req); !latchtest.IsLoginPage(p) {
					t.Errorf("planted %s=<attacker's session>: status %d, Location %q; want the login page (not signed in as mallory)", name, p.Status, p.Header.Get("Location"))
				}
			}
			// Control: the genuine prefixed cookie is a live session.
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, base+"/authorize?"+authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()).Encode(), nil)
			for _, c := range jar {
				req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
			}
			requireCodeRedirect(t, do(t, req), latchtest.SPARedirect)
		})
	}
}

// TestHSTS: under an https issuer every response carries
// Strict-Transport-Security (RFC 6797) with the configured max-age
// (default one year), so a browser that has seen Latch once never sends
// its cookies or the login form over http again (SSL stripping). A plain
// http issuer (local development) sends none.
func TestHSTS(t *testing.T) {
	paths := []string{"/.well-known/openid-configuration", "/authorize", "/token", "/nowhere"}
	for _, tc := range []struct {
		name   string
		mutate func(*config.Config)
		want   string
	}{
		{"https default", func(c *config.Config) { c.Issuer = strings.Replace(c.Issuer, "http://", "https://", 1) }, "max-age=31536000"},
		{"https hsts-max-age 10m", func(c *config.Config) {
			c.Issuer = strings.Replace(c.Issuer, "http://", "https://", 1)
			c.HSTSMaxAge = 10 * time.Minute
		}, "max-age=600"},
		{"http issuer", func(*config.Config) {}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := latchtest.Start(t, tc.mutate)
			for _, p := range paths {
				if got := get(t, e.Issuer+p, nil).Header.Get("Strict-Transport-Security"); got != tc.want {
					t.Errorf("GET %s: Strict-Transport-Security = %q, want %q", p, got, tc.want)
				}
			}
		})
	}
}

// TestForcedLoginIntoAttackerAccount (login CSRF): the attacker wants the
// victim signed in to the attacker's account, so that what the victim
// then enters lands there. The attacker's login form, submitted from the
// victim's browser by a hostile page, is refused: cross-origin, and the
// interaction is bound to the attacker's browser.
func TestForcedLoginIntoAttackerAccount(t *testing.T) {
	e := start(t)
	addMallory(t, e)
	attacker := e.Browser()
	p := attacker.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
	form := url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {"mallory"}, "password": {malloryPassword}}

	for _, headers := range []string{"Sec-Fetch-Site cross-site", "Origin", "none (an old browser)"} {
		t.Run(headers, func(t *testing.T) {
			victim := e.Browser()
			victim.Get(e.Issuer + "/authorize") // the victim has its own CSRF cookie, or none: both fail
			requireErrorPage(t, postForm(t, victim, e.Issuer+"/login", form, crossOrigin(headers)))
			requireNotSignedIn(t, e, victim)
		})
	}
	if strings.Contains(e.AuditLog(), `"sub":"user-mallory"`) {
		t.Error("the audit log shows a sign-in for mallory")
	}
}

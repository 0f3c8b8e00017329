package security

import (
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
)

// loginAttempt opens the login page in a fresh browser and submits
// username and pw.
func loginAttempt(t *testing.T, e *latchtest.Env, username, pw string) (latchtest.Page, *latchtest.Browser) {
	t.Helper()
	b := e.Browser()
	p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
	return b.Login(p, username, pw), b
}

// TestBruteForcePassword: guessing a user's password. After 5 failures
// within the window the (username, address) budget is spent: 429 with
// Retry-After and a clear message, and meanwhile even the right password
// does not get in. The budget refills as the failures leave the window.
func TestBruteForcePassword(t *testing.T) {
	e := startDefaults(t)
	for i := 1; i <= 5; i++ {
		p, _ := loginAttempt(t, e, "alice", fmt.Sprintf("guess-%d", i))
		want := http.StatusUnauthorized
		if i == 5 {
			want = http.StatusTooManyRequests
		}
		if p.Status != want {
			t.Fatalf("guess %d: status %d, want %d", i, p.Status, want)
		}
	}
	p, b := loginAttempt(t, e, "alice", latchtest.AlicePassword)
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many failed sign-in attempts") {
		t.Fatalf("right password during the lockout: %d Retry-After %q, want 429 with Retry-After and the lockout message", p.Status, p.Header.Get("Retry-After"))
	}
	if _, set := cookie(p, "latch_session"); set {
		t.Fatal("a session was started during the lockout")
	}
	requireNotSignedIn(t, e, b)

	e.Clock.Advance(15 * time.Minute)
	p, _ = loginAttempt(t, e, "alice", latchtest.AlicePassword)
	requireCodeRedirect(t, p, latchtest.SPARedirect)
}

var (
	interactionValueRE = regexp.MustCompile(`name="interaction" value="[^"]*"`)
	usernameValueRE    = regexp.MustCompile(`name="username"([^>]*)value="[^"]*"`)
)

// normalize strips what legitimately differs between two login pages:
// the sealed interaction and the echoed username.
func normalize(body string) string {
	body = interactionValueRE.ReplaceAllString(body, `name="interaction" value=""`)
	return usernameValueRE.ReplaceAllString(body, `name="username"${1}value=""`)
}

// TestBruteForceNoUserEnumeration: an unknown username is answered
// exactly like a known one — the same pages, statuses, headers and
// lockout — so failures do not reveal which accounts exist. (Both also
// do the same password-hashing work; timing is not asserted here.)
func TestBruteForceNoUserEnumeration(t *testing.T) {
	e := startDefaults(t)
	addMallory(t, e)
	for i := 1; i <= 6; i++ {
		known, _ := loginAttempt(t, e, "mallory", "wrong")
		unknown, _ := loginAttempt(t, e, "nobody-here", "wrong")
		if known.Status != unknown.Status || (known.Header.Get("Retry-After") == "") != (unknown.Header.Get("Retry-After") == "") {
			t.Fatalf("attempt %d: known user %d, unknown user %d", i, known.Status, unknown.Status)
		}
		if normalize(known.Body) != normalize(unknown.Body) {
			t.Fatalf("attempt %d: the pages differ:\nknown:\n%s\nunknown:\n%s", i, known.Body, unknown.Body)
		}
	}
}

// TestBruteForceAcrossUsernames: spraying one password over many
// usernames from one address locks the address out (20 failures),
// whatever username comes next.
func TestBruteForceAcrossUsernames(t *testing.T) {
	e := startDefaults(t)
	for i := range 20 {
		p, _ := loginAttempt(t, e, fmt.Sprintf("user%02d", i/4), "Spring2025!")
		if p.Status == http.StatusOK || p.Status == http.StatusFound {
			t.Fatalf("attempt %d: status %d", i, p.Status)
		}
	}
	p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword)
	if p.Status != http.StatusTooManyRequests {
		t.Fatalf("alice's login from the spraying address: %d, want 429", p.Status)
	}
}

// TestBruteForceClientSecret: guessing a confidential client's secret at
// the token endpoint. After 10 failures the (client_id, address) budget
// is spent: 429 slow_down with Retry-After, the right secret included,
// until the failures leave the window.
func TestBruteForceClientSecret(t *testing.T) {
	e := startDefaults(t)
	cc := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {appRedirect}}
	for i := 1; i <= 10; i++ {
		resp, body := e.PostForm("/token", cc, basic("app", fmt.Sprintf("guess-%d", i)))
		requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	}
	resp, body := e.PostForm("/token", cc, withSecret(e, "app"))
	requireTokenError(t, resp, body, http.StatusTooManyRequests, "slow_down")
	if resp.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	for _, path := range []string{"/revoke", "/introspect"} {
		resp, body := e.PostForm(path, url.Values{"token": {"x"}}, withSecret(e, "app"))
		requireTokenError(t, resp, body, http.StatusTooManyRequests, "slow_down")
	}

	e.Clock.Advance(15 * time.Minute)
	resp, body = e.PostForm("/token", cc, withSecret(e, "app"))
	requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant") // authenticated; the code is made up
}

// TestBruteForceSpoofedForwardedFor is RFC 9700 §4.13 applied to the
// throttle: without a trusted proxy configured, X-Forwarded-For is the
// client's own claim, so rotating it must not give each guess a fresh
// address (nor move the issuer, see ops_test's forwarded-header test).
// With a trusted proxy, the address the proxy appended counts.
func TestBruteForceSpoofedForwardedFor(t *testing.T) {
	spray := func(t *testing.T, e *latchtest.Env, n int, xff func(i int) string) latchtest.Page {
		t.Helper()
		var last latchtest.Page
		for i := range n {
			b := e.Browser()
			p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
			last = postForm(t, b, e.Issuer+"/login", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {fmt.Sprintf("user%02d", i/4)}, "password": {"x"}},
				func(r *http.Request) { r.Header.Set("X-Forwarded-For", xff(i)) })
		}
		return last
	}
	t.Run("untrusted peer", func(t *testing.T) {
		e := startDefaults(t)
		spray(t, e, 20, func(i int) string { return fmt.Sprintf("203.0.113.%d", i) })
		p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword)
		if p.Status != http.StatusTooManyRequests {
			t.Fatalf("after 20 failures with rotating X-Forwarded-For: %d, want 429 (the header was believed)", p.Status)
		}
	})
	t.Run("control: trusted proxy", func(t *testing.T) {
		e := startDefaults(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
		spray(t, e, 20, func(i int) string { return fmt.Sprintf("203.0.113.%d", i) })
		p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword)
		requireCodeRedirect(t, p, latchtest.SPARedirect)
	})
}

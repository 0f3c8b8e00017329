package server_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
)

// loginFlow is a browser signing in to the spa client.
type loginFlow struct {
	t       *testing.T
	e       *latchtest.Env
	b       *latchtest.Browser
	authURL string
}

func startLogin(t *testing.T, e *latchtest.Env) *loginFlow {
	t.Helper()
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	return &loginFlow{t: t, e: e, b: e.Browser(), authURL: conf.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))}
}

// attempt opens the login page (a fresh one: tests move the clock past
// the life of a sealed form) and submits it from client address xff (sent
// as X-Forwarded-For; none when empty).
func (f *loginFlow) attempt(username, pw, xff string) latchtest.Page {
	f.t.Helper()
	page := f.b.Get(f.authURL)
	if !latchtest.IsLoginPage(page) {
		f.t.Fatalf("no login page: %d", page.Status)
	}
	form := url.Values{"interaction": {latchtest.Hidden(f.t, page.Body)}, "username": {username}, "password": {pw}}
	req, _ := http.NewRequestWithContext(f.t.Context(), http.MethodPost, f.e.Issuer+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	return f.b.Do(req)
}

const lockedMsg = "Too many failed sign-in attempts."

func isSignedIn(p latchtest.Page) bool {
	return (p.Status == http.StatusFound || p.Status == http.StatusSeeOther) && strings.Contains(p.Header.Get("Location"), "code=")
}

func wantRejected(t *testing.T, step string, p latchtest.Page) {
	t.Helper()
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Incorrect username or password.") || strings.Contains(p.Body, lockedMsg) {
		t.Errorf("%s: status %d, want 401 with the generic error and no lockout", step, p.Status)
	}
}

func wantLocked(t *testing.T, step string, p latchtest.Page, retryAfter int) {
	t.Helper()
	if p.Status != http.StatusTooManyRequests || !strings.Contains(p.Body, lockedMsg) || !strings.Contains(p.Body, "<fieldset disabled>") {
		t.Errorf("%s: status %d, want 429 and the lockout notice with the form disabled:\n%s", step, p.Status, p.Body)
	}
	if got := p.Header.Get("Retry-After"); got != fmt.Sprint(retryAfter) {
		t.Errorf("%s: Retry-After = %q, want %d", step, got, retryAfter)
	}
}

// TestLoginLockout: five failures spend the (username, IP) budget; while
// it is spent even the right password is refused, and the answer says
// when the first failure leaves the 15-minute window; then the right
// password signs in, and a success forgets the pair's failures.
func TestLoginLockout(t *testing.T) {
	e := latchtest.Start(t)
	f := startLogin(t, e)
	for i := 1; i <= 4; i++ {
		wantRejected(t, fmt.Sprintf("failure %d", i), f.attempt("alice", "wrong", ""))
	}
	p := f.attempt("alice", "wrong", "")
	wantLocked(t, "failure 5", p, 900)
	if !strings.Contains(p.Body, "Try again in 15 minutes.") {
		t.Errorf("lockout notice does not say how long: %s", p.Body)
	}
	wantLocked(t, "right password while locked", f.attempt("alice", latchtest.AlicePassword, ""), 900)
	e.Clock.Advance(5 * time.Minute)
	p = f.attempt("alice", latchtest.AlicePassword, "")
	wantLocked(t, "5 minutes later", p, 600)
	if !strings.Contains(p.Body, "Try again in 10 minutes.") {
		t.Errorf("lockout notice after 5 minutes: %s", p.Body)
	}
	e.Clock.Advance(10 * time.Minute)
	if p := f.attempt("alice", latchtest.AlicePassword, ""); !isSignedIn(p) {
		t.Fatalf("right password once the window passed: %d %s", p.Status, p.Body)
	}
	// A success forgets the pair's failures: 2 failures, a success, then
	// 4 more lock nothing (6 would, counted together).
	f = startLogin(t, e)
	e.Clock.Advance(time.Minute)
	for i := 1; i <= 2; i++ {
		wantRejected(t, fmt.Sprintf("before success, failure %d", i), f.attempt("alice", "wrong", ""))
	}
	if p := f.attempt("alice", latchtest.AlicePassword, ""); !isSignedIn(p) {
		t.Fatalf("right password: %d", p.Status)
	}
	f = startLogin(t, e) // another browser (no session, no device cookie)
	for i := 1; i <= 4; i++ {
		wantRejected(t, fmt.Sprintf("after success, failure %d", i), f.attempt("alice", "wrong", ""))
	}
	if !strings.Contains(e.AuditLog(), `"event":"login_locked_out"`) || !strings.Contains(e.AuditLog(), `"event":"login_throttled"`) {
		t.Error("no audit events for the lockout")
	}
}

// TestLoginLockoutBackoff: with a window shorter than the lockouts, each
// sequential spending of the budget locks twice as long as the one
// before, up to lockout-max; lockouts are remembered for a day. The
// remaining time is reported mid-lockout, never too early.
func TestLoginLockoutBackoff(t *testing.T) {
	e := latchtest.Start(t, func(c *config.Config) { c.ThrottleWindow = time.Minute })
	f := startLogin(t, e)
	fill := func(step string, want int) {
		t.Helper()
		for i := range 4 {
			wantRejected(t, fmt.Sprintf("%s, failure %d", step, i+1), f.attempt("alice", "wrong", ""))
		}
		wantLocked(t, step, f.attempt("alice", "wrong", ""), want)
	}
	prev := 60
	fill("lockout 1", prev)
	for i, want := range []int{120, 240, 480, 900, 900} {
		e.Clock.Advance(time.Duration(prev) * time.Second)
		fill(fmt.Sprintf("lockout %d", i+2), want)
		prev = want
	}
	e.Clock.Advance(5 * time.Minute)
	p := f.attempt("alice", "wrong", "")
	if ra, _ := strconv.Atoi(p.Header.Get("Retry-After")); p.Status != http.StatusTooManyRequests || ra < 600 || ra > 604 {
		t.Errorf("5 minutes into a 15-minute lockout: %d, Retry-After %q, want 429 and 600..604", p.Status, p.Header.Get("Retry-After"))
	}
}

var (
	interactionValue = regexp.MustCompile(`name="interaction" value="[^"]*"`)
	usernameValue    = regexp.MustCompile(`name="username" type="text" value="[^"]*"`)
)

// TestLoginLockoutNoEnumeration: an unknown username gets exactly what a
// known one gets — status, Retry-After, page — failure after failure,
// lockout included.
func TestLoginLockoutNoEnumeration(t *testing.T) {
	e := latchtest.Start(t)
	transcript := func(username string) []string {
		f := startLogin(t, e)
		var out []string
		record := func(p latchtest.Page) {
			body := interactionValue.ReplaceAllString(p.Body, "")
			body = usernameValue.ReplaceAllString(body, "")
			out = append(out, fmt.Sprintf("%d retry-after=%q\n%s", p.Status, p.Header.Get("Retry-After"), body))
		}
		for range 6 {
			record(f.attempt(username, "wrong", ""))
		}
		e.Clock.Advance(time.Minute)
		record(f.attempt(username, "wrong", ""))
		record(f.attempt(username, "wrong", ""))
		e.Clock.Advance(-time.Minute) // the next transcript starts at the same time
		return out
	}
	known, unknown := transcript("alice"), transcript("mallory")
	for i := range known {
		if known[i] != unknown[i] {
			t.Errorf("step %d differs for a known and an unknown username (user enumeration):\nknown:   %.300s\nunknown: %.300s", i+1, known[i], unknown[i])
		}
	}
	if !strings.HasPrefix(known[4], "429") {
		t.Errorf("step 5 is not a lockout: %.100s", known[4])
	}
	// Case and surrounding space do not make a fresh counter.
	f := startLogin(t, e)
	for _, u := range []string{"bob", "Bob", " BOB", "bob ", "bOb"} {
		f.attempt(u, "wrong", "")
	}
	if p := f.attempt("bob", "wrong", ""); p.Status != http.StatusTooManyRequests {
		t.Errorf("variants of one username counted apart: status %d", p.Status)
	}
}

// TestLoginThrottlePerIP: one client IP failing on many usernames is
// locked out as a whole (password spraying), other IPs are not; the IP
// is taken from X-Forwarded-For only behind a trusted proxy.
func TestLoginThrottlePerIP(t *testing.T) {
	t.Run("trusted proxy", func(t *testing.T) {
		e := latchtest.Start(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
		f := startLogin(t, e)
		const attacker = "198.51.100.7"
		for i := range 19 {
			wantRejected(t, fmt.Sprintf("spray %d", i+1), f.attempt(fmt.Sprintf("user%d", i), "wrong", attacker))
		}
		wantLocked(t, "spray 20", f.attempt("user19", "wrong", attacker), 900)
		wantLocked(t, "alice from the locked IP", f.attempt("alice", latchtest.AlicePassword, attacker), 900)
		// A client-supplied entry left of the real one changes nothing.
		wantLocked(t, "spoofed left entry", f.attempt("alice", latchtest.AlicePassword, "192.0.2.1, "+attacker), 900)
		wantRejected(t, "a sprayed username from another IP", f.attempt("user0", "wrong", "198.51.100.8"))
		if p := f.attempt("alice", latchtest.AlicePassword, "198.51.100.8"); !isSignedIn(p) {
			t.Errorf("alice from another IP: %d", p.Status)
		}
	})
	t.Run("untrusted peer: X-Forwarded-For ignored", func(t *testing.T) {
		e := latchtest.Start(t)
		f := startLogin(t, e)
		for i := range 19 {
			wantRejected(t, fmt.Sprintf("spray %d", i+1), f.attempt(fmt.Sprintf("user%d", i), "wrong", fmt.Sprintf("203.0.113.%d", i)))
		}
		wantLocked(t, "spray 20", f.attempt("user19", "wrong", "203.0.113.19"), 900)
		wantLocked(t, "fresh spoofed address", f.attempt("alice", latchtest.AlicePassword, "203.0.113.200"), 900)
	})
}

// TestClientSecretBruteForce: failed client authentications spend the
// (client_id, IP) pair's budget, the client_id's (from many IPs) and the
// client IP's, on the token, revocation and introspection endpoints, on
// every instance; 429 slow_down with Retry-After. The client itself, from
// another address, is not locked out by one attacker.
func TestClientSecretBruteForce(t *testing.T) {
	e := latchtest.Start(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	cc := url.Values{"grant_type": {"client_credentials"}}
	as := func(id, secret, xff string) func(*http.Request) {
		return func(r *http.Request) {
			r.SetBasicAuth(id, secret)
			if xff != "" {
				r.Header.Set("X-Forwarded-For", xff)
			}
		}
	}
	secret := e.Secrets["web"]
	wantSlowDown := func(t *testing.T, step string, resp *http.Response, body map[string]any, retryAfter int) {
		t.Helper()
		if resp.StatusCode != http.StatusTooManyRequests || body["error"] != "slow_down" || resp.Header.Get("Retry-After") != fmt.Sprint(retryAfter) || resp.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %d %v Retry-After %q, want 429 slow_down with Retry-After %d", step, resp.StatusCode, body, resp.Header.Get("Retry-After"), retryAfter)
		}
	}

	t.Run("per client_id and IP", func(t *testing.T) {
		const attacker = "192.0.2.1"
		for i := 1; i <= 10; i++ {
			resp, body := e.PostForm("/token", cc, as("web", fmt.Sprintf("guess-%d", i), attacker))
			wantTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		}
		resp, body := e.PostForm("/token", cc, as("web", secret, attacker))
		wantSlowDown(t, "token endpoint, right secret", resp, body, 900)
		resp, body = e.PostForm("/revoke", url.Values{"token": {"x"}}, as("web", secret, attacker))
		wantSlowDown(t, "revocation", resp, body, 900)
		resp, body = e.PostForm("/introspect", url.Values{"token": {"x"}}, as("web", secret, attacker))
		wantSlowDown(t, "introspection", resp, body, 900)
		// Another instance sharing the store agrees.
		req := httptest.NewRequest(http.MethodPost, e.Issuer+"/revoke", strings.NewReader("token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", attacker)
		req.SetBasicAuth("web", secret)
		rec := httptest.NewRecorder()
		e.NewInstance().ServeHTTP(rec, req)
		if rec.Code != http.StatusTooManyRequests {
			t.Errorf("replica: %d, want 429", rec.Code)
		}
		// The client from its own address is not locked out.
		if resp, body := e.PostForm("/revoke", url.Values{"token": {"x"}}, as("web", secret, "192.0.2.50")); resp.StatusCode != http.StatusOK {
			t.Errorf("web from its own IP: %d %v", resp.StatusCode, body)
		}
		e.Clock.Advance(15 * time.Minute)
		if resp, body := e.PostForm("/revoke", url.Values{"token": {"x"}}, as("web", secret, attacker)); resp.StatusCode != http.StatusOK {
			t.Errorf("right secret after the window: %d %v", resp.StatusCode, body)
		}
	})
	t.Run("per client_id from many IPs", func(t *testing.T) {
		for i := range 200 {
			resp, body := e.PostForm("/token", cc, as("web", "guess", fmt.Sprintf("10.1.%d.%d", i/10, i%10)))
			wantTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		}
		resp, body := e.PostForm("/token", cc, as("web", secret, "192.0.2.60"))
		wantSlowDown(t, "after 200 failures from 20 IPs", resp, body, 900)
		e.Clock.Advance(15 * time.Minute)
	})
	t.Run("per client IP", func(t *testing.T) {
		const attacker = "198.51.100.9"
		for i := 1; i <= 20; i++ {
			resp, body := e.PostForm("/token", cc, as(fmt.Sprintf("ghost%d", i), "guess", attacker))
			wantTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		}
		resp, body := e.PostForm("/token", cc, as("web", secret, attacker))
		wantSlowDown(t, "web from the locked IP", resp, body, 900)
		if resp, body := e.PostForm("/revoke", url.Values{"token": {"x"}}, as("web", secret, "198.51.100.10")); resp.StatusCode != http.StatusOK {
			t.Errorf("web from another IP: %d %v", resp.StatusCode, body)
		}
		// Public clients present no secret: nothing to guess, not throttled.
		resp, body = e.PostForm("/token", refreshForm("spa", "unknown"), func(r *http.Request) { r.Header.Set("X-Forwarded-For", attacker) })
		wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_grant")
	})
}

// TestRequestSizeLimits: an oversized header is refused by the HTTP
// server (431) with the limit `latch serve` sets (cmd/latch/serve.go:
// MaxHeaderBytes 32 KiB); an oversized body by the body cap of every
// route (64 KiB), with the endpoint's own JSON error.
func TestRequestSizeLimits(t *testing.T) {
	e := latchtest.Start(t)
	ts := httptest.NewUnstartedServer(e.Latch)
	ts.Config.MaxHeaderBytes = 32 << 10 // as in cmd/latch/serve.go
	ts.Start()
	t.Cleanup(ts.Close)

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL+"/.well-known/openid-configuration", nil)
	req.Header.Set("X-Padding", strings.Repeat("a", 64<<10))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Errorf("oversized header: %d, want 431", resp.StatusCode)
	}

	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"}, "code": {"x"}, "pad": {strings.Repeat("x", 65<<10)}}
	resp, body := e.PostForm("/token", form)
	wantTokenError(t, resp, body, http.StatusBadRequest, "invalid_request")
	if resp.Header.Get("Content-Type") != "application/json" {
		t.Errorf("oversized body: Content-Type %q", resp.Header.Get("Content-Type"))
	}
}

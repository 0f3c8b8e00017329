package security

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/admin"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
	"github.com/latchauth/latch/internal/token"
)

// Concurrent guessing (issue 11, item 1): every credential is checked
// only after an attempt has been reserved atomically in the store, so a
// burst of parallel guesses gets no more checks than the budget, on
// SQLite and PostgreSQL, and with several instances on one database.

// openPostgres opens a store on dsn (one pool: one Latch process).
func openPostgres(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), dsn, postgres.Options{})
	if err != nil {
		t.Fatalf("postgres.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// onBothStores runs fn on SQLite and on a scratch PostgreSQL database
// (dsn "" for SQLite).
func onBothStores(t *testing.T, fn func(t *testing.T, st store.Store, dsn string)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, nil, "") })
	t.Run("postgres", func(t *testing.T) {
		dsn := pgtest.NewTestDB(t)
		fn(t, openPostgres(t, dsn), dsn)
	})
}

// loginForm is a login page opened in its own browser, ready to submit.
type loginForm struct {
	b           *latchtest.Browser
	interaction string
}

func openLoginForms(t *testing.T, e *latchtest.Env, n int) []loginForm {
	t.Helper()
	forms := make([]loginForm, n)
	for i := range forms {
		b := e.Browser()
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
		forms[i] = loginForm{b, latchtest.Hidden(t, p.Body)}
	}
	return forms
}

// burst submits every form at once to base+"/login" (base: an instance's
// URL) as username with pw(i), from client address xff(i) (none when
// nil), and returns the status codes.
func burst(t *testing.T, forms []loginForm, base func(i int) string, username string, pw func(i int) string, xff func(i int) string) []int {
	t.Helper()
	codes := make([]int, len(forms))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, f := range forms {
		wg.Go(func() {
			form := url.Values{"interaction": {f.interaction}, "username": {username}, "password": {pw(i)}}
			req, _ := http.NewRequest(http.MethodPost, base(i)+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if xff != nil {
				req.Header.Set("X-Forwarded-For", xff(i))
			}
			<-start
			resp, err := f.b.Client.Do(req)
			if err != nil {
				t.Errorf("login %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	return codes
}

func count(codes []int, status int) int {
	n := 0
	for _, c := range codes {
		if c == status {
			n++
		}
	}
	return n
}

func wrongPassword(i int) string { return fmt.Sprintf("guess-%d", i) }

// TestBruteForceConcurrentPasswordBurst is the reviewer's attack: 39
// parallel wrong passwords for one username, then the right one. At most
// login-max-failures (5) passwords may be verified (counted by the
// password hasher), and the right one is refused once the budget is
// spent.
func TestBruteForceConcurrentPasswordBurst(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store, _ string) {
		// A realistic cost (4 MiB) keeps each verification in flight long
		// enough for the burst to overlap.
		e := startOn(t, st, func(c *config.Config) { c.PasswordMemoryKiB = 4096 })
		forms := openLoginForms(t, e, 39)
		before := e.Passwords.Checks()
		codes := burst(t, forms, func(int) string { return e.Issuer }, "alice", wrongPassword, nil)
		if got := e.Passwords.Checks() - before; got != 5 {
			t.Errorf("burst of 39 wrong passwords: %d verified, want exactly 5 (login-max-failures); statuses %v", got, codes)
		}
		// Refused attempts are 429 (budget spent by failures) or 503 +
		// Retry-After (budget full of attempts still in flight: they may
		// yet succeed, so it is not a lockout); never checked.
		if n401, nRefused := count(codes, http.StatusUnauthorized), count(codes, http.StatusTooManyRequests)+count(codes, http.StatusServiceUnavailable); n401+nRefused != 39 || n401 > 5 {
			t.Errorf("statuses %v: want at most 5 × 401, the rest 429 or 503", codes)
		}
		p, _ := loginAttempt(t, e, "alice", latchtest.AlicePassword)
		if p.Status != http.StatusTooManyRequests {
			t.Errorf("right password after the burst: %d, want 429", p.Status)
		}
		if got := e.Passwords.Checks() - before; got != 5 {
			t.Errorf("%d passwords verified in all, want 5", got)
		}
	})
}

// TestBruteForceBurstAcrossInstances: the same burst split over two Latch
// instances, each with its own connection pool to one PostgreSQL
// database, shares one budget.
func TestBruteForceBurstAcrossInstances(t *testing.T) {
	dsn := pgtest.NewTestDB(t)
	e := startOn(t, openPostgres(t, dsn))
	other, otherHasher := e.NewInstanceOn(openPostgres(t, dsn))
	ts := httptest.NewServer(other)
	t.Cleanup(ts.Close)
	forms := openLoginForms(t, e, 40)
	before := e.Passwords.Checks() + otherHasher.Checks()
	codes := burst(t, forms, func(i int) string {
		if i%2 == 0 {
			return e.Issuer
		}
		return ts.URL
	}, "alice", wrongPassword, nil)
	if got := e.Passwords.Checks() + otherHasher.Checks() - before; got != 5 {
		t.Errorf("burst over two instances: %d passwords verified, want exactly 5; statuses %v", got, codes)
	}
}

// heldRelease is a store whose ReleaseAttempt waits for gate: the
// reservations of right secrets stay in flight (a slow or busy instance)
// until the test lets them go. A ReleaseAttempt that fails instead (fail)
// is a release lost to a crash or a timeout.
type heldRelease struct {
	store.Store
	gate chan struct{}
	fail bool
}

func (h heldRelease) ReleaseAttempt(ctx context.Context, at time.Time, keys ...string) error {
	if h.fail {
		return errors.New("release lost (test)")
	}
	<-h.gate
	return h.Store.ReleaseAttempt(context.WithoutCancel(ctx), at, keys...)
}

// makeSuspect sends one wrong secret for client to the instance at base
// from 192.0.2.99 (through a trusted proxy): the instance then reserves
// every attempt of the client (the fast path is off for it), without
// touching the client's budget for 127.0.0.1.
func makeSuspect(t *testing.T, e *latchtest.Env, base, client string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+"/token", strings.NewReader("grant_type=client_credentials"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "192.0.2.99")
	basic(client, "wrong-secret")(req)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("wrong secret from 192.0.2.99: %d, want 401", resp.StatusCode)
	}
}

// clientCredentials posts n right-secret client_credentials requests of
// client at once to base(i) (every one from 127.0.0.1) and returns the
// status codes.
func clientCredentials(t *testing.T, e *latchtest.Env, client string, n int, base func(i int) string) []int {
	t.Helper()
	codes := make([]int, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range codes {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, base(i)+"/token", strings.NewReader("grant_type=client_credentials"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			withSecret(e, client)(req)
			<-start
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("request %d: %v", i, err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			codes[i] = resp.StatusCode
		})
	}
	close(start)
	wg.Wait()
	return codes
}

// clientPairKey is the throttle's (client_id, IP) budget key of client
// from 127.0.0.1 (server.throttle.clientLimits).
func clientPairKey(client string) string {
	return "client:pair:" + token.Hash(client) + ":127.0.0.1"
}

// waitReserved waits until key holds n attempts (reserved or failed).
func waitReserved(t *testing.T, e *latchtest.Env, key string, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		got, err := e.Store.Failures(t.Context(), key, e.Clock.Now(), 15*time.Minute)
		if err != nil {
			t.Fatalf("Failures: %v", err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d attempts reserved for %q, want %d", got, key, n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestClientBurstAcrossInstancesNotLocked: more concurrent right-secret
// client_credentials requests of one client from one IP than its
// (client_id, IP) budget (client-max-failures, 10), served by two
// instances on one PostgreSQL database, are never taken for guessing:
// none is answered 429. The budget is full only of attempts in flight —
// reservations are leases in the store, which every instance sees — so
// the overflow gets 503 + Retry-After 1 (busy) and succeeds on retry.
// First deterministically: instance B holds 10 reservations in flight
// (its releases wait), then instance A serves 10 more; then a free burst
// of 40 over both. Right secrets on an instance that has seen no failure
// take the fast path and reserve nothing (issue 13), so each instance is
// first shown one wrong secret for svc from another address: that makes
// svc suspect there (every later attempt is reserved) while leaving the
// (svc, 127.0.0.1) budget untouched.
func TestClientBurstAcrossInstancesNotLocked(t *testing.T) {
	dsn := pgtest.NewTestDB(t)
	e := startOn(t, openPostgres(t, dsn), func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	e.MustClient(store.Client{ID: "svc", Name: "Service", GrantTypes: []string{"client_credentials"}})
	gate := make(chan struct{})
	other, _ := e.NewInstanceOn(heldRelease{Store: openPostgres(t, dsn), gate: gate})
	b := httptest.NewServer(other)
	t.Cleanup(b.Close)
	makeSuspect(t, e, e.Issuer, "svc")
	makeSuspect(t, e, b.URL, "svc")

	held := make(chan []int)
	go func() { held <- clientCredentials(t, e, "svc", 10, func(int) string { return b.URL }) }()
	waitReserved(t, e, clientPairKey("svc"), 10)
	codes := clientCredentials(t, e, "svc", 10, func(int) string { return e.Issuer })
	if n := count(codes, http.StatusServiceUnavailable); n != 10 {
		t.Errorf("instance A while B holds the budget in flight: statuses %v, want 10 × 503 (busy), never 429", codes)
	}
	close(gate)
	if codes := <-held; count(codes, http.StatusOK) != 10 {
		t.Errorf("instance B's held requests: statuses %v, want 10 × 200", codes)
	}
	// Once B has settled, A serves the client again: ten retries, one at a
	// time (a concurrent burst exactly the size of the budget would race
	// its own reservations), each a 200.
	codes = nil
	for range 10 {
		codes = append(codes, clientCredentials(t, e, "svc", 1, func(int) string { return e.Issuer })...)
	}
	if n := count(codes, http.StatusOK); n != 10 {
		t.Errorf("instance A's retries: statuses %v, want 10 × 200", codes)
	}

	codes = clientCredentials(t, e, "svc", 40, func(i int) string {
		if i%2 == 0 {
			return e.Issuer
		}
		return b.URL
	})
	if n200, n503 := count(codes, http.StatusOK), count(codes, http.StatusServiceUnavailable); n200+n503 != len(codes) {
		t.Errorf("40 right secrets over two instances: statuses %v, want only 200 or 503 (never 429)", codes)
	}
}

// TestInFlightRightSecretsStartNoLockout: one wrong secret (a stale one,
// during a rotation) among right-secret requests in flight does not lock
// the client out: a lockout starts only when the budget is full of
// failures, not when the wrong attempt was reserved while the budget was
// full of attempts that then succeeded. Here 9 right secrets hold their
// reservations, the wrong one takes the 10th unit, then the 9 succeed;
// the next right secret is served.
func TestInFlightRightSecretsStartNoLockout(t *testing.T) {
	gate := make(chan struct{})
	e := startOn(t, heldRelease{Store: openPostgres(t, pgtest.NewTestDB(t)), gate: gate}, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	e.MustClient(store.Client{ID: "svc", Name: "Service", GrantTypes: []string{"client_credentials"}})
	makeSuspect(t, e, e.Issuer, "svc") // right secrets reserve (no fast path)
	held := make(chan []int)
	go func() { held <- clientCredentials(t, e, "svc", 9, func(int) string { return e.Issuer }) }()
	waitReserved(t, e, clientPairKey("svc"), 9)
	resp, body := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, basic("svc", "stale-secret"))
	requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
	close(gate)
	if codes := <-held; count(codes, http.StatusOK) != 9 {
		t.Fatalf("right secrets in flight: statuses %v, want 9 × 200", codes)
	}
	resp, body = e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, withSecret(e, "svc"))
	if resp.StatusCode != http.StatusOK {
		t.Errorf("right secret after one wrong among 9 right in flight: %d %v, want 200 (no lockout)", resp.StatusCode, body)
	}
}

// TestUnsettledReservationLapses: a reservation whose release is lost (a
// crash, a store timeout) stops counting when its lease ends — request
// timeout plus a few seconds — instead of using up the budget for the
// whole throttle window (15 min): after the lease the client is served.
func TestUnsettledReservationLapses(t *testing.T) {
	dsn := pgtest.NewTestDB(t)
	e := startOn(t, openPostgres(t, dsn), func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	e.MustClient(store.Client{ID: "svc", Name: "Service", GrantTypes: []string{"client_credentials"}})
	other, _ := e.NewInstanceOn(heldRelease{Store: openPostgres(t, dsn), fail: true})
	b := httptest.NewServer(other)
	t.Cleanup(b.Close)
	makeSuspect(t, e, e.Issuer, "svc") // both instances reserve every attempt
	makeSuspect(t, e, b.URL, "svc")

	clientCredentials(t, e, "svc", 10, func(int) string { return b.URL }) // every release lost
	waitReserved(t, e, clientPairKey("svc"), 10)
	if codes := clientCredentials(t, e, "svc", 1, func(int) string { return e.Issuer }); codes[0] != http.StatusServiceUnavailable {
		t.Errorf("while the lost reservations' leases last: status %v, want 503 (busy), not 429", codes)
	}
	e.Clock.Advance(e.Config.RequestTimeout + 10*time.Second)
	if codes := clientCredentials(t, e, "svc", 1, func(int) string { return e.Issuer }); codes[0] != http.StatusOK {
		t.Errorf("after the leases: status %v, want 200", codes)
	}
}

// TestBruteForceFailuresOutliveLease: a wrong secret's reservation is
// confirmed as a failure (store.ConfirmAttempt) and counts for the whole
// throttle window, not only for its lease: past the lease the client is
// still refused with 429, on SQLite and PostgreSQL.
func TestBruteForceFailuresOutliveLease(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store, _ string) {
		e := startOn(t, st)
		form := url.Values{"token": {"x"}}
		for i := range 10 {
			resp, body := e.PostForm("/introspect", form, basic("app", fmt.Sprintf("guess-%d", i)))
			requireTokenError(t, resp, body, http.StatusUnauthorized, "invalid_client")
		}
		e.Clock.Advance(e.Config.RequestTimeout + time.Minute) // past every lease
		resp, body := e.PostForm("/introspect", form, withSecret(e, "app"))
		requireTokenError(t, resp, body, http.StatusTooManyRequests, "slow_down")
	})
}

// TestBruteForceConcurrentClientSecret: 40 parallel wrong secrets at the
// token, introspection and revocation endpoints get client-max-failures
// (10) checks — each a 401 invalid_client, the rest 429 slow_down — and
// then the right secret is refused too.
func TestBruteForceConcurrentClientSecret(t *testing.T) {
	for _, ep := range []struct {
		path string
		form url.Values
	}{
		{"/token", url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "redirect_uri": {appRedirect}}},
		{"/introspect", url.Values{"token": {"x"}}},
		{"/revoke", url.Values{"token": {"x"}}},
	} {
		t.Run(ep.path, func(t *testing.T) {
			onBothStores(t, func(t *testing.T, st store.Store, _ string) {
				e := startOn(t, st)
				codes := make([]int, 40)
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i := range codes {
					wg.Go(func() {
						req, _ := http.NewRequest(http.MethodPost, e.Issuer+ep.path, strings.NewReader(ep.form.Encode()))
						req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
						basic("app", fmt.Sprintf("guess-%d", i))(req)
						<-start
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							t.Errorf("request %d: %v", i, err)
							return
						}
						io.Copy(io.Discard, resp.Body)
						resp.Body.Close()
						codes[i] = resp.StatusCode
					})
				}
				close(start)
				wg.Wait()
				// Refused: 429 slow_down, or 503 temporarily_unavailable
				// while the budget is full of attempts still in flight.
				if n401, nRefused := count(codes, http.StatusUnauthorized), count(codes, http.StatusTooManyRequests)+count(codes, http.StatusServiceUnavailable); n401 != 10 || nRefused != 30 {
					t.Errorf("40 parallel wrong secrets: %d checked (401), %d refused (429/503); want 10 and 30: %v", n401, nRefused, codes)
				}
				resp, body := e.PostForm(ep.path, ep.form, withSecret(e, "app"))
				requireTokenError(t, resp, body, http.StatusTooManyRequests, "slow_down")
			})
		})
	}
}

// TestBruteForceAdminToken (issue 11, item 13): guessing the admin API
// token is throttled like every credential — 40 parallel wrong tokens get
// ip-max-failures (20) comparisons, the rest 429 with Retry-After, then
// the right token from that address too, audited; the address gets in
// again once the window has passed.
func TestBruteForceAdminToken(t *testing.T) {
	onBothStores(t, func(t *testing.T, st store.Store, _ string) {
		e := startOn(t, st)
		const token = "admin-token-0123456789abcdef0123456789"
		var audit strings.Builder
		var mu sync.Mutex
		a, err := admin.New(admin.Options{
			Store: e.Store, Keys: e.Latch.Keys(), Passwords: e.Passwords, Token: token, Now: e.Clock.Now,
			Audit: slog.New(slog.NewJSONHandler(lockedBuilder{&mu, &audit}, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewServer(a)
		t.Cleanup(ts.Close)
		call := func(tok string) *http.Response {
			req, _ := http.NewRequest(http.MethodGet, ts.URL+"/admin/clients", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Errorf("admin call: %v", err)
				return &http.Response{}
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp
		}
		var n401, n429 atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				switch call(fmt.Sprintf("guess-%d", i)).StatusCode {
				case http.StatusUnauthorized:
					n401.Add(1)
				case http.StatusTooManyRequests:
					n429.Add(1)
				}
			})
		}
		wg.Wait()
		if n401.Load() != 20 || n429.Load() != 20 {
			t.Errorf("40 parallel wrong admin tokens: %d compared (401), %d refused (429); want 20 and 20", n401.Load(), n429.Load())
		}
		if resp := call(token); resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
			t.Errorf("right token from the throttled address: %d Retry-After %q, want 429 with Retry-After", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		mu.Lock()
		logged := audit.String()
		mu.Unlock()
		if !strings.Contains(logged, `"event":"admin_auth_throttled"`) || !strings.Contains(logged, `"event":"admin_auth_failed"`) {
			t.Errorf("admin token guessing not audited:\n%s", logged)
		}
		e.Clock.Advance(15 * time.Minute)
		if resp := call(token); resp.StatusCode != http.StatusOK {
			t.Errorf("right token after the window: %d", resp.StatusCode)
		}
		// A right token does not use up the budget.
		for i := range 25 {
			if resp := call(token); resp.StatusCode != http.StatusOK {
				t.Fatalf("right token, call %d: %d", i, resp.StatusCode)
			}
		}
	})
}

type lockedBuilder struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (l lockedBuilder) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

// Item 2: no lockout button.

// TestBruteForceNoLockoutButton: an attacker failing for alice from its
// own address — in a burst — spends only its (username, address) budget:
// alice signs in from hers. An attacker with 20 addresses spends the
// username's budget (100): then only a browser alice signed in with
// before (the known-device cookie) still gets in; a device cookie of
// another account does not help the attacker. The burst starts one
// lockout, not a maximal one.
func TestBruteForceNoLockoutButton(t *testing.T) {
	e := startDefaults(t, func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} })
	addMallory(t, e)
	const attacker, victim = "198.51.100.66", "192.0.2.10"
	from := func(ip string) func(*http.Request) {
		return func(r *http.Request) { r.Header.Set("X-Forwarded-For", ip) }
	}
	signIn := func(b *latchtest.Browser, username, pw, ip string) latchtest.Page {
		t.Helper()
		p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())))
		if !latchtest.IsLoginPage(p) {
			t.Fatalf("no login page: %d", p.Status)
		}
		return postForm(t, b, e.Issuer+"/login", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {username}, "password": {pw}}, from(ip))
	}

	// Alice's own browser has signed in before: a known device.
	aliceBrowser := e.Browser()
	p := signIn(aliceBrowser, "alice", latchtest.AlicePassword, victim)
	requireCodeRedirect(t, p, latchtest.SPARedirect)
	dev, ok := cookieAttrs(p, "latch_device")
	if !ok || !dev.HttpOnly || dev.SameSite != http.SameSiteLaxMode || dev.Expires.Before(e.Clock.Now().Add(30*24*time.Hour)) {
		t.Errorf("known-device cookie %+v: want HttpOnly, SameSite=Lax, long-lived", dev)
	}
	e.Clock.Advance(time.Minute)

	// One attacker address, one burst of 40.
	codes := burst(t, openLoginForms(t, e, 40), func(int) string { return e.Issuer }, "alice", wrongPassword, func(int) string { return attacker })
	if n := count(codes, http.StatusUnauthorized); n > 5 {
		t.Errorf("burst from one address: %d passwords checked, want at most 5", n)
	}
	if got := strings.Count(e.AuditLog(), `"event":"login_locked_out"`); got != 1 {
		t.Errorf("one burst started %d lockouts, want 1 (backoff grows with sequential failures only)", got)
	}
	requireCodeRedirect(t, signIn(e.Browser(), "alice", latchtest.AlicePassword, victim), latchtest.SPARedirect)

	// Twenty attacker addresses, five failures each: the username's budget.
	for i := range 20 {
		ip := fmt.Sprintf("203.0.113.%d", i+1)
		for j := range 5 {
			signIn(e.Browser(), "alice", fmt.Sprintf("spray-%d-%d", i, j), ip)
		}
	}
	if p := signIn(e.Browser(), "alice", latchtest.AlicePassword, "192.0.2.99"); p.Status != http.StatusTooManyRequests {
		t.Errorf("alice from a new browser after 100+ failures: %d, want 429 (per-username budget)", p.Status)
	}
	// Mallory's own device cookie is no key to alice's account.
	malloryBrowser := e.Browser()
	requireCodeRedirect(t, signIn(malloryBrowser, "mallory", malloryPassword, attacker), latchtest.SPARedirect)
	endSession(t, e, malloryBrowser)
	if p := signIn(malloryBrowser, "alice", latchtest.AlicePassword, attacker); p.Status != http.StatusTooManyRequests {
		t.Errorf("alice's password from mallory's known device: %d, want 429", p.Status)
	}
	// Alice's known device still signs in (her session ended meanwhile).
	endSession(t, e, aliceBrowser)
	requireCodeRedirect(t, signIn(aliceBrowser, "alice", latchtest.AlicePassword, "192.0.2.200"), latchtest.SPARedirect)
}

// cookieAttrs returns the cookie name as set by p.
func cookieAttrs(p latchtest.Page, name string) (*http.Cookie, bool) {
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == name {
			return c, true
		}
	}
	return nil, false
}

// endSession drops b's SSO session cookie (its other cookies stay), so
// the next authorization request shows the login page.
func endSession(t *testing.T, e *latchtest.Env, b *latchtest.Browser) {
	t.Helper()
	u, _ := url.Parse(e.Issuer + "/")
	b.Client.Jar.SetCookies(u, []*http.Cookie{{Name: "latch_session", Value: "", Path: "/", MaxAge: -1}})
}

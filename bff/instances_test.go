package bff_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/bff/bffpostgres"
	"github.com/latchauth/latch/bff/bffsqlite"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// backend opens one instance's connection to the shared session store
// (each call a new connection, as a new process would open).
type backend struct {
	name string
	open func(t *testing.T) bff.SessionStore
}

func backends(t *testing.T) []backend {
	dir := t.TempDir()
	var dsnOnce sync.Once
	var dsn string
	return []backend{
		{"sqlite", func(t *testing.T) bff.SessionStore {
			s, err := bffsqlite.Open(t.Context(), filepath.Join(dir, "bff.db"))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
		{"postgres", func(t *testing.T) bff.SessionStore {
			dsnOnce.Do(func() { dsn = pgtest.NewTestDB(t) })
			s, err := bffpostgres.Open(t.Context(), dsn)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Close)
			return s
		}},
	}
}

// cluster is N BFF instances behind a round-robin proxy (httptest): the
// browser talks to the proxy's origin, each request goes to the next
// instance.
type cluster struct {
	f         *fixture
	base      string
	mu        sync.Mutex
	instances []http.Handler
	next      atomic.Uint64
	open      func(t *testing.T) bff.SessionStore
	mutate    []func(*bff.Config)
}

func newCluster(t *testing.T, f *fixture, n int, open func(t *testing.T) bff.SessionStore, mutate ...func(*bff.Config)) *cluster {
	c := &cluster{f: f, open: open, mutate: mutate}
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		h := c.instances[int(c.next.Add(1)-1)%len(c.instances)]
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	c.base = "http://" + ts.Listener.Addr().String()
	f.register(c.base)
	for range n {
		c.instances = append(c.instances, c.start(t))
	}
	ts.Start()
	t.Cleanup(ts.Close)
	return c
}

// start is a new instance process: a new BFF over a new store connection.
func (c *cluster) start(t *testing.T) http.Handler {
	return c.f.newBFF(c.f.config(c.base, c.open(t), c.mutate...))
}

// restart replaces instance i by a fresh one (its memory is gone).
func (c *cluster) restart(t *testing.T, i int) {
	h := c.start(t)
	c.mu.Lock()
	c.instances[i] = h
	c.mu.Unlock()
}

// Two instances sharing one SQLite file or PostgreSQL database share
// sessions: a sign-in started on one finishes on the other, every request
// works on either, and a restart of either loses nothing.
func TestInstancesShareSessions(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t)
			c := newCluster(t, f, 2, be.open)
			b := f.browser()
			signIn(t, b, c.base, f.env.Issuer) // /login on one instance, /callback on the other
			check := func(when string) {
				t.Helper()
				for i := range 4 {
					if code, m := me(t, b, c.base); code != http.StatusOK || m["sub"] != "user-alice" {
						t.Fatalf("%s: /me #%d = %d, want 200 on every instance", when, i, code)
					}
				}
				for i := range 2 {
					if res, body := b.do(t, http.MethodGet, c.base+"/api/messages", xhr); res.StatusCode != http.StatusOK {
						t.Fatalf("%s: /api #%d = %d %s", when, i, res.StatusCode, body)
					}
				}
			}
			check("after sign-in")
			c.restart(t, 0)
			check("after instance 0 restarted")
			c.restart(t, 1)
			check("after instance 1 restarted")
			// Logout on one instance ends the session on both.
			if res, _ := b.do(t, http.MethodPost, c.base+"/logout", xhr); res.StatusCode != http.StatusOK {
				t.Fatalf("logout = %d", res.StatusCode)
			}
			for range 2 {
				if code, _ := me(t, b, c.base); code != http.StatusUnauthorized {
					t.Fatalf("/me after logout = %d, want 401 on every instance", code)
				}
			}
			b.noTokenLeaked(t)
		})
	}
	// The control: instances with their own memory store do not share
	// sessions, so the same requests fail — the test above can fail.
	t.Run("control: separate memory stores", func(t *testing.T) {
		f := newFixture(t)
		c := newCluster(t, f, 2, func(*testing.T) bff.SessionStore { return bff.NewMemoryStore() })
		b := f.browser()
		signIn(t, b, c.base, f.env.Issuer)
		ok := 0
		for range 4 {
			if code, _ := me(t, b, c.base); code == http.StatusOK {
				ok++
			}
		}
		if ok == 4 {
			t.Fatal("separate memory stores shared a session: the round-robin proxy is not alternating")
		}
	})
}

// When the access token is about to expire and N requests arrive at once
// on two instances, Latch sees exactly one refresh; every request is
// served with the new token; Latch's reuse detection is not triggered and
// the grant (the refresh token family) stays alive for the next refresh.
func TestConcurrentRefreshAcrossInstances(t *testing.T) {
	for _, be := range backends(t) {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t)
			c := newCluster(t, f, 2, be.open)
			b := f.browser()
			signIn(t, b, c.base, f.env.Issuer)
			if res, _ := b.do(t, http.MethodGet, c.base+"/api/first", xhr); res.StatusCode != http.StatusOK {
				t.Fatalf("first /api = %d", res.StatusCode)
			}
			first := f.seen()[0].Header.Get("Authorization")

			f.env.Clock.Advance(f.env.Config.AccessTokenTTL) // now within RefreshMargin of expiry
			hold := make(chan struct{})
			f.rt.mu.Lock()
			f.rt.hold = hold
			f.rt.mu.Unlock()
			const n = 8
			var wg sync.WaitGroup
			codes := make([]int, n)
			for i := range n {
				wg.Go(func() {
					res, _ := b.do(t, http.MethodGet, c.base+"/api/burst", xhr)
					codes[i] = res.StatusCode
				})
			}
			// Let every request reach the lease (or wait on it) while the
			// winner's refresh is held at the token endpoint.
			time.Sleep(300 * time.Millisecond)
			close(hold)
			wg.Wait()
			f.rt.mu.Lock()
			f.rt.hold = nil
			f.rt.mu.Unlock()
			for i, code := range codes {
				if code != http.StatusOK {
					t.Errorf("burst request %d = %d, want 200", i, code)
				}
			}
			if got := f.rt.count("refresh_token"); got != 1 {
				t.Fatalf("refreshes at Latch = %d, want exactly 1 for %d concurrent requests on 2 instances", got, n)
			}
			tokens := map[string]bool{}
			for _, r := range f.seen()[1:] {
				tokens[r.Header.Get("Authorization")] = true
			}
			if len(tokens) != 1 || tokens[first] {
				t.Errorf("the burst used %d distinct access tokens (first reused: %v), want 1 new one", len(tokens), tokens[first])
			}
			if strings.Contains(f.env.AuditLog(), "refresh_token_reuse_detected") {
				t.Fatal("Latch detected refresh token reuse: the family is revoked")
			}
			// The family is alive: the rotated refresh token works.
			f.env.Clock.Advance(f.env.Config.AccessTokenTTL)
			if res, body := b.do(t, http.MethodGet, c.base+"/api/after", xhr); res.StatusCode != http.StatusOK {
				t.Fatalf("/api after the next expiry = %d %s: the refresh token family did not survive", res.StatusCode, body)
			}
			if got := f.rt.count("refresh_token"); got != 2 {
				t.Errorf("refreshes = %d, want 2", got)
			}
		})
	}
}

// A refresh Latch refuses (the grant was revoked) ends the session: 401
// and cleared cookies, not a 5xx.
func TestRefreshRefusedEndsSession(t *testing.T) {
	f := newFixture(t)
	sessions := bff.NewMemoryStore()
	base, _ := f.single(sessions)
	b := f.browser()
	signIn(t, b, base, f.env.Issuer)
	id := sessionCookie(t, b, base)
	// An admin revokes alice's grants at Latch, behind the BFF's back.
	if n, err := f.env.Store.RevokeUserGrants(t.Context(), "user-alice", "", f.env.Clock.Now(), store.ReasonAdmin); err != nil || n == 0 {
		t.Fatalf("RevokeUserGrants = %d, %v", n, err)
	}
	f.env.Clock.Advance(f.env.Config.AccessTokenTTL)
	res, body := b.do(t, http.MethodGet, base+"/api/x", xhr)
	if res.StatusCode != http.StatusUnauthorized || !strings.Contains(body, "login_required") {
		t.Fatalf("/api with a revoked grant = %d %s, want 401 login_required", res.StatusCode, body)
	}
	if c := cookieNamed(res, "bff_session"); c == nil || c.MaxAge >= 0 {
		t.Error("the session cookie was not cleared")
	}
	if _, err := sessions.GetSession(t.Context(), bff.SessionKey(id)); err == nil {
		t.Error("the session survived a refused refresh")
	}
}

// failingStore refuses to persist rotated tokens.
type failingStore struct{ *bff.MemoryStore }

func (failingStore) StoreTokens(context.Context, string, int64, []byte) error {
	return errors.New("disk full")
}

// A rotated refresh token that cannot be persisted is never used: the new
// access token does not reach the API (had it, the session in the store
// would hold a spent refresh token, and the next refresh would trip
// Latch's reuse detection).
func TestRotatedTokensPersistedBeforeUse(t *testing.T) {
	f := newFixture(t)
	base, _ := f.single(failingStore{bff.NewMemoryStore()})
	b := f.browser()
	signIn(t, b, base, f.env.Issuer)
	f.env.Clock.Advance(f.env.Config.AccessTokenTTL)
	res, body := b.do(t, http.MethodGet, base+"/api/x", xhr)
	if res.StatusCode < 500 || res.StatusCode == http.StatusInternalServerError || strings.Contains(body, "eyJ") {
		t.Errorf("/api when the store cannot persist = %d %s, want a 502/503 without a token", res.StatusCode, body)
	}
	if n := len(f.seen()); n != 0 {
		t.Errorf("the API received %d requests with tokens the store never saw, want 0", n)
	}
}

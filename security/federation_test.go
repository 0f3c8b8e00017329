package security

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store"
)

// Attacks on sign-in through an upstream OpenID Provider (federation):
// Down is a real Latch, its upstream Up another real Latch.

// upUser creates a user on Up with latchtest.AlicePassword.
func upUser(t *testing.T, f *latchtest.Federation, u store.User) {
	t.Helper()
	h, err := password.Hash(latchtest.AlicePassword, password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	u.PasswordHash = h
	f.Up.MustUser(u)
}

// refusedUpstream checks that p is Latch's error page refusing an
// upstream sign-in (403, the message, a request ID), that Down issued no
// code and that the refusal was audited with reason.
func refusedUpstream(t *testing.T, f *latchtest.Federation, p latchtest.Page, msg, reason string) {
	t.Helper()
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, msg) || !strings.Contains(p.Body, "Request ID") {
		t.Errorf("got %d (Location %q), want 403 and the error page saying %q with a request ID:\n%s", p.Status, p.Header.Get("Location"), msg, p.Body)
	}
	if strings.Contains(p.Header.Get("Location"), "code=") {
		t.Errorf("a code was issued: %s", p.Header.Get("Location"))
	}
	if !strings.Contains(f.Down.AuditLog(), `"reason":"`+reason+`"`) {
		t.Errorf("no upstream_login_failed with reason %q in Down's audit log:\n%s", reason, f.Down.AuditLog())
	}
}

// TestUpstreamWrongIssuer (mix-up, RFC 9207 §2.4): a callback whose iss
// is not the upstream's, or has none although the upstream announces
// it, is refused before the code is used.
func TestUpstreamWrongIssuer(t *testing.T) {
	f := latchtest.StartFederation(t, store.LinkJIT, latchtest.Options{})
	upUser(t, f, store.User{ID: "up-bob", Username: "bob"})
	for _, tc := range []struct {
		name string
		iss  func(url.Values)
	}{
		{"another issuer", func(q url.Values) { q.Set("iss", "http://evil.example") }},
		{"the downstream's issuer", func(q url.Values) { q.Set("iss", f.Down.Issuer) }},
		{"two iss", func(q url.Values) { q.Add("iss", "http://evil.example") }},
		{"no iss from an upstream that sends it", func(q url.Values) { q.Del("iss") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := f.Browser()
			b.Rewrite = func(r *http.Request) {
				if r.URL.Path == latchtest.UpstreamCallback {
					q := r.URL.Query()
					tc.iss(q)
					r.URL.RawQuery = q.Encode()
				}
			}
			p := f.SignInUp(b, f.NewSPAFlow(), "bob", latchtest.AlicePassword)
			refusedUpstream(t, f, p, "its issuer does not match", "wrong_iss")
		})
	}
	// Positive control: untouched, the same sign-in works.
	f.Code(f.SignInUp(f.Browser(), f.NewSPAFlow(), "bob", latchtest.AlicePassword))
}

// TestUpstreamBadSignature: an upstream whose published keys are not the
// ones its ID tokens are signed with (swapped keys: its JWKS is another
// Latch's) is refused; no user is created.
func TestUpstreamBadSignature(t *testing.T) {
	other := latchtest.Start(t) // another Latch: other keys
	var mu sync.Mutex
	var upTarget *url.URL
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		target := upTarget
		mu.Unlock()
		if r.URL.Path == "/jwks.json" {
			target, _ = url.Parse(other.Server.URL)
		}
		httputil.NewSingleHostReverseProxy(target).ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	issuer := strings.Replace(proxy.URL, "127.0.0.1", "localhost", 1)
	f := latchtest.StartFederation(t, store.LinkJIT, latchtest.Options{Config: []func(*config.Config){func(c *config.Config) { c.Issuer = issuer }}})
	mu.Lock()
	upTarget, _ = url.Parse(f.Up.Server.URL)
	mu.Unlock()
	upUser(t, f, store.User{ID: "up-bob", Username: "bob"})

	p := f.SignInUp(f.Browser(), f.NewSPAFlow(), "bob", latchtest.AlicePassword)
	refusedUpstream(t, f, p, "could not be verified", "bad_id_token")
	if _, err := f.Down.Store.GetUserByUsername(t.Context(), "bob"); err == nil {
		t.Error("a user was created from an ID token with a bad signature")
	}
}

// TestUpstreamReplayedState: the upstream's redirect back (state and
// code) works once, in the browser that started it: replayed, sent from
// another browser, or raced by 12 concurrent requests, exactly one
// sign-in happens. On SQLite and PostgreSQL.
func TestUpstreamReplayedState(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { testUpstreamReplayedState(t, be) })
	}
}

func testUpstreamReplayedState(t *testing.T, be backend) {
	var down latchtest.Options
	if be.open != nil {
		down.Store = be.open(t)
	}
	f := latchtest.StartFederationWith(t, store.LinkJIT, latchtest.Options{}, down)
	upUser(t, f, store.User{ID: "up-bob", Username: "bob"})
	callback := func(b *latchtest.FedBrowser) string {
		t.Helper()
		b.StopAt = latchtest.UpstreamCallback
		p := f.SignInUp(b, f.NewSPAFlow(), "bob", latchtest.AlicePassword)
		loc := p.Header.Get("Location")
		if !strings.Contains(loc, latchtest.UpstreamCallback) {
			t.Fatalf("want Up's redirect to Down's callback, got %d %s", p.Status, loc)
		}
		b.StopAt = ""
		return loc
	}

	t.Run("replay", func(t *testing.T) {
		// The flow's cookie is cleared by the first callback; the replay
		// sends it again (captured with the URL).
		b := f.Browser()
		cb := callback(b)
		down, _ := url.Parse(f.Down.Issuer)
		saved := b.Client.Jar.Cookies(down)
		f.Code(b.Get(cb))
		b.Client.Jar.SetCookies(down, saved)
		refusedUpstream(t, f, b.Get(cb), "was already completed", "bad_state")
		// Without the cookie: refused too.
		refusedUpstream(t, f, b.Get(cb), "started in another browser", "bad_state")
	})
	t.Run("another browser", func(t *testing.T) {
		cb := callback(f.Browser())
		refusedUpstream(t, f, f.Browser().Get(cb), "started in another browser", "bad_state")
	})
	t.Run("forged state", func(t *testing.T) {
		b := f.Browser()
		cb, _ := url.Parse(callback(b))
		q := cb.Query()
		q.Set("state", "forged")
		cb.RawQuery = q.Encode()
		refusedUpstream(t, f, b.Get(cb.String()), "started in another browser", "bad_state")
	})
	t.Run("burst", func(t *testing.T) {
		b := f.Browser()
		cb := callback(b)
		const n = 12
		refusedBefore := strings.Count(f.Down.AuditLog(), `"reason":"bad_state"`)
		pages := make([]latchtest.Page, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { pages[i] = b.Get(cb) })
		}
		wg.Wait()
		codes := 0
		for _, p := range pages {
			switch {
			case strings.Contains(p.Header.Get("Location"), "code="):
				codes++
			case p.Status != http.StatusForbidden:
				t.Errorf("a raced callback got %d, want 403", p.Status)
			}
		}
		if codes != 1 {
			t.Errorf("%d concurrent callbacks with one state: %d sign-ins, want exactly 1", n, codes)
		}
		// Refused at the state, before the code is used (not by the
		// upstream's single-use code).
		if got := strings.Count(f.Down.AuditLog(), `"reason":"bad_state"`) - refusedBefore; got != n-1 {
			t.Errorf("%d of %d raced callbacks were refused at the state, want %d", got, n, n-1)
		}
	})
}

// TestUpstreamUnverifiedEmail: under verified-email, an upstream
// identity whose email is not verified there is not linked to the Latch
// user with that (verified) address: account takeover through an
// upstream that lets anyone claim any address. On SQLite and
// PostgreSQL.
func TestUpstreamUnverifiedEmail(t *testing.T) {
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) { testUpstreamUnverifiedEmail(t, be) })
	}
}

func testUpstreamUnverifiedEmail(t *testing.T, be backend) {
	var down latchtest.Options
	if be.open != nil {
		down.Store = be.open(t)
	}
	f := latchtest.StartFederationWith(t, store.LinkVerifiedEmail, latchtest.Options{}, down)
	upUser(t, f, store.User{ID: "up-mallory", Username: "mallory", Email: "alice@example.com", EmailVerified: false})
	p := f.SignInUp(f.Browser(), f.NewSPAFlow(), "mallory", latchtest.AlicePassword)
	refusedUpstream(t, f, p, "did not confirm that your email address is verified", "email_not_verified")
	if l, err := f.Down.Store.ListUserUpstreamLinks(t.Context(), "user-alice"); err != nil || len(l) != 0 {
		t.Errorf("alice's links = %v, %v; want none", l, err)
	}
	// Positive control: verified at the upstream, it links.
	upUser(t, f, store.User{ID: "up-alice", Username: "alice2", Email: "alice@example.com", EmailVerified: true})
	f.Code(f.SignInUp(f.Browser(), f.NewSPAFlow(), "alice2", latchtest.AlicePassword))
}

// TestUpstreamFailuresArePages: an unreachable upstream and an upstream
// that answers with an error end on Latch's error page (never a 5xx),
// audited.
func TestUpstreamFailuresArePages(t *testing.T) {
	f := latchtest.StartFederation(t, store.LinkJIT, latchtest.Options{})
	upUser(t, f, store.User{ID: "up-bob", Username: "bob"})
	t.Run("unreachable", func(t *testing.T) {
		f.AddUpstream("dead", "http://localhost:1", store.LinkJIT) // sorts first: its link is the first
		defer f.Down.Store.DeleteUpstream(t.Context(), "dead")
		b := f.Browser()
		p := b.Get(latchtest.UpstreamLink(t, b.Get(f.NewSPAFlow().URL)))
		refusedUpstream(t, f, p, "cannot be reached right now", "unreachable")
	})
	t.Run("error response", func(t *testing.T) {
		// Up asks for consent; the user denies: Up redirects back with
		// error=access_denied (and its iss).
		c, err := f.Up.Store.GetClient(t.Context(), f.UpClientID)
		if err != nil {
			t.Fatal(err)
		}
		c.FirstParty = false
		if err := f.Up.Store.UpdateClient(t.Context(), c); err != nil {
			t.Fatal(err)
		}
		b := f.Browser()
		p := f.SignInUp(b, f.NewSPAFlow(), "bob", latchtest.AlicePassword)
		if !latchtest.IsConsentPage(p) {
			t.Fatalf("want Up's consent page, got %d:\n%s", p.Status, p.Body)
		}
		p = b.Post(f.Up.Issuer+"/consent", url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "decision": {"deny"}})
		refusedUpstream(t, f, p, "did not sign you in", "upstream_error")
	})
}

// TestUpstreamThenLocalSecondFactor: a user with an authenticator app at
// Latch who signs in through an upstream is asked for Latch's code next
// (the strongest method the user has), and only then gets tokens: amr
// fed … otp mfa, acr mfa. The upstream does not bypass the second factor.
func TestUpstreamThenLocalSecondFactor(t *testing.T) {
	f := latchtest.StartFederation(t, store.LinkVerifiedEmail, latchtest.Options{})
	secret, _ := enrolTOTP(t, f.Down, f.Down.Browser())
	upUser(t, f, store.User{ID: "up-alice", Username: "alice2", Email: "alice@example.com", EmailVerified: true})

	b := f.Browser()
	flow := f.NewSPAFlow()
	p := f.SignInUp(b, flow, "alice2", latchtest.AlicePassword)
	if !isCodePage(p) {
		t.Fatalf("after the upstream: want Latch's code page, got %d %s:\n%s", p.Status, p.Header.Get("Location"), p.Body)
	}
	f.Down.Clock.Advance(30 * time.Second) // the enrolment spent the current step
	p = submitCode(t, f.Down, b.Browser, p, totpCode(t, secret, f.Down.Clock.Now()))
	tok, err := flow.Config.Exchange(t.Context(), f.Code(p), oauth2.VerifierOption(flow.Verifier))
	if err != nil {
		t.Fatal(err)
	}
	idt, err := f.Down.Provider().Verifier(&oidc.Config{ClientID: "spa", Now: f.Down.Clock.Now}).Verify(t.Context(), tok.Extra("id_token").(string))
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		AMR []string `json:"amr"`
		ACR string   `json:"acr"`
	}
	_ = idt.Claims(&c)
	if !slices.Equal(c.AMR, []string{"fed", "pwd", "otp", "mfa"}) || c.ACR != "urn:latch:acr:mfa" {
		t.Errorf("amr %v, acr %q; want [fed pwd otp mfa] and urn:latch:acr:mfa", c.AMR, c.ACR)
	}
}

package cluster

import (
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// TestTwoInstances runs two `latch serve` processes on one PostgreSQL
// database behind an imaginary load balancer: every step of a flow may land
// on either instance, and every single-use guarantee must hold across them.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	d := newDeployment(t, pgtest.NewTestDB(t))
	d.seed()
	ab := d.startAll([]string{"A", "B"})
	a, b := ab[0], ab[1]
	ag := newAgent()
	ctx := t.Context()
	// What a load balancer checks before sending traffic.
	a.ready(ag)
	b.ready(ag)

	// Authorization request and login form at A, token request at B
	// (RFC 6749 §4.1): the code lives in the database, not in A's memory.
	v := oauth2.GenerateVerifier()
	code := ag.signIn(t, a, a, "spa", v)
	t0, err := ag.exchange(ctx, b.URL, "spa", code, v)
	if err != nil || t0.status != http.StatusOK {
		t.Fatalf("code from A redeemed at B: %+v, %v", t0, err)
	}
	for _, in := range []*instance{a, b} {
		if !ag.active(t, in.URL, d.apiSecret, t0.AccessToken) {
			t.Errorf("access token issued by B is not active at %s", in.name)
		}
	}

	// Refresh rotates at A; presenting the old token again at B is reuse
	// (RFC 9700 §4.14.2): invalid_grant, and the whole family is dead on
	// both instances.
	t1, err := ag.refresh(ctx, a.URL, "spa", t0.RefreshToken)
	if err != nil || t1.status != http.StatusOK || t1.RefreshToken == t0.RefreshToken {
		t.Fatalf("refresh at A: %+v, %v", t1, err)
	}
	reuse, err := ag.refresh(ctx, b.URL, "spa", t0.RefreshToken)
	if err != nil || reuse.status != http.StatusBadRequest || reuse.Error != "invalid_grant" {
		t.Fatalf("reuse of the rotated refresh token at B = %d %q (%v), want 400 invalid_grant", reuse.status, reuse.Error, err)
	}
	for _, in := range []*instance{a, b} {
		r, err := ag.refresh(ctx, in.URL, "spa", t1.RefreshToken)
		if err != nil || r.Error != "invalid_grant" {
			t.Errorf("successor refresh token at %s after reuse = %d %q (%v), want invalid_grant: the family must be revoked", in.name, r.status, r.Error, err)
		}
		for _, at := range []string{t0.AccessToken, t1.AccessToken} {
			if ag.active(t, in.URL, d.apiSecret, at) {
				t.Errorf("access token of the revoked family still active at %s", in.name)
			}
		}
	}

	// No sticky sessions: a new browser gets the login page from A and
	// posts the form to B. The interaction state travels sealed in the
	// form; the SSO session B creates is in the database and serves a
	// prompt=none request at A.
	other := newAgent()
	v = oauth2.GenerateVerifier()
	code = other.signIn(t, a, b, "spa", v)
	if tk, err := other.exchange(ctx, a.URL, "spa", code, v); err != nil || tk.status != http.StatusOK {
		t.Errorf("login page from A, form posted to B, code redeemed at A: %+v, %v", tk, err)
	}
	if _, err := other.silentCode(ctx, a.URL, "spa", oauth2.GenerateVerifier()); err != nil {
		t.Errorf("prompt=none at A with the session made at B: %v", err)
	}

	t.Run("code raced across instances", func(t *testing.T) {
		// One code, many concurrent token requests split across A and B:
		// exactly one gets tokens (RFC 6749 §4.1.2: a code is single-use;
		// store.RedeemAuthCode spends it and stores its grant in one
		// transaction), and because the others are replays, whatever it
		// got is revoked on both instances.
		v := oauth2.GenerateVerifier()
		code, err := ag.silentCode(ctx, b.URL, "spa", v)
		if err != nil {
			t.Fatal(err)
		}
		const n = 16
		results := make([]tokens, n)
		errs := make([]error, n)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range n {
			base := []string{a.URL, b.URL}[i%2]
			wg.Go(func() {
				<-start
				results[i], errs[i] = ag.exchange(ctx, base, "spa", code, v)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, r := range results {
			switch {
			case errs[i] != nil:
				t.Errorf("request %d: %v", i, errs[i])
			case r.status == http.StatusOK:
				ok++
				for _, in := range []*instance{a, b} {
					if ag.active(t, in.URL, d.apiSecret, r.AccessToken) {
						t.Errorf("the winner's access token is still active at %s after %d replays", in.name, n-1)
					}
				}
			case r.status != http.StatusBadRequest || r.Error != "invalid_grant":
				t.Errorf("request %d: %d %q, want 200 or 400 invalid_grant", i, r.status, r.Error)
			}
		}
		if ok != 1 {
			t.Errorf("%d of %d concurrent redemptions of one code succeeded, want exactly 1", ok, n)
		}
	})

	t.Run("key rotation reaches every instance", func(t *testing.T) {
		// Both started on an empty database; they agree on one key per
		// algorithm (token.Keys.Ensure), so they publish the same set.
		var before []string
		eventually(t, 10*time.Second, "A and B publish the same JWKS", func() bool {
			before = ag.jwksKids(t, a.URL)
			return sameSet(before, ag.jwksKids(t, b.URL))
		})
		// The admin CLI rotates in the database; neither instance is told.
		// --now (the emergency path) makes the key active at once, so
		// this measures how soon a running instance sees a rotation it
		// was not told of; a scheduled rotation would activate minutes
		// later (internal/app TestKeyScheduleTwoInstances covers that).
		out := d.run("", "keys", "rotate", "--now")
		f := strings.Fields(out) // "new active RS256 key KID\n…"
		if len(f) < 5 || f[0] != "new" {
			t.Fatalf("latch keys rotate printed %q", out)
		}
		kid := f[4]
		if slices.Contains(before, kid) {
			t.Fatalf("new kid %s already published before the rotation", kid)
		}
		// key-refresh-interval is 1 s: both must publish it soon, and the
		// keys they published before stay (tokens they signed still verify).
		rotated := time.Now()
		for _, in := range []*instance{a, b} {
			eventually(t, 10*time.Second, in.name+" publishes the new key", func() bool {
				return slices.Contains(ag.jwksKids(t, in.URL), kid)
			})
		}
		t.Logf("rotation seen by both instances after %s", time.Since(rotated).Round(time.Millisecond))
		ka, kb := ag.jwksKids(t, a.URL), ag.jwksKids(t, b.URL)
		if !sameSet(ka, kb) {
			t.Errorf("after the rotation A and B publish different JWKS: %q vs %q", ka, kb)
		}
		for _, k := range before {
			if !slices.Contains(ka, k) {
				t.Errorf("retired key %s left the JWKS at once; it must stay published", k)
			}
		}
		// Both sign with the new key now, and each accepts the other's.
		for _, pair := range [][2]*instance{{a, b}, {b, a}} {
			v := oauth2.GenerateVerifier()
			code, err := ag.silentCode(ctx, pair[0].URL, "spa", v)
			if err != nil {
				t.Fatal(err)
			}
			tk, err := ag.exchange(ctx, pair[0].URL, "spa", code, v)
			if err != nil || tk.status != http.StatusOK {
				t.Fatalf("exchange at %s: %+v, %v", pair[0].name, tk, err)
			}
			if got := kidOf(t, tk.AccessToken); got != kid {
				t.Errorf("%s signed with kid %s after the rotation, want %s", pair[0].name, got, kid)
			}
			if !ag.active(t, pair[1].URL, d.apiSecret, tk.AccessToken) {
				t.Errorf("token signed by %s with the new key is not active at %s", pair[0].name, pair[1].name)
			}
		}
	})
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

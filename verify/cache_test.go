package verify

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// TestCacheHitStillExpires: a cached token is rejected once exp passes.
func TestCacheHitStillExpires(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, nil)
	tok := mint(t, k, ti.claims()) // exp = now + 5 min
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatal(err)
	}
	if got := v.cache.len(); got != 1 {
		t.Fatalf("cache entries = %d, want 1", got)
	}
	ti.clock.Advance(5*time.Minute + DefaultLeeway - time.Second)
	if _, err := v.Verify(t.Context(), tok); err != nil {
		t.Fatalf("Verify(cached, within leeway) = %v, want success", err)
	}
	ti.clock.Advance(time.Second)
	if _, err := v.Verify(t.Context(), tok); !errors.Is(err, ErrExpired) {
		t.Fatalf("Verify(cached, expired) = %v, want %v", err, ErrExpired)
	}
	if got := v.cache.len(); got != 0 {
		t.Errorf("cache entries after expiry = %d, want 0", got)
	}
}

// TestCacheUsed: a cached token verifies without the key set (proving
// the cache is consulted), and a disabled cache does not.
func TestCacheUsed(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	for _, size := range []int{0, -1} {
		v := ti.verifier(t, func(c *Config) { c.CacheSize = size })
		tok := mint(t, k, ti.claims())
		if _, err := v.Verify(t.Context(), tok); err != nil {
			t.Fatal(err)
		}
		v.keys.current.Store(&keySet{}) // forget every key
		_, err := v.Verify(t.Context(), tok)
		if size >= 0 && err != nil {
			t.Errorf("CacheSize %d: Verify(cached) without keys = %v, want success", size, err)
		}
		if size < 0 && !errors.Is(err, ErrUnknownKey) {
			t.Errorf("CacheSize %d: Verify() without keys = %v, want %v", size, err, ErrUnknownKey)
		}
	}
}

// TestCacheReturnsCopies: callers cannot change each other's claims.
func TestCacheReturnsCopies(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, nil)
	tok := mint(t, k, ti.claims())
	c1, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	c1.Subject = "mallory"
	c2, err := v.Verify(t.Context(), tok)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Subject != "user-123" {
		t.Errorf("second Verify Subject = %q, want user-123", c2.Subject)
	}
	if c1 == c2 {
		t.Error("Verify returned the same *Claims twice")
	}
}

// TestCacheRejectsOnlyVerified: a failed verification is not cached.
func TestCacheRejectsOnlyVerified(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.ES256, "k")
	v := ti.verifier(t, nil)
	if _, err := v.Verify(t.Context(), mint(t, k, edit(ti.claims(), "aud", "other"))); !errors.Is(err, ErrAudience) {
		t.Fatalf("Verify(wrong aud) = %v, want %v", err, ErrAudience)
	}
	if got := v.cache.len(); got != 0 {
		t.Errorf("cache entries = %d, want 0", got)
	}
}

func TestTokenCacheLRU(t *testing.T) {
	c := newTokenCache(2)
	key := func(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }
	c.add(key("a"), &Claims{Subject: "a"})
	c.add(key("b"), &Claims{Subject: "b"})
	if _, ok := c.get(key("a")); !ok { // a is now most recent
		t.Fatal("get(a) missed")
	}
	c.add(key("c"), &Claims{Subject: "c"})
	for _, tt := range []struct {
		k    string
		want bool
	}{{"a", true}, {"b", false}, {"c", true}} {
		if _, ok := c.get(key(tt.k)); ok != tt.want {
			t.Errorf("get(%q) present = %v, want %v", tt.k, ok, tt.want)
		}
	}
	if got := c.len(); got != 2 {
		t.Errorf("len = %d, want 2", got)
	}
	c.add(key("a"), &Claims{Subject: "a2"}) // replace, no growth
	if got, _ := c.get(key("a")); got == nil || got.Subject != "a2" || c.len() != 2 {
		t.Errorf("after replace: get(a) = %+v, len %d; want a2, 2", got, c.len())
	}
}

// TestConcurrentVerify exercises the cache (with evictions) and the key
// set from many goroutines; run with -race.
func TestConcurrentVerify(t *testing.T) {
	ti := newTestIssuer(t)
	k := ti.addKey(t, jose.EdDSA, "k")
	v := ti.verifier(t, func(c *Config) { c.CacheSize = 3 })
	tokens := make([]string, 5)
	for i := range tokens {
		tokens[i] = mint(t, k, edit(ti.claims(), "jti", fmt.Sprint("jti-", i)))
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 50 {
				tok := tokens[(g+i)%len(tokens)]
				c, err := v.Verify(t.Context(), tok)
				if err != nil {
					t.Errorf("Verify() = %v", err)
					return
				}
				if want := fmt.Sprint("jti-", (g+i)%len(tokens)); c.JWTID != want {
					t.Errorf("Verify() JWTID = %q, want %q", c.JWTID, want)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := v.cache.len(); got > 3 {
		t.Errorf("cache entries = %d, want <= 3", got)
	}
}

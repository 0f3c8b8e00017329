package token

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestVerifyCacheServesRepeats: the second verification of a token comes
// from the cache and decodes the same claims.
func TestVerifyCacheServesRepeats(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	want := e.access()
	raw := e.sign(t, ES256, TypeAccessToken, want)
	for i := range 3 {
		got, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0)
		if err != nil {
			t.Fatalf("verification %d: %v", i, err)
		}
		if got.ID != want.ID || got.Subject != want.Subject || strings.Join(got.Audience, " ") != strings.Join(want.Audience, " ") {
			t.Errorf("verification %d decoded %+v, want %+v", i, got, want)
		}
	}
	if n := e.keys.verified.len(); n != 1 {
		t.Errorf("cache holds %d entries, want 1", n)
	}
}

// The cache must never turn a token that fails verification into one that
// passes. Each case verifies a good token first (so it is cached), then
// presents what must fail.
func TestVerifyCacheRejects(t *testing.T) {
	t.Run("another typ", func(t *testing.T) {
		e := newEnv(t, fastAlgs...)
		raw := e.sign(t, ES256, TypeAccessToken, e.access())
		if _, err := e.keys.VerifyAccessToken(t.Context(), raw, testIssuer, 0); err != nil {
			t.Fatal(err)
		}
		// An access token is no ID token, cached or not (RFC 8725 §3.11).
		if _, err := e.keys.ParseIDTokenHint(t.Context(), raw, testIssuer); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("cached access token accepted as an ID token: %v", err)
		}
	})
	t.Run("altered signature", func(t *testing.T) {
		e := newEnv(t, fastAlgs...)
		raw := e.sign(t, ES256, TypeAccessToken, e.access())
		if _, err := e.keys.VerifyAccessToken(t.Context(), raw, testIssuer, 0); err != nil {
			t.Fatal(err)
		}
		parts := strings.Split(raw, ".")
		sig := []byte(parts[2])
		sig[5] ^= 1
		forged := parts[0] + "." + parts[1] + "." + string(sig)
		if _, err := e.keys.VerifyAccessToken(t.Context(), forged, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("token with an altered signature accepted: %v", err)
		}
	})
	t.Run("key no longer published", func(t *testing.T) {
		e := newEnv(t, fastAlgs...)
		ctx := t.Context()
		raw := e.sign(t, ES256, TypeAccessToken, e.access())
		var c AccessClaims
		if err := e.keys.Verify(ctx, raw, TypeAccessToken, &c); err != nil {
			t.Fatal(err)
		}
		if _, err := e.keys.RotateNow(ctx, ES256); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(e.cfg.RetiredTTL) // the signing key leaves the JWKS
		if err := e.keys.Verify(ctx, raw, TypeAccessToken, &c); !errors.Is(err, ErrInvalidToken) {
			t.Errorf("cached token of an unpublished key accepted: %v", err)
		}
	})
	t.Run("expired", func(t *testing.T) {
		e := newEnv(t, fastAlgs...)
		ctx := t.Context()
		c := e.access()
		c.ExpiresAt = e.clock.Now().Add(time.Minute).Unix()
		raw := e.sign(t, ES256, TypeAccessToken, c)
		if _, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0); err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(time.Minute)
		if _, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0); !errors.Is(err, ErrExpired) {
			t.Errorf("expired cached token: %v, want ErrExpired", err)
		}
		if n := e.keys.verified.len(); n != 0 {
			t.Errorf("an expired token stays cached (%d entries)", n)
		}
	})
}

func TestVerifyCacheBounded(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	cfg := e.cfg
	cfg.VerifyCacheSize = 3
	k, err := NewKeys(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for range 5 {
		raw := e.sign(t, ES256, TypeAccessToken, e.access())
		if _, err := k.VerifyAccessToken(t.Context(), raw, testIssuer, 0); err != nil {
			t.Fatal(err)
		}
	}
	if n := k.verified.len(); n != 3 {
		t.Errorf("cache of size 3 holds %d entries", n)
	}
	cfg.VerifyCacheSize = -1
	off, err := NewKeys(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if off.verified != nil {
		t.Error("VerifyCacheSize -1 still caches")
	}
}

func TestVerifyEntryNeedsExp(t *testing.T) {
	var key [32]byte
	// {"sub":"x"}: no exp, never cached.
	if _, ok := newVerifyEntry(key, "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln", "k", ES256, "at+jwt"); ok {
		t.Error("a token without exp was made cacheable")
	}
	// {"exp":"soon"}: not a number, never cached.
	if _, ok := newVerifyEntry(key, "eyJhbGciOiJFUzI1NiJ9.eyJleHAiOiJzb29uIn0.c2ln", "k", ES256, "at+jwt"); ok {
		t.Error("a token with a non-numeric exp was made cacheable")
	}
}

// TestVerifyCacheKeepsDecodedAccessClaims: a hit hands out a copy of the
// access claims decoded on the miss, equal to them in every field, and a
// caller changing its copy changes nothing for the next hit.
func TestVerifyCacheKeepsDecodedAccessClaims(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	want := e.access()
	want.AMR = []string{"pwd", "otp"}
	want.ACR = "urn:example:mfa"
	want.AuthTime = want.IssuedAt - 10
	want.Cnf = &Confirmation{JKT: "thumb"}
	raw := e.sign(t, ES256, TypeAccessToken, want)
	first, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, want) {
		t.Fatalf("miss decoded %+v, want %+v", first, want)
	}
	first.Audience[0], first.AMR[0], first.Cnf.JKT = "changed", "changed", "changed"
	for i := range 2 {
		got, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("hit %d decoded %+v, want %+v (a caller's change leaked into the cache?)", i, got, want)
		}
		got.Audience[0] = "changed again"
	}
}

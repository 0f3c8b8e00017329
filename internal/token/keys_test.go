package token

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/store"
)

func TestNewKeysConfig(t *testing.T) {
	st, sealer := newMemStore(), testSealer(t)
	tests := []struct {
		name string
		cfg  KeysConfig
	}{
		{"no store", KeysConfig{Sealer: sealer}},
		{"no sealer", KeysConfig{Store: st}},
		{"unknown alg", KeysConfig{Store: st, Sealer: sealer, Algs: []string{"HS256"}}},
		{"none", KeysConfig{Store: st, Sealer: sealer, Algs: []string{"none"}}},
		{"lower case", KeysConfig{Store: st, Sealer: sealer, Algs: []string{"rs256"}}},
		{"duplicate", KeysConfig{Store: st, Sealer: sealer, Algs: []string{ES256, ES256}}},
		{"negative ttl", KeysConfig{Store: st, Sealer: sealer, RetiredTTL: -time.Second}},
		{"negative refresh", KeysConfig{Store: st, Sealer: sealer, RefreshInterval: -time.Second}},
	}
	for _, tt := range tests {
		if k, err := NewKeys(tt.cfg); err == nil {
			t.Errorf("%s: NewKeys(%+v) = %v, nil; want error", tt.name, tt.cfg, k)
		}
	}

	k, err := NewKeys(KeysConfig{Store: st, Sealer: sealer})
	if err != nil {
		t.Fatal(err)
	}
	if got := k.DefaultAlg(); got != RS256 {
		t.Errorf("default DefaultAlg() = %q, want RS256", got)
	}
	if !slices.Equal(k.algs, Algorithms()) || k.refresh != 30*time.Second || k.retiredTTL != 24*time.Hour {
		t.Errorf("defaults = algs %v refresh %v ttl %v; want all algs, 30s, 24h", k.algs, k.refresh, k.retiredTTL)
	}
	algs := []string{EdDSA, ES256}
	k, _ = NewKeys(KeysConfig{Store: st, Sealer: sealer, Algs: algs})
	algs[0] = RS256 // the config slice is copied
	if got := k.DefaultAlg(); got != EdDSA {
		t.Errorf("DefaultAlg() = %q, want EdDSA (Algs[0])", got)
	}
}

func TestEnsureIdempotent(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	ctx := t.Context()
	first := e.store.active()
	if len(first) != 3 || e.store.count() != 3 {
		t.Fatalf("after Ensure: %d active of %d keys, want 3 of 3", len(first), e.store.count())
	}
	for _, alg := range Algorithms() {
		if !e.keys.Supports(alg) {
			t.Errorf("Supports(%s) = false after Ensure", alg)
		}
	}
	e.clock.Advance(time.Minute)
	if err := e.keys.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if err := e.another(t).Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if e.store.count() != 3 {
		t.Errorf("after Ensure ×3: %d keys, want 3", e.store.count())
	}
	for alg, k := range e.store.active() {
		if first[alg].ID != k.ID {
			t.Errorf("active %s key changed from %s to %s", alg, first[alg].ID, k.ID)
		}
	}
}

func TestEnsureOnlyConfiguredAlgs(t *testing.T) {
	e := newEnv(t, EdDSA)
	if got := e.store.active(); len(got) != 1 || got[EdDSA].ID == "" {
		t.Fatalf("active keys = %v, want only EdDSA", slices.Collect(maps.Keys(got)))
	}
	if e.keys.Supports(ES256) || e.keys.Supports(RS256) || !e.keys.Supports(EdDSA) {
		t.Error("Supports disagrees with the configured algorithms")
	}
	if _, err := e.keys.Sign(t.Context(), ES256, TypeAccessToken, e.access()); !errors.Is(err, ErrNoKey) {
		t.Errorf("Sign(ES256) without an ES256 key: error %v, want ErrNoKey", err)
	}
}

// TestEnsureConcurrentInstances: several instances starting at once on an
// empty store store exactly one key per algorithm, and every instance
// signs with it.
func TestEnsureConcurrentInstances(t *testing.T) {
	e := &env{store: newMemStore(), clock: newClock()}
	e.cfg = KeysConfig{Store: e.store, Sealer: testSealer(t), Algs: fastAlgs, Now: e.clock.Now}
	var wg sync.WaitGroup
	instances := make([]*Keys, 4)
	for i := range instances {
		instances[i] = e.another(t)
		wg.Go(func() {
			if err := instances[i].Ensure(t.Context()); err != nil {
				t.Errorf("Ensure: %v", err)
			}
		})
	}
	wg.Wait()
	active := e.store.active()
	if len(active) != 2 {
		t.Fatalf("%d active algorithms, want 2", len(active))
	}
	keys, _ := e.store.ListKeys(t.Context())
	perAlg := map[string]int{}
	for _, k := range keys {
		perAlg[k.Alg]++
	}
	for alg, n := range perAlg {
		if n != 1 {
			t.Errorf("%d %s keys stored, want 1", n, alg)
		}
	}
	// Every instance can verify every other's tokens.
	for _, a := range instances {
		if err := a.Load(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := instances[0].Sign(t.Context(), ES256, TypeAccessToken, e.access())
	if err != nil {
		t.Fatal(err)
	}
	for i, b := range instances {
		if _, err := b.VerifyAccessToken(t.Context(), raw, testIssuer, 0); err != nil {
			t.Errorf("instance %d cannot verify instance 0's token: %v", i, err)
		}
	}
}

// TestStoredKeyFormat checks what lands in the store: a public JWK with
// kid (the RFC 7638 thumbprint), alg and use, and a private key that is
// sealed with the kid as additional data.
func TestStoredKeyFormat(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	sealer := testSealer(t)
	for alg, sk := range e.store.active() {
		t.Run(alg, func(t *testing.T) {
			if sk.Alg != alg || sk.CreatedAt != newClock().Now() || sk.ActivateAt != sk.CreatedAt {
				t.Errorf("record = alg %q created %v activate %v; want created and active now", sk.Alg, sk.CreatedAt, sk.ActivateAt)
			}
			var raw map[string]any
			if err := json.Unmarshal(sk.Public, &raw); err != nil {
				t.Fatalf("Public is not JSON: %v", err)
			}
			for _, private := range []string{"d", "p", "q", "dp", "dq", "qi"} {
				if _, ok := raw[private]; ok {
					t.Errorf("public JWK has private member %q", private)
				}
			}
			if raw["kid"] != sk.ID || raw["alg"] != alg || raw["use"] != "sig" {
				t.Errorf("public JWK kid %v alg %v use %v; want %s %s sig", raw["kid"], raw["alg"], raw["use"], sk.ID, alg)
			}
			var jwk jose.JSONWebKey
			if err := jwk.UnmarshalJSON(sk.Public); err != nil || !jwk.IsPublic() {
				t.Fatalf("Public does not parse as a public JWK: %v", err)
			}
			tp, _ := jwk.Thumbprint(crypto.SHA256)
			if want := base64.RawURLEncoding.EncodeToString(tp); sk.ID != want {
				t.Errorf("kid = %q, want RFC 7638 thumbprint %q", sk.ID, want)
			}

			if _, err := x509.ParsePKCS8PrivateKey(sk.Private); err == nil {
				t.Fatal("Private is a plaintext PKCS#8 key")
			}
			der, err := sealer.Open(sk.Private, []byte(sk.ID))
			if err != nil {
				t.Fatalf("Open(Private, kid): %v", err)
			}
			if _, err := sealer.Open(sk.Private, []byte("another-kid")); err == nil {
				t.Error("Private opens with another kid as additional data")
			}
			priv, err := x509.ParsePKCS8PrivateKey(der)
			if err != nil {
				t.Fatalf("sealed value is not PKCS#8: %v", err)
			}
			switch p := priv.(type) {
			case *rsa.PrivateKey:
				if alg != RS256 || p.N.BitLen() != 2048 {
					t.Errorf("%s key is RSA-%d", alg, p.N.BitLen())
				}
			case *ecdsa.PrivateKey:
				if alg != ES256 || p.Curve.Params().Name != "P-256" {
					t.Errorf("%s key is ECDSA %s", alg, p.Curve.Params().Name)
				}
			case ed25519.PrivateKey:
				if alg != EdDSA {
					t.Errorf("%s key is Ed25519", alg)
				}
			default:
				t.Errorf("%s key is %T", alg, priv)
			}
			if !priv.(crypto.Signer).Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(jwk.Key) {
				t.Error("private key does not match the public JWK")
			}
		})
	}
}

func TestLoadRejectsBadKeys(t *testing.T) {
	otherSealer, _ := seal.New(bytes.Repeat([]byte{1}, 32), "latch signing keys")
	tests := []struct {
		name    string
		corrupt func(e *env, es, ed store.SigningKey)
		sealer  *seal.Sealer
	}{
		{"wrong key-encryption secret", nil, otherSealer},
		{"private keys swapped between rows", func(e *env, es, ed store.SigningKey) {
			e.store.update(es.ID, func(k *store.SigningKey) { k.Private = ed.Private })
		}, nil},
		{"private key tampered", func(e *env, es, ed store.SigningKey) {
			e.store.update(es.ID, func(k *store.SigningKey) { k.Private[len(k.Private)-1] ^= 1 })
		}, nil},
		{"public key of another row", func(e *env, es, ed store.SigningKey) {
			e.store.update(es.ID, func(k *store.SigningKey) { k.Public = ed.Public })
		}, nil},
		{"public JWK with another kid", func(e *env, es, ed store.SigningKey) {
			e.store.update(es.ID, func(k *store.SigningKey) {
				k.Public = bytes.Replace(k.Public, []byte(es.ID), []byte("x"+es.ID[1:]), 1)
			})
		}, nil},
		{"alg column disagrees", func(e *env, es, ed store.SigningKey) {
			e.store.update(es.ID, func(k *store.SigningKey) { k.Alg = RS256 })
		}, nil},
		{"public JWK not JSON", func(e *env, es, ed store.SigningKey) {
			e.store.update(es.ID, func(k *store.SigningKey) { k.Public = []byte("{") })
		}, nil},
		{"public JWK holds the private key", func(e *env, es, ed store.SigningKey) {
			der, _ := testSealer(t).Open(es.Private, []byte(es.ID))
			priv, _ := x509.ParsePKCS8PrivateKey(der)
			b, _ := json.Marshal(jose.JSONWebKey{Key: priv, KeyID: es.ID, Algorithm: ES256, Use: "sig"})
			e.store.update(es.ID, func(k *store.SigningKey) { k.Public = b })
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, fastAlgs...)
			act := e.store.active()
			if tt.corrupt != nil {
				tt.corrupt(e, act[ES256], act[EdDSA])
			}
			cfg := e.cfg
			if tt.sealer != nil {
				cfg.Sealer = tt.sealer
			}
			k, _ := NewKeys(cfg)
			if err := k.Load(t.Context()); err == nil {
				t.Fatal("Load succeeded, want error")
			}
			if _, err := k.Sign(t.Context(), ES256, TypeAccessToken, e.access()); err == nil {
				t.Error("Sign succeeded after a failed load")
			}
			// The instance that loaded before keeps its keys.
			if err := e.keys.Load(t.Context()); (err == nil) != (tt.corrupt == nil) {
				t.Errorf("reload by the first instance: %v; want an error iff the store is corrupt", err)
			}
			if _, err := e.keys.Sign(t.Context(), ES256, TypeAccessToken, e.access()); err != nil {
				t.Errorf("Sign with the keys loaded before a failed reload: %v", err)
			}
		})
	}
}

// TestOnlyActiveKeysDecrypted: retired keys are never decrypted, so a
// retired key whose private half is unreadable still loads and verifies.
func TestOnlyActiveKeysDecrypted(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	old := e.store.active()[ES256]
	raw := e.sign(t, ES256, TypeAccessToken, e.access())
	if _, err := e.keys.RotateNow(t.Context(), ES256); err != nil {
		t.Fatal(err)
	}
	e.store.update(old.ID, func(k *store.SigningKey) { k.Private = []byte("garbage") })
	k := e.another(t)
	if err := k.Load(t.Context()); err != nil {
		t.Fatalf("Load with an unreadable retired private key: %v", err)
	}
	if _, err := k.VerifyAccessToken(t.Context(), raw, testIssuer, 0); err != nil {
		t.Errorf("token of the retired key: %v", err)
	}
}

func TestRotate(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	oldKid := e.store.active()[ES256].ID
	oldTok := e.sign(t, ES256, TypeAccessToken, e.access())
	oldEd := e.store.active()[EdDSA].ID

	e.clock.Advance(time.Minute)
	info, err := e.keys.RotateNow(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	if info.Alg != ES256 || info.Status != StatusActive || info.ID == oldKid || info.CreatedAt != e.clock.Now() {
		t.Errorf("Rotate(\"\") = %+v; want a new active ES256 (default) key created now", info)
	}
	if got := e.store.active()[ES256].ID; got != info.ID {
		t.Errorf("active ES256 key in store = %s, want %s", got, info.ID)
	}
	if got := e.store.active()[EdDSA].ID; got != oldEd {
		t.Errorf("rotating ES256 changed the EdDSA key")
	}

	// New tokens carry the new kid; old tokens still verify.
	newTok := e.sign(t, "", TypeAccessToken, e.access())
	if kid := kidOf(t, newTok); kid != info.ID {
		t.Errorf("new token kid = %s, want %s", kid, info.ID)
	}
	for name, raw := range map[string]string{"old": oldTok, "new": newTok} {
		if _, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0); err != nil {
			t.Errorf("%s token after rotation: %v", name, err)
		}
	}
	if got := jwksKids(t, e.keys); !slices.Contains(got, oldKid) || !slices.Contains(got, info.ID) {
		t.Errorf("JWKS kids = %v, want both %s and %s", got, oldKid, info.ID)
	}

	// One nanosecond before RetiredTTL the old key is still published...
	e.clock.Advance(e.cfg.RetiredTTL - time.Nanosecond)
	if got := jwksKids(t, e.keys); !slices.Contains(got, oldKid) {
		t.Errorf("JWKS just before RetiredTTL = %v, want it to contain %s", got, oldKid)
	}
	// ...and at RetiredTTL it is gone.
	e.clock.Advance(time.Nanosecond)
	if got := jwksKids(t, e.keys); slices.Contains(got, oldKid) || !slices.Contains(got, info.ID) || len(got) != 2 {
		t.Errorf("JWKS after RetiredTTL = %v, want the two active keys only (not %s)", got, oldKid)
	}

	if _, err := e.keys.RotateNow(ctx, "HS256"); err == nil {
		t.Error("Rotate(HS256) succeeded")
	}
	// Rotating an algorithm that is not configured is allowed (latch keys).
	if info, err := e.keys.RotateNow(ctx, RS256); err != nil || info.Alg != RS256 || !e.keys.Supports(RS256) {
		t.Errorf("Rotate(RS256) = %+v, %v; Supports(RS256) = %v", info, err, e.keys.Supports(RS256))
	}
}

func TestListAndPrune(t *testing.T) {
	e := newEnv(t, ES256)
	ctx := t.Context()
	ttl := e.cfg.RetiredTTL
	k0 := e.store.active()[ES256]

	e.clock.Advance(time.Minute)
	k1, _ := e.keys.RotateNow(ctx, ES256) // retires k0 at t0+1m
	e.clock.Advance(ttl)                  // k0 expired
	k2, _ := e.keys.RotateNow(ctx, ES256) // retires k1 at t0+1m+ttl
	// A key created but never activated (crash between the two steps).
	orphan, err := e.keys.newKey(ES256, e.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := e.store.CreateKey(ctx, orphan); err != nil {
		t.Fatal(err)
	}

	list, err := e.keys.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	retire1 := k2.CreatedAt
	want := map[string]KeyInfo{
		k0.ID:     {ID: k0.ID, Alg: ES256, Status: StatusExpired, CreatedAt: k0.CreatedAt, ActivateAt: k0.CreatedAt, RetiredAt: k1.CreatedAt, PublishedUntil: k1.CreatedAt.Add(ttl)},
		k1.ID:     {ID: k1.ID, Alg: ES256, Status: StatusPublished, CreatedAt: k1.CreatedAt, ActivateAt: k1.CreatedAt, RetiredAt: retire1, PublishedUntil: retire1.Add(ttl)},
		k2.ID:     {ID: k2.ID, Alg: ES256, Status: StatusActive, CreatedAt: k2.CreatedAt, ActivateAt: k2.CreatedAt},
		orphan.ID: {ID: orphan.ID, Alg: ES256, Status: StatusInactive, CreatedAt: orphan.CreatedAt},
	}
	if len(list) != len(want) {
		t.Fatalf("List() returned %d keys, want %d", len(list), len(want))
	}
	for i, got := range list {
		if got != want[got.ID] {
			t.Errorf("List()[%d] = %+v, want %+v", i, got, want[got.ID])
		}
		if i > 0 && got.CreatedAt.After(list[i-1].CreatedAt) {
			t.Errorf("List() not newest first at %d", i)
		}
	}
	b, _ := json.Marshal(want[k2.ID])
	if strings.Contains(string(b), "retired_at") || strings.Contains(string(b), "published_until") {
		t.Errorf("active KeyInfo JSON = %s, want no retired_at/published_until", b)
	}

	n, err := e.keys.Prune(ctx)
	if err != nil || n != 1 {
		t.Fatalf("Prune() = %d, %v; want 1 (the expired key)", n, err)
	}
	if e.store.count() != 3 {
		t.Errorf("%d keys after Prune, want 3", e.store.count())
	}
	// The orphan goes once it is RetiredTTL old; k1 once it leaves the JWKS.
	e.clock.Advance(ttl)
	n, err = e.keys.Prune(ctx)
	if err != nil || n != 2 {
		t.Fatalf("second Prune() = %d, %v; want 2 (orphan and k1)", n, err)
	}
	if act := e.store.active(); e.store.count() != 1 || act[ES256].ID != k2.ID {
		t.Errorf("after pruning: %d keys, active %s; want only %s", e.store.count(), act[ES256].ID, k2.ID)
	}
	if n, err := e.keys.Prune(ctx); err != nil || n != 0 {
		t.Errorf("Prune() with nothing to prune = %d, %v; want 0, nil", n, err)
	}
}

func TestJWKS(t *testing.T) {
	e := newEnv(t, RS256, ES256, EdDSA)
	b, err := e.keys.JWKS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("JWKS is not a JWK set: %v\n%s", err, b)
	}
	if len(set.Keys) != 3 {
		t.Fatalf("JWKS has %d keys, want 3", len(set.Keys))
	}
	active := e.store.active()
	for _, jwk := range set.Keys {
		sk, ok := active[jwk.Algorithm]
		if !ok || jwk.KeyID != sk.ID || jwk.Use != "sig" || !jwk.IsPublic() || !jwk.Valid() {
			t.Errorf("JWKS key kid %q alg %q use %q public %v; want an active key's public JWK", jwk.KeyID, jwk.Algorithm, jwk.Use, jwk.IsPublic())
		}
	}
	var raw struct {
		Keys []map[string]any `json:"keys"`
	}
	json.Unmarshal(b, &raw)
	for _, m := range raw.Keys {
		for _, member := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
			if _, ok := m[member]; ok {
				t.Errorf("JWKS key %v has private member %q", m["kid"], member)
			}
		}
	}
	// The caller's copy is its own.
	b[0] = 'X'
	if again, _ := e.keys.JWKS(t.Context()); again[0] != '{' {
		t.Error("JWKS returned the cached slice itself")
	}
}

func TestJWKSEmpty(t *testing.T) {
	st := newMemStore()
	k, _ := NewKeys(KeysConfig{Store: st, Sealer: testSealer(t)})
	if err := k.Load(t.Context()); err != nil {
		t.Fatal(err)
	}
	b, err := k.JWKS(t.Context())
	if err != nil || string(b) != `{"keys":[]}` {
		t.Errorf("JWKS() with no keys = %s, %v; want {\"keys\":[]}", b, err)
	}
	if _, err := k.Sign(t.Context(), "", TypeAccessToken, map[string]any{}); !errors.Is(err, ErrNoKey) {
		t.Errorf("Sign with no keys: %v, want ErrNoKey", err)
	}
}

// TestLazyLoad: Sign before Load loads on first use.
func TestLazyLoad(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	k := e.another(t)
	if k.Supports(ES256) {
		t.Error("Supports before any load = true")
	}
	raw, err := k.Sign(t.Context(), ES256, TypeAccessToken, e.access())
	if err != nil {
		t.Fatalf("Sign before Load: %v", err)
	}
	if _, err := e.keys.VerifyAccessToken(t.Context(), raw, testIssuer, 0); err != nil {
		t.Error(err)
	}
}

// TestRefreshInterval: a rotation on another instance is picked up for
// signing once RefreshInterval has passed, not before.
func TestRefreshInterval(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	oldKid := e.store.active()[ES256].ID
	b := e.another(t)
	newInfo, err := b.RotateNow(ctx, ES256)
	if err != nil {
		t.Fatal(err)
	}
	lists := e.store.lists.Load()

	e.clock.Advance(e.cfg.RefreshInterval - time.Nanosecond)
	if kid := kidOf(t, e.sign(t, ES256, TypeAccessToken, e.access())); kid != oldKid {
		t.Errorf("before RefreshInterval: signed with %s, want the old key %s", kid, oldKid)
	}
	if got := e.store.lists.Load(); got != lists {
		t.Errorf("store read %d times before RefreshInterval, want 0", got-lists)
	}
	e.clock.Advance(time.Nanosecond)
	if kid := kidOf(t, e.sign(t, ES256, TypeAccessToken, e.access())); kid != newInfo.ID {
		t.Errorf("after RefreshInterval: signed with %s, want the new key %s", kid, newInfo.ID)
	}
	e.sign(t, ES256, TypeAccessToken, e.access())
	if got := e.store.lists.Load(); got != lists+1 {
		t.Errorf("store read %d times across the refresh, want 1", got-lists)
	}
}

// TestUnknownKidReload: a token from a key this instance has not loaded
// yet triggers a reload, at most once a second.
func TestUnknownKidReload(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	b := e.another(t)
	if _, err := b.RotateNow(ctx, ES256); err != nil {
		t.Fatal(err)
	}
	fresh, err := b.Sign(ctx, ES256, TypeAccessToken, e.access())
	if err != nil {
		t.Fatal(err)
	}
	stranger := newEnv(t, ES256) // another deployment: its kid is never in our store
	foreign := stranger.sign(t, ES256, TypeAccessToken, stranger.access())

	lists := e.store.lists.Load()
	if _, err := e.keys.VerifyAccessToken(ctx, fresh, testIssuer, 0); err != nil {
		t.Fatalf("token of a key rotated in by another instance: %v", err)
	}
	if got := e.store.lists.Load() - lists; got != 1 {
		t.Errorf("reloads for an unknown kid = %d, want 1", got)
	}
	steps := []struct {
		advance time.Duration
		reloads int64
	}{
		{0, 0},
		{0, 0},
		{999 * time.Millisecond, 0},
		{time.Millisecond, 1}, // one second after the last kid reload
		{0, 0},
		{time.Second, 1},
	}
	for i, s := range steps {
		e.clock.Advance(s.advance)
		before := e.store.lists.Load()
		if _, err := e.keys.VerifyAccessToken(ctx, foreign, testIssuer, 0); !errors.Is(err, ErrInvalidToken) {
			t.Fatalf("step %d: foreign token: err %v, want ErrInvalidToken", i, err)
		}
		if got := e.store.lists.Load() - before; got != s.reloads {
			t.Errorf("step %d (+%v): %d reloads, want %d", i, s.advance, got, s.reloads)
		}
	}
}

// TestOneReloadAtATime: when the keys go stale, exactly one caller reads
// the store; the others keep signing with the keys loaded before instead
// of waiting.
func TestOneReloadAtATime(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	e.clock.Advance(e.cfg.RefreshInterval)
	lists := e.store.lists.Load()
	gate := make(chan struct{})
	entered := make(chan struct{}, 1)
	e.store.mu.Lock()
	e.store.gate, e.store.entered = gate, entered
	e.store.mu.Unlock()

	const n = 8
	done := make(chan error, n)
	for range n {
		go func() {
			_, err := e.keys.Sign(ctx, ES256, TypeAccessToken, e.access())
			done <- err
		}()
	}
	timeout := time.After(10 * time.Second) // a hang guard, not a timing assertion
	select {
	case <-entered:
	case <-timeout:
		t.Fatal("no caller reloaded stale keys")
	}
	for range n - 1 {
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Sign during a reload: %v", err)
			}
		case <-timeout:
			t.Fatal("callers waited for the reload in progress")
		}
	}
	close(gate)
	if err := <-done; err != nil {
		t.Errorf("Sign that reloaded: %v", err)
	}
	if got := e.store.lists.Load() - lists; got != 1 {
		t.Errorf("%d store reads for one stale period, want 1", got)
	}
	if got := e.store.maxInList.Load(); got != 1 {
		t.Errorf("%d concurrent reloads, want at most 1", got)
	}
}

// TestReloadFailureKeepsKeys: a failing store does not stop signing with
// the keys loaded before, and retries are spaced.
func TestReloadFailureKeepsKeys(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	e.store.setListErr(errors.New("database is down"))
	e.clock.Advance(e.cfg.RefreshInterval)
	lists := e.store.lists.Load()
	for range 5 {
		raw := e.sign(t, ES256, TypeAccessToken, e.access())
		if _, err := e.keys.VerifyAccessToken(ctx, raw, testIssuer, 0); err != nil {
			t.Fatalf("verify during a store outage: %v", err)
		}
	}
	if got := e.store.lists.Load() - lists; got != 1 {
		t.Errorf("%d store reads while it fails within one second, want 1", got)
	}
	e.clock.Advance(failedReloadRetry)
	e.sign(t, ES256, TypeAccessToken, e.access())
	if got := e.store.lists.Load() - lists; got != 2 {
		t.Errorf("%d store reads after the retry delay, want 2", got)
	}
	if err := e.keys.Load(ctx); err == nil {
		t.Error("explicit Load with a failing store succeeded")
	}
}

// TestConcurrentUse exercises signing, verifying, JWKS, rotation and
// reloads together (run with -race).
func TestConcurrentUse(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	b := e.another(t)
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			for j := range 30 {
				alg := fastAlgs[(i+j)%2]
				raw, err := e.keys.Sign(ctx, alg, TypeAccessToken, e.access())
				if err != nil {
					t.Errorf("Sign: %v", err)
					return
				}
				if _, err := b.VerifyAccessToken(ctx, raw, testIssuer, 0); err != nil {
					t.Errorf("Verify: %v", err)
					return
				}
				if _, err := e.keys.JWKS(ctx); err != nil {
					t.Errorf("JWKS: %v", err)
					return
				}
				_ = e.keys.Supports(alg)
			}
		})
	}
	wg.Go(func() {
		for j := range 5 {
			if _, err := b.RotateNow(ctx, fastAlgs[j%2]); err != nil {
				t.Errorf("Rotate: %v", err)
			}
			e.clock.Advance(e.cfg.RefreshInterval)
		}
	})
	wg.Wait()
}

func kidOf(t testing.TB, raw string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("parse %q: %v", raw, err)
	}
	return jws.Signatures[0].Header.KeyID
}

func jwksKids(t testing.TB, k *Keys) []string {
	t.Helper()
	b, err := k.JWKS(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		kids = append(kids, k.KeyID)
	}
	return kids
}

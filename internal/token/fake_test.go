package token

import (
	"bytes"
	"cmp"
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/seal"
	"github.com/latchauth/latch/internal/store"
)

// memStore is an in-memory KeyStore with the documented semantics of
// store.Store's key methods. It copies records in and out so that callers
// cannot share memory with it, and counts ListKeys calls so tests can
// observe reloads.
type memStore struct {
	mu   sync.Mutex
	keys map[string]store.SigningKey

	lists     atomic.Int64 // ListKeys calls
	inList    atomic.Int64 // ListKeys calls in progress
	maxInList atomic.Int64
	// gate, when not nil, makes ListKeys wait for it to be closed;
	// entered receives once per ListKeys call that reaches the gate.
	gate    chan struct{}
	entered chan struct{}
	listErr error
}

func newMemStore() *memStore { return &memStore{keys: make(map[string]store.SigningKey)} }

func cloneKey(k store.SigningKey) store.SigningKey {
	k.Private = bytes.Clone(k.Private)
	k.Public = bytes.Clone(k.Public)
	return k
}

func (m *memStore) CreateKey(ctx context.Context, k store.SigningKey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.createLocked(k)
}

// createLocked stores k; ErrAlreadyExists for a taken ID or schedule slot.
func (m *memStore) createLocked(k store.SigningKey) error {
	if _, ok := m.keys[k.ID]; ok {
		return store.ErrAlreadyExists
	}
	for _, o := range m.keys {
		if o.Alg == k.Alg && !k.ActivateAt.IsZero() && o.ActivateAt.Equal(k.ActivateAt) {
			return store.ErrAlreadyExists
		}
	}
	m.keys[k.ID] = cloneKey(k)
	return nil
}

// ListKeys returns every key, newest first (by CreatedAt, then ID).
func (m *memStore) ListKeys(ctx context.Context) ([]store.SigningKey, error) {
	m.lists.Add(1)
	n := m.inList.Add(1)
	defer m.inList.Add(-1)
	for {
		cur := m.maxInList.Load()
		if n <= cur || m.maxInList.CompareAndSwap(cur, n) {
			break
		}
	}
	m.mu.Lock()
	gate, entered, listErr := m.gate, m.entered, m.listErr
	m.mu.Unlock()
	if gate != nil {
		entered <- struct{}{}
		select {
		case <-gate:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	if listErr != nil {
		return nil, listErr
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]store.SigningKey, 0, len(m.keys))
	for _, k := range m.keys {
		out = append(out, cloneKey(k))
	}
	slices.SortFunc(out, func(a, b store.SigningKey) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return cmp.Compare(b.ID, a.ID)
	})
	return out, nil
}

// ScheduleKey stores k unless a key of k.Alg activates after `after`
// (any scheduled key when after is zero), atomically.
func (m *memStore) ScheduleKey(ctx context.Context, k store.SigningKey, after time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, o := range m.keys {
		if o.Alg == k.Alg && !o.ActivateAt.IsZero() && (after.IsZero() || o.ActivateAt.After(after)) {
			return store.ErrAlreadyExists
		}
	}
	return m.createLocked(k)
}

func (m *memStore) DeleteKey(ctx context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.keys[id]; !ok {
		return store.ErrNotFound
	}
	delete(m.keys, id)
	return nil
}

// update edits a stored key in place (to simulate corruption).
func (m *memStore) update(id string, f func(*store.SigningKey)) {
	m.mu.Lock()
	defer m.mu.Unlock()
	k := m.keys[id]
	f(&k)
	m.keys[id] = k
}

func (m *memStore) setListErr(err error) {
	m.mu.Lock()
	m.listErr = err
	m.mu.Unlock()
}

// active returns, by alg, the latest scheduled key (the active one when
// no next key is scheduled, as after Ensure and RotateNow).
func (m *memStore) active() map[string]store.SigningKey {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string]store.SigningKey)
	for _, k := range m.keys {
		if !k.ActivateAt.IsZero() && k.ActivateAt.After(out[k.Alg].ActivateAt) {
			out[k.Alg] = cloneKey(k)
		}
	}
	return out
}

func (m *memStore) count() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.keys)
}

// fakeClock is a settable clock for KeysConfig.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

const testIssuer = "https://latch.example"

func testSealer(t testing.TB) *seal.Sealer {
	t.Helper()
	s, err := seal.New(bytes.Repeat([]byte{42}, 32), "latch signing keys")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// fastAlgs avoids RSA key generation where a test does not need RS256.
var fastAlgs = []string{ES256, EdDSA}

type env struct {
	keys  *Keys
	store *memStore
	clock *fakeClock
	cfg   KeysConfig
}

// newEnv returns Keys over a fresh memStore, ensured, with a fake clock.
func newEnv(t testing.TB, algs ...string) *env {
	t.Helper()
	e := &env{store: newMemStore(), clock: newClock()}
	e.cfg = KeysConfig{
		Store:           e.store,
		Sealer:          testSealer(t),
		Algs:            algs,
		Now:             e.clock.Now,
		RetiredTTL:      2 * time.Hour,
		RefreshInterval: 30 * time.Second,
	}
	e.keys = e.another(t)
	if err := e.keys.Ensure(t.Context()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	// Time moves on after the first keys: a rotation at the same
	// nanosecond would have to activate 1 ns late (one key per slot).
	e.clock.Advance(time.Second)
	if err := e.keys.Load(t.Context()); err != nil {
		t.Fatalf("Load: %v", err)
	}
	return e
}

// another returns a second Keys (another instance) on the same store.
func (e *env) another(t testing.TB) *Keys {
	t.Helper()
	k, err := NewKeys(e.cfg)
	if err != nil {
		t.Fatalf("NewKeys: %v", err)
	}
	return k
}

// access returns valid access token claims at the env's clock.
func (e *env) access() AccessClaims {
	now := e.clock.Now()
	return AccessClaims{
		Issuer:    testIssuer,
		Subject:   "user-1",
		Audience:  []string{"https://api.example"},
		ClientID:  "client-1",
		Scope:     "openid profile",
		IssuedAt:  now.Unix(),
		ExpiresAt: now.Add(time.Hour).Unix(),
		ID:        NewOpaque(),
		GrantID:   "grant-1",
	}
}

// idClaims returns valid ID token claims at the env's clock.
func (e *env) idClaims() IDClaims {
	now := e.clock.Now()
	return IDClaims{
		Issuer:    testIssuer,
		Subject:   "user-1",
		Audience:  "client-1",
		IssuedAt:  now.Unix(),
		ExpiresAt: now.Add(10 * time.Minute).Unix(),
		AuthTime:  now.Unix(),
		Nonce:     "n-0S6_WzA2Mj",
		SID:       "sid-1",
	}
}

func (e *env) sign(t testing.TB, alg, typ string, claims any) string {
	t.Helper()
	raw, err := e.keys.Sign(t.Context(), alg, typ, claims)
	if err != nil {
		t.Fatalf("Sign(%q, %q) error: %v", alg, typ, err)
	}
	return raw
}

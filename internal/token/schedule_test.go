package token

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// newRotatingEnv is newEnv with automatic rotation every interval.
func newRotatingEnv(t *testing.T, interval time.Duration, algs ...string) *env {
	t.Helper()
	e := &env{store: newMemStore(), clock: newClock()}
	e.cfg = KeysConfig{
		Store: e.store, Sealer: testSealer(t), Algs: algs, Now: e.clock.Now,
		RetiredTTL: 2 * time.Hour, RefreshInterval: 30 * time.Second, RotationInterval: interval,
	}
	e.keys = e.another(t)
	if err := e.keys.Ensure(t.Context()); err != nil {
		t.Fatalf("Ensure: %v", err)
	}
	return e
}

func statusOf(t *testing.T, k *Keys, id string) KeyInfo {
	t.Helper()
	infos, err := k.List(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range infos {
		if i.ID == id {
			return i
		}
	}
	t.Fatalf("key %s not listed", id)
	return KeyInfo{}
}

// TestRotateSchedules: Rotate stores a next key that is published at once
// and activates PublicationLead later, at which instant every instance
// (this one and one that loaded before) signs with it; a second Rotate
// meanwhile finds it pending.
func TestRotateSchedules(t *testing.T) {
	e := newEnv(t, fastAlgs...)
	ctx := t.Context()
	other := e.another(t)
	if err := other.Load(ctx); err != nil {
		t.Fatal(err)
	}
	old := e.store.active()[ES256].ID
	lead := e.keys.PublicationLead()
	if want := defaultJWKSMaxAge + e.cfg.RefreshInterval + publishMargin; lead != want {
		t.Fatalf("PublicationLead = %v, want JWKS max-age + refresh + margin = %v", lead, want)
	}
	now := e.clock.Now()
	next, err := e.keys.Rotate(ctx, ES256)
	if err != nil {
		t.Fatal(err)
	}
	if next.Status != StatusNext || !next.ActivateAt.Equal(now.Add(lead)) || !next.CreatedAt.Equal(now) {
		t.Fatalf("Rotate = %+v, want status next, created now, activating at now + %v", next, lead)
	}
	if o := statusOf(t, e.keys, old); o.Status != StatusActive || !o.RetiredAt.Equal(next.ActivateAt) || !o.PublishedUntil.Equal(next.ActivateAt.Add(e.cfg.RetiredTTL)) {
		t.Errorf("old key = %+v, want active, retiring at the next key's activation", o)
	}
	if !jwksHas(t, e.keys, next.ID) {
		t.Errorf("the next key is not in the JWKS")
	}
	if kid := kidOf(t, e.sign(t, ES256, TypeAccessToken, e.access())); kid != old {
		t.Errorf("right after Rotate this instance signs with %s, want the old key %s", kid, old)
	}
	if again, err := e.keys.Rotate(ctx, ES256); !errors.Is(err, ErrRotationPending) || again.ID != next.ID {
		t.Errorf("Rotate while a key is pending = %+v, %v; want the pending key and ErrRotationPending", again, err)
	}

	// The other instance learns of the key within its refresh interval...
	e.clock.Advance(e.cfg.RefreshInterval)
	if !jwksHas(t, other, next.ID) {
		t.Errorf("another instance does not publish the next key after its refresh interval")
	}
	// ...and both switch at the stored instant, without a reload.
	e.clock.Advance(lead - e.cfg.RefreshInterval - time.Nanosecond)
	for name, k := range map[string]*Keys{"this": e.keys, "other": other} {
		if kid := signKid(t, e, k); kid != old {
			t.Errorf("%s instance 1ns before activation signs with %s, want %s", name, kid, old)
		}
	}
	lists := e.store.lists.Load()
	e.clock.Advance(time.Nanosecond)
	for name, k := range map[string]*Keys{"this": e.keys, "other": other} {
		if kid := signKid(t, e, k); kid != next.ID {
			t.Errorf("%s instance at activation signs with %s, want %s", name, kid, next.ID)
		}
	}
	if got := e.store.lists.Load() - lists; got != 0 {
		t.Errorf("the switch read the store %d times, want 0 (it follows the loaded schedule)", got)
	}
	if o := statusOf(t, e.keys, old); o.Status != StatusPublished {
		t.Errorf("old key after the activation = %s, want published (retired)", o.Status)
	}
	// An algorithm's first key has nothing to wait for.
	first, err := e.keys.Rotate(ctx, RS256)
	if err != nil || first.Status != StatusActive {
		t.Errorf("Rotate(RS256) with no RS256 key = %+v, %v; want active at once", first, err)
	}
}

func signKid(t *testing.T, e *env, k *Keys) string {
	t.Helper()
	raw, err := k.Sign(t.Context(), ES256, TypeAccessToken, e.access())
	if err != nil {
		t.Fatal(err)
	}
	return kidOf(t, raw)
}

func jwksHas(t *testing.T, k *Keys, kid string) bool {
	t.Helper()
	for _, id := range jwksKids(t, k) {
		if id == kid {
			return true
		}
	}
	return false
}

// TestAutomaticRotation: with RotationInterval, Maintain schedules the
// next key PublicationLead + RefreshInterval before it is due, to
// activate exactly RotationInterval after the current one did; when
// nobody ran in time it activates PublicationLead after it is stored.
func TestAutomaticRotation(t *testing.T) {
	const interval = 24 * time.Hour
	e := newRotatingEnv(t, interval, fastAlgs...)
	ctx := t.Context()
	k0 := e.store.active()
	lead, refresh := e.keys.PublicationLead(), e.cfg.RefreshInterval
	start := e.clock.Now()

	e.clock.Advance(interval - lead - refresh - time.Second)
	if err := e.keys.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if e.store.count() != 2 {
		t.Fatalf("%d keys before the rotation is due, want 2", e.store.count())
	}
	e.clock.Advance(time.Second)
	if err := e.keys.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	k1 := e.store.active()
	for _, alg := range fastAlgs {
		if k1[alg].ID == k0[alg].ID || !k1[alg].ActivateAt.Equal(start.Add(interval)) {
			t.Errorf("%s next key %s activates at %v, want a new key at start + %v", alg, k1[alg].ID, k1[alg].ActivateAt, interval)
		}
	}
	// Maintain again schedules nothing more.
	if err := e.keys.Maintain(ctx); err != nil || e.store.count() != 4 {
		t.Errorf("second Maintain: %v, %d keys, want 4", err, e.store.count())
	}

	// Overdue: nobody ran for days. The next key still waits for the lead.
	e.clock.Set(start.Add(3 * interval))
	if err := e.keys.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	k2 := e.store.active()
	if want := e.clock.Now().Add(lead); !k2[ES256].ActivateAt.Equal(want) {
		t.Errorf("overdue rotation activates at %v, want now + lead = %v", k2[ES256].ActivateAt, want)
	}
	if kid := signKid(t, e, e.keys); kid != k1[ES256].ID {
		t.Errorf("overdue: signs with %s before the new key's activation, want %s", kid, k1[ES256].ID)
	}
}

// TestAutomaticRotationBurst: N instances whose rotation is overdue run
// Maintain at once, each with its own clock (so each would pick another
// activation time); exactly one next key per algorithm is stored.
func TestAutomaticRotationBurst(t *testing.T) {
	const interval = 24 * time.Hour
	e := newRotatingEnv(t, interval, fastAlgs...)
	e.clock.Advance(interval + time.Hour) // overdue: each would activate its key at its own now + lead
	instances := make([]*Keys, 16)
	for i := range instances {
		cfg := e.cfg
		cfg.Now = func() time.Time { return e.clock.Now().Add(time.Duration(i) * time.Millisecond) } // each its own clock
		k, err := NewKeys(cfg)
		if err != nil {
			t.Fatal(err)
		}
		instances[i] = k
	}
	// All read the schedule before any writes: each finds no next key.
	e.store.mu.Lock()
	e.store.gate, e.store.entered = make(chan struct{}), make(chan struct{}, 10*len(instances))
	e.store.mu.Unlock()
	var wg sync.WaitGroup
	for _, k := range instances {
		wg.Go(func() {
			if err := k.Maintain(t.Context()); err != nil {
				t.Errorf("Maintain: %v", err)
			}
		})
	}
	for range instances {
		<-e.store.entered
	}
	close(e.store.gate)
	wg.Wait()
	keys, _ := e.store.ListKeys(t.Context())
	perAlg := map[string]int{}
	for _, k := range keys {
		perAlg[k.Alg]++
	}
	for _, alg := range fastAlgs {
		if perAlg[alg] != 2 {
			t.Errorf("%d %s keys after %d concurrent Maintain, want 2 (current and one next)", perAlg[alg], alg, len(instances))
		}
	}
}

// TestJWKSMaxAge: the JWKS max-age is JWKSMaxAge unless the next key not
// yet published may be needed sooner (an overdue automatic rotation).
func TestJWKSMaxAge(t *testing.T) {
	ctx := t.Context()
	off := newEnv(t, fastAlgs...)
	if got := off.keys.JWKSMaxAge(ctx); got != defaultJWKSMaxAge {
		t.Errorf("without automatic rotation: max-age %v, want %v", got, defaultJWKSMaxAge)
	}

	const interval = 24 * time.Hour
	e := newRotatingEnv(t, interval, fastAlgs...)
	refresh := e.cfg.RefreshInterval
	start := e.clock.Now()
	for _, tc := range []struct {
		at   time.Duration // after the current key's activation
		want time.Duration
	}{
		{0, defaultJWKSMaxAge},
		{interval - e.keys.PublicationLead() - refresh, defaultJWKSMaxAge}, // when Maintain schedules the next key
		// Maintain has not run (no instance did): the next key may be
		// needed at start+interval; caches must expire a refresh
		// interval and a margin before that.
		{interval - 3*time.Minute, 3*time.Minute - refresh - publishMargin},
		{interval - refresh - publishMargin, 0},
		{interval + time.Hour, 0},
	} {
		e.clock.Set(start.Add(tc.at))
		if got := e.keys.JWKSMaxAge(ctx); got != tc.want {
			t.Errorf("at activation + %v (no next key): max-age %v, want %v", tc.at, got, tc.want)
		}
	}
	// Once the next key is scheduled (and loaded), the bound moves to the
	// rotation after it.
	e.clock.Set(start.Add(interval - time.Hour))
	if err := e.keys.Maintain(ctx); err != nil {
		t.Fatal(err)
	}
	if got := e.keys.JWKSMaxAge(ctx); got != defaultJWKSMaxAge {
		t.Errorf("with the next key published: max-age %v, want %v", got, defaultJWKSMaxAge)
	}
}

// TestRotationIntervalBounds: an interval too short to announce a key
// before it is due is refused.
func TestRotationIntervalBounds(t *testing.T) {
	base := KeysConfig{Store: newMemStore(), Sealer: testSealer(t), RefreshInterval: 30 * time.Second}
	for _, tc := range []struct {
		interval time.Duration
		ok       bool
	}{
		{0, true},
		{time.Hour, true},
		{13 * time.Minute, false}, // twice the 6m30s lead
		{-time.Hour, false},
	} {
		c := base
		c.RotationInterval = tc.interval
		if _, err := NewKeys(c); (err == nil) != tc.ok {
			t.Errorf("NewKeys(RotationInterval %v) error %v, want ok %v", tc.interval, err, tc.ok)
		}
	}
}

// TestRunRotates: the key loop (what latch serve runs when
// key-rotation-interval is set) schedules an overdue rotation within one
// RefreshInterval, and returns when its context ends. Fake time
// (testing/synctest).
func TestRunRotates(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 24 * time.Hour
		e := newRotatingEnv(t, interval, fastAlgs...)
		e.clock.Advance(interval) // due, and nobody has looked
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			defer close(done)
			e.keys.Run(ctx)
		}()
		time.Sleep(e.cfg.RefreshInterval - time.Millisecond)
		synctest.Wait()
		if n := e.store.count(); n != 2 {
			t.Errorf("%d keys before the first tick, want 2", n)
		}
		time.Sleep(time.Millisecond)
		synctest.Wait()
		if n := e.store.count(); n != 4 {
			t.Errorf("%d keys after one RefreshInterval, want 4 (a next key per algorithm)", n)
		}
		cancel()
		<-done
	})
}

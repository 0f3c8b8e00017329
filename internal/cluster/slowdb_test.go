package cluster

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// TestSlowDatabase adds latency to every round trip to PostgreSQL (a
// proxy delays each chunk sent to the server) and offers far more
// concurrent requests than the instance admits. Latch must bound its own
// work: requests beyond max-concurrent-requests + request-queue get 503 +
// Retry-After at once, queued ones within request-queue-wait, admitted
// ones finish within request-timeout; no request hangs, memory stays
// bounded. Then the database stops answering altogether (a huge latency: a
// network partition) and a request must still be answered, 503, within
// request-timeout: its deadline reaches the database call.
func TestSlowDatabase(t *testing.T) {
	t.Parallel()
	direct := pgtest.NewTestDB(t)
	proxy, viaProxy := newDBProxy(t, direct)
	d := newDeployment(t, viaProxy)
	d.seed()
	const (
		maxConcurrent = 8
		queue         = 8
		queueWait     = 500 * time.Millisecond
		reqTimeout    = 2 * time.Second
		offered       = 120 // concurrent clients
		latency       = 50 * time.Millisecond
	)
	in := d.start("A",
		"--max-concurrent-requests", itoa(maxConcurrent), "--request-queue", itoa(queue),
		"--request-queue-wait", queueWait.String(), "--request-timeout", reqTimeout.String(),
		"--db-max-conns", "4")
	ag := newAgent()
	in.ready(ag)
	ctx := t.Context()
	ag.signIn(t, in, in, "spa", oauth2.GenerateVerifier())
	v := oauth2.GenerateVerifier()
	code, err := ag.silentCode(ctx, in.URL, "spa", v)
	if err != nil {
		t.Fatal(err)
	}
	tk, err := ag.exchange(ctx, in.URL, "spa", code, v)
	if err != nil || tk.status != http.StatusOK {
		t.Fatalf("exchange: %+v %v", tk, err)
	}
	rssBefore, _ := procStatus(in.pid(), "VmRSS")

	proxy.setLatency(latency)
	rec := &recorder{}
	client := loadClient(15 * time.Second)
	burstCtx, stop := context.WithTimeout(ctx, 5*time.Second)
	defer stop()
	var wg sync.WaitGroup
	var peakGoroutines float64
	wg.Go(func() {
		for burstCtx.Err() == nil {
			if g, err := in.metric(ctx, ag.api, "go_goroutines"); err == nil {
				peakGoroutines = max(peakGoroutines, g)
			}
			pause(burstCtx, 200*time.Millisecond)
		}
	})
	for range offered {
		wg.Go(func() {
			for burstCtx.Err() == nil {
				// userinfo: a bearer request that reads the store three
				// times (revocation, grant, user), each delayed.
				req := newGet(burstCtx, in.URL+"/userinfo")
				req.Header.Set("Authorization", "Bearer "+tk.AccessToken)
				// A refused client comes back soon, not at once.
				if r, err := rec.timed("userinfo", in.name, client, req); err != nil || r.status != http.StatusOK {
					pause(burstCtx, 100*time.Millisecond)
				}
			}
		})
	}
	wg.Wait()
	all := rec.between(time.Time{}, time.Now().Add(time.Hour))
	ok := durations(all, func(o outcome) bool { return o.status == http.StatusOK })
	shed := durations(all, func(o outcome) bool { return o.status == http.StatusServiceUnavailable })
	var other []outcome
	var slowest time.Duration
	for _, o := range all {
		slowest = max(slowest, o.dur)
		if o.status == http.StatusServiceUnavailable && o.retryAfter == "" {
			t.Errorf("503 without Retry-After")
		}
		if o.status != http.StatusOK && o.status != http.StatusServiceUnavailable {
			other = append(other, o)
		}
	}
	hwm, _ := procStatus(in.pid(), "VmHWM")
	t.Logf("latency %s per round trip, %d concurrent clients for 5 s: %d answers (%s)", latency, offered, len(all),
		countBy(all, func(o outcome) string { return statusText(o.status) }))
	t.Logf("admitted p50 %s p99 %s; shed p50 %s p99 %s; slowest %s; goroutines peak %.0f; RSS before %d MiB, peak %d MiB",
		percentile(ok, 50).Round(time.Millisecond), percentile(ok, 99).Round(time.Millisecond),
		percentile(shed, 50).Round(time.Millisecond), percentile(shed, 99).Round(time.Millisecond),
		slowest.Round(time.Millisecond), peakGoroutines, rssBefore>>10, hwm>>10)
	if len(ok) == 0 || len(shed) == 0 {
		t.Errorf("want both admitted (200) and shed (503) requests, got %d and %d", len(ok), len(shed))
	}
	for _, o := range firstN(other, 5) {
		t.Errorf("answer other than 200 or 503: %s status %s", o.op, statusText(o.status))
	}
	// Shed requests wait at most request-queue-wait; admitted ones at most
	// request-timeout. 2 s of slack for a loaded 2-core machine.
	if p := percentile(shed, 99); p > queueWait+2*time.Second {
		t.Errorf("p99 of shed requests %s, want under %s", p, queueWait+2*time.Second)
	}
	if slowest > 5*time.Second {
		t.Errorf("slowest request %s, want under 5 s (request-timeout %s)", slowest, reqTimeout)
	}
	if ceiling := rssCeiling(); hwm > ceiling {
		t.Errorf("peak RSS %d MiB, want under %d MiB", hwm>>10, ceiling>>10)
	}

	// The database stops answering (a partition: connections stay open,
	// nothing comes back). A request's deadline reaches the database
	// call: 503 within request-timeout, not a hang. /readyz turns 503.
	proxy.setLatency(time.Hour)
	start := time.Now()
	r, err := postForm(ctx, client, in.URL+"/token", url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {tk.RefreshToken}, "client_id": {"spa"},
	}, "", "")
	took := time.Since(start)
	t.Logf("database not answering: token request answered %d after %s", r.status, took.Round(time.Millisecond))
	if err != nil || r.status != http.StatusServiceUnavailable || r.header.Get("Retry-After") == "" {
		t.Errorf("token request with the database not answering: %d %v, want 503 with Retry-After", r.status, err)
	}
	if took > reqTimeout+2*time.Second {
		t.Errorf("token request took %s with the database not answering, want about request-timeout (%s)", took, reqTimeout)
	}
	start = time.Now()
	if s := in.readyz(ctx, ag.api); s != http.StatusServiceUnavailable {
		t.Errorf("/readyz with the database not answering = %d, want 503", s)
	}
	t.Logf("/readyz answered after %s", time.Since(start).Round(time.Millisecond))

	// Back to normal: the token is still good (the timed-out rotation
	// was rolled back).
	proxy.setLatency(0)
	proxy.cut() // drop the connections stuck behind the hour-long delay
	eventually(t, 10*time.Second, "refresh after the database answers again", func() bool {
		tk2, err := ag.refresh(ctx, in.URL, "spa", tk.RefreshToken)
		return err == nil && tk2.status == http.StatusOK
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

// rssCeiling is the peak RSS an instance may reach in these tests: a
// race-instrumented binary uses several times the memory.
func rssCeiling() int64 {
	if raceEnabled {
		return 1024 << 10 // KiB
	}
	return 256 << 10
}

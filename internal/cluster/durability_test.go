package cluster

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// TestKillDuringFlows kills `latch serve` with SIGKILL in the middle of a
// stream of concurrent flows, restarts it on the same database and checks
// that everything a client was given before the kill is still good, or
// correctly used up.
//
// "Given" means an answer the client received in full. A request that got
// no answer (the kill cut it off, or it went out after the kill) may or may
// not have been committed; for those the test accepts either outcome, but
// never a server error. Everything else must be exact.
func TestKillDuringFlows(t *testing.T) {
	t.Parallel()
	t.Run("sqlite", func(t *testing.T) {
		t.Parallel()
		testKill(t, "sqlite:"+filepath.Join(t.TempDir(), "latch.db"))
	})
	t.Run("postgres", func(t *testing.T) {
		t.Parallel()
		testKill(t, pgtest.NewTestDB(t))
	})
}

const (
	killWorkers = 6
	// killAfter is how many answers the stream must have received before
	// the kill, so that it lands in the middle of things.
	killAfter = 60
	// codeTTL is the server's default code lifetime (code-ttl).
	codeTTL = time.Minute
)

// codeState is what the client knows about one authorization code.
type codeState int

const (
	codeKept     codeState = iota // received, deliberately never sent to the token endpoint
	codeInFlight                  // sent for exchange, no answer
	codeRedeemed                  // exchanged: the tokens were received
)

type issuedCode struct {
	client, code, verifier string
	issuedAt               time.Time
	state                  codeState
	family                 *family // set once redeemed
}

// family is one grant as the client sees it: every refresh token and
// access token received, oldest first.
type family struct {
	client   string
	refresh  []string
	access   []string
	inFlight bool // a refresh with the last refresh token got no answer
	dead     bool // revoked by a check below
}

func (f *family) last() string { return f.refresh[len(f.refresh)-1] }

func (f *family) add(tk tokens) {
	f.refresh = append(f.refresh, tk.RefreshToken)
	f.access = append(f.access, tk.AccessToken)
}

// stream is what one worker received.
type stream struct {
	codes []*issuedCode
	// unexpected lists answers that were received but wrong: before the
	// kill every request must succeed.
	unexpected []string
	// cut is the transport error that ended the stream.
	cut error
}

// flows runs authorize → code → token → refresh → refresh for client at
// base, over and over, until a request gets no answer. Every third code is
// kept unredeemed. It never calls t's failing methods (it runs on its own
// goroutine): problems are recorded in the stream.
func flows(ctx context.Context, ag *agent, base, client string, answers *atomic.Int64) *stream {
	s := &stream{}
	// fail records err and says whether the stream must end.
	fail := func(what string, err error) bool {
		if errors.Is(err, errTransport) {
			s.cut = err
		} else {
			s.unexpected = append(s.unexpected, fmt.Sprintf("%s: %v", what, err))
		}
		return true
	}
	for i := 0; ctx.Err() == nil; i++ {
		v := oauth2.GenerateVerifier()
		code, err := ag.silentCode(ctx, base, client, v)
		if err != nil && fail("authorize", err) {
			return s
		}
		c := &issuedCode{client: client, code: code, verifier: v, issuedAt: time.Now()}
		s.codes = append(s.codes, c)
		answers.Add(1)
		if i%3 == 2 {
			continue // kept for after the restart
		}

		c.state = codeInFlight
		tk, err := ag.exchange(ctx, base, client, code, v)
		if err == nil && tk.status != http.StatusOK {
			err = fmt.Errorf("%d %s", tk.status, tk.Error)
		}
		if err != nil && fail("exchange", err) {
			return s
		}
		c.state = codeRedeemed
		c.family = &family{client: client}
		c.family.add(tk)
		answers.Add(1)

		for range 2 {
			f := c.family
			f.inFlight = true
			tk, err := ag.refresh(ctx, base, client, f.last())
			if err == nil && tk.status != http.StatusOK {
				err = fmt.Errorf("%d %s", tk.status, tk.Error)
			}
			if err != nil && fail("refresh", err) {
				return s
			}
			f.inFlight = false
			f.add(tk)
			answers.Add(1)
		}
	}
	return s
}

func testKill(t *testing.T, db string) {
	d := newDeployment(t, db)
	d.seed()
	first := d.start("first")
	ag := newAgent()
	// One real password login; every flow after reuses its SSO session.
	ag.signIn(t, first, first, "spa", oauth2.GenerateVerifier())

	var answers atomic.Int64
	streams := make([]*stream, killWorkers)
	var wg sync.WaitGroup
	for w := range killWorkers {
		// Half the workers use a client without refresh grace (a retired
		// token presented again is reuse), half one with a grace window.
		client := []string{"spa", "spa-grace"}[w%2]
		wg.Go(func() { streams[w] = flows(t.Context(), ag, first.URL, client, &answers) })
	}
	// If the test stops early, t.Context is cancelled, which ends them.
	t.Cleanup(wg.Wait)
	eventually(t, time.Minute, fmt.Sprintf("%d answers before the kill", killAfter), func() bool {
		return answers.Load() >= killAfter
	})
	first.kill()
	wg.Wait()

	var codes []*issuedCode
	for w, s := range streams {
		for _, u := range s.unexpected {
			t.Errorf("worker %d before the kill: %s", w, u)
		}
		if s.cut == nil && len(s.unexpected) == 0 {
			t.Errorf("worker %d: stream ended without a cut-off request", w)
		}
		codes = append(codes, s.codes...)
	}
	if t.Failed() {
		t.FailNow()
	}
	var families []*family
	count := map[codeState]int{}
	for _, c := range codes {
		count[c.state]++
		if c.family != nil {
			families = append(families, c.family)
		}
	}
	inFlightRefresh := 0
	for _, f := range families {
		if f.inFlight {
			inFlightRefresh++
		}
	}
	t.Logf("before the kill: %d answers; %d codes kept, %d redeemed, %d exchanges and %d refreshes cut off",
		answers.Load(), count[codeKept], count[codeRedeemed], count[codeInFlight], inFlightRefresh)

	second := d.start("restarted")
	second.ready(ag)
	ctx := t.Context()
	base := second.URL

	// The SSO session set before the kill still signs in.
	if _, err := ag.silentCode(ctx, base, "spa", oauth2.GenerateVerifier()); err != nil {
		t.Errorf("prompt=none with the session from before the kill: %v", err)
	}

	// 1. Every access token received is still active (checked first: the
	// reuse checks below revoke families on purpose).
	for _, f := range families {
		for _, at := range f.access {
			if !ag.active(t, base, d.apiSecret, at) {
				t.Errorf("%s: access token received before the kill is not active after the restart", f.client)
			}
		}
	}

	// 2. The last refresh token of every family refreshes. If its refresh
	// was cut off, the rotation may have been committed: with a grace
	// window the retry still succeeds (RFC 9700 §4.14.2 allows it); without
	// one it is reuse, and invalid_grant is right too.
	for _, f := range families {
		tk, err := ag.refresh(ctx, base, f.client, f.last())
		switch {
		case err != nil:
			t.Errorf("%s: refresh after the restart: %v", f.client, err)
		case tk.status == http.StatusOK:
			f.add(tk)
			f.inFlight = false
		case f.inFlight && f.client == "spa" && tk.Error == "invalid_grant":
			f.dead = true // the cut-off rotation was committed; the retry was reuse
		default:
			t.Errorf("%s: last refresh token received before the kill (cut off: %v) = %d %q after the restart, want 200",
				f.client, f.inFlight, tk.status, tk.Error)
		}
	}

	// 3. Codes: a kept code is still redeemable; a code whose exchange was
	// cut off is either redeemable or already used.
	for _, c := range codes {
		if c.state == codeRedeemed {
			continue
		}
		if time.Since(c.issuedAt) >= codeTTL-5*time.Second {
			t.Logf("code too close to expiry to check")
			continue
		}
		tk, err := ag.exchange(ctx, base, c.client, c.code, c.verifier)
		switch {
		case err != nil:
			t.Errorf("exchange after the restart: %v", err)
		case tk.status == http.StatusOK:
		case c.state == codeInFlight && tk.Error == "invalid_grant":
		default:
			t.Errorf("code received before the kill (exchange cut off: %v) = %d %q after the restart, want 200",
				c.state == codeInFlight, tk.status, tk.Error)
		}
	}

	// 4. Used up stays used up. Rotated refresh tokens: without grace,
	// presenting one is reuse and kills the family (every token of it,
	// access tokens included); with grace, it returns the very successor
	// the client already holds.
	for _, f := range families {
		if f.dead || len(f.refresh) < 2 {
			continue
		}
		old, next := f.refresh[len(f.refresh)-2], f.last()
		tk, err := ag.refresh(ctx, base, f.client, old)
		if err != nil {
			t.Errorf("%s: rotated refresh token: %v", f.client, err)
			continue
		}
		switch f.client {
		case "spa":
			if tk.status != http.StatusBadRequest || tk.Error != "invalid_grant" {
				t.Errorf("spa: rotated refresh token = %d %q after the restart, want invalid_grant (reuse)", tk.status, tk.Error)
				continue
			}
			f.dead = true
			if r, err := ag.refresh(ctx, base, f.client, next); err != nil || r.Error != "invalid_grant" {
				t.Errorf("spa: after reuse, the family's last token = %d %q (%v), want invalid_grant", r.status, r.Error, err)
			}
			if ag.active(t, base, d.apiSecret, f.access[len(f.access)-1]) {
				t.Errorf("spa: after reuse, the family's access token is still active")
			}
		case "spa-grace":
			if tk.status != http.StatusOK || tk.RefreshToken != next {
				t.Errorf("spa-grace: rotated refresh token within grace = %d %q, want 200 with the successor already issued", tk.status, tk.Error)
			}
		}
	}
	// Redeemed codes: a second redemption is refused and revokes what the
	// code issued (RFC 6749 §4.1.2).
	for _, c := range codes {
		if c.state != codeRedeemed {
			continue
		}
		tk, err := ag.exchange(ctx, base, c.client, c.code, c.verifier)
		if err != nil || tk.status != http.StatusBadRequest || tk.Error != "invalid_grant" {
			t.Errorf("code redeemed before the kill, presented again = %d %q (%v), want invalid_grant", tk.status, tk.Error, err)
			continue
		}
		if f := c.family; !f.dead {
			if r, err := ag.refresh(ctx, base, f.client, f.last()); err != nil || r.Error != "invalid_grant" {
				t.Errorf("%s: after the code replay, the grant's refresh token = %d %q (%v), want invalid_grant", f.client, r.status, r.Error, err)
			}
			f.dead = true
		}
	}
}

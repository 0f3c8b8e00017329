package server

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// Brute-force protection (RFC 9700 §4.16 is silent on it; OWASP ASVS
// V2.2.1 asks for it). Failures are counted in the store, so every
// instance on one database sees the same counts:
//
//   - a subject (a username, a client_id, a client IP) that reaches its
//     threshold of failures within the window starts a lockout;
//   - the first lockout lasts LockoutInitial; every failure that reaches
//     the threshold again doubles it, up to LockoutMax; lockouts are
//     remembered for a day (lockoutMemory), so an attacker who waits for
//     the window to pass still meets the longer lockout;
//   - while locked, attempts are refused without being checked or counted:
//     a correct password does not get through either.
//
// Login: per username (normalised, counted for unknown usernames exactly
// as for known ones: the answers, status codes and lockouts are the same,
// so they do not reveal which accounts exist) and per client IP; a
// successful login clears the username's counters (never the IP's).
// Client authentication (token, revocation, introspection): per client_id
// and per client IP, for requests that present a secret. Client IPs are
// IPv4 addresses or IPv6 /64 networks (one subscriber's allocation).

// lockoutMemory is how long lockouts are remembered for the doubling.
const lockoutMemory = 24 * time.Hour

// throttle counts failures and decides lockouts.
type throttle struct {
	store     store.Store
	now       func() time.Time
	window    time.Duration
	initial   time.Duration
	max       time.Duration
	memory    time.Duration
	login     int // per username
	perIP     int // per client IP (login and client authentication, counted apart)
	perClient int // per client_id
}

// newThrottle reads the thresholds from cfg; zero values (a Config not
// built from config.Default) fall back to the defaults.
func newThrottle(st store.Store, now func() time.Time, cfg config.Config) *throttle {
	def := config.Default()
	pick := func(v, d int) int {
		if v > 0 {
			return v
		}
		return d
	}
	pickD := func(v, d time.Duration) time.Duration {
		if v > 0 {
			return v
		}
		return d
	}
	t := &throttle{
		store:     st,
		now:       now,
		window:    pickD(cfg.ThrottleWindow, def.ThrottleWindow),
		initial:   pickD(cfg.LockoutInitial, def.LockoutInitial),
		max:       pickD(cfg.LockoutMax, def.LockoutMax),
		login:     pick(cfg.LoginMaxFailures, def.LoginMaxFailures),
		perIP:     pick(cfg.IPMaxFailures, def.IPMaxFailures),
		perClient: pick(cfg.ClientMaxFailures, def.ClientMaxFailures),
	}
	t.max = max(t.max, t.initial)
	t.memory = max(lockoutMemory, t.max)
	return t
}

// limit is one throttled subject: its store key and threshold.
type limit struct {
	key string
	max int
}

func (l limit) lockKey() string { return "lockout:" + l.key }

// loginLimits are the subjects of a sign-in attempt. The username is
// normalised (case, surrounding space) so variants share one counter, and
// hashed: the failure table holds no usernames.
func (t *throttle) loginLimits(username string, ip netip.Addr) []limit {
	norm := strings.ToLower(strings.TrimSpace(username))
	return []limit{
		{"login:user:" + token.Hash(norm), t.login},
		{"login:ip:" + ipKey(ip), t.perIP},
	}
}

// clientLimits are the subjects of a client authentication attempt.
func (t *throttle) clientLimits(clientID string, ip netip.Addr) []limit {
	return []limit{
		{"client:id:" + token.Hash(clientID), t.perClient},
		{"client:ip:" + ipKey(ip), t.perIP},
	}
}

// ipKey is an IPv4 address, or the /64 of an IPv6 address.
func ipKey(a netip.Addr) string {
	switch {
	case !a.IsValid():
		return "unknown"
	case a.Is6():
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// wait returns how long until none of ls is locked out; zero when none
// is. It never counts anything.
func (t *throttle) wait(ctx context.Context, ls []limit) (time.Duration, error) {
	now := t.now()
	var longest time.Duration
	for _, l := range ls {
		d, err := t.lockedFor(ctx, l, now)
		if err != nil {
			return 0, err
		}
		longest = max(longest, d)
	}
	return longest, nil
}

// lockedFor is the rest of l's current lockout. The n-th lockout within
// memory lasts backoff(n) from the moment it started; the start is found
// by bisection over the store's counts (a few cheap queries, only while
// locked), rounded so the answer is never early.
func (t *throttle) lockedFor(ctx context.Context, l limit, now time.Time) (time.Duration, error) {
	n, err := t.store.Failures(ctx, l.lockKey(), now, t.memory)
	if err != nil || n == 0 {
		return 0, err
	}
	d := t.backoff(n)
	if recent, err := t.store.Failures(ctx, l.lockKey(), now, d); err != nil || recent == 0 {
		return 0, err
	}
	// The last lockout started in (now-hi, now-lo]; it ends by now-lo+d.
	lo, hi := time.Duration(0), d
	for range 8 {
		if hi-lo <= time.Second {
			break
		}
		mid := lo + (hi-lo)/2
		c, err := t.store.Failures(ctx, l.lockKey(), now, mid)
		if err != nil {
			return 0, err
		}
		if c > 0 {
			hi = mid
		} else {
			lo = mid
		}
	}
	return d - lo, nil
}

// fail records one failure against each of ls and returns the lockout it
// starts (zero when no threshold was reached).
func (t *throttle) fail(ctx context.Context, ls []limit) (time.Duration, error) {
	now := t.now()
	var longest time.Duration
	for _, l := range ls {
		n, err := t.store.RecordFailure(ctx, l.key, now, t.window)
		if err != nil {
			return 0, err
		}
		if n < l.max {
			continue
		}
		lockouts, err := t.store.RecordFailure(ctx, l.lockKey(), now, t.memory)
		if err != nil {
			return 0, err
		}
		longest = max(longest, t.backoff(lockouts))
	}
	return longest, nil
}

// clear forgets l's failures and lockouts (after a successful login).
func (t *throttle) clear(ctx context.Context, l limit) error {
	if err := t.store.ClearFailures(ctx, l.key); err != nil {
		return err
	}
	return t.store.ClearFailures(ctx, l.lockKey())
}

// backoff is the length of the n-th lockout: initial·2^(n-1), at most max.
func (t *throttle) backoff(n int) time.Duration {
	d := t.initial
	for i := 1; i < n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// retryAfter is a Retry-After value in whole seconds, rounded up.
func retryAfter(d time.Duration) int {
	return int(min(math.Ceil(d.Seconds()), math.MaxInt32))
}

// waitText says how long to wait, for people: "30 seconds", "2 minutes".
func waitText(d time.Duration) string {
	if s := retryAfter(d); s < 60 {
		return plural(s, "second")
	}
	return plural(int(math.Ceil(d.Minutes())), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

// errClientThrottled is the answer to a client locked out after failed
// authentications: 429 with Retry-After (errors.go).
func errClientThrottled(wait time.Duration) *oauth.Error {
	e := oauth.Errorf(oauth.SlowDown, "too many failed client authentication attempts; retry later")
	e.RetryAfter = retryAfter(wait)
	return e
}

// showLocked answers a sign-in attempt refused by the throttle: the login
// page with its form disabled and the lockout explained, HTTP 429 and
// Retry-After. Unknown usernames get exactly this page too.
func (s *Server) showLocked(w http.ResponseWriter, r *http.Request, ar *authRequest, in interaction, username string, wait time.Duration) error {
	in.Kind = kindAuthorize
	in.Query = ar.req.Query()
	sealed, err := s.sealInteraction(w, r, in)
	if err != nil {
		return err
	}
	w.Header().Set("Retry-After", strconv.Itoa(retryAfter(wait)))
	s.renderFor(w, r, http.StatusTooManyRequests, ui.LoginPage{
		Action: s.url(pathLogin), Interaction: sealed, ClientName: clientName(ar.client),
		Username: username, Locked: true,
		Error: fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", waitText(wait)),
	}, ar.to.URI())
	return nil
}

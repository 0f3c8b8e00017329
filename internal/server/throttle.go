package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Brute-force protection (RFC 9700 §4.16 is silent on it; OWASP ASVS
// V2.2.1 asks for it). Attempts are counted in the store, so every
// instance on one database sees the same counts.
//
// Invariant: a credential (password, client secret) is checked only
// after an attempt has been reserved atomically (store.ReserveAttempt)
// against every budget of the request; within any throttle window at
// most the budget's limit of credentials are ever checked for it, also
// under a concurrent burst and across instances. A refused attempt is
// answered without checking anything and is not counted. A reservation
// whose credential proves right is released (it never uses up a budget),
// and the budgets that belong to the person signing in (the (username,
// IP) pair, the known device) are cleared; one whose credential proves
// wrong is confirmed as a failure (store.ConfirmAttempt) and counts for
// the window.
//
// Reservations are leases (throttle.lease: the request deadline plus
// settleTimeout plus a margin, at most the window): one never settled (a
// crash, a failed release) stops counting when its lease ends, and every
// attempt is settled before then, so the invariant above holds. A budget
// refused only because of unexpired leases (attempts still in flight on
// any instance, which may yet succeed and give their room back) is busy,
// not exhausted: the request is answered 503 + Retry-After 1
// (errThrottleBusy), never 429 with a lockout. Many legitimate sign-ins
// or token requests at once from one address (a NAT, a busy service)
// must not look like guessing.
//
//   - Backoff: a failure that fills a budget with failures (leases of
//     attempts in flight not counted) starts a lockout for it:
//     LockoutInitial, doubled by each further one within a day
//     (lockoutMemory), at most LockoutMax. Only the one failure that
//     fills the budget starts it (confirmations are serialised), so a
//     burst counts once; backoff grows with sequential failures only.
//
// Login budgets (loginLimits): per (username, client IP) pair
// login-max-failures; per username from any IP userFactor times that
// (so that one attacker cannot lock a user out: it takes userFactor
// addresses); per client IP ip-max-failures (password spraying). A
// browser holding a known-device cookie for the user (device.go) is
// counted under its own budget of login-max-failures instead, so an
// attacker exhausting the username's budgets does not lock it out.
// Unknown usernames are counted exactly as known ones (no enumeration).
// Device user codes (userCodeLimits): per browser session
// login-max-failures, per client IP ip-max-failures (counted apart).
// Client authentication (token, revocation, introspection), for requests
// that present a secret (clientLimits): per (client_id, client IP) pair
// client-max-failures, per client_id userFactor times that, per client
// IP ip-max-failures (counted apart from sign-ins). Device authorization
// requests (deviceAuthorizationLimits): per client IP device-max-requests,
// every request counted, not only failures (a rate budget: see
// reserveDeviceAuthorization). Client IPs are IPv4
// addresses or IPv6 /64 networks (one subscriber's allocation).

// userFactor: the per-username budget (from every IP) is userFactor times
// login-max-failures (100 by default).
const userFactor = 20

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
	login     int           // per (username, client IP) pair, and per known device
	perUser   int           // per username, from any client IP
	perIP     int           // per client IP (login and client authentication, counted apart)
	perClient int           // per client_id
	perDevice int           // device authorization requests per client IP
	lease     time.Duration // of a reservation; see leaseFor
}

// ThrottleLimits are the brute-force thresholds (config throttle-window,
// lockout-initial, lockout-max, login-, ip- and client-max-failures) and
// the device authorization budget (device-max-requests).
type ThrottleLimits struct {
	Window, LockoutInitial, LockoutMax                 time.Duration
	LoginMaxFailures, IPMaxFailures, ClientMaxFailures int
	DeviceMaxRequests                                  int
}

// leaseMargin is added to a reservation's lease beyond the request
// deadline and settleTimeout: the time a credential check may overrun the
// deadline (a password hash is not interruptible) and clock skew between
// instances.
const leaseMargin = 5 * time.Second

// leaseFor is the lease of a reservation made by a request whose deadline
// is requestTimeout: long enough that the request settles it (with
// settleTimeout for the settling writes) before it ends, at most the
// window.
func leaseFor(requestTimeout, window time.Duration) time.Duration {
	return min(requestTimeout+settleTimeout+leaseMargin, window)
}

// newThrottle builds the throttle; every limit must be positive.
// requestTimeout is the deadline of the requests that reserve attempts
// (Overload.RequestTimeout); it sets the reservations' lease.
func newThrottle(st store.Store, now func() time.Time, l ThrottleLimits, requestTimeout time.Duration) (*throttle, error) {
	if l.Window <= 0 || l.LockoutInitial <= 0 || l.LockoutMax <= 0 || l.LoginMaxFailures <= 0 || l.IPMaxFailures <= 0 || l.ClientMaxFailures <= 0 || l.DeviceMaxRequests <= 0 {
		return nil, fmt.Errorf("server: every throttle limit must be positive: %+v", l)
	}
	t := &throttle{
		store:     st,
		now:       now,
		window:    l.Window,
		initial:   l.LockoutInitial,
		max:       l.LockoutMax,
		login:     l.LoginMaxFailures,
		perIP:     l.IPMaxFailures,
		perClient: l.ClientMaxFailures,
		perDevice: l.DeviceMaxRequests,
	}
	t.perUser = userFactor * t.login
	t.max = max(t.max, t.initial)
	t.memory = max(lockoutMemory, t.max)
	t.lease = leaseFor(max(requestTimeout, 0), t.window)
	return t, nil
}

// limit is one throttled subject: its store key and threshold.
type limit struct {
	key string
	max int
}

func (l limit) lockKey() string { return "lockout:" + l.key }

// loginLimits are the budgets of a sign-in attempt for the canonical
// username (registration.CanonicalUsername) from ip: the pair, the
// username, the IP. Usernames are hashed: the failure table holds none.
func (t *throttle) loginLimits(username string, ip netip.Addr) []limit {
	u := token.Hash(username)
	return []limit{
		{"login:pair:" + u + ":" + ipKey(ip), t.login},
		{"login:user:" + u, t.perUser},
		{"login:ip:" + ipKey(ip), t.perIP},
	}
}

// deviceLimits is the budget of a sign-in attempt from a browser holding
// a known-device cookie for the user: its own, instead of loginLimits.
func (t *throttle) deviceLimits(deviceID string) []limit {
	return []limit{{"login:device:" + token.Hash(deviceID), t.login}}
}

// clientLimits are the budgets of a client authentication attempt, on
// the same pattern as loginLimits: the (client_id, IP) pair, the
// client_id from any IP (userFactor times more), the IP.
func (t *throttle) clientLimits(clientID string, ip netip.Addr) []limit {
	c := token.Hash(clientID)
	return []limit{
		{"client:pair:" + c + ":" + ipKey(ip), t.perClient},
		{"client:id:" + c, userFactor * t.perClient},
		{"client:ip:" + ipKey(ip), t.perIP},
	}
}

// userCodeLimits are the budgets of a user code lookup on the device
// page (RFC 8628 §5.1: user codes must be protected against guessing):
// per session (the SSO session's public sid) login-max-failures, per
// client IP ip-max-failures (counted apart from sign-ins), so neither one
// browser nor many sessions from one address can try more than that many
// codes per window.
func (t *throttle) userCodeLimits(sid string, ip netip.Addr) []limit {
	return []limit{
		{"user_code:session:" + token.Hash(sid), t.login},
		{"user_code:ip:" + ipKey(ip), t.perIP},
	}
}

// deviceAuthorizationLimits is the budget of device authorization
// requests (RFC 8628 §3.1) from one client IP: device-max-requests per
// window. A client_id of a public device client is public, so without it
// anyone could store pending device codes without bound.
func (t *throttle) deviceAuthorizationLimits(ip netip.Addr) []limit {
	return []limit{{"device_authorization:ip:" + ipKey(ip), t.perDevice}}
}

// reserveDeviceAuthorization reserves one device authorization request
// against deviceAuthorizationLimits before any work is done; nil with the
// wait when the budget is spent. Unlike a credential check this budget
// counts requests, not failures: the caller confirms the reservation (it
// counts for the window) once a device code is stored, and gives it back
// (abandoned) when the request failed and stored nothing. No lockout ever
// starts; a spent budget refills as its requests leave the window. A
// budget full of reservations still in flight is spent, not busy (they
// will almost all count): never errThrottleBusy's 503.
func (t *throttle) reserveDeviceAuthorization(ctx context.Context, ip netip.Addr) (*attempt, time.Duration, error) {
	ls := t.deviceAuthorizationLimits(ip)
	a, wait, err := t.reserve(ctx, ls)
	if errors.Is(err, errThrottleBusy) {
		wait, err = t.refusal(ctx, ls, t.now())
		return nil, max(wait, time.Second), err
	}
	return a, wait, err
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

// attempt is a reservation made by reserve: the credential may be
// checked once, then the outcome reported with failed or succeeded.
type attempt struct {
	at     time.Time
	limits []limit
}

// reserve refuses an attempt while any of ls is locked out or has spent
// its budget (returning how long until it may retry, and no attempt);
// otherwise it reserves the attempt against every one of ls atomically.
func (t *throttle) reserve(ctx context.Context, ls []limit) (*attempt, time.Duration, error) {
	now := t.now()
	wait, err := t.wait(ctx, ls)
	if err != nil {
		return nil, 0, err
	}
	if wait > 0 {
		wait, err = t.refusal(ctx, ls, now)
		return nil, max(wait, time.Second), err
	}
	budgets := make([]store.Budget, len(ls))
	for i, l := range ls {
		budgets[i] = store.Budget{Key: l.key, Limit: l.max}
	}
	_, ok, busy, err := t.store.ReserveAttempt(ctx, now, t.window, t.lease, budgets...)
	if err != nil {
		return nil, 0, err
	}
	if busy {
		return nil, 0, errThrottleBusy
	}
	if !ok {
		wait, err = t.refusal(ctx, ls, now)
		return nil, max(wait, time.Second), err
	}
	return &attempt{at: now, limits: ls}, 0, nil
}

// errThrottleBusy answers an attempt refused only because its full
// budgets are full of unexpired leases: attempts still in flight, on any
// instance (store.ReserveAttempt's busy).
var errThrottleBusy = &oauth.Error{Code: oauth.TemporarilyUnavailable, Description: "too many sign-in or authentication attempts in progress; retry shortly", RetryAfter: 1}

// failed reports that a's credential was wrong: the reservation is
// confirmed as a failure, counted for the window. Every budget a's
// failure filled starts a lockout (backoff): filled with failures, not
// with attempts in flight that may yet succeed, so one wrong credential
// among many right ones in flight starts none. It returns how long until
// the subject may retry, zero when it still has budget.
func (t *throttle) failed(ctx context.Context, a *attempt) (time.Duration, error) {
	now := t.now()
	failures, err := t.confirm(ctx, a, now)
	if err != nil {
		return 0, err
	}
	var longest time.Duration
	for i, l := range a.limits {
		if failures[i] < l.max {
			continue
		}
		lockouts, err := t.store.RecordFailure(ctx, l.lockKey(), now, t.memory)
		if err != nil {
			return 0, err
		}
		d, err := t.refill(ctx, l, now)
		if err != nil {
			return 0, err
		}
		longest = max(longest, t.backoff(lockouts), d)
	}
	return longest, nil
}

// settleTimeout bounds the store writes that give a reservation back.
// They run on a context detached from the request's: a request that
// timed out or was cancelled after its reservation must still give it
// back, or overload would turn into lockouts.
const settleTimeout = 2 * time.Second

// confirm turns a's reservation into a failure on every budget and
// returns their failures at now, this one included. Like a release it
// runs detached from the request's context: a wrong credential whose
// request ended must still count, not lapse with its lease.
func (t *throttle) confirm(ctx context.Context, a *attempt, now time.Time) ([]int, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	keys := make([]string, len(a.limits))
	for i, l := range a.limits {
		keys[i] = l.key
	}
	return t.store.ConfirmAttempt(ctx, now, a.at, t.window, keys...)
}

// abandoned gives a's reservation back to every budget: its credential
// was never checked (the password hasher was busy, the request's deadline
// passed), so it tells an attacker nothing and must not count.
func (t *throttle) abandoned(ctx context.Context, a *attempt) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	keys := make([]string, len(a.limits))
	for i, l := range a.limits {
		keys[i] = l.key
	}
	return t.store.ReleaseAttempt(ctx, a.at, keys...)
}

// succeeded reports that a's credential was right: its reservation is
// released from every budget, and the budgets in clear (those that belong
// to the user who just proved who they are) are forgotten with their
// lockouts.
func (t *throttle) succeeded(ctx context.Context, a *attempt, clear ...limit) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
	defer cancel()
	var release []string
	for _, l := range a.limits {
		if !slices.Contains(clear, l) {
			release = append(release, l.key)
		}
	}
	if err := t.store.ReleaseAttempt(ctx, a.at, release...); err != nil {
		return err
	}
	for _, l := range clear {
		if err := t.store.ClearFailures(ctx, l.key); err != nil {
			return err
		}
		if err := t.store.ClearFailures(ctx, l.lockKey()); err != nil {
			return err
		}
	}
	return nil
}

// refill is how long until l has room for one more attempt: until enough
// of its attempts have left the window. After d, the attempts at times in
// (now+d-window, now] remain, so the answer is the least d at which
// those are fewer than l.max; found by bisection over whole seconds (a
// few cheap queries, only for a spent budget), so it is never early.
func (t *throttle) refill(ctx context.Context, l limit, now time.Time) (time.Duration, error) {
	// Invariant: at lo seconds the budget is still spent, at hi it is not.
	lo, hi := int64(0), int64(math.Ceil(t.window.Seconds()))
	for hi-lo > 1 {
		mid := lo + (hi-lo)/2
		n, err := t.store.Failures(ctx, l.key, now, t.window-time.Duration(mid)*time.Second)
		if err != nil {
			return 0, err
		}
		if n < l.max {
			hi = mid
		} else {
			lo = mid
		}
	}
	return time.Duration(hi) * time.Second, nil
}

// refusal is how long until an attempt against ls may be tried: the
// longest of their lockouts and of the refills of their spent budgets.
func (t *throttle) refusal(ctx context.Context, ls []limit, now time.Time) (time.Duration, error) {
	var longest time.Duration
	for _, l := range ls {
		d, err := t.lockedFor(ctx, l, now)
		if err != nil {
			return 0, err
		}
		n, err := t.store.Failures(ctx, l.key, now, t.window)
		if err != nil {
			return 0, err
		}
		if n >= l.max {
			r, err := t.refill(ctx, l, now)
			if err != nil {
				return 0, err
			}
			d = max(d, r)
		}
		longest = max(longest, d)
	}
	return longest, nil
}

// backoff is the length of the n-th lockout: initial·2^(n-1), at most max.
func (t *throttle) backoff(n int) time.Duration {
	d := t.initial
	for i := 1; i < n && d < t.max; i++ {
		d *= 2
	}
	return min(d, t.max)
}

// clientThrottle is the throttle's side of client authentication
// (grant.ClientThrottle): the clientLimits budgets.
// quiet is this instance's memory of recent failures, for the fast path
// of a right secret (throttle_quiet.go).
type clientThrottle struct {
	t     *throttle
	quiet *quietView
}

func (c clientThrottle) Reserve(ctx context.Context, clientID string, ip netip.Addr) (grant.ClientAttempt, time.Duration, error) {
	a, wait, err := c.t.reserve(ctx, c.t.clientLimits(clientID, ip))
	if a == nil {
		if err == nil {
			c.quiet.mark(c.t.clientKeys(clientID, ip)) // refused: under attack
		}
		return nil, wait, err // never a typed nil in the interface
	}
	return clientAttempt{c.t, a, func() { c.quiet.mark(c.t.clientKeys(clientID, ip)) }}, 0, nil
}

func (c clientThrottle) CheckQuietly(ctx context.Context, clientID string, ip netip.Addr, check func() bool) bool {
	return c.quiet.check(ctx, c.t.clientKeys(clientID, ip), check)
}

// clientAttempt is a reserved client authentication attempt; suspect
// marks its keys in the instance's quiet view.
type clientAttempt struct {
	t       *throttle
	a       *attempt
	suspect func()
}

func (c clientAttempt) Failed(ctx context.Context) (time.Duration, error) {
	c.suspect()
	return c.t.failed(ctx, c.a)
}
func (c clientAttempt) Succeeded(ctx context.Context) error { return c.t.succeeded(ctx, c.a) }
func (c clientAttempt) Abandoned(ctx context.Context) error { return c.t.abandoned(ctx, c.a) }

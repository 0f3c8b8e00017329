package server

import (
	"context"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// quietMax bounds the suspect keys an instance remembers. When it is
// full (an attacker spraying client IDs or addresses), every client
// authentication takes the reserved path until entries expire: slower,
// never weaker.
const quietMax = 100_000

// quietPoll is how often an instance reads the client lockouts every
// instance has started (one store.FailureKeys read): a client or address
// locked out anywhere takes the reserved path here within quietPoll.
const quietPoll = time.Second

// clientLockoutPrefix is the prefix of the lockout keys of the client
// budgets (limit.lockKey of clientLimits).
const clientLockoutPrefix = "lockout:client:"

// quietView is one instance's memory of the client authentication
// failures it has seen, and of the lockouts any instance has started
// (issue 13: the fast path of a right secret).
//
// Invariant (with grant.Engine.Authenticate): a client secret is checked
// without a store reservation only while none of its budget keys
// (throttle.clientLimits) is suspect here, and the check of a wrong
// secret marks them suspect under the same lock, before any other check
// of them can start; a wrong secret is never answered from the fast
// path. A key is suspect for the throttle window after a failure or a
// refusal on this instance, and while any instance's lockout of it is
// in the store (polled every quietPoll; nothing is quiet before the
// first poll succeeded or after one failed). So, per instance, a secret
// is checked outside the store's budgets at most once per key in each
// window without a failure here and without a lockout anywhere (the
// first guess of an attack), and within quietPoll of a lockout started
// elsewhere; every other check is reserved as throttle.go describes.
type quietView struct {
	now    func() time.Time
	window time.Duration
	store  store.Store

	mu      sync.Mutex
	suspect map[string]time.Time // key → marked until
	full    time.Time            // all suspect until then (the map was full)
	polled  time.Time            // the last poll of the lockouts
	pollOK  bool                 // it succeeded
	polling bool
}

func newQuietView(st store.Store, now func() time.Time, window time.Duration) *quietView {
	return &quietView{store: st, now: now, window: window, suspect: make(map[string]time.Time)}
}

// poll reads the client lockouts of every instance when the last poll
// is quietPoll old (one caller at a time; the others go on with the view
// as it is) and marks their keys suspect.
func (q *quietView) poll(ctx context.Context) {
	now := q.now()
	q.mu.Lock()
	due := !q.polling && (q.polled.IsZero() || now.Sub(q.polled) >= quietPoll || now.Before(q.polled))
	q.polling = q.polling || due
	q.mu.Unlock()
	if !due {
		return
	}
	keys, err := q.store.FailureKeys(ctx, clientLockoutPrefix, now)
	q.mu.Lock()
	defer q.mu.Unlock()
	q.polling, q.polled, q.pollOK = false, now, err == nil
	for i, k := range keys {
		keys[i] = strings.TrimPrefix(k, "lockout:")
	}
	if len(keys) > 0 {
		q.markLocked(keys, now)
	}
}

// check runs fn when none of keys is suspect and reports its result; a
// false fn marks every key suspect. It reports false without running fn
// when any key is suspect, or the lockouts could not be read.
func (q *quietView) check(ctx context.Context, keys []string, fn func() bool) bool {
	q.poll(ctx)
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.now()
	if !q.pollOK || now.Before(q.full) {
		return false
	}
	for _, k := range keys {
		if until, ok := q.suspect[k]; ok {
			if now.Before(until) {
				return false
			}
			delete(q.suspect, k)
		}
	}
	if fn() {
		return true
	}
	q.markLocked(keys, now)
	return false
}

// mark makes keys suspect for the window (a failure or refusal seen on
// the reserved path).
func (q *quietView) mark(keys []string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.markLocked(keys, q.now())
}

func (q *quietView) markLocked(keys []string, now time.Time) {
	until := now.Add(q.window)
	if len(q.suspect)+len(keys) > quietMax {
		for k, u := range q.suspect {
			if !now.Before(u) {
				delete(q.suspect, k)
			}
		}
		if len(q.suspect)+len(keys) > quietMax {
			q.full = until
			return
		}
	}
	for _, k := range keys {
		q.suspect[k] = until
	}
}

// clientKeys are the keys of clientLimits, the view's unit.
func (t *throttle) clientKeys(clientID string, ip netip.Addr) []string {
	ls := t.clientLimits(clientID, ip)
	keys := make([]string, len(ls))
	for i, l := range ls {
		keys[i] = l.key
	}
	return keys
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/password"
)

// Faults and overload. Latch degrades instead of piling up work it cannot
// finish:
//
//   - every public request gets a deadline (config request-timeout) that
//     reaches every database call, so a slow or unreachable database makes
//     requests fail, not hang;
//   - at most max-concurrent-requests handlers run at once; up to
//     request-queue more wait at most request-queue-wait for a slot, and
//     everything beyond is refused at once (admission, below), so memory
//     and goroutines stay bounded whatever the offered load;
//   - password hashing has its own smaller limit (password.Limits), so a
//     burst of sign-ins leaves CPU for token requests;
//   - a store that cannot answer (Options.Unavailable), a deadline passed
//     and a request shed all reach the client as temporarily_unavailable:
//     503 with Retry-After on every channel (errors.go, clientError).
//
// RFC 6749 §5.2 has no error code for a server that cannot answer right
// now at the token endpoint; temporarily_unavailable is §4.1.2.1's code
// for the same condition at the authorization endpoint, and 503 +
// Retry-After (RFC 9110 §15.6.4, §10.2.3) is what HTTP clients and load
// balancers act on.

// Retry-After values, in seconds.
const (
	retryAfterShed        = 1 // a full queue drains in well under a second
	retryAfterUnavailable = 2 // the database is away or slow
)

// errLoadShed is the cause of every refusal by admission. Such refusals
// are logged at debug level only: under overload they are most requests,
// and the access log already records each 503.
var errLoadShed = errors.New("load shed")

// errShed is the answer to a request refused by admission.
var errShed = &oauth.Error{Code: oauth.TemporarilyUnavailable, Description: "the server is busy; retry shortly", RetryAfter: retryAfterShed}

// errUnavailable is the answer to a request that failed because the store
// could not answer (in time).
var errUnavailable = &oauth.Error{Code: oauth.TemporarilyUnavailable, Description: "the service is temporarily unavailable; retry shortly", RetryAfter: retryAfterUnavailable}

// admission bounds the handlers running at once and the requests waiting
// for them. The invariant: at most cap(slots) handlers run, and at most
// queue requests wait, each for at most wait; any other request is
// answered at once.
type admission struct {
	slots   chan struct{}
	queue   int64
	wait    time.Duration
	waiting atomic.Int64
}

// Overload are the limits of admission and the request deadline (config
// request-timeout, max-concurrent-requests, request-queue,
// request-queue-wait; the composition root fills them from the
// configuration). Queue 0 means no queue; the others must be positive.
type Overload struct {
	RequestTimeout time.Duration
	MaxConcurrent  int
	Queue          int
	QueueWait      time.Duration
}

// validate refuses limits that would expire every request at once or
// serialise them (an Overload left at its zero value).
func (o Overload) validate() error {
	if o.RequestTimeout <= 0 || o.MaxConcurrent <= 0 || o.QueueWait <= 0 || o.Queue < 0 {
		return fmt.Errorf("server: Options.Overload %+v: RequestTimeout, MaxConcurrent and QueueWait must be positive, Queue not negative", o)
	}
	return nil
}

func newAdmission(o Overload) *admission {
	return &admission{
		slots: make(chan struct{}, max(o.MaxConcurrent, 1)),
		queue: int64(max(o.Queue, 0)),
		wait:  o.QueueWait,
	}
}

// acquire takes a slot or returns errShed: at once when the queue is
// full, after a.wait (or when ctx ends) otherwise. The caller must call
// release after a nil return.
func (a *admission) acquire(ctx context.Context) error {
	select {
	case a.slots <- struct{}{}:
		return nil
	default:
	}
	if a.waiting.Add(1) > a.queue {
		a.waiting.Add(-1)
		return errShed.WithCause(fmt.Errorf("%w: request queue full", errLoadShed))
	}
	defer a.waiting.Add(-1)
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return nil
	case <-t.C:
		return errShed.WithCause(fmt.Errorf("%w: no handler free within request-queue-wait", errLoadShed))
	case <-ctx.Done():
		return errShed.WithCause(fmt.Errorf("%w: %w", errLoadShed, context.Cause(ctx)))
	}
}

func (a *admission) release() { <-a.slots }

// limited wraps an endpoint in the request deadline and the admission a
// (s.admitAPI for the API and bearer channels, s.admitPages for browser
// pages). It is applied by the channel adapters (api, bearer, page), so a
// refusal is written by the endpoint's own error writer. The two classes
// are admitted apart, each within the configured limits: a burst of
// sign-ins (pages) can never take the slots token refreshes need, nor
// the other way round.
func (s *Server) limited(a *admission, h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) error {
		// The deadline starts at arrival: time in the queue counts.
		ctx, cancel := context.WithTimeout(r.Context(), s.opts.Overload.RequestTimeout)
		defer cancel()
		r = r.WithContext(ctx)
		if err := a.acquire(ctx); err != nil {
			return err
		}
		defer a.release()
		return h(w, r)
	}
}

// unavailable reports whether err means "not now" rather than "no": the
// store could not answer (per Options.Unavailable: unreachable, out of
// connections, disk full, locked), the request's deadline passed, or the
// password hasher's queue was full. A protocol error other than
// server_error is a real answer and never counts.
func (s *Server) unavailable(err error) bool {
	if e, ok := oauth.As(err); ok && e.Code != oauth.ServerError {
		return e.Code == oauth.TemporarilyUnavailable
	}
	return errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, password.ErrBusy) ||
		(s.opts.Unavailable != nil && s.opts.Unavailable(err))
}

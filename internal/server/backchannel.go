package server

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Backchannel tunes the delivery of back-channel logouts (OpenID Connect
// Back-Channel Logout 1.0). Zero values take the defaults below.
type Backchannel struct {
	// Timeout bounds one POST to a client (default 5s): a receiver that
	// hangs holds one attempt, never the worker.
	Timeout time.Duration
	// MaxAge is how long after the session ended Latch keeps trying
	// (default 24h); then the notification is dropped and audited
	// backchannel_logout_gave_up.
	MaxAge time.Duration
	// MinBackoff and MaxBackoff bound the wait after a failed attempt:
	// MinBackoff·2^(attempts-1), capped at MaxBackoff (defaults 5s, 10m),
	// with jitter.
	MinBackoff, MaxBackoff time.Duration
	// Batch is how many notifications one round claims (default 10).
	Batch int
	// Transport sends the POSTs; nil: a clone of http.DefaultTransport.
	// Tests set it to trust an httptest TLS receiver.
	Transport http.RoundTripper
	// Jitter returns the wait actually used for a backoff of d; nil:
	// uniformly random in [d/2, d], so clients that failed together do
	// not retry together.
	Jitter func(d time.Duration) time.Duration
}

const (
	defaultBackchannelTimeout = 5 * time.Second
	defaultBackchannelMaxAge  = 24 * time.Hour
	defaultBackchannelMin     = 5 * time.Second
	defaultBackchannelMax     = 10 * time.Minute
	defaultBackchannelBatch   = 10
	// logoutTokenTTL is the exp of a Logout Token: §2.4 recommends a
	// short one (a token is signed afresh for every attempt).
	logoutTokenTTL = 2 * time.Minute
	// maxLastError bounds the failure text stored with a notification.
	maxLastError = 200
)

// Audit events of back-channel logout delivery.
const (
	eventBCLDelivered = "backchannel_logout_delivered"
	eventBCLFailed    = "backchannel_logout_failed"
	eventBCLGaveUp    = "backchannel_logout_gave_up"
)

// backchannel delivers the outbox. It is the small type the worker
// needs, nothing of the HTTP server: every instance runs one, and the
// store's leases keep two from sending one notification at once.
type backchannel struct {
	cfg    Backchannel
	lease  time.Duration
	client *http.Client
	dev    bool
	wake   chan struct{}
}

func newBackchannel(cfg Backchannel, dev bool) *backchannel {
	if cfg.Timeout <= 0 {
		cfg.Timeout = defaultBackchannelTimeout
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = defaultBackchannelMaxAge
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = defaultBackchannelMin
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(defaultBackchannelMax, cfg.MinBackoff)
	}
	if cfg.Batch <= 0 {
		cfg.Batch = defaultBackchannelBatch
	}
	if cfg.Jitter == nil {
		cfg.Jitter = func(d time.Duration) time.Duration { return d/2 + rand.N(d/2+1) }
	}
	rt := cfg.Transport
	if rt == nil {
		rt = http.DefaultTransport.(*http.Transport).Clone()
	}
	return &backchannel{
		cfg: cfg,
		// The batch is delivered one by one: the lease outlasts the
		// worst case, so no other instance claims a row still in flight.
		lease: time.Duration(cfg.Batch+1) * cfg.Timeout,
		client: &http.Client{
			Transport: rt,
			Timeout:   cfg.Timeout,
			// Never follow a redirect: the receiver is the URI the
			// operator registered, and a 3xx is a failed delivery.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		dev:  dev,
		wake: make(chan struct{}, 1),
	}
}

// backoff is the wait after the attempts-th failure, before jitter.
func (b *backchannel) backoff(attempts int) time.Duration {
	d := b.cfg.MinBackoff
	for i := 1; i < attempts && d < b.cfg.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, b.cfg.MaxBackoff)
}

// notify wakes this instance's worker (after a logout it enqueued), so a
// notification leaves at once instead of at the next poll.
func (s *Server) notifyBackchannel() {
	select {
	case s.bcl.wake <- struct{}{}:
	default:
	}
}

// RunBackchannelLogouts delivers back-channel logouts until ctx ends: at
// once when this instance ended a session, and every poll interval
// (default 2s) for what other instances enqueued or what is due for a
// retry. Every instance runs it; see DeliverBackchannelLogouts.
func (s *Server) RunBackchannelLogouts(ctx context.Context, poll time.Duration) {
	if poll <= 0 {
		poll = 2 * time.Second
	}
	t := time.NewTicker(poll)
	defer t.Stop()
	for {
		for {
			n, err := s.DeliverBackchannelLogouts(ctx)
			if err != nil && ctx.Err() == nil {
				s.log.Warn("back-channel logout delivery failed", "error", err)
			}
			if err != nil || n < s.bcl.cfg.Batch {
				break // a full batch: more may be due
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-s.bcl.wake:
		}
	}
}

// DeliverBackchannelLogouts claims one batch of due notifications from
// the outbox and delivers each (Back-Channel Logout §2.5): a Logout Token
// signed now, POSTed as logout_token to the client's current
// backchannel_logout_uri. A 200 or 204 answer (§2.8) removes it; any other
// answer, a redirect or a transport error schedules a retry with
// exponential backoff and jitter, until MaxAge after the session ended,
// when it is dropped. Each outcome is audited (and counted). It returns
// how many notifications it claimed.
//
// Delivery is at least once: an instance that dies after the POST but
// before recording it leaves the row to be claimed again when its lease
// ends; the jti (the row's id) is the same in every attempt, so a
// receiver can tell.
func (s *Server) DeliverBackchannelLogouts(ctx context.Context) (int, error) {
	now := s.now()
	batch, err := s.store.ClaimBackchannelLogouts(ctx, now, s.bcl.lease, s.bcl.cfg.Batch)
	if err != nil {
		return 0, err
	}
	for _, l := range batch {
		if err := s.deliverLogout(ctx, l); err != nil {
			return len(batch), err
		}
	}
	s.opts.Metrics.backchannelPending(ctx, s.store)
	return len(batch), nil
}

// deliverLogout makes one attempt; it returns only store errors.
func (s *Server) deliverLogout(ctx context.Context, l store.BackchannelLogout) error {
	attrs := []any{"client_id", l.ClientID, "sub", l.Subject, "sid", l.SID, "jti", l.ID}
	cause := s.postLogout(ctx, l)
	now := s.now()
	if cause == nil {
		err := s.store.FinishBackchannelLogout(ctx, l.ID, l.LeaseUntil)
		if errors.Is(err, store.ErrNotFound) {
			return nil // our lease ran out and another instance has it
		}
		if err != nil {
			return err
		}
		s.auditLog(ctx, eventBCLDelivered, append(attrs, "attempts", l.Attempts+1)...)
		return nil
	}
	if errors.As(cause, new(permanent)) {
		// Nothing to retry: the client is gone or no longer asks.
		return s.giveUp(ctx, l, attrs, cause)
	}
	next := now.Add(s.bcl.cfg.Jitter(s.bcl.backoff(l.Attempts + 1)))
	if next.Sub(l.CreatedAt) > s.bcl.cfg.MaxAge {
		return s.giveUp(ctx, l, attrs, cause)
	}
	msg := cause.Error()
	if len(msg) > maxLastError {
		msg = msg[:maxLastError]
	}
	err := s.store.RetryBackchannelLogout(ctx, l.ID, l.LeaseUntil, next, msg)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.auditLog(ctx, eventBCLFailed, append(attrs, "attempt", l.Attempts+1, "error", msg, "next_attempt_at", next.UTC())...)
	return nil
}

func (s *Server) giveUp(ctx context.Context, l store.BackchannelLogout, attrs []any, cause error) error {
	err := s.store.FinishBackchannelLogout(ctx, l.ID, l.LeaseUntil)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	s.auditLog(ctx, eventBCLGaveUp, append(attrs, "attempts", l.Attempts+1, "error", cause.Error())...)
	return nil
}

// permanent marks a failure that no retry can fix.
type permanent struct{ error }

// postLogout signs the Logout Token and POSTs it (§2.5). A nil error
// means the client answered 200 or 204 (§2.8).
func (s *Server) postLogout(ctx context.Context, l store.BackchannelLogout) error {
	c, err := s.store.GetClient(ctx, l.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		return permanent{errors.New("the client was deleted")}
	}
	if err != nil {
		return err
	}
	// The current registration decides where the token goes: an
	// operator who fixes a wrong URI fixes the pending retries too.
	uri := c.BackchannelLogoutURI
	if uri == "" {
		return permanent{errors.New("the client no longer has a backchannel_logout_uri")}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return permanent{fmt.Errorf("backchannel_logout_uri is malformed: %w", err)}
	}
	// Registration allows http only for loopback hosts; it is sent only
	// by latch dev, so a production server never posts a token in clear.
	if u.Scheme != "https" && !(s.bcl.dev && u.Scheme == "http" && oauth.IsLoopbackHost(u.Hostname())) {
		return permanent{fmt.Errorf("backchannel_logout_uri %q: only https is delivered (http to loopback only in dev mode)", uri)}
	}
	alg := c.IDTokenAlg // §2.4: signed as the client's ID tokens are
	if alg == "" || !s.keys.Supports(alg) {
		alg = ""
	}
	now := s.now()
	raw, err := s.keys.Sign(ctx, alg, token.TypeLogoutToken, token.LogoutClaims{
		Issuer: s.issuer, Audience: c.ID, IssuedAt: now.Unix(), ExpiresAt: now.Add(logoutTokenTTL).Unix(),
		JTI: l.ID, Subject: l.Subject, SID: l.SID, Events: token.NewLogoutEvents(),
	})
	if err != nil {
		return fmt.Errorf("signing the logout token: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, s.bcl.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, uri, strings.NewReader(url.Values{"logout_token": {raw}}.Encode()))
	if err != nil {
		return permanent{err}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := s.bcl.client.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	// §2.8: 200 OK; 204 is what some frameworks answer instead.
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusNoContent {
		return fmt.Errorf("the client answered %s", resp.Status)
	}
	return nil
}

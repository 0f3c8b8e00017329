package grant

import (
	"context"
	"errors"
	"net/netip"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// AuthenticatedClient is a client that passed client authentication
// (RFC 6749 §2.3). Only Authenticate makes one: its field is unexported,
// and the zero value is refused by every grant, so holding one proves
// the step ran (zitadel's ClientRequest[T] idea).
type AuthenticatedClient struct {
	c *store.Client
}

// Client returns the registration of the authenticated client.
func (a AuthenticatedClient) Client() store.Client {
	if a.c == nil {
		return store.Client{}
	}
	return *a.c
}

// client returns the registration, or an error for the zero value.
func (a AuthenticatedClient) client() (store.Client, error) {
	if a.c == nil {
		return store.Client{}, ErrBadClient.WithCause(errors.New("grant reached without client authentication"))
	}
	return *a.c, nil
}

// ErrBadClient is the one answer to every client authentication failure
// (invalid_client, RFC 6749 §5.2); callers add the cause with WithCause.
var ErrBadClient = oauth.Errorf(oauth.InvalidClient, "client authentication failed")

// Authenticate is the client authentication step of every endpoint that
// takes client credentials, and must never be skipped (RFC 6749 §2.3,
// §3.2.1). Public clients authenticate with their id alone (method
// none); confidential clients must present their secret by
// client_secret_basic or client_secret_post. ip is the client's address,
// for the throttle.
//
// Requests that present a secret are throttled: the attempt is reserved
// against the client_id's and the client IP's budgets before the secret
// is checked, so no burst checks more secrets than the budgets allow; a
// spent budget or a lockout is answered 429 slow_down without checking
// the secret. A right secret releases its reservation. Requests without
// a secret have nothing to guess and are not throttled (the
// public-client hot path stays query-free).
func (e *Engine) Authenticate(ctx context.Context, ip netip.Addr, cred oauth.ClientCredentials) (AuthenticatedClient, error) {
	if cred.Method == oauth.AuthNone || e.throttle == nil {
		return e.checkClientCredentials(ctx, cred)
	}
	// The fast path (issue 13): a right secret on an instance that has
	// seen no recent failure for this client or address is answered
	// without a store write (at most one read a second per instance, see
	// the server's quietView). A wrong secret is never answered here: it
	// marks the client and address suspect, in the same step as the
	// comparison, and goes on to the reserved path below, which counts it
	// across instances. So a secret is checked without a reservation at
	// most once per instance and quiet period (the first guess), never
	// after a failure this instance has seen (the throttle's invariant in
	// internal/server/throttle.go).
	if c, err := e.store.GetClient(ctx, cred.ID); err == nil {
		var judged error
		if e.throttle.CheckQuietly(ctx, cred.ID, ip, func() bool {
			judged = judgeClientCredentials(c, cred)
			return judged == nil
		}) {
			return AuthenticatedClient{c: &c}, nil
		}
	}
	a, wait, err := e.throttle.Reserve(ctx, cred.ID, ip)
	if err != nil {
		return AuthenticatedClient{}, err
	}
	if a == nil {
		e.audit(ctx, "client_auth_throttled", "client_id", cred.ID)
		return AuthenticatedClient{}, errClientThrottled(wait)
	}
	c, err := e.checkClientCredentials(ctx, cred)
	if oe, ok := oauth.As(err); ok && oe.Code == oauth.InvalidClient {
		wait, ferr := a.Failed(ctx)
		if ferr != nil {
			return AuthenticatedClient{}, ferr
		}
		if wait > 0 {
			e.audit(ctx, "client_locked_out", "client_id", cred.ID, "lockout_seconds", RetryAfter(wait))
		}
		return AuthenticatedClient{}, err
	}
	if err != nil {
		// Not an answer about the secret (the store failed, the deadline
		// passed): nothing was learnt, so nothing counts.
		return AuthenticatedClient{}, errors.Join(err, a.Abandoned(ctx))
	}
	if rerr := a.Succeeded(ctx); rerr != nil {
		return AuthenticatedClient{}, rerr
	}
	return c, nil
}

// checkClientCredentials checks cred against the registration. Secrets
// are compared as SHA-256 hashes in constant time: they are 256-bit random
// values, so a slow password hash would add nothing but latency.
func (e *Engine) checkClientCredentials(ctx context.Context, cred oauth.ClientCredentials) (AuthenticatedClient, error) {
	c, err := e.store.GetClient(ctx, cred.ID)
	if errors.Is(err, store.ErrNotFound) {
		return AuthenticatedClient{}, ErrBadClient.WithCause(errors.New("unknown client"))
	}
	if err != nil {
		return AuthenticatedClient{}, err
	}
	if err := judgeClientCredentials(c, cred); err != nil {
		return AuthenticatedClient{}, err
	}
	return AuthenticatedClient{c: &c}, nil
}

// judgeClientCredentials checks cred against the registration c and
// reads nothing else: nil when they match, ErrBadClient otherwise.
func judgeClientCredentials(c store.Client, cred oauth.ClientCredentials) error {
	if c.Public {
		if cred.Method != oauth.AuthNone {
			return ErrBadClient.WithCause(errors.New("public client presented a secret"))
		}
		return nil
	}
	if cred.Method == oauth.AuthNone || c.SecretHash == "" {
		return ErrBadClient.WithCause(errors.New("confidential client without secret"))
	}
	if !token.EqualHash(token.Hash(cred.Secret), c.SecretHash) {
		return ErrBadClient.WithCause(errors.New("wrong client secret"))
	}
	return nil
}

// errClientThrottled is the answer to a client locked out after failed
// authentications: 429 with Retry-After.
func errClientThrottled(wait time.Duration) *oauth.Error {
	e := oauth.Errorf(oauth.SlowDown, "too many failed client authentication attempts; retry later")
	e.RetryAfter = RetryAfter(wait)
	return e
}

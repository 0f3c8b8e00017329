package grant

import (
	"context"
	"errors"
	"fmt"
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
// client_secret_basic or client_secret_post, or, when registered for
// private_key_jwt, a signed assertion (RFC 7523 §2.2; see
// checkClientAssertion). ip is the client's address, for the throttle.
//
// Requests that present a secret are throttled: the attempt is reserved
// against the client_id's and the client IP's budgets before the secret
// is checked, so no burst checks more secrets than the budgets allow; a
// spent budget or a lockout is answered 429 slow_down without checking
// the secret. A right secret releases its reservation. Requests without
// a secret have nothing to guess and are not throttled (the
// public-client hot path stays query-free). Neither are assertions: a
// signature cannot be guessed, and each one's jti is single-use.
func (e *Engine) Authenticate(ctx context.Context, ip netip.Addr, cred oauth.ClientCredentials) (AuthenticatedClient, error) {
	if cred.Method == oauth.AuthPrivateKeyJWT {
		return e.checkClientAssertion(ctx, cred)
	}
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
	if c.AuthMethod == string(oauth.AuthPrivateKeyJWT) {
		return oauth.Errorf(oauth.InvalidClient,
			"this client is registered for private_key_jwt: authenticate with client_assertion_type=%s and a signed client_assertion", oauth.ClientAssertionTypeJWT).
			WithCause(fmt.Errorf("private_key_jwt client presented %s", cred.Method))
	}
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
	return SlowDown(wait, "too many failed client authentication attempts; retry later")
}

// SlowDown is a throttled request's answer: slow_down (429) with
// Retry-After wait, rounded as RetryAfter does, and desc.
func SlowDown(wait time.Duration, desc string) *oauth.Error {
	e := oauth.Errorf(oauth.SlowDown, "%s", desc)
	e.RetryAfter = RetryAfter(wait)
	return e
}

// checkClientAssertion is private_key_jwt client authentication (RFC 7523
// §2.2, §3; OIDC Core §9): the client is looked up by client_id or, when
// the request has none, by the assertion's unverified sub (a lookup key
// only); it must be registered for private_key_jwt; the assertion must
// verify with one of its keys and satisfy token.VerifyClientAssertion
// (iss = sub = client_id, aud = the issuer alone, exp at most five
// minutes ahead, jti present); and its jti is recorded in the store until
// the assertion expires, so it is accepted once across every instance
// (RFC 7523 §3 item 7). The jti is recorded last, so a refused assertion
// burns nothing. A fetched key set lacking the assertion's key is
// refreshed once (token.ErrAssertionKeyUnknown), for key rotation.
//
// Descriptions are specific once the signature verified (only the key
// holder learns what else is wrong); before that, they say only what a
// developer can check without leaking more than that the client exists.
func (e *Engine) checkClientAssertion(ctx context.Context, cred oauth.ClientCredentials) (AuthenticatedClient, error) {
	id := cred.ID
	if id == "" {
		sub, err := token.UnverifiedAssertionSubject(cred.Assertion)
		if err != nil {
			return AuthenticatedClient{}, assertionError(err)
		}
		id = sub
	}
	c, err := e.store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return AuthenticatedClient{}, ErrBadClient.WithCause(errors.New("unknown client"))
	}
	if err != nil {
		return AuthenticatedClient{}, err
	}
	if c.AuthMethod != string(oauth.AuthPrivateKeyJWT) {
		return AuthenticatedClient{}, oauth.Errorf(oauth.InvalidClient,
			"this client is not registered for private_key_jwt: register jwks or jwks_uri with token_endpoint_auth_method private_key_jwt, or use its registered method").
			WithCause(errors.New("client assertion from a client without keys"))
	}
	keys, err := e.clientKeys(ctx, c, false)
	if err != nil {
		return AuthenticatedClient{}, errClientKeys(err)
	}
	check := token.ClientAssertionCheck{ClientID: c.ID, Issuer: e.issuer, Now: e.now()}
	a, err := token.VerifyClientAssertion(cred.Assertion, keys, check)
	if errors.Is(err, token.ErrAssertionKeyUnknown) && c.JWKSURI != "" {
		if keys, kerr := e.clientKeys(ctx, c, true); kerr == nil {
			a, err = token.VerifyClientAssertion(cred.Assertion, keys, check)
		}
	}
	if err != nil {
		return AuthenticatedClient{}, assertionError(err)
	}
	if err := e.store.UseOnce(ctx, "client_assertion:"+c.ID+":"+a.JTI, a.Expires); err != nil {
		if errors.Is(err, store.ErrAlreadyExists) {
			e.audit(ctx, "client_assertion_replayed", "client_id", c.ID)
			return AuthenticatedClient{}, oauth.Errorf(oauth.InvalidClient,
				"this client_assertion was used before: sign a new assertion with a fresh jti for every request (RFC 7523 section 3)").WithCause(err)
		}
		return AuthenticatedClient{}, err
	}
	return AuthenticatedClient{c: &c}, nil
}

func (e *Engine) clientKeys(ctx context.Context, c store.Client, refresh bool) (*token.ClientKeySet, error) {
	if e.keys == nil {
		if c.JWKS == "" {
			return nil, errors.New("jwks_uri is not supported by this server")
		}
		return token.ParseClientJWKS([]byte(c.JWKS))
	}
	return e.keys.Keys(ctx, c, refresh)
}

// assertionError is invalid_client with the assertion's fixed reason.
func assertionError(err error) *oauth.Error {
	var ae *token.ClientAssertionError
	if errors.As(err, &ae) {
		return oauth.Errorf(oauth.InvalidClient, "%s", ae.Reason).WithCause(err)
	}
	return ErrBadClient.WithCause(err)
}

// errClientKeys is invalid_client for a key set that could not be had:
// the registered jwks is malformed, or the jwks_uri could not be fetched.
// The cause (URL, status) goes to the log only.
func errClientKeys(err error) *oauth.Error {
	return oauth.Errorf(oauth.InvalidClient,
		"the client's public keys could not be loaded: its jwks_uri must answer 200 with a JWK Set of public keys over https, without redirects").WithCause(err)
}

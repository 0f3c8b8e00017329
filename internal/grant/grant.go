package grant

import (
	"context"
	"errors"
	"math"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// MaxAccessTokenTTL bounds every access token lifetime, so a retired key
// can leave the JWKS once its retired TTL has passed (the definition is
// registration's; configuration and registration refuse longer values).
const MaxAccessTokenTTL = registration.MaxAccessTokenTTL

// Signer signs tokens; *token.Keys is one.
type Signer interface {
	Sign(ctx context.Context, alg, typ string, claims any) (string, error)
	Supports(alg string) bool
	DefaultAlg() string
}

// AuditFunc records one audit event. Attributes name clients and
// subjects, never a token, code, secret or password.
type AuditFunc func(ctx context.Context, event string, attrs ...any)

// ClientThrottle guards client secrets against guessing (the server's
// throttle): Reserve reserves one check of clientID's secret from ip, or
// refuses it (nil attempt) with how long until a retry may succeed.
type ClientThrottle interface {
	Reserve(ctx context.Context, clientID string, ip netip.Addr) (ClientAttempt, time.Duration, error)
	// CheckQuietly is the fast path for a right secret: when this
	// instance knows of no recent failure or lockout for clientID or ip
	// (it may read the store, never write it), it runs
	// check (an in-memory comparison) and reports its result; a false
	// check marks clientID and ip as suspect, atomically with the check,
	// so that every later attempt takes Reserve's path. It reports false
	// without running check when they are suspect already. A false
	// answer tells the caller nothing: it must then Reserve.
	CheckQuietly(ctx context.Context, clientID string, ip netip.Addr, check func() bool) bool
}

// ClientAttempt is a reservation made by ClientThrottle.Reserve; exactly
// one of its methods is called once the attempt is over.
type ClientAttempt interface {
	// Failed reports a wrong secret; it returns the lockout it started,
	// zero when the budgets still have room.
	Failed(ctx context.Context) (time.Duration, error)
	// Succeeded reports a right secret: the reservation is released.
	Succeeded(ctx context.Context) error
	// Abandoned reports that the secret was never judged (the store
	// failed, the deadline passed): the reservation is released, since
	// the attempt told the caller nothing.
	Abandoned(ctx context.Context) error
}

// Lifetimes are the configured token lifetimes; a client's registration
// may override the access-token and refresh lifetimes (see the lifetime
// rules in lifetimes.go).
type Lifetimes struct {
	AccessToken                 time.Duration
	IDToken                     time.Duration
	PublicRefreshIdle           time.Duration
	PublicRefreshAbsolute       time.Duration
	ConfidentialRefreshIdle     time.Duration
	ConfidentialRefreshAbsolute time.Duration
}

// Config is everything an Engine uses; New reads nothing else.
type Config struct {
	Issuer    string      // absolute URL; a trailing slash is dropped
	Store     store.Store // codes, grants, refresh tokens, clients, users
	Signer    Signer      // access and ID tokens
	Chain     *token.Chain
	Lifetimes Lifetimes
	Now       func() time.Time // defaults to time.Now
	Audit     AuditFunc        // nil records nothing
	// Throttle guards client secrets; nil checks every secret presented
	// (tests only: a server always sets it).
	Throttle ClientThrottle
	// ClientKeys finds private_key_jwt clients' keys (internal/clientkeys);
	// nil reads inline jwks only.
	ClientKeys ClientKeySource
}

// ClientKeySource returns a private_key_jwt client's public keys: its
// inline jwks or its jwks_uri's set. refresh asks for a fresh copy of a
// fetched set (an assertion named a key the cached one lacks).
type ClientKeySource interface {
	Keys(ctx context.Context, c store.Client, refresh bool) (*token.ClientKeySet, error)
}

// Engine runs client authentication and the grants. It holds no
// per-request state and is safe for concurrent use.
type Engine struct {
	issuer    string
	store     store.Store
	signer    Signer
	chain     *token.Chain
	lifetimes Lifetimes
	now       func() time.Time
	audit     AuditFunc
	throttle  ClientThrottle
	keys      ClientKeySource
}

// New checks cfg and returns an Engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Store == nil || cfg.Signer == nil || cfg.Chain == nil {
		return nil, errors.New("grant: Store, Signer and Chain are required")
	}
	if cfg.Issuer == "" {
		return nil, errors.New("grant: Issuer is required")
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Audit == nil {
		cfg.Audit = func(context.Context, string, ...any) {}
	}
	return &Engine{
		issuer: strings.TrimSuffix(cfg.Issuer, "/"), store: cfg.Store, signer: cfg.Signer,
		chain: cfg.Chain, lifetimes: cfg.Lifetimes, now: cfg.Now, audit: cfg.Audit, throttle: cfg.Throttle,
		keys: cfg.ClientKeys,
	}, nil
}

// Response is the successful token response (RFC 6749 §5.1, OIDC Core
// §3.1.3.3).
type Response struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// Token runs the grant treq names for the authenticated client c. proof
// is the request's DPoP proof, already validated and recorded by the
// caller (RFC 9449 §4.3), or nil. A client registered with RequireDPoP
// gets nothing without one.
func (e *Engine) Token(ctx context.Context, c AuthenticatedClient, treq *oauth.TokenRequest, proof *token.DPoPProof) (*Response, error) {
	cl, err := c.client()
	if err != nil {
		return nil, err
	}
	if proof == nil && cl.RequireDPoP {
		return nil, errDPoPRequired
	}
	switch treq.GrantType {
	case oauth.GrantAuthorizationCode:
		return e.exchangeCode(ctx, cl, treq, proof)
	case oauth.GrantRefreshToken:
		return e.refresh(ctx, cl, treq, proof)
	case oauth.GrantClientCredentials:
		return e.clientCredentials(ctx, cl, treq, proof)
	case oauth.GrantDeviceCode:
		return e.deviceToken(ctx, cl, treq, proof)
	}
	return nil, oauth.Errorf(oauth.UnsupportedGrantType, "unsupported grant_type")
}

// RetryAfter is a Retry-After value (RFC 9110 §10.2.3) in whole seconds,
// rounded up, so a client that waits that long is never early.
func RetryAfter(d time.Duration) int {
	return int(min(math.Ceil(d.Seconds()), math.MaxInt32))
}

// jktOf is the key thumbprint of a proof, "" for none.
func jktOf(p *token.DPoPProof) string {
	if p == nil {
		return ""
	}
	return p.JKT
}

// errDPoPRequired answers a RequireDPoP client's request without a proof.
var errDPoPRequired = oauth.Errorf(oauth.InvalidDPoPProof, "this client must present a DPoP proof (RFC 9449)")

// errDPoPKeyMismatch answers a code or refresh token bound to a DPoP key
// presented without a proof by that key.
var errDPoPKeyMismatch = oauth.Errorf(oauth.InvalidGrant, "the grant is bound to a DPoP key: present a DPoP proof signed with that key")

func contains(list []string, v string) bool { return slices.Contains(list, v) }

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/clientkeys"
	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/passkey"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// Options are everything a Server needs; New takes them by value and never
// reads globals. They hold the settings the server reads and the keys and
// sealers already derived (internal/app): never the key-encryption secret
// or the whole configuration.
type Options struct {
	// Issuer is the absolute URL of this authorization server.
	Issuer string
	// Dev shows the details of refused authorization requests on the
	// error page (latch dev).
	Dev bool
	// Lifetimes of the tokens the grants issue.
	Lifetimes grant.Lifetimes
	// CodeTTL, SessionTTL: lifetimes of authorization codes and browser
	// sessions. HSTSMaxAge is the Strict-Transport-Security max-age sent
	// when the issuer is https.
	CodeTTL, SessionTTL, HSTSMaxAge time.Duration
	// ChallengeReplayWindow is how long a client's code_challenge and
	// nonce values are remembered to detect reuse (fresh.go); zero: the
	// code lifetime.
	ChallengeReplayWindow time.Duration
	// TrustedProxies are CIDRs whose X-Forwarded-For/Proto are believed.
	TrustedProxies []string
	// Throttle are the brute-force thresholds (throttle.go).
	Throttle ThrottleLimits
	// RequirePAR makes /authorize accept only pushed authorization
	// requests (RFC 9126 §5), from every client.
	RequirePAR bool
	// DPoPNonceKey is the HMAC key of server DPoP nonces (RFC 9449 §8),
	// the same on every instance; nil: proofs need no nonce.
	DPoPNonceKey []byte

	Store     store.Store
	Keys      *token.Keys
	UI        *ui.UI
	Passwords *password.Hasher
	// Interaction seals the login/consent/logout state carried in forms.
	Interaction Sealer
	// Factors seals second-factor secrets (TOTP keys) at rest; nil
	// turns TOTP enrolment off. RecoveryKey is the HMAC key of recovery
	// code hashes (mfa.HashRecoveryCode).
	Factors     Sealer
	RecoveryKey []byte
	// Upstreams opens upstream client secrets sealed at rest
	// (federation.go); nil: only upstreams without a secret work.
	Upstreams Sealer
	// UpstreamClient makes the requests to upstream OpenID Providers
	// (discovery, JWKS, token); nil: a client with a 10-second timeout
	// that follows no redirects.
	UpstreamClient *http.Client
	// AuthPolicy is the server-wide authentication policy (config
	// authentication-policy): registration.PolicyPassword ("" too),
	// PolicySecondFactor or PolicyPasskey. A client's stricter policy
	// wins.
	AuthPolicy string
	// Passkeys is the WebAuthn relying party (passkey.go); nil turns
	// passkeys off (an issuer on an IP address).
	Passkeys *passkey.RP
	// Refresh derives refresh token successors (grace window).
	Refresh *token.Chain
	Logger  *slog.Logger // operational log
	Audit   *slog.Logger // audit events; defaults to Logger
	Now     func() time.Time
	// ClientDocuments fetches client ID metadata documents (client_id
	// URLs, cimd.go); nil: none are accepted and discovery does not
	// advertise them.
	ClientDocuments *cimd.Fetcher
	// Registration is dynamic client registration (register.go); the
	// zero value is off.
	Registration Registration
	// Extra routes mounted on the public mux (dev-mode playground, examples).
	Extra map[string]http.Handler
	// Metrics records request, token, login and store metrics; nil
	// records nothing (see NewMetrics).
	Metrics *Metrics
	// Overload bounds the requests handled at once and their deadline
	// (overload.go).
	Overload Overload
	// Unavailable reports whether an error of Store means the database
	// cannot answer right now (unreachable, timed out, out of connections,
	// disk full, locked): such failures are answered 503 with Retry-After
	// instead of 500 (overload.go). Nil: only deadlines count.
	Unavailable func(error) bool
	// ClientKeys finds private_key_jwt clients' keys; nil: a
	// clientkeys.Source whose fetcher takes https jwks_uris only (and
	// http to loopback hosts with Dev).
	ClientKeys grant.ClientKeySource
	// Backchannel tunes back-channel logout delivery (backchannel.go).
	Backchannel Backchannel
}

// Sealer seals state the server hands to browsers (internal/seal.Sealer).
type Sealer interface {
	Seal(plaintext, additionalData []byte) []byte
	Open(sealed, additionalData []byte) ([]byte, error)
}

// Server is Latch's HTTP front: every public endpoint.
type Server struct {
	opts    Options
	issuer  string
	secure  bool // issuer is https: cookies get Secure
	store   store.Store
	keys    *token.Keys
	ui      *ui.UI
	log     *slog.Logger
	audit   *slog.Logger
	now     func() time.Time
	handler http.Handler
	origins *originCache
	proxies trustedProxies // config trusted-proxies, parsed
	// throttle counts authentication failures (throttle.go); nonces
	// issues DPoP nonces, nil unless config dpop-nonce (dpop.go).
	throttle *throttle
	nonces   *dpopNonces
	// admitAPI and admitPages bound the requests handled at once, API
	// and browser pages apart (overload.go).
	admitAPI, admitPages *admission
	// grants authenticates clients and runs the token endpoint's grants.
	grants *grant.Engine
	// bcl delivers back-channel logouts (backchannel.go).
	bcl *backchannel
	// fedClient calls upstream OpenID Providers and fedProviders
	// caches their discovery (federation.go).
	fedClient    *http.Client
	fedProviders providers
}

// New validates opts and builds the routes.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Keys == nil || opts.UI == nil || opts.Passwords == nil || opts.Interaction == nil || opts.Refresh == nil {
		return nil, errors.New("server: Store, Keys, UI, Passwords, Interaction and Refresh are required")
	}
	if err := registration.CheckPolicy(opts.AuthPolicy); err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	u, err := url.Parse(opts.Issuer)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return nil, errors.New("server: Issuer must be an absolute URL")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Audit == nil {
		opts.Audit = opts.Logger
	}
	// Every line logged with a request's context carries its request_id.
	opts.Logger = withRequestID(opts.Logger)
	opts.Audit = withRequestID(opts.Audit)
	if opts.Now == nil {
		opts.Now = time.Now
	}
	// Client registrations are cached for clientCacheTTL (clientcache.go):
	// the token, introspection and authorization endpoints read no client
	// row per request.
	opts.Store = newClientCache(opts.Store, opts.Now, clientCacheTTL)
	s := &Server{
		opts:   opts,
		issuer: strings.TrimSuffix(opts.Issuer, "/"),
		secure: u.Scheme == "https",
		store:  opts.Store,
		keys:   opts.Keys,
		ui:     opts.UI,
		log:    opts.Logger,
		audit:  opts.Audit,
		now:    opts.Now,
	}
	if s.proxies, err = parseTrustedProxies(opts.TrustedProxies); err != nil {
		return nil, err
	}
	if s.throttle, err = newThrottle(opts.Store, opts.Now, opts.Throttle, opts.Overload.RequestTimeout); err != nil {
		return nil, err
	}
	s.nonces = newDPoPNonces(opts.DPoPNonceKey)
	if opts.ClientKeys == nil {
		opts.ClientKeys = clientkeys.New(clientkeys.Config{
			Fetcher: clientkeys.NewHTTPFetcher(clientkeys.HTTPOptions{AllowLoopbackHTTP: opts.Dev}),
			Now:     opts.Now,
		})
	}
	s.bcl = newBackchannel(opts.Backchannel, opts.Dev)
	s.fedClient = &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse // an upstream's endpoints are its discovery's, never a redirect's
	}}
	s.grants, err = grant.New(grant.Config{
		Issuer: s.issuer, Store: opts.Store, Signer: opts.Keys, Chain: opts.Refresh, Now: opts.Now,
		Audit: s.auditLog, Throttle: clientThrottle{s.throttle, newQuietView(opts.Store, opts.Now, opts.Throttle.Window)}, Lifetimes: opts.Lifetimes,
		ClientKeys: opts.ClientKeys,
	})
	if err != nil {
		return nil, err
	}
	if err := opts.Overload.validate(); err != nil {
		return nil, err
	}
	s.admitAPI, s.admitPages = newAdmission(opts.Overload), newAdmission(opts.Overload)
	s.origins = &originCache{store: opts.Store, now: opts.Now, ttl: 5 * time.Second}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

// url returns the absolute URL of a path on this issuer.
func (s *Server) url(path string) string { return s.issuer + path }

// basePath is the path prefix of the issuer ("" for a host-only issuer).
func (s *Server) basePath() string {
	u, _ := url.Parse(s.issuer)
	return strings.TrimSuffix(u.Path, "/")
}

// originCache knows which clients registered each origin: for CORS
// preflights (which do not say which client is asking: any client's
// origin passes) and for narrowing an answer to the client a request
// names (allowedFor). Reloaded at most every ttl.
type originCache struct {
	store  store.Store
	now    func() time.Time
	ttl    time.Duration
	mu     sync.Mutex
	loaded time.Time
	set    map[string]map[string]bool // origin → client IDs
}

// allowed reports whether any client registered origin.
func (c *originCache) allowed(r *http.Request, origin string) bool {
	return len(c.clients(r, origin)) > 0
}

// allowedFor reports whether the client clientID registered origin.
func (c *originCache) allowedFor(r *http.Request, origin, clientID string) bool {
	return c.clients(r, origin)[clientID]
}

// originMissRefresh is how soon after a load an origin the cache does not
// know may trigger another load: a client registered a moment ago (by
// another instance, or the CLI) is served within about a second, while
// requests from unknown origins cost at most one query per second.
const originMissRefresh = time.Second

func (c *originCache) clients(r *http.Request, origin string) map[string]bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	stale := c.set == nil || now.Sub(c.loaded) > c.ttl || now.Before(c.loaded)
	if missed := c.set != nil && c.set[origin] == nil && now.Sub(c.loaded) >= originMissRefresh; stale || missed {
		clients, err := c.store.ListClients(r.Context())
		if err != nil {
			return c.set[origin]
		}
		set := make(map[string]map[string]bool)
		for _, cl := range clients {
			for _, o := range cl.AllowedOrigins {
				if set[o] == nil {
					set[o] = make(map[string]bool)
				}
				set[o][cl.ID] = true
			}
		}
		c.set, c.loaded = set, now
	}
	return c.set[origin]
}

func (c *originCache) invalidate() {
	c.mu.Lock()
	c.set = nil
	c.mu.Unlock()
}

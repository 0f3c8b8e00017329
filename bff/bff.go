package bff

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
)

// ClientAuth is how the BFF authenticates to the token and revocation
// endpoints (RFC 6749 §2.3, OIDC Core §9).
type ClientAuth string

const (
	ClientSecretBasic ClientAuth = "client_secret_basic" // RFC 6749 §2.3.1, the default
	ClientSecretPost  ClientAuth = "client_secret_post"  // RFC 6749 §2.3.1, form parameters
	PrivateKeyJWT     ClientAuth = "private_key_jwt"     // RFC 7523 §2.2; needs Config.ClientAssertion
)

// Upstream is one API the proxy forwards to: a request whose path starts
// with Prefix goes to URL + the path (the prefix kept). Nothing else is
// forwarded: the allow-list is the list of upstreams.
type Upstream struct {
	Prefix string // e.g. "/api/"; must start and end with "/"
	URL    string // e.g. "https://api.example.com"; http(s), no query
}

// Cookies configures the session cookie (RFC 10017 §6.1.3.2, RFC 6265bis).
type Cookies struct {
	// Name of the session cookie. Empty: "bff_session". Under https it is
	// prefixed "__Host-" (Secure, Path=/, no Domain: a sibling subdomain
	// cannot set or shadow it).
	Name string
	// HostHTTPPrefix uses "__Host-Http-" instead of "__Host-" under https:
	// browsers that know the prefix also refuse a cookie of that name set
	// by a script (document.cookie), so even an XSS cannot plant one.
	// Only set it when your users' browsers support the prefix.
	HostHTTPPrefix bool
	// SameSite of the session cookie. Zero: Strict (RFC 10017 §6.1.3.2
	// SHOULD): the browser never sends it on a request another site
	// starts, not even a top-level navigation. The app's page still gets
	// it on its own fetches, which is all a BFF-backed single-page app
	// needs. Lax sends it on cross-site top-level GET navigations too:
	// choose it only when the server renders signed-in pages that users
	// reach from links on other sites. The login cookie is always Lax: the
	// callback is a cross-site top-level navigation.
	SameSite http.SameSite
}

// CSRF configures the defence against cross-site requests riding on the
// session cookie (RFC 10017 §6.1.3.3). Every guarded request (POST
// /logout, every proxied request) must carry the custom header and, when
// the browser sends Origin or Sec-Fetch-Site, come from an allowed origin.
type CSRF struct {
	// Header is the custom request header required on every guarded
	// request; any non-empty value will do, since another origin cannot
	// send a custom header without a CORS preflight this BFF never
	// grants. Empty: "X-Requested-With" (axios' and jQuery's convention).
	Header string
	// DoubleSubmit switches to Angular's convention instead: the BFF sets a
	// script-readable XSRF-TOKEN cookie (a MAC of the session) and a
	// state-changing request must echo it in X-XSRF-TOKEN. Angular's
	// HttpClient sends the header on mutating requests only, so GET and
	// HEAD are then guarded by the Origin check alone.
	DoubleSubmit bool
	// CookieName and HeaderName of the double-submit pair. Empty:
	// "XSRF-TOKEN" and "X-XSRF-TOKEN" (Angular's defaults).
	CookieName, HeaderName string
	// AllowedOrigins besides BaseURL's origin (e.g. a dev server on another
	// port). Exact origins, "scheme://host[:port]".
	AllowedOrigins []string
}

// DPoP makes proofs for DPoP-bound tokens (RFC 9449). When set, every
// token request carries a proof (the access token then comes back bound)
// and every proxied request carries "Authorization: DPoP" and a proof with
// the access token's hash (ath, RFC 9449 §4.2).
type DPoP interface {
	// Proof returns a DPoP proof JWT for method and url (htm, htu), with
	// ath when accessToken is not empty and nonce when not empty.
	Proof(ctx context.Context, method, url, accessToken, nonce string) (string, error)
}

// Config configures a BFF. Issuer, ClientID, the client's credential,
// BaseURL and CookieKey are required.
type Config struct {
	// Issuer is Latch's issuer URL; endpoints come from its discovery
	// document (OIDC Discovery 1.0 §4).
	Issuer string
	// ClientID of this confidential client (RFC 10017 §6.1.1: a BFF is a
	// confidential client).
	ClientID string
	// ClientAuth: the token endpoint authentication method. Empty:
	// client_secret_basic.
	ClientAuth ClientAuth
	// ClientSecret for client_secret_basic and client_secret_post.
	ClientSecret string
	// ClientAssertion signs the client assertion for private_key_jwt
	// (RFC 7523 §3): a JWT with iss = sub = ClientID and aud = audience
	// (the issuer), a fresh jti and a short exp. See PrivateKeyAssertion.
	ClientAssertion func(ctx context.Context, audience string) (string, error)
	// Scopes requested. Empty: openid profile email offline_access.
	Scopes []string
	// Resources are the RFC 8707 resource indicators sent with the
	// authorization and token requests (the audiences of the access token).
	Resources []string
	// BaseURL is this BFF's public URL, e.g. "https://app.example.com".
	// The redirect URI is BaseURL + "/callback" and the post-logout
	// redirect URI BaseURL + "/". With https, cookies are Secure and
	// prefixed (__Host-).
	BaseURL string
	// Upstreams is the proxy's allow-list.
	Upstreams []Upstream
	// Sessions stores the sessions. Nil: a MemoryStore (one instance).
	Sessions SessionStore
	// CookieKey (32 bytes) seals the login cookie and the tokens in the
	// session store (AES-256-GCM), and keys the XSRF token. Every
	// instance sharing a store must have the same key.
	CookieKey []byte
	Cookies   Cookies
	CSRF      CSRF
	// DPoP, when set, binds the tokens to a key (RFC 9449).
	DPoP DPoP
	// IdleTimeout ends a session unused for this long; SessionTTL ends it
	// this long after sign-in whatever happens. Zero: 1 hour and 8 hours.
	IdleTimeout, SessionTTL time.Duration
	// RefreshMargin: the access token is refreshed when it expires within
	// this. Zero: 30 seconds.
	RefreshMargin time.Duration
	// HTTPClient calls Latch and the upstreams. Nil: http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger gets errors and sign-ins, never a token. Nil: discard.
	Logger *slog.Logger
}

// Defaults for Config's zero values.
const (
	DefaultIdleTimeout   = time.Hour
	DefaultSessionTTL    = 8 * time.Hour
	DefaultRefreshMargin = 30 * time.Second
	// loginTTL bounds a sign-in: the login cookie is good for this long.
	loginTTL = 10 * time.Minute
	// leaseTTL bounds one refresh: an instance that dies mid-refresh
	// blocks the others no longer than this.
	leaseTTL = 15 * time.Second
	// maxProxyBody caps a request body the BFF forwards.
	maxProxyBody = 1 << 20
	// touchEvery: LastSeen is written at most this often per session.
	touchEvery = time.Minute
)

// BFF is the backend-for-frontend; it is an http.Handler serving
//
//	GET  /login               start a sign-in
//	GET  /callback            finish it
//	GET  /me                  the user's claims (never a token)
//	POST /logout              end the session here and at Latch
//	POST /backchannel-logout  Latch ends sessions (OIDC Back-Channel Logout 1.0)
//	*    <upstream prefixes>  the API proxy
//
// Mount it at the root of the app's origin beside the app's own pages.
type BFF struct {
	cfg         Config
	ep          endpoints
	verifier    *oidc.IDTokenVerifier
	keys        *oidc.RemoteKeySet
	algs        []string
	aead        cipher.AEAD
	secure      bool
	origins     map[string]bool
	upstreams   []upstream
	store       SessionStore
	client      *http.Client
	log         *slog.Logger
	now         func() time.Time
	handler     http.Handler
	issRequired bool
	lastSweep   atomic.Int64 // unix seconds of the last DeleteExpired
}

// endpoints are the parts of discovery the BFF uses.
type endpoints struct {
	Authorization string   `json:"authorization_endpoint"`
	Token         string   `json:"token_endpoint"`
	EndSession    string   `json:"end_session_endpoint"`
	Revocation    string   `json:"revocation_endpoint"`
	JWKS          string   `json:"jwks_uri"`
	ISSResponse   bool     `json:"authorization_response_iss_parameter_supported"`
	SigningAlgs   []string `json:"id_token_signing_alg_values_supported"`
}

//go:embed error.html
var static embed.FS

var errorPage = template.Must(template.ParseFS(static, "error.html"))

// New validates cfg, discovers the issuer's endpoints and returns a BFF.
func New(ctx context.Context, cfg Config) (*BFF, error) {
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(cfg.CookieKey)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	b := &BFF{cfg: cfg, aead: aead, store: cfg.Sessions, client: cfg.HTTPClient, log: cfg.Logger, now: cfg.Now,
		secure: strings.HasPrefix(cfg.BaseURL, "https://"), origins: map[string]bool{origin(cfg.BaseURL): true}}
	for _, o := range cfg.CSRF.AllowedOrigins {
		b.origins[strings.TrimSuffix(o, "/")] = true
	}
	for _, u := range cfg.Upstreams {
		up, err := newUpstream(u)
		if err != nil {
			return nil, err
		}
		b.upstreams = append(b.upstreams, up)
	}
	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, b.client), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("bff: discovery: %w", err)
	}
	if err := provider.Claims(&b.ep); err != nil {
		return nil, fmt.Errorf("bff: discovery: %w", err)
	}
	if b.ep.Token == "" || b.ep.Authorization == "" || b.ep.JWKS == "" {
		return nil, errors.New("bff: discovery: no authorization, token or jwks endpoint")
	}
	b.issRequired = b.ep.ISSResponse
	b.algs = b.ep.SigningAlgs
	if len(b.algs) == 0 {
		b.algs = []string{oidc.RS256}
	}
	// The key set outlives New's ctx: it refetches the JWKS when a token
	// names an unknown key (rotation).
	b.keys = oidc.NewRemoteKeySet(oidc.ClientContext(context.WithoutCancel(ctx), b.client), b.ep.JWKS)
	b.verifier = oidc.NewVerifier(cfg.Issuer, b.keys, &oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now, SupportedSigningAlgs: b.algs})
	b.handler = b.routes()
	return b, nil
}

// fill checks cfg and sets its defaults.
func (cfg *Config) fill() error {
	var missing []string
	for name, v := range map[string]string{"Issuer": cfg.Issuer, "ClientID": cfg.ClientID, "BaseURL": cfg.BaseURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("bff: missing %s", strings.Join(missing, ", "))
	}
	switch cfg.ClientAuth {
	case "":
		cfg.ClientAuth = ClientSecretBasic
		fallthrough
	case ClientSecretBasic, ClientSecretPost:
		if cfg.ClientSecret == "" {
			return fmt.Errorf("bff: ClientSecret is required for %s", cfg.ClientAuth)
		}
	case PrivateKeyJWT:
		if cfg.ClientAssertion == nil {
			return errors.New("bff: ClientAssertion is required for private_key_jwt")
		}
	default:
		return fmt.Errorf("bff: unknown ClientAuth %q", cfg.ClientAuth)
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" || base.RawQuery != "" || strings.Trim(base.Path, "/") != "" {
		return fmt.Errorf("bff: BaseURL %q is not an http(s) origin", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	if len(cfg.CookieKey) != 32 {
		return fmt.Errorf("bff: CookieKey must be 32 bytes, got %d", len(cfg.CookieKey))
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	}
	if cfg.Sessions == nil {
		cfg.Sessions = NewMemoryStore()
	}
	if cfg.Cookies.Name == "" {
		cfg.Cookies.Name = "bff_session"
	}
	if cfg.Cookies.SameSite == 0 || cfg.Cookies.SameSite == http.SameSiteDefaultMode {
		cfg.Cookies.SameSite = http.SameSiteStrictMode
	}
	if cfg.Cookies.SameSite == http.SameSiteNoneMode {
		return errors.New("bff: Cookies.SameSite None would send the session cookie on cross-site requests")
	}
	if cfg.CSRF.Header == "" {
		cfg.CSRF.Header = "X-Requested-With"
	}
	if cfg.CSRF.CookieName == "" {
		cfg.CSRF.CookieName = "XSRF-TOKEN"
	}
	if cfg.CSRF.HeaderName == "" {
		cfg.CSRF.HeaderName = "X-XSRF-TOKEN"
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	if cfg.RefreshMargin <= 0 {
		cfg.RefreshMargin = DefaultRefreshMargin
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = http.DefaultClient
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// NewCookieKey returns a random 32-byte CookieKey.
func NewCookieKey() []byte {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand, Go 1.24+)
	return k
}

func (b *BFF) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.handler.ServeHTTP(w, r) }

// routes lists every route. Guarded routes (csrf) are the ones a
// cross-site page could otherwise trigger with the user's cookie.
func (b *BFF) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", b.handleLogin)
	mux.HandleFunc("GET /callback", b.handleCallback)
	mux.HandleFunc("GET /me", b.handleMe)
	mux.Handle("POST /logout", b.csrf(http.HandlerFunc(b.handleLogout), true))
	// Server to server, from Latch: no cookie, so no CSRF guard.
	mux.HandleFunc("POST /backchannel-logout", b.handleBackchannelLogout)
	for _, up := range b.upstreams {
		mux.Handle(up.prefix, b.csrf(b.proxyHandler(up), false))
	}
	return b.headers(mux)
}

// headers sets the security headers of every response the BFF writes.
func (b *BFF) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// The callback URL carries the code: no Referer (RFC 9700 §4.2.4).
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

// fail renders the error page (for navigations: login, callback). message
// is shown as is: never put an error's text from elsewhere into it.
func (b *BFF) fail(w http.ResponseWriter, status int, title, message string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The app's own stylesheet and same-origin fetches; no script.
	h.Set("Content-Security-Policy", "default-src 'self'; script-src 'none'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, struct{ Title, Message string }{title, message})
}

// sweep deletes expired sessions and jtis, at most once a minute per
// instance; errors are logged, never the request's concern.
func (b *BFF) sweep(ctx context.Context) {
	now := b.now()
	last := b.lastSweep.Load()
	if now.Unix()-last < 60 || !b.lastSweep.CompareAndSwap(last, now.Unix()) {
		return
	}
	if err := b.store.DeleteExpired(ctx, now, now.Add(-b.cfg.IdleTimeout)); err != nil {
		b.log.WarnContext(ctx, "deleting expired sessions", "error", err)
	}
}

// jsonError answers an API-style request (XHR/fetch) with a JSON error.
func jsonError(w http.ResponseWriter, status int, code, description string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": description})
}

func origin(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return ""
	}
	return p.Scheme + "://" + p.Host
}

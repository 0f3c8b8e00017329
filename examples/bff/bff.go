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
	"net/http/httputil"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Config configures a BFF.
type Config struct {
	// Issuer is Latch's issuer URL; endpoints come from its discovery
	// document (OIDC Discovery 1.0 §4).
	Issuer string
	// ClientID and ClientSecret of this confidential client. The secret
	// authenticates the code exchange (client_secret_basic); PKCE is used
	// as well (RFC 9700 §2.1.1: PKCE for confidential clients too).
	ClientID, ClientSecret string
	// BaseURL is this BFF's public URL, e.g. "http://localhost:3002". The
	// redirect URI is BaseURL + "/callback", the post-logout redirect URI
	// BaseURL + "/". With https, cookies are Secure and carry the __Host-
	// and __Secure- prefixes.
	BaseURL string
	// APIURL is the API proxied under /api/: a request for /api/x goes to
	// APIURL + "/api/x" with the user's access token.
	APIURL string
	// Scopes requested. Empty: openid profile email offline_access.
	Scopes []string
	// CookieKey seals the login cookie (AES-256-GCM): 32 bytes. Every
	// instance behind a load balancer must share it, so any instance can
	// open a login cookie another one sealed. Empty: a random key, good
	// for one instance until it restarts.
	CookieKey []byte
	// SessionTTL is how long a session lasts, at most. Zero: 8 hours.
	SessionTTL time.Duration
	// HTTPClient calls Latch (discovery, keys, token, revocation) and the
	// API. Nil: http.DefaultClient.
	HTTPClient *http.Client
	// Now is the clock. Nil: time.Now.
	Now func() time.Time
	// Logger gets errors and sign-ins (never tokens). Nil: discard.
	Logger *slog.Logger
}

// Defaults for Config's zero values.
const (
	DefaultSessionTTL = 8 * time.Hour
	// loginTTL bounds a sign-in: the login cookie (and its state, verifier
	// and nonce) is good for this long.
	loginTTL = 10 * time.Minute
	// refreshMargin: the access token is refreshed when it expires within
	// this, so a proxied request never carries a token about to lapse.
	refreshMargin = 30 * time.Second
	// maxProxyBody caps a request body the BFF forwards to the API.
	maxProxyBody = 1 << 20
)

// BFF is the backend-for-frontend; it is an http.Handler.
type BFF struct {
	cfg                    Config
	oauth                  *oauth2.Config
	verifier               *oidc.IDTokenVerifier
	endSession, revocation string
	issRequired            bool // discovery says Latch sends iss in authorization responses
	aead                   cipher.AEAD
	secure                 bool // BaseURL is https
	sessions               *sessions
	proxy                  *httputil.ReverseProxy
	api                    *url.URL
	client                 *http.Client
	log                    *slog.Logger
	now                    func() time.Time
	handler                http.Handler
}

//go:embed static
var static embed.FS

var errorPage = template.Must(template.ParseFS(static, "static/error.html"))

// New discovers the issuer's endpoints and returns a BFF. It fails when
// the configuration is incomplete or discovery fails.
func New(ctx context.Context, cfg Config) (*BFF, error) {
	var missing []string
	for name, v := range map[string]string{"Issuer": cfg.Issuer, "ClientID": cfg.ClientID, "ClientSecret": cfg.ClientSecret, "BaseURL": cfg.BaseURL, "APIURL": cfg.APIURL} {
		if v == "" {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("bff: missing %s", strings.Join(missing, ", "))
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("bff: BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	cfg.BaseURL = strings.TrimSuffix(cfg.BaseURL, "/")
	api, err := url.Parse(cfg.APIURL)
	if err != nil || (api.Scheme != "http" && api.Scheme != "https") || api.Host == "" {
		return nil, fmt.Errorf("bff: APIURL %q is not an http(s) URL", cfg.APIURL)
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{oidc.ScopeOpenID, "profile", "email", oidc.ScopeOfflineAccess}
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
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
	key := cfg.CookieKey
	if len(key) == 0 {
		key = make([]byte, 32)
		rand.Read(key) // never fails (crypto/rand, Go 1.24+)
	}
	if len(key) != 32 {
		return nil, fmt.Errorf("bff: CookieKey must be 32 bytes, got %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}

	provider, err := oidc.NewProvider(oidc.ClientContext(ctx, cfg.HTTPClient), cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("bff: discovery: %w", err)
	}
	var md struct {
		EndSession  string `json:"end_session_endpoint"`
		Revocation  string `json:"revocation_endpoint"`
		ISSResponse bool   `json:"authorization_response_iss_parameter_supported"`
	}
	if err := provider.Claims(&md); err != nil {
		return nil, fmt.Errorf("bff: discovery: %w", err)
	}
	endpoint := provider.Endpoint()
	endpoint.AuthStyle = oauth2.AuthStyleInHeader // client_secret_basic (RFC 6749 §2.3.1)

	b := &BFF{
		cfg: cfg,
		oauth: &oauth2.Config{
			ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, Endpoint: endpoint,
			RedirectURL: cfg.BaseURL + "/callback", Scopes: cfg.Scopes,
		},
		verifier:    provider.Verifier(&oidc.Config{ClientID: cfg.ClientID, Now: cfg.Now}),
		endSession:  md.EndSession,
		revocation:  md.Revocation,
		issRequired: md.ISSResponse,
		aead:        aead,
		secure:      base.Scheme == "https",
		sessions:    newSessions(),
		api:         api,
		client:      cfg.HTTPClient,
		log:         cfg.Logger,
		now:         cfg.Now,
	}
	b.proxy = b.newProxy()
	b.handler = b.routes()
	return b, nil
}

func (b *BFF) ServeHTTP(w http.ResponseWriter, r *http.Request) { b.handler.ServeHTTP(w, r) }

// routes lists every route. The state-changing browser route (logout)
// and the API proxy are guarded against cross-origin requests: the
// session cookie rides along with any request the browser makes to this
// origin, so the BFF must tell its own page's requests from another
// site's (draft-ietf-oauth-browser-based-apps §6.1.3.2).
func (b *BFF) routes() http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.fail(w, http.StatusForbidden, "Cross-origin request refused",
			"This request came from another site. Use the buttons on this application's own page.")
	}))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", b.static("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", b.static("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", b.static("app.css", "text/css; charset=utf-8"))
	mux.HandleFunc("GET /login", b.handleLogin)
	mux.HandleFunc("GET /callback", b.handleCallback)
	mux.HandleFunc("GET /me", b.handleMe)
	mux.Handle("POST /logout", cop.Handler(http.HandlerFunc(b.handleLogout)))
	mux.Handle("/api/", cop.Handler(http.HandlerFunc(b.handleProxy)))
	return b.headers(mux)
}

// headers sets the security headers of every response.
func (b *BFF) headers(next http.Handler) http.Handler {
	// The logout form posts here and is redirected to Latch: browsers
	// apply form-action to that redirect too, so Latch's origin is listed.
	formAction := "'self'"
	if u, err := url.Parse(b.endSession); err == nil && u.Host != "" {
		formAction += " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		// The callback URL carries the code: no Referer (RFC 9700 §4.2.4).
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (b *BFF) static(name, contentType string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		body, err := static.ReadFile("static/" + name)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", contentType)
		w.Header().Set("Cache-Control", "no-cache")
		w.Write(body)
	}
}

// fail renders the error page. message is shown to the user as is: never
// put an error's text from elsewhere into it.
func (b *BFF) fail(w http.ResponseWriter, status int, title, message string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = errorPage.Execute(w, struct{ Title, Message string }{title, message})
}

// httpContext carries the BFF's HTTP client to x/oauth2 and go-oidc.
func (b *BFF) httpContext(ctx context.Context) context.Context {
	return oidc.ClientContext(context.WithValue(ctx, oauth2.HTTPClient, b.client), b.client)
}

var errNoSession = errors.New("bff: no session")

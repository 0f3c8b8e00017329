package server

import (
	"net/http"

	"github.com/latchauth/latch/internal/ui"
)

// Paths of every endpoint, relative to the issuer.
const (
	pathDiscovery     = "/.well-known/openid-configuration"
	pathASMetadata    = "/.well-known/oauth-authorization-server"
	pathJWKS          = "/jwks.json"
	pathAuthorize     = "/authorize"
	pathLogin         = "/login"
	pathLoginCode     = "/login/code"
	pathLoginPasskey  = "/login/passkey"
	pathAccount       = "/account"
	pathReset         = "/account/reset"
	pathConsent       = "/consent"
	pathToken         = "/token"
	pathUserinfo      = "/userinfo"
	pathRevoke        = "/revoke"
	pathIntrospect    = "/introspect"
	pathPAR           = "/par"
	pathDeviceAuth    = "/device_authorization" // RFC 8628 §3.1
	pathDevice        = "/device"               // RFC 8628 §3.3: verification_uri
	pathLogout        = "/logout"
	pathLogoutConfirm = "/logout/confirm"
	pathRegister      = "/register"
	pathStatic        = ui.StaticPrefix
	get, post, option = http.MethodGet, http.MethodPost, http.MethodOptions
)

// routes is every public route on one screen. Browser routes render HTML
// and are guarded against cross-origin form posts; API routes speak JSON
// and answer CORS for registered origins.
func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	p := s.basePath()

	// Public documents: anyone may read them, from any origin.
	mux.Handle(p+pathDiscovery, s.cors(corsAny, "GET", s.methods([]string{get, option}, s.api(s.handleDiscovery))))
	mux.Handle(p+pathASMetadata, s.cors(corsAny, "GET", s.methods([]string{get, option}, s.api(s.handleDiscovery))))
	if p != "" {
		// An issuer with a path (https://host/tenant): RFC 8414 §3 inserts
		// the well-known suffix between host and path, and OIDC clients
		// that follow it (the MCP authorization spec tries both) look for
		// OpenID configuration the same way; the appended forms above stay
		// for OIDC Discovery §4. Every form serves the one document.
		mux.Handle(pathASMetadata+p, s.cors(corsAny, "GET", s.methods([]string{get, option}, s.api(s.handleDiscovery))))
		mux.Handle(pathDiscovery+p, s.cors(corsAny, "GET", s.methods([]string{get, option}, s.api(s.handleDiscovery))))
	}
	mux.Handle(p+pathJWKS, s.cors(corsAny, "GET", s.methods([]string{get, option}, s.api(s.handleJWKS))))

	// Browser routes (HTML; errors are pages or validated redirects).
	// The authorization endpoint takes POST from the RP's pages
	// (OIDC Core §3.1.2.1), so it is not guarded: an authorization request
	// changes nothing by itself, and Latch's own forms post elsewhere.
	mux.Handle(p+pathAuthorize, s.page(s.handleAuthorize))
	mux.Handle(p+pathLogin, s.browser(s.page(s.handleLogin)))
	mux.Handle(p+pathLoginCode, s.browser(s.page(s.handleLoginCode)))
	// Federation (federation.go): a link from the login page, and the
	// upstream's redirect back (a cross-site GET by design).
	mux.Handle(p+pathUpstreamStart, s.methods([]string{get}, s.page(s.handleUpstreamStart)))
	mux.Handle(p+pathUpstreamCallback, s.methods([]string{get}, s.page(s.handleUpstreamCallback)))
	mux.Handle(p+pathLoginPasskey, s.browser(s.page(s.handleLoginPasskey)))
	mux.Handle(p+pathAccount, s.browser(s.page(s.handleAccount)))
	mux.Handle(p+pathReset, s.browser(s.page(s.handleReset)))
	mux.Handle(p+pathConsent, s.browser(s.page(s.handleConsent)))
	// end_session_endpoint: RPs may POST to it cross-origin (RP-Initiated
	// Logout §2), so only its confirmation form is guarded.
	mux.Handle(p+pathLogout, s.page(s.handleLogout))
	mux.Handle(p+pathLogoutConfirm, s.browser(s.page(s.handleLogoutConfirm)))
	// The device verification page (RFC 8628 §3.3): GET shows the form,
	// POST enters, approves or denies a user code.
	mux.Handle(p+pathDevice, s.browser(s.page(s.handleDevice)))
	mux.Handle(p+pathStatic, http.StripPrefix(p, s.ui.Static()))

	// API routes (JSON; RFC 6749 §5.2 errors, CORS for registered origins).
	mux.Handle(p+pathToken, s.cors(corsRegistered, "POST", s.methods([]string{post, option}, s.api(s.handleToken))))
	mux.Handle(p+pathPAR, s.cors(corsRegistered, "POST", s.methods([]string{post, option}, s.api(s.handlePAR))))
	mux.Handle(p+pathDeviceAuth, s.cors(corsRegistered, "POST", s.methods([]string{post, option}, s.api(s.handleDeviceAuthorization))))
	mux.Handle(p+pathRevoke, s.cors(corsRegistered, "POST", s.methods([]string{post, option}, s.api(s.handleRevoke))))
	mux.Handle(p+pathIntrospect, s.methods([]string{post}, s.api(s.handleIntrospect)))
	mux.Handle(p+pathUserinfo, s.cors(corsRegistered, "GET, POST", s.methods([]string{get, post, option}, s.bearer(s.handleUserinfo))))

	// Dynamic client registration (RFC 7591, RFC 7592; register.go),
	// only when enabled. Bearer-token routes: no cookies, so no CSRF.
	if s.opts.Registration.enabled() {
		// Any origin may register (browser-based MCP clients do): the
		// request carries no cookie, only the body and a bearer token.
		mux.Handle(p+pathRegister, s.cors(corsAny, "POST", s.methods([]string{post, option}, s.bearer(s.handleRegister))))
		mux.Handle("GET "+p+pathRegister+"/{client_id}", s.bearer(s.handleRegistrationRead))
		mux.Handle("PUT "+p+pathRegister+"/{client_id}", s.bearer(s.handleRegistrationUpdate))
		mux.Handle("DELETE "+p+pathRegister+"/{client_id}", s.bearer(s.handleRegistrationDelete))
	}

	for pattern, h := range s.opts.Extra {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", s.page(func(w http.ResponseWriter, r *http.Request) error {
		return errNotFound
	}))
	return s.accessLog(s.instrument(s.common(mux)))
}

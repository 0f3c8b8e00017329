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
	pathLogout        = "/logout"
	pathLogoutConfirm = "/logout/confirm"
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
	mux.Handle(p+pathLoginPasskey, s.browser(s.page(s.handleLoginPasskey)))
	mux.Handle(p+pathAccount, s.browser(s.page(s.handleAccount)))
	mux.Handle(p+pathReset, s.browser(s.page(s.handleReset)))
	mux.Handle(p+pathConsent, s.browser(s.page(s.handleConsent)))
	// end_session_endpoint: RPs may POST to it cross-origin (RP-Initiated
	// Logout §2), so only its confirmation form is guarded.
	mux.Handle(p+pathLogout, s.page(s.handleLogout))
	mux.Handle(p+pathLogoutConfirm, s.browser(s.page(s.handleLogoutConfirm)))
	mux.Handle(p+pathStatic, http.StripPrefix(p, s.ui.Static()))

	// API routes (JSON; RFC 6749 §5.2 errors, CORS for registered origins).
	mux.Handle(p+pathToken, s.cors(corsRegistered, "POST", s.methods([]string{post, option}, s.api(s.handleToken))))
	mux.Handle(p+pathPAR, s.cors(corsRegistered, "POST", s.methods([]string{post, option}, s.api(s.handlePAR))))
	mux.Handle(p+pathRevoke, s.cors(corsRegistered, "POST", s.methods([]string{post, option}, s.api(s.handleRevoke))))
	mux.Handle(p+pathIntrospect, s.methods([]string{post}, s.api(s.handleIntrospect)))
	mux.Handle(p+pathUserinfo, s.cors(corsRegistered, "GET, POST", s.methods([]string{get, post, option}, s.bearer(s.handleUserinfo))))

	for pattern, h := range s.opts.Extra {
		mux.Handle(pattern, h)
	}
	mux.Handle("/", s.page(func(w http.ResponseWriter, r *http.Request) error {
		return errNotFound
	}))
	return s.accessLog(s.instrument(s.common(mux)))
}

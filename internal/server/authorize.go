package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// authRequest is an authorization request whose client and redirect URI
// have been validated: from here on, errors may be redirected.
type authRequest struct {
	req    *oauth.AuthorizeRequest
	client store.Client
	to     *oauth.Redirect
}

// handleAuthorize is the authorization endpoint (RFC 6749 §3.1, OIDC Core
// §3.1.2). GET and POST are both accepted (OIDC Core §3.1.2.1).
func (s *Server) handleAuthorize(w http.ResponseWriter, r *http.Request) error {
	var q url.Values
	var err error
	switch r.Method {
	case http.MethodGet:
		if q, err = parseQuery(r, "authorization"); err != nil {
			return err
		}
	case http.MethodPost:
		if q, err = parsePostForm(r); err != nil {
			return err
		}
	default:
		return oauth.Errorf(oauth.InvalidRequest, "the authorization endpoint accepts GET and POST only")
	}
	// RFC 9126 §4: a pushed request is redeemed (once) and replaces the
	// query; §5, §6: a client or server that requires pushing refuses
	// anything else.
	pushed := len(q["request_uri"]) > 0
	if pushed {
		if q, err = s.redeemPushed(r.Context(), q); err != nil {
			return err
		}
	}
	ar, err := s.resolveAuthorize(r, q)
	if err != nil {
		return err
	}
	if !pushed && (s.opts.RequirePAR || ar.client.RequirePAR) {
		return &redirectError{to: ar.to, err: errPARRequired}
	}
	sess, user, err := s.currentSession(r)
	if err != nil {
		return err
	}
	return s.continueAuthorize(w, r, ar, sess, user, interaction{Kind: kindAuthorize})
}

const (
	kindAuthorize = "authorize"
	kindLogout    = "logout"
)

// resolveAuthorize parses and validates an authorization request. Errors
// about client_id or redirect_uri are returned as page errors; every
// other error is a *redirectError to the validated redirect URI.
func (s *Server) resolveAuthorize(r *http.Request, q url.Values) (*authRequest, error) {
	req, perr := oauth.ParseAuthorizeRequest(q)
	if req == nil {
		return nil, &authorizePageError{
			err: asOAuth(perr), clientID: clip(q.Get("client_id")), redirectURI: clip(q.Get("redirect_uri")), uiLocales: clip(q.Get("ui_locales")),
			plain: msgInvalidAuthorizeRequest,
			fix:   "Send client_id and redirect_uri once each, as valid values (redirect_uri an absolute URI without a fragment).",
		}
	}
	client, err := s.authorizeClient(r.Context(), req)
	if errors.Is(err, store.ErrNotFound) {
		uri := req.RedirectURI
		if uri == "" {
			uri = "URI"
		}
		return nil, &authorizePageError{
			err:      oauth.Errorf(oauth.InvalidRequest, "unknown client_id: the application is not registered with this server"),
			clientID: req.ClientID, redirectURI: req.RedirectURI, uiLocales: req.UILocales, plain: msgUnknownClient,
			fix: fmt.Sprintf("No client %q is registered: check the app's client_id, or register it, e.g. latch client create --id %s --public --redirect-uri %s (--confidential for a server-side app)",
				req.ClientID, req.ClientID, uri),
		}
	}
	if err != nil {
		return nil, err
	}
	to, err := oauth.CheckRedirect(client.RedirectURIs, req, s.issuer)
	if err != nil {
		return nil, &authorizePageError{
			err: asOAuth(err), clientID: client.ID, redirectURI: req.RedirectURI, uiLocales: req.UILocales,
			registered: client.RedirectURIs, plain: msgBadRedirectURI, fix: redirectFix(client, req.RedirectURI),
		}
	}
	ar := &authRequest{req: req, client: client, to: to}
	if perr != nil {
		return nil, &redirectError{to: to, err: asOAuth(perr)}
	}
	if err := s.checkAuthorizeRequest(ar); err != nil {
		return nil, &redirectError{to: to, err: err}
	}
	return ar, nil
}

// checkAuthorizeRequest applies the client's registration to the request.
func (s *Server) checkAuthorizeRequest(ar *authRequest) *oauth.Error {
	req, c := ar.req, ar.client
	if !registration.HasGrant(c, oauth.GrantAuthorizationCode) {
		return oauth.Errorf(oauth.UnauthorizedClient, "the client is not registered for the authorization code grant")
	}
	// PKCE is mandatory for public clients (RFC 9700 §2.1.1, OAuth 2.1);
	// a confidential client that sends a challenge is held to it at the
	// token endpoint.
	if c.Public && req.CodeChallenge == "" {
		return oauth.Errorf(oauth.InvalidRequest, "code_challenge is required: public clients must use PKCE with code_challenge_method=S256")
	}
	// OIDC Core §3.1.2.1: redirect_uri is REQUIRED in OpenID requests
	// (plain OAuth may omit it when exactly one is registered).
	if req.RedirectURI == "" && oauth.HasScope(req.Scopes, oauth.ScopeOpenID) {
		return oauth.Errorf(oauth.InvalidRequest, "redirect_uri is required for OpenID Connect requests")
	}
	if !oauth.ScopeSubset(req.Scopes, allowedScopes(c)) {
		return oauth.Errorf(oauth.InvalidScope, "the requested scope is not allowed for this client")
	}
	for _, res := range req.Resources {
		if !contains(c.Audiences, res) && !s.openResource(c, res) {
			return oauth.Errorf(oauth.InvalidTarget, "the requested resource is not allowed for this client")
		}
	}
	return nil
}

// openResource reports whether res is one of the resources any
// self-registered client may ask for (Registration.Resources). An
// operator's client gets only its registered audiences. The token
// endpoint needs no twin of this check: the code and its grant carry the
// resources allowed here, and RFC 8707 §2.2 lets a later request only
// narrow them (grant.narrowAudience).
func (s *Server) openResource(c store.Client, res string) bool {
	return (c.Origin == store.OriginDCR || c.Origin == store.OriginCIMD) && contains(s.opts.Registration.Resources, res)
}

// continueAuthorize runs the interactive part of the flow: login when
// needed, consent when needed, then the code. in records what this
// interaction has already done (the user just signed in or consented).
func (s *Server) continueAuthorize(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *store.Session, user *store.User, in interaction) error {
	req := ar.req
	// why is the reason a sign-in is needed, as told to the client when
	// prompt=none forbids showing the login page; "" when none is needed.
	why := ""
	switch {
	case sess == nil:
		why = "the user is not signed in"
	case in.LoggedIn:
		// Signed in within this interaction: prompt, max_age and
		// login_hint are satisfied by that sign-in.
	case req.HasPrompt(oauth.PromptLogin) || req.HasPrompt(oauth.PromptSelectAccount):
		why = "the request asks the user to sign in again"
	// OIDC Core §3.1.2.1 max_age: re-authenticate when the last
	// authentication is older than max_age seconds (MaxAge is bounded by
	// oauth.MaxMaxAge, so the Duration cannot overflow).
	case req.MaxAge >= 0 && s.now().Sub(sess.AuthTime) > time.Duration(req.MaxAge)*time.Second:
		why = "the user's sign-in is older than max_age"
	// OIDC Core §3.1.2.1 login_hint: a session of another user does not
	// answer for the hinted one (prompt=none must not hand out a code
	// for the wrong account).
	case req.LoginHint != "" && !hintNames(req.LoginHint, user):
		why = "the signed-in user is not the one named by login_hint"
	}
	if why != "" {
		if req.HasPrompt(oauth.PromptNone) {
			return &redirectError{to: ar.to, err: oauth.Errorf(oauth.LoginRequired, "%s", why)}
		}
		return s.showLogin(w, r, ar, in, req.LoginHint, "", http.StatusOK)
	}
	// The sign-in must be strong enough for the request (acr, policies):
	// step up or unmet_authentication_requirements (mfa.go).
	if done, err := s.checkACR(w, r, ar, sess, user, in); done || err != nil {
		return err
	}
	if !ar.client.FirstParty {
		// A client from a metadata document is asked about every time:
		// its document (name, redirect URIs) may have changed since.
		need := (req.HasPrompt(oauth.PromptConsent) || ar.client.Origin == store.OriginCIMD) && !in.Consented
		if !need && !in.Consented {
			c, err := s.store.GetConsent(r.Context(), user.ID, ar.client.ID)
			switch {
			case errors.Is(err, store.ErrNotFound):
				need = true
			case err != nil:
				return err
			default:
				need = !oauth.ScopeSubset(req.Scopes, c.Scopes)
			}
		}
		if need {
			if req.HasPrompt(oauth.PromptNone) {
				return &redirectError{to: ar.to, err: oauth.Errorf(oauth.ConsentRequired, "the user has not consented to this client")}
			}
			return s.showConsent(w, r, ar, user, in)
		}
	}
	return s.issueCode(w, r, ar, sess)
}

// hintNames reports whether login_hint names u: its username, its sub, or
// (case-insensitively) its email address.
func hintNames(hint string, u *store.User) bool {
	return hint == u.Username || hint == u.ID || (u.Email != "" && strings.EqualFold(hint, u.Email))
}

// issueCode stores a fresh authorization code and sends it to the client.
func (s *Server) issueCode(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *store.Session) error {
	now := s.now()
	code := token.NewOpaque()
	req := ar.req
	c := store.AuthCode{
		Hash:                token.Hash(code),
		ClientID:            ar.client.ID,
		UserID:              sess.UserID,
		SessionID:           sess.SID, // public sid, never the cookie hash
		GrantID:             token.NewOpaque(),
		RedirectURI:         req.RedirectURI,
		Scopes:              req.Scopes,
		Audiences:           req.Resources,
		Nonce:               req.Nonce,
		CodeChallenge:       req.CodeChallenge,
		CodeChallengeMethod: req.CodeChallengeMethod,
		DPoPJKT:             req.DPoPJKT,
		AuthTime:            sess.AuthTime,
		AMR:                 sess.AMR,
		CreatedAt:           now,
		ExpiresAt:           now.Add(s.opts.CodeTTL),
	}
	// RFC 9700 §2.1.1: a code_challenge or nonce this client sent before
	// is reported, and refused for a client that requires fresh ones
	// (fresh.go); the values are recorded with the code, in one write.
	keys, kinds := freshKeys(ar)
	seen, err := s.store.CreateAuthCodeOnce(r.Context(), c, keys, s.freshUntil(now), ar.client.RequireFreshChallenge)
	if err != nil {
		return err
	}
	if err := s.reportReplays(r.Context(), ar, kinds, seen); err != nil {
		return err // refused: the store did not keep the code
	}
	s.respondAuthorize(w, r, ar.to, ar.to.Params(url.Values{"code": {code}}))
	return nil
}

// respondAuthorize delivers an authorization response (success or error)
// to a validated redirect URI in the request's response mode.
func (s *Server) respondAuthorize(w http.ResponseWriter, r *http.Request, to *oauth.Redirect, params url.Values) {
	if to.Mode() == oauth.ResponseModeFormPost {
		fields := make([]ui.Field, 0, len(params))
		for _, k := range sortedKeys(params) {
			fields = append(fields, ui.Field{Name: k, Value: params.Get(k)})
		}
		var buf strings.Builder
		if err := s.ui.RenderLang(&buf, s.pageLang(r, ""), ui.FormPostPage{Action: to.URI(), Fields: fields}); err != nil {
			s.writeRenderFailure(w, r, err)
			return
		}
		setPageHeaders(w.Header(), originOf(to.URI()))
		w.Header().Add("Vary", "Accept-Language")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(buf.String()))
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	status := http.StatusFound
	if r.Method == http.MethodPost {
		status = http.StatusSeeOther // the client's callback must be a GET
	}
	http.Redirect(w, r, to.Location(params), status)
}

func (s *Server) showLogin(w http.ResponseWriter, r *http.Request, ar *authRequest, in interaction, username, msg string, status int) error {
	in.Kind = kindAuthorize
	in.Query = ar.query()
	options, err := s.beginPasskeyLogin(&in)
	if err != nil {
		return err
	}
	sealed, err := s.sealInteraction(w, r, in)
	if err != nil {
		return err
	}
	locales := ""
	if ar != nil {
		locales = ar.req.UILocales
	}
	ups, err := s.upstreamButtons(w, r, in)
	if err != nil {
		return err
	}
	page := ui.LoginPage{
		Action: s.url(pathLogin), Interaction: sealed, ClientName: ar.clientName(),
		Username: username, Error: msg, PasskeyOptions: options, PasskeyRequired: in.PasskeyRequired && options != "",
	}
	if options != "" {
		page.PasskeyAction = s.url(pathLoginPasskey)
	}
	if !page.PasskeyRequired {
		page.Upstreams = ups // only a passkey will do: no other way in
	}
	s.renderLang(w, r, status, page, ar.target(), locales)
	return nil
}

// A nil *authRequest is a sign-in for the account page (in.Account) or
// for the device page (in.Device, device_verify.go): no client, no query,
// no redirect target.

func (ar *authRequest) clientID() string {
	if ar == nil {
		return ""
	}
	return ar.client.ID
}

func (ar *authRequest) clientName() string {
	if ar == nil {
		return ""
	}
	return clientName(ar.client)
}

func (ar *authRequest) query() url.Values {
	if ar == nil {
		return nil
	}
	return ar.req.Query()
}

// uiLocales is the request's ui_locales (OIDC Core §3.1.2.1), the first
// choice of the page language.
func (ar *authRequest) uiLocales() string {
	if ar == nil {
		return ""
	}
	return ar.req.UILocales
}

func (ar *authRequest) target() string {
	if ar == nil {
		return ""
	}
	return ar.to.URI()
}

func (s *Server) showConsent(w http.ResponseWriter, r *http.Request, ar *authRequest, user *store.User, in interaction) error {
	in.Kind = kindAuthorize
	in.Query = ar.req.Query()
	in.UserID = user.ID
	sealed, err := s.sealInteraction(w, r, in)
	if err != nil {
		return err
	}
	scopes := make([]ui.Scope, 0, len(ar.req.Scopes))
	for _, sc := range ar.req.Scopes {
		scopes = append(scopes, ui.Scope{Name: sc, Description: scopeDescription(sc)})
	}
	page := ui.ConsentPage{
		Action: s.url(pathConsent), Interaction: sealed, ClientName: clientName(ar.client),
		ClientID: ar.client.ID, Username: user.Username, Scopes: scopes,
	}
	// Nobody vetted a client that registered itself: show where the
	// user will be sent, and warn when that is only this computer.
	if ar.client.Origin != store.OriginOperator {
		page.RedirectHost = redirectHost(ar.to.URI())
		page.LocalhostOnly = cimd.OnlyLoopbackRedirects(ar.client)
	}
	s.renderLang(w, r, http.StatusOK, page, ar.to.URI(), ar.req.UILocales)
	return nil
}

func scopeDescription(scope string) string {
	switch scope {
	case oauth.ScopeOpenID:
		return "Sign you in and know who you are"
	case oauth.ScopeProfile:
		return "See your name and username"
	case oauth.ScopeEmail:
		return "See your email address"
	case oauth.ScopeOfflineAccess:
		return "Stay signed in when you are not using it"
	}
	return "" // the page says "Access SCOPE", translated
}

func clientName(c store.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.ID
}

// Plain messages of the authorization error page in production (the
// details are in the log under the page's request ID). Each has a
// translation in internal/ui/locales.
const (
	msgInvalidAuthorizeRequest = "The application sent an invalid sign-in request."
	msgUnknownClient           = "The application that sent you here is not registered with this server."
	msgBadRedirectURI          = "The application asked to send you back to an address it has not registered."
)

// authorizePageError is an authorization request refused before its
// client_id and redirect_uri were validated: it is shown on Latch's error
// page, never redirected (RFC 6749 §4.1.2.1). writeErrorPage shows the
// details only in development mode; in production, plain and the request
// ID, the details going to the log.
type authorizePageError struct {
	err         *oauth.Error
	clientID    string
	redirectURI string   // as received ("" when absent)
	registered  []string // the client's registered redirect URIs, if known
	plain       string   // the production message (English, translated on the page)
	fix         string   // the likely fix, for developers
	uiLocales   string   // the request's ui_locales, for the page language
}

func (e *authorizePageError) Error() string { return e.err.Error() }
func (e *authorizePageError) Unwrap() error { return e.err }

// clip bounds a request value echoed to the log or the dev error page.
func clip(s string) string {
	const maxEcho = 512
	if len(s) > maxEcho {
		return strings.ToValidUTF8(s[:maxEcho], "") + "…"
	}
	return s
}

// redirectFix says how to fix a redirect URI the client has not
// registered: fix the app, or register the URI (client update replaces
// the whole list, so the command lists the registered ones too).
func redirectFix(c store.Client, got string) string {
	if got == "" {
		return fmt.Sprintf("Send redirect_uri: client %s has %d redirect URIs registered, so Latch cannot pick one.", c.ID, len(c.RedirectURIs))
	}
	uris := append(slices.Clone(c.RedirectURIs), got)
	return fmt.Sprintf("The redirect_uri must equal a registered one exactly (only a loopback port may differ). Fix the app's redirect URI, or register it: latch client update %s --redirect-uri %s",
		c.ID, strings.Join(uris, ","))
}

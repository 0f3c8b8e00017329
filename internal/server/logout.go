package server

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/ui"
)

// logoutRequest is a validated RP-Initiated Logout request.
type logoutRequest struct {
	client      *store.Client // nil when neither client_id nor a hint named one
	redirectURI string        // validated post_logout_redirect_uri, or ""
	state       string
	hintSub     string // sub of a valid id_token_hint
	hintSID     string // sid of a valid id_token_hint ("" when it has none)
	// uiLocales is the request's ui_locales (RP-Initiated Logout 1.0 §2,
	// as in OIDC Core §3.1.2.1), clipped: the language of the logout
	// pages, carried through the confirmation in the interaction.
	uiLocales string
}

// logoutParams are the parameters of an RP-Initiated Logout request
// (OpenID Connect RP-Initiated Logout 1.0 §2); anything else is dropped
// when a POST is turned into a GET.
var logoutParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "logout_hint", "ui_locales"}

// handleLogout is the end_session_endpoint (OpenID Connect RP-Initiated
// Logout 1.0 §2). With a valid id_token_hint issued in the current
// session (its sid is this session's, its sub this user, its aud the
// client_id when one is given) it signs out at once; otherwise it asks
// the user to confirm (§3), so neither a cross-site link nor a hint
// left over from an ended session or another browser signs anyone out. post_logout_redirect_uri must
// match the client's registration exactly, else Latch shows its own page
// and never redirects.
//
// The route is not guarded against cross-origin POSTs: §2 lets the RP
// POST here from its own origin. Such a POST carries no SameSite=Lax
// cookie, so it is answered with a 303 to the same request as a GET (a
// top-level navigation, which does carry the session cookie). Neither
// method changes anything without a valid hint or the user's
// confirmation, which posts to pathLogoutConfirm, a guarded route.
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) error {
	var q url.Values
	var err error
	switch r.Method {
	case http.MethodGet:
		if q, err = parseQuery(r, "logout"); err != nil {
			return err
		}
	case http.MethodPost:
		if q, err = parsePostForm(r); err != nil {
			return err
		}
		get := url.Values{}
		for _, name := range logoutParams {
			v, err := formValue(q, name)
			if err != nil {
				return err
			}
			if v != "" {
				get.Set(name, v)
			}
		}
		u := s.url(pathLogout)
		if len(get) > 0 {
			u += "?" + get.Encode()
		}
		w.Header().Set("Cache-Control", "no-store")
		http.Redirect(w, r, u, http.StatusSeeOther)
		return nil
	default:
		return oauth.Errorf(oauth.InvalidRequest, "the logout endpoint accepts GET and POST only")
	}
	lr, err := s.parseLogout(r, q)
	if err != nil {
		return err
	}
	sess, user, err := s.currentSession(r)
	if err != nil {
		return err
	}
	if sess == nil {
		// Nobody is signed in here: nothing to end.
		return s.finishLogout(w, r, lr)
	}
	// The hint must come from this very session: a stale hint (a session
	// that already ended, or the same user's session in another browser)
	// carries another sid. A hint without sid (issued before sids
	// existed) never skips the confirmation.
	if lr.hintSID != "" && lr.hintSID == sess.SID && lr.hintSub == user.ID {
		return s.logout(w, r, lr, sess, user)
	}
	in := interaction{Kind: kindLogout, PostLogoutRedirectURI: lr.redirectURI, State: lr.state, UILocales: lr.uiLocales}
	name := ""
	if lr.client != nil {
		in.ClientID, name = lr.client.ID, clientName(*lr.client)
	}
	sealed, err := s.sealInteraction(w, r, in)
	if err != nil {
		return err
	}
	s.renderLang(w, r, http.StatusOK, ui.LogoutPage{Action: s.url(pathLogoutConfirm), Interaction: sealed, ClientName: name}, lr.redirectURI, lr.uiLocales)
	return nil
}

func (s *Server) parseLogout(r *http.Request, q url.Values) (*logoutRequest, error) {
	var vals [5]string
	for i, name := range []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state", "ui_locales"} {
		v, err := formValue(q, name)
		if err != nil {
			return nil, err
		}
		vals[i] = v
	}
	hint, clientID, redirectURI, state := vals[0], vals[1], vals[2], vals[3]
	ctx := r.Context()
	lr := &logoutRequest{state: state, uiLocales: clip(vals[4])}
	if hint != "" {
		claims, err := s.keys.ParseIDTokenHint(ctx, hint, s.issuer)
		if err != nil {
			return nil, oauth.Errorf(oauth.InvalidRequest, "the id_token_hint is not a valid ID token from this server").WithCause(err)
		}
		// §2: client_id, when given, must be the hint's audience.
		if clientID != "" && clientID != claims.Audience {
			return nil, oauth.Errorf(oauth.InvalidRequest, "client_id does not match the id_token_hint")
		}
		clientID, lr.hintSub, lr.hintSID = claims.Audience, claims.Subject, claims.SID
	}
	if clientID != "" {
		c, err := s.store.GetClient(ctx, clientID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, oauth.Errorf(oauth.InvalidRequest, "unknown client_id")
		}
		if err != nil {
			return nil, err
		}
		lr.client = &c
	}
	if redirectURI != "" {
		// Exact match only: an open redirect here would hand users to
		// any site under Latch's name (RFC 9700 §4.11).
		if lr.client == nil || !contains(lr.client.PostLogoutRedirectURIs, redirectURI) {
			return nil, oauth.Errorf(oauth.InvalidRequest, "post_logout_redirect_uri is not registered for this client")
		}
		lr.redirectURI = redirectURI
	}
	return lr, nil
}

// handleLogoutConfirm handles the user's answer on the logout page. The
// route refuses cross-origin posts, and the sealed interaction is bound to
// this browser's CSRF cookie.
func (s *Server) handleLogoutConfirm(w http.ResponseWriter, r *http.Request) error {
	in, decision, err := s.decisionForm(r, kindLogout, "the logout confirmation accepts POST only")
	if err != nil {
		return err
	}
	lr := &logoutRequest{redirectURI: in.PostLogoutRedirectURI, state: in.State, uiLocales: in.UILocales}
	if in.ClientID != "" {
		c, err := s.store.GetClient(r.Context(), in.ClientID)
		if err != nil {
			return oauth.Errorf(oauth.InvalidRequest, "unknown client_id").WithCause(err)
		}
		// Re-check: the registration may have changed since the page.
		if lr.redirectURI != "" && !contains(c.PostLogoutRedirectURIs, lr.redirectURI) {
			return oauth.Errorf(oauth.InvalidRequest, "post_logout_redirect_uri is not registered for this client")
		}
		lr.client = &c
	}
	if decision != "logout" {
		return s.finishLogout(w, r, lr)
	}
	sess, user, err := s.currentSession(r)
	if err != nil {
		return err
	}
	if user == nil {
		return s.finishLogout(w, r, lr)
	}
	return s.logout(w, r, lr, sess, user)
}

// logout ends the SSO session sess of user and revokes refresh tokens of
// the clients registered with revoke_refresh_on_logout: every grant of
// the user at the client that asked (reason "logout"), and the grants
// other such clients got in this session (reason "session_ended"). A
// client without the setting keeps its refresh tokens.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, lr *logoutRequest, sess *store.Session, user *store.User) error {
	ctx := r.Context()
	if err := s.endSession(ctx, w, r); err != nil {
		return err
	}
	now := s.now()
	clientID, revoked := "", 0
	if lr.client != nil {
		clientID = lr.client.ID
		if lr.client.RevokeRefreshOnLogout {
			n, err := s.store.RevokeUserGrants(ctx, user.ID, clientID, now, store.ReasonLogout)
			if err != nil {
				return err
			}
			revoked = n
		}
	}
	ended, err := s.store.RevokeSessionGrants(ctx, sess.SID, clientID, now, store.ReasonSessionEnded)
	if err != nil {
		return err
	}
	s.auditLog(ctx, "logout", "client_id", clientID, "sub", user.ID, "grants_revoked", revoked, "reason", store.ReasonLogout)
	if ended > 0 {
		s.auditLog(ctx, "session_grants_revoked", "sub", user.ID, "grants_revoked", ended, "reason", store.ReasonSessionEnded)
	}
	return s.finishLogout(w, r, lr)
}

func (s *Server) finishLogout(w http.ResponseWriter, r *http.Request, lr *logoutRequest) error {
	if lr.redirectURI == "" {
		s.renderLang(w, r, http.StatusOK, ui.LoggedOutPage{}, "", lr.uiLocales)
		return nil
	}
	u, err := url.Parse(lr.redirectURI)
	if err != nil {
		return oauth.Errorf(oauth.InvalidRequest, "post_logout_redirect_uri is malformed")
	}
	if lr.state != "" {
		q := u.Query()
		q.Set("state", lr.state)
		u.RawQuery = q.Encode()
	}
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
	return nil
}

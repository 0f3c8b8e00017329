package bff

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// profileClaims are the ID token claims the user endpoint returns.
var profileClaims = []string{"sub", "name", "preferred_username", "email", "email_verified", "auth_time", "locale"}

// handleMe is the user endpoint: the signed-in user's claims from the ID
// token, as JSON, and when the session ends; 401 without a session. Never
// a token (RFC 10017 §6.1.1: tokens stay in the BFF).
func (b *BFF) handleMe(w http.ResponseWriter, r *http.Request) {
	l, err := b.session(r.Context(), r)
	if err != nil {
		if !errors.Is(err, errNoSession) {
			b.log.WarnContext(r.Context(), "reading the session", "error", err)
			jsonError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the session store did not answer; retry")
			return
		}
		b.clearCookies(w)
		jsonError(w, http.StatusUnauthorized, "login_required", "no session: sign in at /login")
		return
	}
	out := map[string]any{}
	_ = json.Unmarshal(l.s.Claims, &out)
	out["session_expires"] = l.s.Expires.UTC().Format(time.RFC3339)
	b.setXSRFCookie(w, l.key, l.s.Expires.Sub(b.now()))
	writeJSON(w, http.StatusOK, out)
}

// handleLogout ends the session here and at Latch (RP-Initiated Logout
// 1.0): it deletes the session, clears the cookies, revokes the refresh
// token (RFC 7009) and answers {"logout_url": ...}: Latch's
// end_session_endpoint with id_token_hint, client_id and
// post_logout_redirect_uri, where the page sends the browser so that
// Latch ends its own session and comes back. A JSON answer, not a
// redirect, because the route is CSRF-guarded and so called by script
// (fetch cannot follow a cross-origin redirect for the page).
func (b *BFF) handleLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	b.clearCookies(w)
	back := b.cfg.BaseURL + "/"
	l, err := b.session(ctx, r)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]string{"logout_url": back})
		return
	}
	if err := b.store.DeleteSession(ctx, l.key); err != nil {
		b.log.ErrorContext(ctx, "deleting the session", "error", err)
		jsonError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "the session could not be ended; retry")
		return
	}
	if err := b.revoke(ctx, l.tok.RefreshToken); err != nil {
		b.log.WarnContext(ctx, "revoking the refresh token", "error", err)
	}
	u, err := url.Parse(b.ep.EndSession)
	if b.ep.EndSession == "" || err != nil {
		writeJSON(w, http.StatusOK, map[string]string{"logout_url": back})
		return
	}
	q := u.Query()
	q.Set("id_token_hint", l.tok.IDToken)
	q.Set("client_id", b.cfg.ClientID)
	q.Set("post_logout_redirect_uri", back)
	u.RawQuery = q.Encode()
	b.log.InfoContext(ctx, "signed out", "sub", l.s.Subject)
	writeJSON(w, http.StatusOK, map[string]string{"logout_url": u.String()})
}

// Back-channel logout (OpenID Connect Back-Channel Logout 1.0).
const (
	backchannelEvent = "http://schemas.openid.net/event/backchannel-logout" // §2.4
	logoutTokenType  = "logout+jwt"                                         // §2.4 (typ header)
	// maxLogoutTokenAge bounds iat: an older logout token is refused even
	// before its exp (§2.6 item 2 leaves the window to the RP).
	maxLogoutTokenAge = 10 * time.Minute
	clockSkew         = time.Minute
)

// handleBackchannelLogout receives a logout token from Latch (§2.5) and
// ends every session of its sid (or, without sid, of its sub). It
// validates as §2.6 requires, each failure a 400 invalid_request:
// signature by a key of the issuer's JWKS with an advertised algorithm;
// typ logout+jwt; iss; aud contains ClientID; iat not in the future nor
// too old; exp not passed; events has the back-channel logout member; no
// nonce; sid or sub; jti not seen before (SessionStore.UseJTI).
func (b *BFF) handleBackchannelLogout(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		jsonError(w, http.StatusBadRequest, "invalid_request", "the body must be a form with logout_token")
		return
	}
	raw := r.PostForm.Get("logout_token")
	if raw == "" || len(r.PostForm["logout_token"]) > 1 {
		jsonError(w, http.StatusBadRequest, "invalid_request", "logout_token is required, once")
		return
	}
	lt, desc := b.verifyLogoutToken(r, raw)
	if desc != "" {
		b.log.WarnContext(ctx, "logout token refused", "reason", desc)
		jsonError(w, http.StatusBadRequest, "invalid_request", desc)
		return
	}
	if err := b.store.UseJTI(ctx, lt.ID, time.Unix(lt.Expiry, 0).Add(clockSkew)); err != nil {
		if errors.Is(err, ErrReplay) {
			jsonError(w, http.StatusBadRequest, "invalid_request", "this logout token was used before (jti)")
			return
		}
		b.log.ErrorContext(ctx, "recording the logout token's jti", "error", err)
		jsonError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "retry")
		return
	}
	var n int
	var err error
	if lt.SID != "" {
		n, err = b.store.DeleteSessionsBySID(ctx, lt.SID)
	} else {
		n, err = b.store.DeleteSessionsBySubject(ctx, lt.Subject)
	}
	if err != nil {
		b.log.ErrorContext(ctx, "ending sessions", "error", err)
		jsonError(w, http.StatusServiceUnavailable, "temporarily_unavailable", "retry")
		return
	}
	b.log.InfoContext(ctx, "back-channel logout", "sub", lt.Subject, "sid", lt.SID, "sessions", n)
	w.WriteHeader(http.StatusOK) // §2.8
}

type logoutToken struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience audience        `json:"aud"`
	IssuedAt int64           `json:"iat"`
	Expiry   int64           `json:"exp"`
	ID       string          `json:"jti"`
	SID      string          `json:"sid"`
	Events   map[string]any  `json:"events"`
	Nonce    json.RawMessage `json:"nonce"`
}

// audience is aud: a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(p []byte) error {
	var s string
	if json.Unmarshal(p, &s) == nil {
		*a = audience{s}
		return nil
	}
	var l []string
	if err := json.Unmarshal(p, &l); err != nil {
		return err
	}
	*a = l
	return nil
}

// verifyLogoutToken returns the validated token, or a description of why
// it is refused (safe to send back: it names the failed check only).
func (b *BFF) verifyLogoutToken(r *http.Request, raw string) (*logoutToken, string) {
	algs := make([]jose.SignatureAlgorithm, 0, len(b.algs))
	for _, a := range b.algs {
		algs = append(algs, jose.SignatureAlgorithm(a))
	}
	jws, err := jose.ParseSigned(raw, algs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, "logout_token is not a JWS signed with an algorithm the issuer advertises"
	}
	if typ, _ := jws.Signatures[0].Protected.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(typ, logoutTokenType) {
		return nil, "logout_token must have typ logout+jwt"
	}
	// The issuer's keys (go-oidc's RemoteKeySet: cached, refetched for an
	// unknown kid).
	payload, err := b.keys.VerifySignature(b.oidcContext(r.Context()), raw)
	if err != nil {
		return nil, "logout_token's signature does not verify with the issuer's keys"
	}
	var lt logoutToken
	if err := json.Unmarshal(payload, &lt); err != nil {
		return nil, "logout_token's claims are malformed"
	}
	now := b.now()
	switch {
	case lt.Issuer != b.cfg.Issuer:
		return nil, "logout_token's iss is not the issuer"
	case !slices.Contains(lt.Audience, b.cfg.ClientID):
		return nil, "logout_token's aud does not contain this client"
	case lt.IssuedAt == 0 || time.Unix(lt.IssuedAt, 0).After(now.Add(clockSkew)) || time.Unix(lt.IssuedAt, 0).Before(now.Add(-maxLogoutTokenAge)):
		return nil, "logout_token's iat is missing, in the future or too old"
	case lt.Expiry == 0 || !now.Before(time.Unix(lt.Expiry, 0).Add(clockSkew)):
		return nil, "logout_token has expired (exp)"
	case lt.ID == "" || len(lt.ID) > 256:
		return nil, "logout_token has no jti"
	case lt.Nonce != nil:
		return nil, "logout_token must not contain nonce"
	case lt.SID == "" && lt.Subject == "":
		return nil, "logout_token has neither sid nor sub"
	}
	if _, ok := lt.Events[backchannelEvent]; !ok {
		return nil, "logout_token's events lack " + backchannelEvent
	}
	if ev, ok := lt.Events[backchannelEvent].(map[string]any); !ok || ev == nil {
		return nil, "logout_token's back-channel logout event must be a JSON object"
	}
	return &lt, ""
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

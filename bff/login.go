package bff

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Why the sign-in state lives in a cookie, and not on the server: between
// /login and /callback the browser is away at Latch; a BFF that kept
// state, verifier and nonce in one process finds them again only if the
// callback reaches that process ("no state found" behind a load balancer
// or after a restart). The sealed login cookie opens on any instance with
// the same CookieKey; nothing is shared for a sign-in to complete.

// maxStateLen bounds the state accepted on the callback; ours are 52
// characters.
const maxStateLen = 128

// handleLogin starts a sign-in: fresh state, PKCE verifier and nonce,
// sealed into a login cookie of their own, then a redirect to Latch's
// authorization endpoint with the S256 challenge (RFC 7636 §4.3), the
// nonce (OIDC Core §3.1.2.1) and the resource indicators (RFC 8707 §2).
func (b *BFF) handleLogin(w http.ResponseWriter, r *http.Request) {
	ls := loginState{
		State:    rand.Text() + rand.Text(), // 256+ bits (RFC 6749 §10.10)
		Verifier: rand.Text() + rand.Text(), // 52 characters of [A-Z2-7] (RFC 7636 §4.1: 43..128 unreserved)
		Nonce:    rand.Text(),
		Expires:  b.now().Add(loginTTL).Unix(),
	}
	name := b.loginCookieName(ls.State)
	value, err := b.sealCookie(name, ls)
	if err != nil {
		b.log.ErrorContext(r.Context(), "sealing the login cookie", "error", err)
		b.fail(w, http.StatusInternalServerError, "Sign-in failed", "Something went wrong. Try again.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: int(loginTTL / time.Second),
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode,
	})
	sum := sha256.Sum256([]byte(ls.Verifier))
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {b.cfg.ClientID},
		"redirect_uri":          {b.redirectURI()},
		"scope":                 {strings.Join(b.cfg.Scopes, " ")},
		"state":                 {ls.State},
		"nonce":                 {ls.Nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
	}
	if len(b.cfg.Resources) > 0 {
		q["resource"] = b.cfg.Resources
	}
	u, err := url.Parse(b.ep.Authorization)
	if err != nil {
		b.fail(w, http.StatusInternalServerError, "Sign-in failed", "The sign-in server's address is malformed.")
		return
	}
	for k, v := range u.Query() { // keep any query the endpoint has (RFC 6749 §3.1)
		if _, ours := q[k]; !ours {
			q[k] = v
		}
	}
	u.RawQuery = q.Encode()
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, u.String(), http.StatusFound)
}

func (b *BFF) redirectURI() string { return b.cfg.BaseURL + "/callback" }

// noState is the message for a callback without a matching login cookie.
const noState = "This sign-in was not started in this browser, or it is over: " +
	"it took longer than 10 minutes, the page was reloaded or reached with the Back button, " +
	"it was started on another host name (localhost and 127.0.0.1 keep separate cookies), " +
	"or someone sent you this link. Nothing was signed in. Start again."

// handleCallback finishes a sign-in (RFC 6749 §4.1.2). Every check below
// runs before the token endpoint is called, and each refusal is a 400 page
// naming the reason:
//
//  1. state matches a login cookie of this browser (constant time), which
//     is cleared whatever happens next — a replayed callback finds none;
//  2. the sign-in is younger than loginTTL;
//  3. iss is Latch's (RFC 9207 §2.4; required when discovery says Latch
//     sends it);
//  4. no error, a code.
//
// Then the code is exchanged with the verifier, the ID token is verified
// (signature, iss, aud, exp; nonce; at_hash), and a session is created
// under a new random id: an old session cookie of this browser is
// discarded, never promoted (session fixation).
func (b *BFF) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The response from the sign-in server is malformed.")
		return
	}
	for _, p := range []string{"state", "code", "iss", "error"} {
		if len(q[p]) > 1 { // RFC 6749 §3.1: no parameter may repeat
			b.fail(w, http.StatusBadRequest, "Sign-in failed", "The response from the sign-in server is malformed.")
			return
		}
	}
	state := q.Get("state")
	if state == "" || len(state) > maxStateLen {
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The response has no valid state. "+noState)
		return
	}
	name := b.loginCookieName(state)
	c, err := r.Cookie(name)
	if err != nil {
		b.log.InfoContext(ctx, "callback without a login cookie (no state found)")
		b.fail(w, http.StatusBadRequest, "No sign-in in progress", noState)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode,
	})
	var ls loginState
	if err := b.openCookie(name, c.Value, &ls); err != nil || subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 {
		b.log.WarnContext(ctx, "callback with a login cookie that does not match its state", "error", err)
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The state of this response does not match this browser's sign-in. "+noState)
		return
	}
	if b.now().Unix() > ls.Expires {
		b.fail(w, http.StatusBadRequest, "Sign-in expired", "The sign-in took longer than 10 minutes. Start again.")
		return
	}
	if iss, ok := q["iss"]; (ok || b.issRequired) && (!ok || iss[0] != b.cfg.Issuer) {
		b.log.WarnContext(ctx, "callback with a wrong or missing iss", "iss", q.Get("iss"))
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The response did not come from the expected sign-in server.")
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "The sign-in server refused the request."
		if e == "access_denied" {
			msg = "Access was denied: the sign-in was cancelled or consent was not given."
		}
		b.log.InfoContext(ctx, "authorization error", "error", e, "description", q.Get("error_description"))
		b.fail(w, http.StatusBadRequest, "Sign-in failed", msg)
		return
	}
	code := q.Get("code")
	if code == "" {
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The response has no authorization code.")
		return
	}

	tok, err := b.tokenRequest(ctx, url.Values{
		"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {b.redirectURI()}, "code_verifier": {ls.Verifier},
	})
	if err != nil {
		b.log.WarnContext(ctx, "code exchange failed", "error", err)
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The sign-in server did not accept the authorization code (it may have been used already). Start again.")
		return
	}
	idt, err := b.verifier.Verify(b.oidcContext(ctx), tok.IDToken)
	if err != nil {
		b.log.WarnContext(ctx, "ID token rejected", "error", err)
		b.fail(w, http.StatusBadGateway, "Sign-in failed", "The sign-in server's ID token could not be verified.")
		return
	}
	// OIDC Core §3.1.3.7 item 11: the nonce must be the one sent.
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(ls.Nonce)) != 1 {
		b.log.WarnContext(ctx, "ID token nonce mismatch")
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The ID token does not belong to this sign-in.")
		return
	}
	// OIDC Core §3.1.3.8: at_hash binds the access token to the ID token.
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			b.log.WarnContext(ctx, "at_hash mismatch", "error", err)
			b.fail(w, http.StatusBadGateway, "Sign-in failed", "The sign-in server's tokens do not match.")
			return
		}
	}
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		b.fail(w, http.StatusBadGateway, "Sign-in failed", "The ID token's claims are malformed.")
		return
	}
	sid, _ := claims["sid"].(string)
	profile := map[string]any{}
	for _, k := range profileClaims {
		if v, ok := claims[k]; ok {
			profile[k] = v
		}
	}
	pj, _ := json.Marshal(profile)

	// A new id on every sign-in; the old session of this browser, if any,
	// ends (RFC 10017 §6.1.3.2: rotate the session at login).
	if old, err := r.Cookie(b.sessionCookieName()); err == nil && old.Value != "" {
		_ = b.store.DeleteSession(ctx, SessionKey(old.Value))
	}
	id := rand.Text() + rand.Text()
	key := SessionKey(id)
	now := b.now()
	secret, err := b.seal(key, tok)
	if err == nil {
		err = b.store.CreateSession(ctx, Session{
			Key: key, Subject: idt.Subject, SID: sid, Secret: secret, Claims: pj,
			Created: now, LastSeen: now, Expires: now.Add(b.cfg.SessionTTL), Version: 1,
		})
	}
	if err != nil {
		b.log.ErrorContext(ctx, "storing the session", "error", err)
		b.fail(w, http.StatusServiceUnavailable, "Sign-in failed", "The session could not be stored. Try again.")
		return
	}
	b.sweep(ctx)
	b.setSessionCookie(w, id, b.cfg.SessionTTL)
	b.setXSRFCookie(w, key, b.cfg.SessionTTL)
	b.log.InfoContext(ctx, "signed in", "sub", idt.Subject)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// errNoSession: no live session for the request.
var errNoSession = errors.New("bff: no session")

package bff

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// Why the sign-in state lives in a cookie, and not in a map on the server:
//
// Between /login and /callback the browser is away at Latch. A BFF that
// keeps state, verifier and nonce in its own memory (or an in-process
// session store) only finds them again if the callback reaches the same
// process. Behind a load balancer, after a restart or a deploy, it often
// does not — and the callback fails with the familiar "no state found /
// possible CSRF detected". Here the state travels with the browser: a
// cookie sealed with AES-GCM (confidential, so the verifier stays secret;
// authenticated, so it cannot be forged or edited), which any instance
// holding the same CookieKey can open. Nothing needs to be shared between
// instances for a sign-in to complete.
//
// The cookie is named after the state (bff_login_<state>), and the state
// is sealed inside it with the name as additional data: two tabs signing
// in at once each get their own cookie instead of overwriting each other's
// verifier, and a cookie's value cannot be moved under another state's
// name.
//
// SameSite=Lax, not Strict: the callback is a top-level, cross-site GET
// navigation (Latch's origin redirects the browser here), and Strict
// cookies are not sent on it — the BFF would never see its login cookie.
// Lax cookies are sent on top-level GET navigations only, which is exactly
// this case, and not on cross-site subrequests or POSTs.
//
// Path=/callback: the cookie is sent only where it is needed. HttpOnly:
// page scripts never see the verifier. Max-Age: the sign-in expires after
// loginTTL, and the expiry is also sealed inside, so an old cookie kept
// past its Max-Age is still refused.

// loginState is what the login cookie carries, sealed.
type loginState struct {
	State    string `json:"state"`
	Verifier string `json:"verifier"`
	Nonce    string `json:"nonce"`
	Expires  int64  `json:"exp"` // unix seconds
}

// maxStateLen bounds the state accepted on the callback; ours are 43
// characters.
const maxStateLen = 128

func (b *BFF) loginCookieName(state string) string {
	if b.secure {
		return "__Secure-bff_login_" + state // Secure, set by this origin (RFC 6265bis §4.1.3.1)
	}
	return "bff_login_" + state
}

// seal encrypts and authenticates ls for the cookie called name.
func (b *BFF) seal(name string, ls loginState) (string, error) {
	plain, err := json.Marshal(ls)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, b.aead.NonceSize())
	rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(b.aead.Seal(nonce, nonce, plain, []byte(name))), nil
}

// open is seal's inverse: it fails for a value sealed under another key
// or name, or altered in any way.
func (b *BFF) open(name, value string) (loginState, error) {
	var ls loginState
	raw, err := base64.RawURLEncoding.DecodeString(value)
	if err != nil || len(raw) < b.aead.NonceSize() {
		return ls, errors.New("malformed login cookie")
	}
	ns := b.aead.NonceSize()
	plain, err := b.aead.Open(nil, raw[:ns], raw[ns:], []byte(name))
	if err != nil {
		return ls, err
	}
	return ls, json.Unmarshal(plain, &ls)
}

// handleLogin starts a sign-in: fresh state, PKCE verifier and nonce,
// sealed into the login cookie, then a redirect to Latch's authorization
// endpoint carrying the S256 challenge (RFC 7636 §4.3) and the nonce
// (OIDC Core §3.1.2.1).
func (b *BFF) handleLogin(w http.ResponseWriter, r *http.Request) {
	ls := loginState{
		State:    rand.Text() + rand.Text(), // 256 bits (RFC 6749 §10.10)
		Verifier: oauth2.GenerateVerifier(),
		Nonce:    rand.Text(),
		Expires:  b.now().Add(loginTTL).Unix(),
	}
	name := b.loginCookieName(ls.State)
	value, err := b.seal(name, ls)
	if err != nil {
		b.log.ErrorContext(r.Context(), "sealing the login cookie", "error", err)
		b.fail(w, http.StatusInternalServerError, "Sign-in failed", "Something went wrong. Try again.")
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: value, Path: "/callback", MaxAge: int(loginTTL / time.Second),
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode,
	})
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, b.oauth.AuthCodeURL(ls.State, oauth2.S256ChallengeOption(ls.Verifier), oidc.Nonce(ls.Nonce)), http.StatusFound)
}

// noState is the message for a callback without a matching login cookie.
const noState = "This sign-in was not started in this browser, or it is over: " +
	"it took longer than 10 minutes, the page was reloaded or reached with the Back button, " +
	"it was started on another host name (localhost and 127.0.0.1 keep separate cookies), " +
	"or someone sent you this link. Nothing was signed in. Start again."

// handleCallback finishes a sign-in (RFC 6749 §4.1.2): it accepts the
// response only if its state matches a login cookie of this browser and
// its iss is Latch's (RFC 9207 §2.4), exchanges the code with the
// verifier, verifies the ID token and its nonce, and starts a session.
// Each refusal happens before the token endpoint is called.
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
	// One use only: the cookie is cleared whatever happens next, so a
	// replayed callback finds no state.
	http.SetCookie(w, &http.Cookie{
		Name: name, Value: "", Path: "/callback", MaxAge: -1,
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode,
	})
	ls, err := b.open(name, c.Value)
	if err != nil || subtle.ConstantTimeCompare([]byte(ls.State), []byte(state)) != 1 {
		b.log.WarnContext(ctx, "callback with a login cookie that does not match its state", "error", err)
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The state of this response does not match this browser's sign-in. "+noState)
		return
	}
	if b.now().Unix() > ls.Expires {
		b.fail(w, http.StatusBadRequest, "Sign-in expired", "The sign-in took longer than 10 minutes. Start again.")
		return
	}
	// RFC 9207 §2.4: the response must come from the issuer the request
	// went to (defeats mix-up attacks). When Latch says it sends iss, a
	// response without one is refused too.
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

	// The exchange happens here, on the server, authenticated with the
	// client secret and the PKCE verifier (RFC 7636 §4.5).
	hctx := b.httpContext(ctx)
	tok, err := b.oauth.Exchange(hctx, code, oauth2.VerifierOption(ls.Verifier))
	if err != nil {
		b.log.WarnContext(ctx, "code exchange failed", "error", err)
		b.fail(w, http.StatusBadRequest, "Sign-in failed", "The sign-in server did not accept the authorization code (it may have been used already). Start again.")
		return
	}
	rawID, _ := tok.Extra("id_token").(string)
	idt, err := b.verifier.Verify(hctx, rawID)
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
	var profile map[string]any
	if err := idt.Claims(&profile); err != nil {
		b.fail(w, http.StatusBadGateway, "Sign-in failed", "The ID token's claims are malformed.")
		return
	}
	id := b.sessions.create(b.now(), b.cfg.SessionTTL, &session{
		token: tok, accessExpiry: b.expiry(tok), idToken: rawID, profile: profile,
	})
	b.setSessionCookie(w, id, b.cfg.SessionTTL)
	b.log.InfoContext(ctx, "signed in", "sub", idt.Subject)
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// expiry is when tok's access token expires, on this BFF's clock.
func (b *BFF) expiry(tok *oauth2.Token) time.Time {
	if tok.ExpiresIn > 0 {
		return b.now().Add(time.Duration(tok.ExpiresIn) * time.Second)
	}
	return tok.Expiry // zero: no expiry announced
}

package bff

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// session is a signed-in browser's server-side state. The browser only
// ever holds the session's random id, in an HttpOnly cookie; the tokens
// stay here.
type session struct {
	// mu serialises token refreshes of this session: Latch rotates
	// refresh tokens and treats a second use of the old one as theft
	// (RFC 9700 §4.14.2), so two concurrent API calls must not both
	// refresh.
	mu           sync.Mutex
	token        *oauth2.Token // access and refresh token; guarded by mu
	accessExpiry time.Time     // guarded by mu
	idToken      string        // raw, for id_token_hint at logout; guarded by mu
	profile      map[string]any
	expires      time.Time // set once by create
}

// sessions is an in-memory session store with expiry. One process only:
// a real deployment behind a load balancer keeps sessions in a shared
// store (Redis, a database) under the same random ids.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func newSessions() *sessions { return &sessions{m: map[string]*session{}} }

// create stores s under a new random id (256 bits from crypto/rand) and
// drops expired sessions. A new id on every sign-in: no session fixation.
func (ss *sessions) create(now time.Time, ttl time.Duration, s *session) string {
	id := rand.Text() + rand.Text()
	s.expires = now.Add(ttl)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	for k, v := range ss.m {
		if !now.Before(v.expires) {
			delete(ss.m, k)
		}
	}
	ss.m[id] = s
	return id
}

// get returns the live session id names, or nil.
func (ss *sessions) get(now time.Time, id string) *session {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	s := ss.m[id]
	if s == nil {
		return nil
	}
	if !now.Before(s.expires) {
		delete(ss.m, id)
		return nil
	}
	return s
}

func (ss *sessions) delete(id string) {
	ss.mu.Lock()
	delete(ss.m, id)
	ss.mu.Unlock()
}

func (ss *sessions) len() int {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return len(ss.m)
}

// sessionCookieName: with https, the __Host- prefix makes the browser
// insist on Secure, Path=/ and no Domain, so a sibling subdomain cannot
// plant or shadow the cookie (RFC 6265bis §4.1.3.2).
func (b *BFF) sessionCookieName() string {
	if b.secure {
		return "__Host-bff_session"
	}
	return "bff_session"
}

// setSessionCookie sets (maxAge > 0) or clears the session cookie:
// HttpOnly (no script can read it), SameSite=Lax (not sent on cross-site
// subrequests or POSTs; sent when the user follows a link here, so they
// arrive signed in), Secure under https.
func (b *BFF) setSessionCookie(w http.ResponseWriter, id string, maxAge time.Duration) {
	age := int(maxAge / time.Second)
	if maxAge <= 0 {
		age = -1
	}
	http.SetCookie(w, &http.Cookie{
		Name: b.sessionCookieName(), Value: id, Path: "/", MaxAge: age,
		HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode,
	})
}

// session returns the request's session and its id, or nil.
func (b *BFF) session(r *http.Request) (*session, string) {
	c, err := r.Cookie(b.sessionCookieName())
	if err != nil || c.Value == "" {
		return nil, ""
	}
	return b.sessions.get(b.now(), c.Value), c.Value
}

// profileClaims are the ID token claims /me returns.
var profileClaims = []string{"sub", "name", "preferred_username", "email", "email_verified", "auth_time"}

// handleMe returns the signed-in user's profile from the ID token, as
// JSON; 401 when nobody is signed in. Never a token.
func (b *BFF) handleMe(w http.ResponseWriter, r *http.Request) {
	s, _ := b.session(r)
	if s == nil {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "login_required"})
		return
	}
	out := map[string]any{}
	for _, k := range profileClaims {
		if v, ok := s.profile[k]; ok {
			out[k] = v
		}
	}
	out["session_expires"] = s.expires.UTC().Format(time.RFC3339)
	writeJSON(w, http.StatusOK, out)
}

// handleLogout ends the BFF session (RP-Initiated Logout 1.0): it forgets
// the tokens, clears the cookie, revokes the refresh token (RFC 7009) and
// sends the browser to Latch's end_session_endpoint with id_token_hint,
// so Latch ends its own session too and returns to this app's page. It is
// a POST guarded by CrossOriginProtection: another site cannot sign the
// user out.
func (b *BFF) handleLogout(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	s, id := b.session(r)
	b.setSessionCookie(w, "", 0)
	if s == nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	b.sessions.delete(id)
	s.mu.Lock()
	rt, idToken := s.token.RefreshToken, s.idToken
	s.mu.Unlock()
	if rt != "" && b.revocation != "" {
		if err := b.revoke(r.Context(), rt); err != nil {
			b.log.WarnContext(r.Context(), "revoking the refresh token", "error", err)
		}
	}
	if b.endSession == "" {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	u, err := url.Parse(b.endSession)
	if err != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	q := u.Query()
	q.Set("id_token_hint", idToken)
	q.Set("client_id", b.cfg.ClientID)
	q.Set("post_logout_redirect_uri", b.cfg.BaseURL+"/")
	u.RawQuery = q.Encode()
	http.Redirect(w, r, u.String(), http.StatusSeeOther)
}

// revoke revokes a refresh token at Latch (RFC 7009 §2.1), which also
// ends the access tokens of its grant at Latch's own endpoints.
func (b *BFF) revoke(ctx context.Context, refreshToken string) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	form := url.Values{"token": {refreshToken}, "token_type_hint": {"refresh_token"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, b.revocation, strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(b.cfg.ClientID), url.QueryEscape(b.cfg.ClientSecret)) // RFC 6749 §2.3.1
	res, err := b.client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &statusError{res.StatusCode}
	}
	return nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "HTTP " + http.StatusText(e.code) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package server

import (
	"errors"
	"net/http"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// msgBadCredentials is the one answer for an unknown user and a wrong
// password alike: no user enumeration.
const msgBadCredentials = "Incorrect username or password."

// handleLogin receives the login form (POST only). The form carries the
// sealed interaction; the authorization request is re-validated from it.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return oauth.Errorf(oauth.InvalidRequest, "sign in from the application: open it and choose sign in")
	}
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	sealed, err := formValue(form, "interaction")
	if err != nil {
		return err
	}
	in, err := s.openInteraction(r, kindAuthorize, sealed)
	if err != nil {
		return err
	}
	ar, err := s.resolveAuthorize(r, in.Query)
	if err != nil {
		return err
	}
	username, err1 := formValue(form, "username")
	pw, err2 := formValue(form, "password")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	ctx := r.Context()
	if username == "" || pw == "" {
		return s.showLogin(w, r, ar, in, username, "Enter your username and password.", http.StatusBadRequest)
	}
	// Brute-force protection (throttle.go): a locked-out username or
	// client IP is refused before the user is even looked up, so known
	// and unknown usernames are refused alike.
	limits := s.throttle.loginLimits(username, s.clientIP(r))
	if wait, err := s.throttle.wait(ctx, limits); err != nil {
		return err
	} else if wait > 0 {
		s.auditLog(ctx, "login_throttled", "client_id", ar.client.ID)
		return s.showLocked(w, r, ar, in, username, wait)
	}
	user, err := s.store.GetUserByUsername(ctx, username)
	switch {
	case errors.Is(err, store.ErrNotFound):
		// Spend the same time as a real check (no user enumeration).
		if _, err := s.opts.Passwords.VerifyContext(ctx, pw, ""); err != nil {
			return err // hashing slots busy: 503 (overload.go)
		}
		s.auditLog(ctx, "login_failed", "client_id", ar.client.ID, "reason", "unknown_user")
		return s.loginFailed(w, r, ar, in, username, limits)
	case err != nil:
		return err
	}
	if ok, err := s.opts.Passwords.VerifyContext(ctx, pw, user.PasswordHash); err != nil {
		return err // hashing slots busy: 503 (overload.go)
	} else if !ok {
		s.auditLog(ctx, "login_failed", "client_id", ar.client.ID, "sub", user.ID, "reason", "bad_password")
		return s.loginFailed(w, r, ar, in, username, limits)
	}
	// Success forgets the username's failures (never the IP's: an
	// attacker must not reset its own counter with an account it owns).
	if err := s.throttle.clear(ctx, limits[0]); err != nil {
		return err
	}
	sess, err := s.startSession(ctx, w, r, user, []string{"pwd"})
	if err != nil {
		return err
	}
	s.auditLog(ctx, "login_succeeded", "client_id", ar.client.ID, "sub", user.ID)
	in.LoggedIn = true
	return s.continueAuthorize(w, r, ar, &sess, &user, in)
}

// loginFailed counts a failed sign-in (unknown user and wrong password
// alike) and answers it: the generic error, or the lockout page when this
// failure started a lockout.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, ar *authRequest, in interaction, username string, limits []limit) error {
	wait, err := s.throttle.fail(r.Context(), limits)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.auditLog(r.Context(), "login_locked_out", "client_id", ar.client.ID, "lockout_seconds", retryAfter(wait))
		return s.showLocked(w, r, ar, in, username, wait)
	}
	return s.showLogin(w, r, ar, in, username, msgBadCredentials, http.StatusUnauthorized)
}

// handleConsent receives the consent form (POST only).
func (s *Server) handleConsent(w http.ResponseWriter, r *http.Request) error {
	in, decision, err := s.decisionForm(r, kindAuthorize, "consent is given from the application's sign-in flow")
	if err != nil {
		return err
	}
	ar, err := s.resolveAuthorize(r, in.Query)
	if err != nil {
		return err
	}
	sess, user, err := s.currentSession(r)
	if err != nil {
		return err
	}
	// The consent must come from the user it was asked of.
	if sess == nil || user.ID != in.UserID {
		return errInteraction
	}
	ctx := r.Context()
	switch decision {
	case "allow":
	case "deny":
		s.auditLog(ctx, "consent_denied", "client_id", ar.client.ID, "sub", user.ID)
		return &redirectError{to: ar.to, err: oauth.Errorf(oauth.AccessDenied, "the user denied the request")}
	default:
		return oauth.Errorf(oauth.InvalidRequest, "choose Allow or Deny")
	}
	scopes := ar.req.Scopes
	if old, err := s.store.GetConsent(ctx, user.ID, ar.client.ID); err == nil {
		scopes = union(old.Scopes, scopes)
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if err := s.store.SaveConsent(ctx, store.Consent{UserID: user.ID, ClientID: ar.client.ID, Scopes: scopes, GrantedAt: s.now()}); err != nil {
		return err
	}
	s.auditLog(ctx, "consent_granted", "client_id", ar.client.ID, "sub", user.ID, "scope", oauth.JoinScope(ar.req.Scopes))
	in.Consented = true
	return s.continueAuthorize(w, r, ar, sess, user, in)
}

func union(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, v := range b {
		if !contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

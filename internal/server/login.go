package server

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/ui"
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
	// A sign-in for the account page (in.Account) or one the device page
	// asked for (in.Device) has no authorization request: ar stays nil.
	var ar *authRequest
	if !in.Account && !in.Device {
		if ar, err = s.resolveAuthorize(r, in.Query); err != nil {
			return err
		}
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
	// The account the user means: by the canonical username (RFC 8265
	// §3.3), so look-alike spellings reach one account and one budget.
	// A name that is not valid text never reaches the store.
	user, key, err := registration.FindUser(ctx, s.store, username)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	// Every hashing slot busy and the queue full (overload.go): refuse
	// now, before the attempt is reserved in the store, so a burst of
	// sign-ins costs the database nothing and holds no request slot.
	if s.opts.Passwords.Saturated() {
		return password.ErrBusy
	}
	// Brute-force protection (throttle.go): the attempt is reserved
	// against its budgets before the password is checked; a spent budget
	// or a lockout is refused without checking it. Known and unknown
	// usernames are counted and refused alike; only a browser that has
	// signed in as this user before has its own budget (device.go).
	limits := s.throttle.loginLimits(key, s.clientIP(r))
	clear := limits[:1] // the (username, IP) pair
	if known {
		if dev, ok := s.knownDeviceFor(r, user.ID); ok {
			limits = s.throttle.deviceLimits(dev)
			clear = limits
		}
	}
	a, wait, err := s.throttle.reserve(ctx, limits)
	if err != nil {
		return err
	}
	if a == nil {
		s.auditLog(ctx, "login_throttled", "client_id", ar.clientID())
		return s.showLocked(w, r, ar, in, username, wait)
	}
	if !known {
		// Spend the same time as a real check (no user enumeration).
		if _, err := s.opts.Passwords.VerifyContext(ctx, pw, ""); err != nil {
			// Hashing slots busy or the deadline passed: 503
			// (overload.go). Nothing was checked, so nothing counts.
			return errors.Join(err, s.throttle.abandoned(ctx, a))
		}
		s.auditLog(ctx, "login_failed", "client_id", ar.clientID(), "reason", "unknown_user")
		return s.loginFailed(w, r, ar, in, username, a)
	}
	if ok, err := s.opts.Passwords.VerifyContext(ctx, pw, user.PasswordHash); err != nil {
		return errors.Join(err, s.throttle.abandoned(ctx, a)) // as above
	} else if !ok {
		s.auditLog(ctx, "login_failed", "client_id", ar.clientID(), "sub", user.ID, "reason", "bad_password")
		return s.loginFailed(w, r, ar, in, username, a)
	}
	// A user with a second factor owes it now (mfa.go), whatever the
	// client asked: the strongest method the user has. The password's
	// attempt is released, but no failure is forgotten until the second
	// factor is proven too, so the code step cannot be used to reset
	// the budgets it shares.
	second, err := s.hasSecondFactor(ctx, user.ID)
	if err != nil {
		return errors.Join(err, s.throttle.abandoned(ctx, a))
	}
	if second {
		if err := s.throttle.succeeded(ctx, a); err != nil {
			return err
		}
		s.rehash(r, user, pw)
		s.auditLog(ctx, "login_password_ok", "client_id", ar.clientID(), "sub", user.ID, "next", "second_factor")
		in.Pending, in.PendingKey, in.AMR = user.ID, key, []string{oauth.AMRPassword}
		return s.showCode(w, r, ar, in, "", http.StatusOK, 0)
	}
	// Success releases the attempt and forgets the pair's (or the
	// device's) failures — never the username's from elsewhere or the
	// IP's: an attacker must not reset its own counters with an account
	// it owns.
	if err := s.throttle.succeeded(ctx, a, clear...); err != nil {
		return err
	}
	s.rehash(r, user, pw)
	if err := s.rememberDevice(w, r, user.ID); err != nil {
		return err
	}
	sess, err := s.startSession(ctx, w, r, user, []string{oauth.AMRPassword})
	if err != nil {
		return err
	}
	s.auditLog(ctx, "login_succeeded", "client_id", ar.clientID(), "sub", user.ID)
	if ar == nil && !in.Device {
		http.Redirect(w, r, s.url(pathAccount), http.StatusSeeOther)
		return nil
	}
	in.LoggedIn = true
	if ar == nil {
		return s.returnToDevice(w, r, in.UserCode)
	}
	return s.continueAuthorize(w, r, ar, &sess, &user, in)
}

// rehash stores a fresh hash of pw when the user's was made with other
// parameters than the configured ones (password-memory-kib,
// password-iterations), so a cost change reaches every account that signs
// in. A failure is logged, never shown: the sign-in has succeeded.
func (s *Server) rehash(r *http.Request, user store.User, pw string) {
	if !s.opts.Passwords.NeedsRehash(user.PasswordHash) {
		return
	}
	ctx := r.Context()
	h, err := s.opts.Passwords.Hash(pw)
	if err == nil {
		err = s.store.SetUserPassword(ctx, user.ID, h)
	}
	if err != nil {
		s.log.ErrorContext(ctx, "password rehash failed", "sub", user.ID, "err", err)
		return
	}
	s.auditLog(ctx, "password_rehashed", "sub", user.ID)
}

// loginFailed answers a failed sign-in (unknown user and wrong password
// alike), whose attempt a stays counted: the generic error, or the
// lockout page when it spent a budget.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, ar *authRequest, in interaction, username string, a *attempt) error {
	wait, err := s.throttle.failed(r.Context(), a)
	if err != nil {
		return err
	}
	if wait > 0 {
		s.auditLog(r.Context(), "login_locked_out", "client_id", ar.clientID(), "lockout_seconds", grant.RetryAfter(wait))
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

// showLocked answers a sign-in attempt refused by the throttle: the login
// page with its form disabled and the lockout explained, HTTP 429 and
// Retry-After. Unknown usernames get exactly this page too.
func (s *Server) showLocked(w http.ResponseWriter, r *http.Request, ar *authRequest, in interaction, username string, wait time.Duration) error {
	in.Kind = kindAuthorize
	in.Query = ar.query()
	sealed, err := s.sealInteraction(w, r, in)
	if err != nil {
		return err
	}
	w.Header().Set("Retry-After", strconv.Itoa(grant.RetryAfter(wait)))
	s.renderLang(w, r, http.StatusTooManyRequests, ui.LoginPage{
		Action: s.url(pathLogin), Interaction: sealed, ClientName: ar.clientName(),
		Username: username, Locked: true,
		Error: fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", waitText(wait)),
	}, ar.target(), ar.uiLocales())
	return nil
}

// waitText says how long to wait, for people: "30 seconds", "2 minutes".
func waitText(d time.Duration) string {
	if s := grant.RetryAfter(d); s < 60 {
		return plural(s, "second")
	}
	return plural(int(math.Ceil(d.Minutes())), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return strconv.Itoa(n) + " " + unit + "s"
}

package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/ui"
)

// The second sign-in step (TOTP or a recovery code) and the acr a
// request needs. A session records the methods its sign-in used
// (Session.AMR, RFC 8176); its acr is derived from them
// (oauth.ACRFor), so a new method (passkeys: hwk/swk) needs no new
// session field.

const msgBadCode = "That code is not right, or was used already. Enter the current code from your authenticator app, or a recovery code."

// factorSecretAD binds a sealed factor secret to its user and factor, so
// a secret copied to another row does not open.
func factorSecretAD(userID, factorID string) []byte {
	return []byte("factor:" + userID + ":" + factorID)
}

// totpFactor returns the user's TOTP factor, if any.
func totpFactor(fs []store.Factor) (store.Factor, bool) {
	i := slices.IndexFunc(fs, func(f store.Factor) bool { return f.Kind == store.FactorTOTP })
	if i < 0 {
		return store.Factor{}, false
	}
	return fs[i], true
}

// hasSecondFactor reports whether the user can prove a second factor.
func (s *Server) hasSecondFactor(ctx context.Context, userID string) (bool, error) {
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return false, err
	}
	_, ok := totpFactor(fs)
	return ok, nil
}

// requiredACR is the acr the request needs from this user's sign-in:
// the strictest of the server's policy, the client's policy, the user's
// own requirement (latch user require-mfa) and the request's acr values
// (acr_values, an essential acr in claims: OIDC Core §3.1.2.1, §5.5.1.1).
// ok is false when the request asks only for acr values Latch does not
// know and marked them essential: nothing can satisfy it.
func (s *Server) requiredACR(ar *authRequest, u *store.User) (acr string, ok bool) {
	acr = registration.PolicyACR(s.opts.AuthPolicy)
	stricter := func(a string) {
		if oauth.ACRLevel(a) > oauth.ACRLevel(acr) {
			acr = a
		}
	}
	if ar != nil {
		stricter(registration.PolicyACR(ar.client.AuthenticationPolicy))
	}
	if u.MFARequired {
		stricter(oauth.ACRMFA)
	}
	if ar != nil && len(ar.req.ACRValues) > 0 {
		want := oauth.MinACR(ar.req.ACRValues)
		if want == "" && ar.req.ACREssential {
			return "", false
		}
		// Voluntary acr_values Latch does not know are ignored (OIDC
		// Core §3.1.2.1: a voluntary claim); known ones are held.
		stricter(want)
	}
	return acr, true
}

// checkACR is the step every authorization takes once the user is signed
// in: the session's acr must satisfy requiredACR. When it does not, the
// user steps up (the second-factor page) if they have a second factor;
// otherwise the request fails with unmet_authentication_requirements
// (OpenID Connect Core Unmet Authentication Requirements 1.0 §2). done
// is true when checkACR answered the request.
func (s *Server) checkACR(w http.ResponseWriter, r *http.Request, ar *authRequest, sess *store.Session, user *store.User, in interaction) (done bool, err error) {
	want, ok := s.requiredACR(ar, user)
	if !ok {
		return true, &redirectError{to: ar.to, err: oauth.Errorf(oauth.UnmetAuthenticationRequirements,
			"none of the essential acr values is supported; supported: %s", strings.Join(oauth.ACRsSupported(s.opts.Passkeys != nil), " "))}
	}
	have := oauth.ACRFor(sess.AMR)
	if ar.req.HasPrompt(oauth.PromptLogin) && s.opts.Passkeys != nil && have != oauth.ACRPhishingResistant {
		// prompt=login is a fresh sign-in with the strongest method the
		// user has (OIDC Core §3.1.2.1 asks for reauthentication; the
		// issue's rule for Latch): a user with a passkey must use it.
		// A user with only TOTP always gets the code step after the
		// password anyway.
		fs, err := s.store.ListFactors(r.Context(), user.ID)
		if err != nil {
			return true, err
		}
		if hasPasskey(fs) {
			want = oauth.ACRPhishingResistant
		}
	}
	if want == "" || oauth.ACRSatisfies(have, []string{want}) {
		return false, nil
	}
	if want == oauth.ACRPhishingResistant {
		return true, s.requirePasskey(w, r, ar, user, in)
	}
	has, err := s.hasSecondFactor(r.Context(), user.ID)
	if err != nil {
		return true, err
	}
	if !has && s.opts.Passkeys != nil {
		// A passkey sign-in (acr phr) satisfies a second-factor request.
		fs, err := s.store.ListFactors(r.Context(), user.ID)
		if err != nil {
			return true, err
		}
		if hasPasskey(fs) {
			return true, s.requirePasskey(w, r, ar, user, in)
		}
	}
	if !has {
		s.auditLog(r.Context(), "acr_unmet", "client_id", ar.client.ID, "sub", user.ID, "acr", want)
		return true, &redirectError{to: ar.to, err: oauth.Errorf(oauth.UnmetAuthenticationRequirements,
			"a second factor is required (acr %s) and the user has none; they can add an authenticator app or a passkey at %s", want, s.url(pathAccount))}
	}
	if ar.req.HasPrompt(oauth.PromptNone) {
		return true, &redirectError{to: ar.to, err: oauth.Errorf(oauth.InteractionRequired, "the sign-in must be stepped up to acr %s with a second factor", want)}
	}
	// Step up: the code page for the signed-in user, no password again.
	in.Pending, in.AMR, in.StepUp = user.ID, sess.AMR, true
	in.PendingKey = ""
	return true, s.showCode(w, r, ar, in, "", http.StatusOK, 0)
}

// handleLoginCode receives the second-step form (POST only): a TOTP code
// or a recovery code for the user the sealed interaction names.
func (s *Server) handleLoginCode(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return oauth.Errorf(oauth.InvalidRequest, "sign in from the application: open it and choose sign in")
	}
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	sealed, err1 := formValue(form, "interaction")
	code, err2 := formValue(form, "code")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	in, err := s.openInteraction(r, kindAuthorize, sealed)
	if err != nil {
		return err
	}
	if in.Pending == "" {
		return errInteraction.WithCause(errors.New("interaction: no pending second step"))
	}
	var ar *authRequest
	if !in.Account && !in.Device {
		if ar, err = s.resolveAuthorize(r, in.Query); err != nil {
			return err
		}
	}
	ctx := r.Context()
	user, err := s.store.GetUser(ctx, in.Pending)
	if errors.Is(err, store.ErrNotFound) {
		return errInteraction.WithCause(err)
	}
	if err != nil {
		return err
	}
	var sess *store.Session
	if in.StepUp {
		// A step-up continues the browser's session: it must still be
		// the same user's.
		if sess, _, err = s.currentSession(r); err != nil {
			return err
		}
		if sess == nil || sess.UserID != user.ID {
			return errInteraction.WithCause(errors.New("interaction: step-up session gone"))
		}
	}
	if code == "" {
		return s.showCode(w, r, ar, in, "Enter the code from your authenticator app.", http.StatusBadRequest, 0)
	}
	// Brute-force protection: a code is a credential like the password
	// and spends the same budgets (throttle.go): the (username, IP)
	// pair, the username, the IP — or the known device's.
	limits, clear := s.signInLimits(r, in.PendingKey, user)
	a, wait, err := s.throttle.reserve(ctx, limits)
	if err != nil {
		return err
	}
	if a == nil {
		s.auditLog(ctx, "login_throttled", "sub", user.ID, "step", "code")
		return s.showCode(w, r, ar, in, "", http.StatusTooManyRequests, wait)
	}
	method, err := s.checkCode(ctx, user.ID, code)
	if err != nil {
		return errors.Join(err, s.throttle.abandoned(ctx, a))
	}
	if method == "" {
		s.auditLog(ctx, "login_failed", "sub", user.ID, "reason", "bad_code")
		wait, err := s.throttle.failed(ctx, a)
		if err != nil {
			return err
		}
		if wait > 0 {
			s.auditLog(ctx, "login_locked_out", "sub", user.ID, "lockout_seconds", grant.RetryAfter(wait))
			return s.showCode(w, r, ar, in, "", http.StatusTooManyRequests, wait)
		}
		return s.showCode(w, r, ar, in, msgBadCode, http.StatusUnauthorized, 0)
	}
	if err := s.throttle.succeeded(ctx, a, clear...); err != nil {
		return err
	}
	if err := s.rememberDevice(w, r, user.ID); err != nil {
		return err
	}
	amr := addMethods(in.AMR, oauth.AMROTP, oauth.AMRMFA)
	newSess, err := s.startSession(ctx, w, r, user, amr)
	if err != nil {
		return err
	}
	s.auditLog(ctx, "login_succeeded", "sub", user.ID, "amr", amr, "second_factor", method, "step_up", in.StepUp)
	if in.Account {
		http.Redirect(w, r, s.url(pathAccount), http.StatusSeeOther)
		return nil
	}
	if in.Device {
		return s.returnToDevice(w, r, in.UserCode)
	}
	in.LoggedIn = true
	in.Pending, in.PendingKey, in.AMR, in.StepUp = "", "", nil, false
	return s.continueAuthorize(w, r, ar, &newSess, &user, in)
}

// addMethods returns amr with each of ms appended once.
func addMethods(amr []string, ms ...string) []string {
	out := slices.Clone(amr)
	for _, m := range ms {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// checkCode checks a second-factor code of the user: a recovery code
// (ten characters) or a TOTP code. It returns the factor kind that
// accepted it, or "" for a wrong, reused or spent code. A code is
// accepted once: its TOTP step, or the recovery code, is spent with
// store.AdvanceFactor, of which exactly one concurrent caller wins.
func (s *Server) checkCode(ctx context.Context, userID, code string) (string, error) {
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return "", err
	}
	now := s.now()
	if mfa.LooksLikeRecoveryCode(code) {
		h := mfa.HashRecoveryCode(s.opts.RecoveryKey, userID, code)
		i := slices.IndexFunc(fs, func(f store.Factor) bool { return f.Kind == store.FactorRecovery && f.ID == h })
		if i < 0 || fs[i].Counter > 0 {
			return "", nil
		}
		return spent(store.FactorRecovery, s.store.AdvanceFactor(ctx, userID, h, 1, now))
	}
	f, ok := totpFactor(fs)
	if !ok || s.opts.Factors == nil {
		return "", nil
	}
	secret, err := s.opts.Factors.Open(f.Secret, factorSecretAD(userID, f.ID))
	if err != nil {
		return "", err
	}
	step, err := mfa.Check(secret, code, now)
	if errors.Is(err, mfa.ErrBadCode) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	// RFC 6238 §5.2: "the verifier MUST NOT accept the second attempt of
	// the OTP after the successful validation has been issued for the
	// first OTP". The step must move past the last accepted one.
	return spent(store.FactorTOTP, s.store.AdvanceFactor(ctx, userID, f.ID, step, now))
}

// spent maps AdvanceFactor's answer: success is the kind, a replay (or a
// factor deleted meanwhile) is a wrong code.
func spent(kind string, err error) (string, error) {
	switch {
	case err == nil:
		return kind, nil
	case errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrNotFound):
		return "", nil
	}
	return "", err
}

// signInLimits are the throttle budgets of a sign-in attempt (password
// or code) for the user with canonical username key: the known device's
// own when the browser is one of the user's, else loginLimits; clear are
// those a success forgets.
func (s *Server) signInLimits(r *http.Request, key string, user store.User) (limits, clear []limit) {
	if dev, ok := s.knownDeviceFor(r, user.ID); ok {
		l := s.throttle.deviceLimits(dev)
		return l, l
	}
	if key == "" {
		key, _ = registration.CanonicalUsername(user.Username)
	}
	l := s.throttle.loginLimits(key, s.clientIP(r))
	return l, l[:1]
}

// showCode shows the second-step page for in.Pending: the code form, an
// error, or (wait > 0) the lockout notice with Retry-After.
func (s *Server) showCode(w http.ResponseWriter, r *http.Request, ar *authRequest, in interaction, msg string, status int, wait time.Duration) error {
	in.Kind = kindAuthorize
	target, locales, client := "", "", ""
	if ar != nil {
		in.Query = ar.req.Query()
		target, locales, client = ar.to.URI(), ar.req.UILocales, clientName(ar.client)
	}
	sealed, err := s.sealInteraction(w, r, in)
	if err != nil {
		return err
	}
	page := ui.CodePage{Action: s.url(pathLoginCode), Interaction: sealed, ClientName: client, Error: msg}
	if wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(grant.RetryAfter(wait)))
		page.Locked = true
		page.Error = fmt.Sprintf("Too many failed sign-in attempts. Try again in %s.", waitText(wait))
	}
	s.renderLang(w, r, status, page, target, locales)
	return nil
}

package server

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/latchauth/latch/internal/mfa"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/passkey"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// The account page (/account): the signed-in user's sign-in methods
// (password, authenticator app, recovery codes; passkeys slot in as
// another store.Factor kind and another AccountMethod), password change,
// sessions and apps. It is a browser route like the login page: same
// strict CSP and frame-ancestors 'none' (setPageHeaders), cross-origin
// posts refused (CrossOriginProtection), and every form carries a sealed,
// single-use interaction bound to the browser's CSRF cookie and to the
// signed-in user (openInteraction), so a forged or replayed post does
// nothing. Without a session the login page is shown, then the account.

const kindAccount = "account"

// notices are the confirmations the account page shows after a change
// (Post/Redirect/Get: the redirect names one by key, never by text).
var notices = map[string]string{
	"password":        "Your password was changed.",
	"totp-removed":    "Your authenticator app was removed.",
	"signed-out":      "The other sessions were signed out.",
	"revoked":         "Access for the application was revoked.",
	"passkey-added":   "Your passkey was added.",
	"passkey-removed": "Your passkey was removed.",
	"linked":          "The provider was linked: you can sign in with it.",
}

// handleAccount shows the account page (GET) or applies one of its
// forms (POST).
func (s *Server) handleAccount(w http.ResponseWriter, r *http.Request) error {
	sess, user, err := s.currentSession(r)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet:
		if sess == nil {
			return s.showLogin(w, r, nil, interaction{Account: true}, "", "", http.StatusOK)
		}
		q, err := parseQuery(r, "account")
		if err != nil {
			return err
		}
		return s.showAccount(w, r, sess, user, ui.AccountPage{Notice: notices[q.Get("notice")]}, nil)
	case http.MethodPost:
	default:
		return oauth.Errorf(oauth.InvalidRequest, "the account page accepts GET and POST only")
	}
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	sealed, err1 := formValue(form, "interaction")
	action, err2 := formValue(form, "action")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	in, err := s.openInteraction(r, kindAccount, sealed)
	if err != nil {
		return err
	}
	// The form must come from the user who is signed in now.
	if sess == nil || user.ID != in.UserID {
		return errInteraction.WithCause(errors.New("account: session gone or another user"))
	}
	ctx := r.Context()
	switch action {
	case "totp-start":
		return s.startTOTP(w, r, sess, user)
	case "totp-confirm":
		code, err := formValue(form, "code")
		if err != nil {
			return err
		}
		return s.confirmTOTP(w, r, sess, user, in, code)
	case "totp-remove", "recovery-codes":
		// Removing a factor, or making new recovery codes, needs a
		// sign-in with the factor: a stolen password-only session must
		// not switch it off.
		if oauth.ACRLevel(oauth.ACRFor(sess.AMR)) < oauth.ACRLevel(oauth.ACRMFA) {
			return s.showCode(w, r, nil, interaction{Account: true, Pending: user.ID, AMR: sess.AMR, StepUp: true}, "", http.StatusOK, 0)
		}
		if action == "recovery-codes" {
			codes, fs := s.newRecoveryCodes(user.ID)
			if err := s.store.SaveFactors(ctx, user.ID, []string{store.FactorRecovery}, fs...); err != nil {
				return err
			}
			s.auditLog(ctx, "recovery_codes_renewed", "sub", user.ID)
			return s.showAccount(w, r, sess, user, ui.AccountPage{Codes: codes}, nil)
		}
		if err := s.store.SaveFactors(ctx, user.ID, []string{store.FactorTOTP, store.FactorRecovery}); err != nil {
			return err
		}
		s.auditLog(ctx, "totp_removed", "sub", user.ID, "by", "user")
		return s.accountDone(w, r, "totp-removed")
	case "passkey-add":
		name, err1 := formValue(form, "name")
		cred, err2 := formValue(form, "credential")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		msg, err := s.addPasskey(ctx, user, in, name, cred)
		if err != nil {
			return err
		}
		if msg != "" {
			return s.showAccount(w, r, sess, user, ui.AccountPage{Error: msg}, nil)
		}
		return s.accountDone(w, r, "passkey-added")
	case "passkey-delete":
		id, err := formValue(form, "passkey")
		if err != nil {
			return err
		}
		return s.deletePasskey(w, r, sess, user, id)
	case "password":
		cur, err1 := formValue(form, "current_password")
		next, err2 := formValue(form, "new_password")
		if err := errors.Join(err1, err2); err != nil {
			return err
		}
		return s.changePassword(w, r, sess, user, cur, next)
	case "signout-others":
		if err := s.endOtherSessions(ctx, user.ID, sess.ID); err != nil {
			return err
		}
		s.auditLog(ctx, "sessions_ended", "sub", user.ID, "by", "user")
		return s.accountDone(w, r, "signed-out")
	case "revoke":
		clientID, err := formValue(form, "client")
		if err != nil {
			return err
		}
		// Revoking the grants revokes every refresh token issued from
		// them (RotateRefreshToken answers ErrRevoked); the consent is
		// emptied so the app must ask again.
		n, err := s.store.RevokeUserGrants(ctx, user.ID, clientID, s.now(), store.ReasonRevokedByUser)
		if err != nil {
			return err
		}
		if err := s.store.SaveConsent(ctx, store.Consent{UserID: user.ID, ClientID: clientID, GrantedAt: s.now()}); err != nil {
			return err
		}
		s.auditLog(ctx, "grants_revoked", "sub", user.ID, "client_id", clientID, "grants", n, "by", "user", "reason", store.ReasonRevokedByUser)
		return s.accountDone(w, r, "revoked")
	}
	return oauth.Errorf(oauth.InvalidRequest, "unknown account action")
}

// accountDone redirects back to the account page with a notice (PRG).
func (s *Server) accountDone(w http.ResponseWriter, r *http.Request, notice string) error {
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, s.url(pathAccount)+"?"+url.Values{"notice": {notice}}.Encode(), http.StatusSeeOther)
	return nil
}

// showAccount renders the account page for user with page's extra
// fields (a notice, an error, the enrolment step, fresh codes). pending
// is a TOTP secret being enrolled, sealed into the page's interaction.
func (s *Server) showAccount(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, page ui.AccountPage, pending []byte) error {
	ctx := r.Context()
	options, ceremony, err := s.beginPasskeyRegistration(ctx, user)
	if err != nil {
		return err
	}
	sealed, err := s.sealInteraction(w, r, interaction{Kind: kindAccount, UserID: user.ID, TOTP: pending, WebAuthn: ceremony})
	if err != nil {
		return err
	}
	page.PasskeyOptions = options
	page.Action, page.Interaction, page.Username, page.Name = s.url(pathAccount), sealed, user.Username, user.Name
	page.SignOutAction = s.url(pathLogout)
	page.HasPassword = user.PasswordHash != ""
	if page.HasPassword {
		page.Methods = append(page.Methods, ui.AccountMethod{Kind: "password", Name: "Password"})
	}
	fs, err := s.store.ListFactors(ctx, user.ID)
	if err != nil {
		return err
	}
	page.Passkeys = accountPasskeys(fs)
	for _, f := range fs {
		switch f.Kind {
		case store.FactorTOTP:
			page.HasTOTP = true
			page.Methods = append(page.Methods, ui.AccountMethod{Kind: f.Kind, Name: "Authenticator app", Added: f.CreatedAt.UTC().Format("2006-01-02")})
		case store.FactorRecovery:
			if f.Counter == 0 {
				page.RecoveryLeft++
			}
		}
	}
	if page.Upstreams, err = s.accountUpstreams(w, r, user.ID); err != nil {
		return err
	}
	sessions, err := s.store.ListUserSessions(ctx, user.ID, s.now())
	if err != nil {
		return err
	}
	for _, x := range sessions {
		page.Sessions = append(page.Sessions, ui.AccountSession{
			Started: x.AuthTime.UTC().Format("2006-01-02 15:04 UTC"), Methods: strings.Join(x.AMR, " "), Current: x.ID == sess.ID,
		})
	}
	if page.Apps, err = s.accountApps(ctx, user.ID); err != nil {
		return err
	}
	s.renderFor(w, r, http.StatusOK, page, "")
	return nil
}

// accountApps lists the clients holding a live grant of the user, with
// the scopes granted.
func (s *Server) accountApps(ctx context.Context, userID string) ([]ui.AccountApp, error) {
	gs, err := s.store.ListUserGrants(ctx, userID)
	if err != nil {
		return nil, err
	}
	now := s.now()
	var apps []ui.AccountApp
	for _, g := range gs {
		if !g.RevokedAt.IsZero() || (!g.AbsoluteExpiresAt.IsZero() && !g.AbsoluteExpiresAt.After(now)) {
			continue
		}
		i := slices.IndexFunc(apps, func(a ui.AccountApp) bool { return a.ClientID == g.ClientID })
		if i < 0 {
			name := g.ClientID
			if c, err := s.store.GetClient(ctx, g.ClientID); err == nil {
				name = clientName(c)
			}
			apps = append(apps, ui.AccountApp{ClientID: g.ClientID, Name: name})
			i = len(apps) - 1
		}
		apps[i].Scopes = union(apps[i].Scopes, g.Scopes)
	}
	return apps, nil
}

// startTOTP shows the enrolment step: a fresh key as a QR code and as
// text. The key travels sealed in the page's interaction until the user
// confirms it with a code; nothing is stored before.
func (s *Server) startTOTP(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User) error {
	if s.opts.Factors == nil {
		return oauth.Errorf(oauth.InvalidRequest, "authenticator apps are not available on this server")
	}
	issuer := s.ui.Product()
	k, err := mfa.NewKey(issuer, user.Username)
	if err != nil {
		return err
	}
	return s.showEnrol(w, r, sess, user, k, "")
}

func (s *Server) showEnrol(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, k mfa.Key, msg string) error {
	qr, err := k.QRDataURL()
	if err != nil {
		return err
	}
	return s.showAccount(w, r, sess, user, ui.AccountPage{Error: msg, Enrol: &ui.TOTPEnrolment{QR: ui.QRImage(qr), Secret: k.Text}}, k.Secret)
}

// confirmTOTP turns the enrolled key on once the user typed a code it
// produces: the key is stored sealed, with its first step spent (the
// code just used cannot sign in), and ten recovery codes are shown once.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, in interaction, code string) error {
	if len(in.TOTP) == 0 || s.opts.Factors == nil {
		return errInteraction.WithCause(errors.New("account: no TOTP key being enrolled"))
	}
	ctx := r.Context()
	now := s.now()
	step, err := mfa.Check(in.TOTP, code, now)
	if err != nil {
		k, err := mfa.KeyFor(s.ui.Product(), user.Username, in.TOTP)
		if err != nil {
			return err
		}
		return s.showEnrol(w, r, sess, user, k, "That code is not right. Enter the code your app shows now.")
	}
	id := "totp-" + token.NewOpaque()[:16]
	f := store.Factor{
		UserID: user.ID, ID: id, Kind: store.FactorTOTP, Name: "Authenticator app",
		Secret: s.opts.Factors.Seal(in.TOTP, factorSecretAD(user.ID, id)), Counter: step, CreatedAt: now, LastUsedAt: now,
	}
	codes, rs := s.newRecoveryCodes(user.ID)
	if err := s.store.SaveFactors(ctx, user.ID, []string{store.FactorTOTP, store.FactorRecovery}, append([]store.Factor{f}, rs...)...); err != nil {
		return err
	}
	s.auditLog(ctx, "totp_enrolled", "sub", user.ID)
	return s.showAccount(w, r, sess, user, ui.AccountPage{Codes: codes}, nil)
}

// newRecoveryCodes makes mfa.RecoveryCodes codes and their factors
// (keyed hashes only).
func (s *Server) newRecoveryCodes(userID string) ([]string, []store.Factor) {
	codes := mfa.NewRecoveryCodes()
	now := s.now()
	fs := make([]store.Factor, len(codes))
	for i, c := range codes {
		fs[i] = store.Factor{UserID: userID, ID: mfa.HashRecoveryCode(s.opts.RecoveryKey, userID, c), Kind: store.FactorRecovery, CreatedAt: now}
	}
	return codes, fs
}

// changePassword checks the current password (a credential guess like a
// sign-in: the same throttle budgets) and stores a hash of the new one
// made with the configured parameters (so the hash is upgraded too); the
// user's other sessions end.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, cur, next string) error {
	ctx := r.Context()
	if registration.CheckPassword(next) != nil {
		return s.showAccount(w, r, sess, user, ui.AccountPage{Error: "Choose a new password of at least 8 characters."}, nil)
	}
	limits, clear := s.signInLimits(r, "", *user)
	a, wait, err := s.throttle.reserve(ctx, limits)
	if err != nil {
		return err
	}
	if a == nil {
		return oauth.Errorf(oauth.SlowDown, "too many wrong passwords; try again in %s", waitText(wait))
	}
	ok, err := s.opts.Passwords.VerifyContext(ctx, cur, user.PasswordHash)
	if err != nil {
		return errors.Join(err, s.throttle.abandoned(ctx, a))
	}
	if !ok {
		if _, err := s.throttle.failed(ctx, a); err != nil {
			return err
		}
		s.auditLog(ctx, "password_change_failed", "sub", user.ID)
		return s.showAccount(w, r, sess, user, ui.AccountPage{Error: "Your current password is not right."}, nil)
	}
	if err := s.throttle.succeeded(ctx, a, clear...); err != nil {
		return err
	}
	h, err := s.opts.Passwords.Hash(next)
	if err != nil {
		return err
	}
	if err := s.store.SetUserPassword(ctx, user.ID, h); err != nil {
		return err
	}
	if err := s.endOtherSessions(ctx, user.ID, sess.ID); err != nil {
		return err
	}
	s.auditLog(ctx, "password_changed", "sub", user.ID, "by", "user")
	return s.accountDone(w, r, "password")
}

// endOtherSessions ends every session of the user but keep.
func (s *Server) endOtherSessions(ctx context.Context, userID, keep string) error {
	sessions, err := s.store.ListUserSessions(ctx, userID, s.now())
	if err != nil {
		return err
	}
	for _, x := range sessions {
		if x.ID == keep {
			continue
		}
		// EndSession, not DeleteSession: the clients that got tokens in
		// it are sent a Logout Token (back-channel logout).
		if _, err := s.store.EndSession(ctx, x.ID, s.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	return nil
}

// deletePasskey removes one of the user's passkeys. It needs a session
// signed in with a second factor or a passkey (acr mfa or stronger), as
// removing the authenticator app does; and a user without a password
// keeps their last passkey (it is their only way in).
func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, id string) error {
	ctx := r.Context()
	if oauth.ACRLevel(oauth.ACRFor(sess.AMR)) < oauth.ACRLevel(oauth.ACRMFA) {
		return s.showAccount(w, r, sess, user, ui.AccountPage{Error: "To remove a passkey, sign in with a passkey or your authenticator app first."}, nil)
	}
	fs, err := s.store.ListFactors(ctx, user.ID)
	if err != nil {
		return err
	}
	i := slices.IndexFunc(fs, func(f store.Factor) bool { return f.Kind == passkey.Kind && f.ID == id })
	if i < 0 {
		return oauth.Errorf(oauth.InvalidRequest, "no such passkey")
	}
	if user.PasswordHash == "" && len(accountPasskeys(fs)) == 1 {
		return s.showAccount(w, r, sess, user, ui.AccountPage{Error: "This is your only way to sign in: add another passkey before you remove this one."}, nil)
	}
	if err := s.store.DeleteFactor(ctx, user.ID, id); err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	s.auditLog(ctx, "passkey_removed", "sub", user.ID, "factor", id, "by", "user")
	return s.accountDone(w, r, "passkey-removed")
}

package server

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/passkey"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/ui"
)

// The password reset link an administrator issues (latch user
// reset-link, manage.IssueResetLink): /account/reset?u=SUB&t=SECRET.
// Only the secret's hash is stored (a store.Factor of kind
// FactorResetLink); the link sets a new password once: its use is spent
// with store.AdvanceFactor (exactly one of concurrent posts wins) before
// the password is written, and then every session of the user ends.

const kindReset = "reset"

// handleReset shows the reset form (GET) or sets the password (POST).
func (s *Server) handleReset(w http.ResponseWriter, r *http.Request) error {
	if r.Method == http.MethodGet {
		q, err := parseQuery(r, "reset")
		if err != nil {
			return err
		}
		userID, secret := q.Get("u"), q.Get("t")
		user, id, ok, err := s.resetLink(r.Context(), userID, secret)
		if err != nil {
			return err
		}
		if !ok {
			return s.showReset(w, r, ui.ResetPage{Invalid: true}, http.StatusNotFound)
		}
		return s.showResetForm(w, r, &user, id, "", http.StatusOK)
	}
	if r.Method != http.MethodPost {
		return oauth.Errorf(oauth.InvalidRequest, "the reset page accepts GET and POST only")
	}
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	sealed, err1 := formValue(form, "interaction")
	pw, err2 := formValue(form, "new_password")
	name, err3 := formValue(form, "name")
	cred, err4 := formValue(form, "credential")
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		return err
	}
	in, err := s.openInteraction(r, kindReset, sealed)
	if err != nil {
		return err
	}
	ctx := r.Context()
	user, err := s.store.GetUser(ctx, in.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return s.showReset(w, r, ui.ResetPage{Invalid: true}, http.StatusNotFound)
	}
	if err != nil {
		return err
	}
	if len(in.WebAuthn) > 0 {
		return s.resetWithPasskey(w, r, &user, in, name, cred)
	}
	if registration.CheckPassword(pw) != nil {
		return s.showResetForm(w, r, &user, in.Pending, "Choose a new password of at least 8 characters.", http.StatusBadRequest)
	}
	// Spend the link first: of concurrent posts exactly one gets past.
	switch err := s.store.AdvanceFactor(ctx, user.ID, in.Pending, 1, s.now()); {
	case errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrNotFound):
		return s.showReset(w, r, ui.ResetPage{Invalid: true}, http.StatusNotFound)
	case err != nil:
		return err
	}
	h, err := s.opts.Passwords.Hash(pw)
	if err != nil {
		return err
	}
	if err := s.store.SetUserPassword(ctx, user.ID, h); err != nil {
		return err
	}
	if _, _, err := s.store.EndUserSessions(ctx, user.ID, s.now()); err != nil {
		return err
	}
	s.auditLog(ctx, "password_reset_with_link", "sub", user.ID)
	return s.showReset(w, r, ui.ResetPage{Done: true}, http.StatusOK)
}

// resetLink finds the unused, unexpired reset link of userID with secret.
func (s *Server) resetLink(ctx context.Context, userID, secret string) (store.User, string, bool, error) {
	if userID == "" || secret == "" {
		return store.User{}, "", false, nil
	}
	user, err := s.store.GetUser(ctx, userID)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, "", false, nil
	}
	if err != nil {
		return store.User{}, "", false, err
	}
	fs, err := s.store.ListFactors(ctx, userID)
	if err != nil {
		return store.User{}, "", false, err
	}
	id := registration.ResetLinkID(secret)
	i := slices.IndexFunc(fs, func(f store.Factor) bool { return f.Kind == store.FactorResetLink && f.ID == id })
	if i < 0 || fs[i].Counter > 0 || !s.now().Before(fs[i].CreatedAt.Add(store.ResetLinkTTL)) {
		return store.User{}, "", false, nil
	}
	return user, id, true, nil
}

func (s *Server) showReset(w http.ResponseWriter, r *http.Request, page ui.ResetPage, status int) error {
	w.Header().Set("Referrer-Policy", "no-referrer") // the link's secret is in the URL
	s.renderFor(w, r, status, page, "")
	return nil
}

// showResetForm shows the link's form: a new password, or, for an
// account without a password (latch user create --passkey-only), the
// creation of its passkey, whose ceremony is sealed into the form.
func (s *Server) showResetForm(w http.ResponseWriter, r *http.Request, user *store.User, linkID, msg string, status int) error {
	in := interaction{Kind: kindReset, UserID: user.ID, Pending: linkID}
	page := ui.ResetPage{Action: s.url(pathReset), Username: user.Username, Error: msg}
	if user.PasswordHash == "" && s.opts.Passkeys != nil {
		options, ceremony, err := s.beginPasskeyRegistration(r.Context(), user)
		if err != nil {
			return err
		}
		page.PasskeyOptions, in.WebAuthn = options, ceremony
	}
	sealed, err := s.sealInteraction(w, r, in)
	if err != nil {
		return err
	}
	page.Interaction = sealed
	return s.showReset(w, r, page, status)
}

// resetWithPasskey registers the first passkey of a passkey-only account
// with its registration link. The answer is verified first, then the
// link is spent (exactly one of concurrent posts gets past), then the
// passkey is stored; the user then signs in with it.
func (s *Server) resetWithPasskey(w http.ResponseWriter, r *http.Request, user *store.User, in interaction, name, cred string) error {
	ctx := r.Context()
	const msg = "The passkey could not be verified. Try again."
	name, ok := passkeyName(name)
	if !ok || cred == "" {
		return s.showResetForm(w, r, user, in.Pending, msg, http.StatusBadRequest)
	}
	pu, err := s.passkeyUser(ctx, user)
	if err != nil {
		return err
	}
	f, err := s.opts.Passkeys.FinishRegistration(pu, in.WebAuthn, []byte(cred), name, s.now())
	if errors.Is(err, passkey.ErrRefused) {
		s.log.InfoContext(ctx, "passkey registration refused", "err", err)
		s.auditLog(ctx, "passkey_registration_refused", "sub", user.ID)
		return s.showResetForm(w, r, user, in.Pending, msg, http.StatusBadRequest)
	}
	if err != nil {
		return err
	}
	switch err := s.store.AdvanceFactor(ctx, user.ID, in.Pending, 1, s.now()); {
	case errors.Is(err, store.ErrAlreadyExists), errors.Is(err, store.ErrNotFound):
		return s.showReset(w, r, ui.ResetPage{Invalid: true}, http.StatusNotFound)
	case err != nil:
		return err
	}
	if err := s.store.SaveFactors(ctx, user.ID, nil, f); err != nil {
		return err
	}
	s.auditLog(ctx, "passkey_added", "sub", user.ID, "factor", f.ID, "by", "registration_link")
	return s.showReset(w, r, ui.ResetPage{PasskeyDone: true}, http.StatusOK)
}

package server

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/passkey"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/ui"
)

// Passkeys (WebAuthn, through internal/passkey and go-webauthn): the
// sign-in ceremony of the login page (POST /login/passkey), the
// registration ceremony of the account page and of a passkey-only
// account's registration link (reset.go).
//
// A ceremony's challenge is made when the page is rendered and travels
// only inside the page's sealed interaction (interaction.WebAuthn), so it
// is
//   - single-use: the interaction is spent in the store (UseOnce) when the
//     answer is posted, before it is verified — a replayed assertion, even
//     by many browsers at once, gets past that step once;
//   - bound to the browser: the interaction is bound to its CSRF cookie;
//   - short-lived: passkey.CeremonyTTL (the library refuses an answer to
//     an expired session), and the interaction's own 15 minutes.
// The library verifies the answer itself (WebAuthn §7.1, §7.2: challenge,
// origin, RP ID hash, user presence and verification, signature, flags).
// The signature counter (§6.1.1) is then advanced with one atomic store
// write (store.AdvanceFactor): a counter that did not grow is a cloned
// authenticator or a replay, refused and audited.

const (
	msgPasskeyRefused = "That passkey could not be verified. Try again, or sign in another way."
	msgPasskeyClone   = "That passkey was refused: its signature counter went backwards, which happens when an authenticator was copied. Ask your administrator."
)

// beginPasskeyLogin starts a discoverable sign-in for the login page:
// the options for the browser, and the session sealed into in. "" when
// passkeys are off.
func (s *Server) beginPasskeyLogin(in *interaction) (string, error) {
	if s.opts.Passkeys == nil {
		return "", nil
	}
	c, err := s.opts.Passkeys.BeginLogin()
	if err != nil {
		return "", err
	}
	in.WebAuthn = c.Session
	return string(c.Options), nil
}

// passkeyUser is the passkey.User of a store user with its factors.
func (s *Server) passkeyUser(ctx context.Context, u *store.User) (passkey.User, error) {
	fs, err := s.store.ListFactors(ctx, u.ID)
	if err != nil {
		return passkey.User{}, err
	}
	return passkey.User{ID: u.ID, Username: u.Username, Name: u.Name, Factors: fs}, nil
}

// hasPasskey reports whether fs holds a passkey.
func hasPasskey(fs []store.Factor) bool {
	return slices.ContainsFunc(fs, func(f store.Factor) bool { return f.Kind == passkey.Kind })
}

// handleLoginPasskey receives the login page's passkey form (POST only):
// the sealed interaction and the browser's assertion ("credential", the
// JSON of the PublicKeyCredential).
func (s *Server) handleLoginPasskey(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return oauth.Errorf(oauth.InvalidRequest, "sign in from the application: open it and choose sign in")
	}
	if s.opts.Passkeys == nil {
		return oauth.Errorf(oauth.InvalidRequest, "passkeys are not available on this server")
	}
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	sealed, err1 := formValue(form, "interaction")
	cred, err2 := formValue(form, "credential")
	if err := errors.Join(err1, err2); err != nil {
		return err
	}
	// Spends the interaction, and so the challenge, before anything
	// else: the one step no replay gets past twice.
	in, err := s.openInteraction(r, kindAuthorize, sealed)
	if err != nil {
		return err
	}
	if len(in.WebAuthn) == 0 {
		return errInteraction.WithCause(errors.New("interaction: no passkey ceremony"))
	}
	var ar *authRequest
	if !in.Account {
		if ar, err = s.resolveAuthorize(r, in.Query); err != nil {
			return err
		}
	}
	required, ceremony := in.PasskeyRequired, in.WebAuthn
	ctx := r.Context()
	if cred == "" {
		return s.showLoginPasskey(w, r, ar, in, "Your browser sent no passkey. Try again, or sign in another way.", http.StatusBadRequest, required)
	}
	var user store.User
	var storeErr error // the store failed: a 5xx/503, not a refused passkey
	a, err := s.opts.Passkeys.FinishLogin(ceremony, []byte(cred), func(handle []byte) (passkey.User, error) {
		if !utf8.Valid(handle) {
			return passkey.User{}, store.ErrNotFound
		}
		u, err := s.store.GetUser(ctx, string(handle))
		if err == nil {
			user = u
			var pu passkey.User
			if pu, err = s.passkeyUser(ctx, &u); err == nil {
				return pu, nil
			}
		}
		if !errors.Is(err, store.ErrNotFound) {
			storeErr = err
		}
		return passkey.User{}, err
	})
	if storeErr != nil {
		return storeErr
	}
	if errors.Is(err, passkey.ErrRefused) {
		s.log.InfoContext(ctx, "passkey sign-in refused", "err", err)
		s.auditLog(ctx, "login_failed", "client_id", ar.clientID(), "sub", user.ID, "reason", "passkey_refused")
		return s.showLoginPasskey(w, r, ar, in, msgPasskeyRefused, http.StatusUnauthorized, required)
	}
	if err != nil {
		return err
	}
	// WebAuthn §6.1.1: a counter that did not grow past the stored one
	// (the library's clone warning), or that another sign-in advanced
	// first (AdvanceFactor: exactly one of concurrent callers with one
	// counter wins), is refused. An authenticator that keeps no counter
	// reports 0 every time: nothing to advance.
	switch {
	case !a.CloneWarning && a.Counter > 0:
		err := s.store.AdvanceFactor(ctx, a.UserID, a.FactorID, int64(a.Counter), s.now())
		if errors.Is(err, store.ErrAlreadyExists) {
			a.CloneWarning = true
		} else if err != nil {
			return err
		}
	case !a.CloneWarning:
		// No counter: only the last use is recorded (the challenge's
		// single use is what stops a replay).
		if err := s.store.TouchFactor(ctx, a.UserID, a.FactorID, s.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			return err
		}
	}
	if a.CloneWarning {
		s.auditLog(ctx, "passkey_counter_regressed", "client_id", ar.clientID(), "sub", a.UserID, "factor", a.FactorID, "counter", a.Counter)
		return s.showLoginPasskey(w, r, ar, in, msgPasskeyClone, http.StatusUnauthorized, required)
	}
	if err := s.rememberDevice(w, r, user.ID); err != nil {
		return err
	}
	amr := a.AMR()
	sess, err := s.startSession(ctx, w, r, user, amr)
	if err != nil {
		return err
	}
	s.auditLog(ctx, "login_succeeded", "client_id", ar.clientID(), "sub", user.ID, "amr", amr, "method", "passkey",
		"backup_eligible", a.BackupEligible, "backed_up", a.BackedUp)
	if in.Account {
		http.Redirect(w, r, s.url(pathAccount), http.StatusSeeOther)
		return nil
	}
	in.LoggedIn, in.PasskeyRequired = true, false
	return s.continueAuthorize(w, r, ar, &sess, &user, in)
}

// showLoginPasskey shows the login page again after a passkey answer
// was refused (a fresh interaction and challenge); required keeps the
// passkey-only form of a passkey policy.
func (s *Server) showLoginPasskey(w http.ResponseWriter, r *http.Request, ar *authRequest, in interaction, msg string, status int, required bool) error {
	in.PasskeyRequired = required
	return s.showLogin(w, r, ar, in, "", msg, status)
}

// requirePasskey answers a request whose acr needs a passkey sign-in
// (policy passkey, acr phr) and whose session has none: the login page
// in its passkey-only form when the user has a passkey, else
// unmet_authentication_requirements (prompt=none: interaction_required).
func (s *Server) requirePasskey(w http.ResponseWriter, r *http.Request, ar *authRequest, user *store.User, in interaction) error {
	ctx := r.Context()
	if s.opts.Passkeys == nil {
		return &redirectError{to: ar.to, err: oauth.Errorf(oauth.UnmetAuthenticationRequirements,
			"a passkey sign-in is required, and passkeys are off on this server (its issuer has no domain name)")}
	}
	fs, err := s.store.ListFactors(ctx, user.ID)
	if err != nil {
		return err
	}
	if !hasPasskey(fs) {
		s.auditLog(ctx, "acr_unmet", "client_id", ar.client.ID, "sub", user.ID, "acr", oauth.ACRPhishingResistant)
		return &redirectError{to: ar.to, err: oauth.Errorf(oauth.UnmetAuthenticationRequirements,
			"a passkey sign-in is required (acr %s) and the user has no passkey; they can add one at %s", oauth.ACRPhishingResistant, s.url(pathAccount))}
	}
	if ar.req.HasPrompt(oauth.PromptNone) {
		return &redirectError{to: ar.to, err: oauth.Errorf(oauth.InteractionRequired, "the sign-in must be stepped up to acr %s with a passkey", oauth.ACRPhishingResistant)}
	}
	in.PasskeyRequired = true
	return s.showLogin(w, r, ar, in, user.Username, "", http.StatusOK)
}

// passkeyName is the name a user gave a new passkey, trimmed; a default
// when empty. ok is false for a name that is too long or not text.
func passkeyName(name string) (string, bool) {
	name = strings.TrimSpace(name)
	if name == "" {
		return "Passkey", true
	}
	if utf8.RuneCountInString(name) > passkey.MaxNameLen || !registration.ValidText(name) {
		return "", false
	}
	return name, true
}

// beginPasskeyRegistration starts registering a passkey for user: the
// options for the page, the session for its interaction. "" when
// passkeys are off.
func (s *Server) beginPasskeyRegistration(ctx context.Context, user *store.User) (string, []byte, error) {
	if s.opts.Passkeys == nil {
		return "", nil, nil
	}
	pu, err := s.passkeyUser(ctx, user)
	if err != nil {
		return "", nil, err
	}
	c, err := s.opts.Passkeys.BeginRegistration(pu)
	if err != nil {
		return "", nil, err
	}
	return string(c.Options), c.Session, nil
}

// addPasskey verifies a registration answer against the interaction's
// ceremony and stores the new passkey. The message is for the page when
// the answer was refused ("" on success).
func (s *Server) addPasskey(ctx context.Context, user *store.User, in interaction, name, cred string) (msg string, err error) {
	if s.opts.Passkeys == nil || len(in.WebAuthn) == 0 {
		return "", errInteraction.WithCause(errors.New("passkey: no registration ceremony"))
	}
	name, ok := passkeyName(name)
	if !ok {
		return "Choose a shorter name for your passkey (at most 64 characters).", nil
	}
	if cred == "" {
		return "Your browser created no passkey. Try again.", nil
	}
	pu, err := s.passkeyUser(ctx, user)
	if err != nil {
		return "", err
	}
	f, err := s.opts.Passkeys.FinishRegistration(pu, in.WebAuthn, []byte(cred), name, s.now())
	if errors.Is(err, passkey.ErrRefused) {
		s.log.InfoContext(ctx, "passkey registration refused", "err", err)
		s.auditLog(ctx, "passkey_registration_refused", "sub", user.ID)
		return "The passkey could not be verified. Try again.", nil
	}
	if err != nil {
		return "", err
	}
	err = s.store.SaveFactors(ctx, user.ID, nil, f)
	if errors.Is(err, store.ErrAlreadyExists) {
		return "That passkey is registered already.", nil
	}
	if err != nil {
		return "", err
	}
	info, _ := passkey.Describe(f)
	s.auditLog(ctx, "passkey_added", "sub", user.ID, "factor", f.ID, "backup_eligible", info.BackupEligible, "backed_up", info.BackedUp)
	return "", nil
}

// accountPasskeys lists the user's passkeys for the account page.
func accountPasskeys(fs []store.Factor) []ui.AccountPasskey {
	var out []ui.AccountPasskey
	for _, f := range fs {
		info, ok := passkey.Describe(f)
		if !ok {
			continue
		}
		p := ui.AccountPasskey{ID: f.ID, Name: f.Name, Added: f.CreatedAt.UTC().Format("2006-01-02"),
			BackupEligible: info.BackupEligible, BackedUp: info.BackedUp}
		if !f.LastUsedAt.IsZero() {
			p.LastUsed = f.LastUsedAt.UTC().Format("2006-01-02")
		}
		out = append(out, p)
	}
	return out
}

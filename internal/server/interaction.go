package server

import (
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// An interaction is the state of one authorization request while the user
// is on Latch's login, consent or logout page. It travels in the form as a
// sealed (AES-GCM) value, so any Latch instance can continue it. It is
// bound to the browser by the hash of a random cookie (a double-submit
// CSRF token): a form posted from another browser, or replayed after the
// cookie changed, is refused. Each sealed form is also single-use: its
// random ID is spent in the store (UseOnce) when the form is submitted,
// so a captured or re-sent form (with the password in its body) cannot
// sign in, consent or sign out a second time; every page that answers a
// submission seals a fresh form.
type interaction struct {
	ID   string `json:"i"` // random, spent by openInteraction
	Kind string `json:"k"` // "authorize" or "logout"
	// Query is the original authorization request, re-validated on every
	// step (the client's registration may have changed meanwhile).
	Query url.Values `json:"q,omitempty"`
	// LoggedIn is set once the user authenticated within this
	// interaction, so prompt=login and max_age are satisfied.
	LoggedIn bool `json:"l,omitempty"`
	// Consented is set once the user allowed the request on the consent
	// page, so prompt=consent is satisfied.
	Consented bool `json:"a,omitempty"`
	// UserID is the user the consent page was shown to.
	UserID string `json:"u,omitempty"`
	// Account: the sign-in is for the account page, not an
	// authorization request (Query is empty).
	Account bool `json:"ac,omitempty"`
	// Pending is the user whose first factor is proven (AMR) and who
	// owes the second (mfa.go); PendingKey their canonical username
	// (throttle budgets). StepUp: the first factor is the browser's
	// session, which the second upgrades.
	Pending    string   `json:"pu,omitempty"`
	PendingKey string   `json:"pk,omitempty"`
	AMR        []string `json:"m,omitempty"`
	StepUp     bool     `json:"su,omitempty"`
	// TOTP is a TOTP secret being enrolled on the account page, until
	// the user confirms it with a first code.
	TOTP []byte `json:"t,omitempty"`
	// Device is set on a sign-in the device page asked for: it has no
	// Query and returns to /device (device_verify.go). UserCode is the
	// canonical user code it carries back, or, in a device page form
	// (kind "device"), the code the user looked up and now decides on.
	Device   bool   `json:"dv,omitempty"`
	UserCode string `json:"uc,omitempty"`
	// LinkUser: the account page's "link" links (federation.go) of this
	// signed-in user.
	LinkUser string `json:"lu,omitempty"`
	// WebAuthn is the session data (the challenge) of the passkey
	// ceremony the page began (passkey.go): it is single-use and bound
	// to this browser with the interaction.
	WebAuthn []byte `json:"w,omitempty"`
	// PasskeyRequired: the login page asks for a passkey only (a
	// passkey policy or acr phr, passkey.go).
	PasskeyRequired bool `json:"pr,omitempty"`
	// Logout fields; UILocales is the logout request's ui_locales, the
	// language of the pages after the confirmation.
	ClientID              string `json:"c,omitempty"`
	PostLogoutRedirectURI string `json:"p,omitempty"`
	State                 string `json:"s,omitempty"`
	UILocales             string `json:"ul,omitempty"`
	Binding               string `json:"b"` // hash of the CSRF cookie
	Expires               int64  `json:"e"`
}

const interactionTTL = 15 * time.Minute

// errInteraction is shown when a form's state is missing, forged, expired
// or from another browser.
var errInteraction = oauth.Errorf(oauth.InvalidRequest, "this sign-in page has expired or was opened in another browser; go back to the application and start again")

// errInteractionUsed is shown when a form is submitted a second time.
var errInteractionUsed = oauth.Errorf(oauth.InvalidRequest, "this page was already submitted; go back to the application and start again")

// interactionKeyPrefix namespaces interaction IDs among UseOnce keys.
const interactionKeyPrefix = "interaction:"

// csrfBinding returns the hash of the browser's CSRF cookie, creating the
// cookie when absent.
func (s *Server) csrfBinding(w http.ResponseWriter, r *http.Request) string {
	if v := s.cookie(r, csrfCookie); len(v) >= 32 {
		return token.Hash(v)
	}
	v := token.NewOpaque()
	c := s.newCookie(csrfCookie, v, time.Time{}, 0)
	http.SetCookie(w, c)
	// A page that seals several forms (the login page and its upstream
	// links) binds them all to this one cookie.
	r.AddCookie(&http.Cookie{Name: c.Name, Value: v})
	return token.Hash(v)
}

// sealInteraction binds in to this browser and seals it for a form.
func (s *Server) sealInteraction(w http.ResponseWriter, r *http.Request, in interaction) (string, error) {
	in.ID = token.NewOpaque()
	in.Binding = s.csrfBinding(w, r)
	in.Expires = s.now().Add(interactionTTL).Unix()
	b, err := json.Marshal(in)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(s.opts.Interaction.Seal(b, []byte(in.Kind))), nil
}

// openInteraction authenticates the form's interaction, checks its expiry
// and that it belongs to this browser, then spends it: of any number of
// submissions of one form (concurrent or not, on any instance sharing the
// store) exactly one gets past here; the others get errInteractionUsed.
// It is the only way to open a submitted form, so no handler can skip the
// single-use step.
func (s *Server) openInteraction(r *http.Request, kind, sealed string) (interaction, error) {
	var in interaction
	raw, err := base64.RawURLEncoding.DecodeString(sealed)
	if err != nil || sealed == "" {
		return in, errInteraction.WithCause(errors.New("interaction: not base64"))
	}
	b, err := s.opts.Interaction.Open(raw, []byte(kind))
	if err != nil {
		return in, errInteraction.WithCause(err)
	}
	if err := json.Unmarshal(b, &in); err != nil {
		return in, errInteraction.WithCause(err)
	}
	if in.Kind != kind || s.now().Unix() > in.Expires {
		return in, errInteraction.WithCause(errors.New("interaction: wrong kind or expired"))
	}
	c := s.cookie(r, csrfCookie)
	if c == "" || subtle.ConstantTimeCompare([]byte(token.Hash(c)), []byte(in.Binding)) != 1 {
		return in, errInteraction.WithCause(errors.New("interaction: CSRF cookie missing or mismatched"))
	}
	if in.ID == "" {
		return in, errInteraction.WithCause(errors.New("interaction: no id"))
	}
	err = s.store.UseOnce(r.Context(), interactionKeyPrefix+in.ID, time.Unix(in.Expires, 0))
	if errors.Is(err, store.ErrAlreadyExists) {
		return in, errInteractionUsed.WithCause(errors.New("interaction: replayed"))
	}
	if err != nil {
		return in, err
	}
	return in, nil
}

// decisionForm reads a POSTed confirmation form (consent, logout): its
// sealed interaction of the given kind, opened and bound to this browser,
// and the "decision" button. notPost is the error text for other methods.
func (s *Server) decisionForm(r *http.Request, kind, notPost string) (interaction, string, error) {
	if r.Method != http.MethodPost {
		return interaction{}, "", oauth.Errorf(oauth.InvalidRequest, "%s", notPost)
	}
	form, err := parsePostForm(r)
	if err != nil {
		return interaction{}, "", err
	}
	sealed, err1 := formValue(form, "interaction")
	decision, err2 := formValue(form, "decision")
	if err := errors.Join(err1, err2); err != nil {
		return interaction{}, "", err
	}
	in, err := s.openInteraction(r, kind, sealed)
	return in, decision, err
}

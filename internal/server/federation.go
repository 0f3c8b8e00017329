package server

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// Upstream OpenID Connect federation ("Sign in with …"): Latch is a
// relying party of an upstream OpenID Provider (store.Upstream) and signs
// the user in as one of its own users. It is done the way Latch asks its
// own clients to:
//
//   - discovery (go-oidc; the discovered issuer must be the configured one),
//   - Authorization Code with PKCE S256 (RFC 7636 §4.2),
//   - state and nonce bound to the browser: both are random, sealed with
//     the PKCE verifier in a cookie (AES-GCM, bound to the CSRF cookie),
//     and the state is spent in the store (UseOnce) at the callback, so a
//     replayed or foreign callback is refused,
//   - RFC 9207 iss checked when the upstream sends it (and required when
//     its discovery says it sends it),
//   - the ID token verified with go-oidc (signature against the
//     upstream's JWKS, iss, aud, exp) and its nonce compared here.
//
// The upstream's tokens are used for this sign-in only, never stored.
// The session records amr "fed" and the upstream's own amr values, but
// never the upstream's "mfa", "hwk" or "swk": Latch's acr speaks only for
// what Latch checked, so a client policy that needs a second factor still
// asks for Latch's own (mfa.go). Every failure ends on Latch's error page
// (access_denied, 403) with the request ID, and is audited
// (upstream_login_failed with a reason).

const (
	pathUpstreamStart    = "/login/upstream"
	pathUpstreamCallback = "/login/upstream/callback"
	// fedCookie carries the sealed upstream flow state (fedState).
	fedCookie = "latch_fed"
	// fedTTL bounds an upstream sign-in: the user signs in at the
	// upstream within it.
	fedTTL = 10 * time.Minute
	// fedStateKeyPrefix namespaces spent states among UseOnce keys.
	fedStateKeyPrefix = "upstream-state:"
	// providerTTL is how long a discovered upstream is reused; go-oidc
	// refreshes its keys on an unknown kid by itself.
	providerTTL = 10 * time.Minute
)

// fedState is the state of one upstream sign-in, sealed into fedCookie.
type fedState struct {
	State    string `json:"s"` // the state parameter (random)
	Nonce    string `json:"n"` // the nonce parameter (random)
	Verifier string `json:"v"` // the PKCE code_verifier
	Upstream string `json:"u"`
	// In is the interaction the sign-in continues (the authorization
	// request, or the account page).
	In interaction `json:"i"`
	// LinkUser: the account page's "link" action for this signed-in
	// user, instead of a sign-in.
	LinkUser string `json:"l,omitempty"`
	Binding  string `json:"b"` // hash of the CSRF cookie
	Expires  int64  `json:"e"`
}

// errUpstreamState is the answer to a callback without a matching
// flow: no cookie, another browser, expired, or a state that does not
// match.
var errUpstreamState = oauth.Errorf(oauth.AccessDenied, "this sign-in with another provider has expired or was started in another browser; go back to the application and start again")

// errUpstreamReplayed is the answer to a callback whose state was used.
var errUpstreamReplayed = oauth.Errorf(oauth.AccessDenied, "this sign-in with another provider was already completed; go back to the application and start again")

// msgUpstreamUnknown answers a link or callback of an upstream that was
// deleted meanwhile.
const msgUpstreamUnknown = "this sign-in method is not offered (any more); go back to the application and start again"

// upstreamError is an upstream sign-in that failed: audited with reason,
// shown as access_denied with msg.
func (s *Server) upstreamError(ctx context.Context, up, reason string, cause error, format string, args ...any) error {
	attrs := []any{"upstream", up, "reason", reason}
	if cause != nil {
		attrs = append(attrs, "error", cause.Error())
	}
	s.auditLog(ctx, "upstream_login_failed", attrs...)
	return oauth.Errorf(oauth.AccessDenied, format, args...).WithCause(cause)
}

// providers caches discovered upstreams by ID and issuer.
type providers struct {
	mu sync.Mutex
	m  map[string]providerEntry
}

type providerEntry struct {
	p  *oidc.Provider
	at time.Time
}

// upstreamClient is the HTTP client for upstream requests.
func (s *Server) upstreamClient() *http.Client {
	if s.opts.UpstreamClient != nil {
		return s.opts.UpstreamClient
	}
	return s.fedClient
}

// provider returns the discovered upstream u (OIDC Discovery §4): go-oidc
// refuses a document whose issuer is not u.Issuer (§4.3).
func (s *Server) provider(u store.Upstream) (*oidc.Provider, error) {
	key := u.ID + " " + u.Issuer
	now := s.now()
	s.fedProviders.mu.Lock()
	e, ok := s.fedProviders.m[key]
	s.fedProviders.mu.Unlock()
	if ok && now.Sub(e.at) < providerTTL && !now.Before(e.at) {
		return e.p, nil
	}
	// The provider keeps its context for later key fetches: not the
	// request's (cancelled when it ends); the client's timeout bounds
	// each call.
	ctx := oidc.ClientContext(context.Background(), s.upstreamClient())
	p, err := oidc.NewProvider(ctx, u.Issuer)
	if err != nil {
		return nil, err
	}
	s.fedProviders.mu.Lock()
	if s.fedProviders.m == nil {
		s.fedProviders.m = make(map[string]providerEntry)
	}
	s.fedProviders.m[key] = providerEntry{p: p, at: now}
	s.fedProviders.mu.Unlock()
	return p, nil
}

// oauthConfig is Latch's client configuration at the upstream.
func (s *Server) upstreamOAuth(u store.Upstream, p *oidc.Provider) (*oauth2.Config, error) {
	secret := ""
	if len(u.ClientSecret) > 0 {
		if s.opts.Upstreams == nil {
			return nil, errors.New("no sealer for upstream client secrets")
		}
		b, err := s.opts.Upstreams.Open(u.ClientSecret, registration.UpstreamSecretAD(u.ID))
		if err != nil {
			return nil, fmt.Errorf("opening the client secret: %w", err)
		}
		secret = string(b)
	}
	return &oauth2.Config{
		ClientID: u.ClientID, ClientSecret: secret, Endpoint: p.Endpoint(),
		RedirectURL: s.url(pathUpstreamCallback), Scopes: u.Scopes,
	}, nil
}

// handleUpstreamStart begins a sign-in at an upstream: GET
// /login/upstream?interaction=…&upstream=ID, the login page's (or the
// account page's) link. It spends the interaction like a form
// submission, then redirects to the upstream's authorization endpoint.
// A link, not a form: CSP form-action would block the redirect to the
// upstream's origin (CSP3 §6.3.2).
func (s *Server) handleUpstreamStart(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	if len(q["interaction"]) != 1 || len(q["upstream"]) != 1 {
		return oauth.Errorf(oauth.InvalidRequest, "sign in from the application: open it and choose sign in")
	}
	in, err := s.openInteraction(r, kindAuthorize, q.Get("interaction"))
	if err != nil {
		return err
	}
	if !in.Account {
		if _, err := s.resolveAuthorize(r, in.Query); err != nil {
			return err
		}
	}
	ctx := r.Context()
	id := q.Get("upstream")
	u, err := s.store.GetUpstream(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return s.upstreamError(ctx, id, "unknown_upstream", nil, "%s", msgUpstreamUnknown)
	}
	if err != nil {
		return err
	}
	linkUser := ""
	if in.LinkUser != "" {
		// The account page's link action: the user must still be
		// signed in (the callback checks it again).
		sess, _, err := s.currentSession(r)
		if err != nil {
			return err
		}
		if sess == nil || sess.UserID != in.LinkUser {
			return errInteraction.WithCause(errors.New("upstream link: session gone"))
		}
		linkUser = in.LinkUser
	}
	p, err := s.provider(u)
	if err != nil {
		return s.upstreamError(ctx, u.ID, "unreachable", err, "%s cannot be reached right now, so signing in with it is not possible. Try again later, or sign in another way.", u.DisplayName)
	}
	cfg, err := s.upstreamOAuth(u, p)
	if err != nil {
		return err
	}
	st := fedState{
		State: token.NewOpaque(), Nonce: token.NewOpaque(), Verifier: oauth2.GenerateVerifier(),
		Upstream: u.ID, In: in, LinkUser: linkUser,
		Binding: s.csrfBinding(w, r), Expires: s.now().Add(fedTTL).Unix(),
	}
	st.In.ID, st.In.LinkUser = "", "" // spent above; a new one is sealed later
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	sealed := base64.RawURLEncoding.EncodeToString(s.opts.Interaction.Seal(b, []byte("upstream")))
	http.SetCookie(w, s.newCookie(fedCookie, sealed, time.Unix(st.Expires, 0), 0))
	s.auditLog(ctx, "upstream_login_started", "upstream", u.ID, "link", linkUser != "")
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, cfg.AuthCodeURL(st.State, oidc.Nonce(st.Nonce), oauth2.S256ChallengeOption(st.Verifier)), http.StatusSeeOther)
	return nil
}

// openFedState reads the flow state of this browser and checks the
// callback's state against it, then spends the state: of any number of
// callbacks with one state (replays, concurrent or not, on any instance)
// exactly one gets past here.
func (s *Server) openFedState(r *http.Request, state string) (fedState, error) {
	var st fedState
	c := s.cookie(r, fedCookie)
	raw, err := base64.RawURLEncoding.DecodeString(c)
	if err != nil || c == "" {
		return st, errUpstreamState.WithCause(errors.New("upstream: no flow cookie"))
	}
	b, err := s.opts.Interaction.Open(raw, []byte("upstream"))
	if err != nil {
		return st, errUpstreamState.WithCause(err)
	}
	if err := json.Unmarshal(b, &st); err != nil {
		return st, errUpstreamState.WithCause(err)
	}
	if s.now().Unix() > st.Expires {
		return st, errUpstreamState.WithCause(errors.New("upstream: flow expired"))
	}
	csrf := s.cookie(r, csrfCookie)
	if csrf == "" || subtle.ConstantTimeCompare([]byte(token.Hash(csrf)), []byte(st.Binding)) != 1 {
		return st, errUpstreamState.WithCause(errors.New("upstream: CSRF cookie missing or mismatched"))
	}
	if state == "" || subtle.ConstantTimeCompare([]byte(state), []byte(st.State)) != 1 {
		return st, errUpstreamState.WithCause(errors.New("upstream: state mismatch"))
	}
	err = s.store.UseOnce(r.Context(), fedStateKeyPrefix+st.State, time.Unix(st.Expires, 0))
	if errors.Is(err, store.ErrAlreadyExists) {
		return st, errUpstreamReplayed.WithCause(errors.New("upstream: state replayed"))
	}
	return st, err
}

// handleUpstreamCallback is the redirect URI Latch registers at every
// upstream: GET /login/upstream/callback.
func (s *Server) handleUpstreamCallback(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	q := r.URL.Query()
	// Whatever happens next, the flow is spent: its cookie goes.
	http.SetCookie(w, s.newCookie(fedCookie, "", time.Time{}, -1))
	st, err := s.openFedState(r, q.Get("state"))
	if err != nil {
		s.auditLog(ctx, "upstream_login_failed", "upstream", st.Upstream, "reason", "bad_state", "error", errors.Unwrap(err))
		return err
	}
	u, err := s.store.GetUpstream(ctx, st.Upstream)
	if errors.Is(err, store.ErrNotFound) {
		return s.upstreamError(ctx, st.Upstream, "unknown_upstream", nil, "%s", msgUpstreamUnknown)
	}
	if err != nil {
		return err
	}
	name := u.DisplayName
	p, err := s.provider(u)
	if err != nil {
		return s.upstreamError(ctx, u.ID, "unreachable", err, "%s cannot be reached right now, so signing in with it is not possible. Try again later, or sign in another way.", name)
	}
	// RFC 9207 §2.4: the iss parameter, when present, must be the
	// upstream's issuer (a mix-up defence); an upstream that announces
	// it (authorization_response_iss_parameter_supported) must send it.
	var meta struct {
		ISSSupported bool `json:"authorization_response_iss_parameter_supported"`
	}
	_ = p.Claims(&meta)
	if iss, ok := q["iss"]; ok || meta.ISSSupported {
		if len(iss) != 1 || iss[0] != u.Issuer {
			return s.upstreamError(ctx, u.ID, "wrong_iss", fmt.Errorf("iss %q, want %q", q.Get("iss"), u.Issuer),
				"The answer that came back is not from %s (its issuer does not match), so it was refused. Go back to the application and start again.", name)
		}
	}
	// RFC 6749 §4.1.2.1: the upstream refused or failed.
	if e := q.Get("error"); e != "" {
		return s.upstreamError(ctx, u.ID, "upstream_error", fmt.Errorf("error=%q error_description=%q", e, q.Get("error_description")),
			"%s did not sign you in (it answered %q). Go back to the application and try again, or sign in another way.", name, oneWord(e))
	}
	code := q.Get("code")
	if code == "" {
		return s.upstreamError(ctx, u.ID, "no_code", nil, "%s sent no authorization code. Go back to the application and start again.", name)
	}
	cfg, err := s.upstreamOAuth(u, p)
	if err != nil {
		return err
	}
	cctx := oidc.ClientContext(ctx, s.upstreamClient())
	tok, err := cfg.Exchange(cctx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		return s.upstreamError(ctx, u.ID, "token_failed", err, "%s did not accept Latch's request to finish the sign-in. Try again later, or sign in another way.", name)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return s.upstreamError(ctx, u.ID, "no_id_token", nil, "%s sent no ID token, so the sign-in cannot be checked. Ask the administrator to check its OpenID Connect settings.", name)
	}
	// OIDC Core §3.1.3.7: signature (the upstream's JWKS), iss, aud
	// (Latch's client ID), exp; go-oidc does not check the nonce.
	idt, err := p.VerifierContext(cctx, &oidc.Config{ClientID: u.ClientID, Now: s.now}).Verify(cctx, raw)
	if err != nil {
		return s.upstreamError(ctx, u.ID, "bad_id_token", err, "The sign-in from %s could not be verified (its ID token is not valid), so it was refused.", name)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return s.upstreamError(ctx, u.ID, "bad_nonce", errors.New("nonce mismatch"), "The sign-in from %s could not be verified (its ID token is not valid), so it was refused.", name)
	}
	// Upstream tokens end here: tok is not kept.
	var claims map[string]any
	if err := idt.Claims(&claims); err != nil {
		return s.upstreamError(ctx, u.ID, "bad_id_token", err, "The sign-in from %s could not be verified (its ID token is not valid), so it was refused.", name)
	}
	id := upstreamIdentity(u, idt.Subject, claims)
	if st.LinkUser != "" {
		return s.linkUpstream(w, r, u, id, st)
	}
	user, err := s.upstreamUser(ctx, u, id)
	if err != nil {
		return err
	}
	return s.finishUpstreamLogin(w, r, u, id, user, st)
}

// oneWord keeps an upstream's error code printable on the page.
func oneWord(s string) string {
	if len(s) > 40 || !registration.ValidText(s) || strings.ContainsAny(s, " <>\"'") {
		return "error"
	}
	return s
}

// identity is what an upstream says about the user, through the
// upstream's claim mapping.
type identity struct {
	Subject       string
	Username      string
	Email         string
	EmailVerified bool
	Name          string
	AMR           []string
}

func upstreamIdentity(u store.Upstream, sub string, claims map[string]any) identity {
	str := func(name string) string {
		v, _ := claims[name].(string)
		return v
	}
	id := identity{Subject: sub, Username: str(u.UsernameClaim), Email: str(u.EmailClaim), Name: str(u.NameClaim)}
	// email_verified is a boolean (OIDC Core §5.1); some providers send
	// the string "true".
	switch v := claims["email_verified"].(type) {
	case bool:
		id.EmailVerified = v
	case string:
		id.EmailVerified = v == "true"
	}
	if amr, ok := claims["amr"].([]any); ok {
		for _, a := range amr {
			if m, ok := a.(string); ok {
				id.AMR = append(id.AMR, m)
			}
		}
	}
	return id
}

// upstreamAMR is the session's amr for a sign-in through an upstream:
// "fed" and the upstream's values, without those that would raise
// Latch's acr on the upstream's word (mfa, hwk, swk; see ACRFor).
func upstreamAMR(id identity) []string {
	amr := []string{oauth.AMRFederated}
	for _, m := range id.AMR {
		if m == oauth.AMRMFA || m == oauth.AMRHardware || m == oauth.AMRSoftware || !registration.ValidText(m) || len(m) > 32 {
			continue
		}
		if !slices.Contains(amr, m) {
			amr = append(amr, m)
		}
	}
	return amr
}

// upstreamUser finds the Latch user of an upstream identity: its link,
// else by the upstream's link policy (store.LinkJIT, LinkVerifiedEmail,
// LinkExplicit).
func (s *Server) upstreamUser(ctx context.Context, u store.Upstream, id identity) (store.User, error) {
	l, err := s.store.GetUpstreamLink(ctx, u.ID, id.Subject)
	if err == nil {
		user, err := s.store.GetUser(ctx, l.UserID)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, err
		}
		if err == nil {
			return user, nil
		}
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.User{}, err
	}
	name := u.DisplayName
	switch u.LinkPolicy {
	case store.LinkJIT:
		return s.createUpstreamUser(ctx, u, id)
	case store.LinkVerifiedEmail:
		if id.Email == "" || !id.EmailVerified {
			return store.User{}, s.upstreamError(ctx, u.ID, "email_not_verified", nil,
				"%s did not confirm that your email address is verified, so it cannot be matched to an account here. Verify the address at %s, or sign in another way.", name, name)
		}
		user, err := s.userByVerifiedEmail(ctx, id.Email)
		if err != nil {
			return store.User{}, err
		}
		if user == nil {
			return store.User{}, s.upstreamError(ctx, u.ID, "no_account", nil,
				"No account here has the verified email address %s gives, so you cannot sign in with it. Ask the administrator for an account.", name)
		}
		if err := s.store.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: u.ID, Subject: id.Subject, UserID: user.ID, CreatedAt: s.now()}); err != nil {
			if !errors.Is(err, store.ErrAlreadyExists) {
				return store.User{}, err
			}
			return s.upstreamUser(ctx, u, id) // linked concurrently: take that link
		}
		s.auditLog(ctx, "upstream_linked", "upstream", u.ID, "sub", user.ID, "by", "verified_email")
		return *user, nil
	default: // store.LinkExplicit
		return store.User{}, s.upstreamError(ctx, u.ID, "not_linked", nil,
			"Your %s account is not linked to an account here. Sign in another way, then link %s on your account page.", name, name)
	}
}

// userByVerifiedEmail is the one user whose email is email (compared
// case-insensitively) and verified; nil when none or several.
func (s *Server) userByVerifiedEmail(ctx context.Context, email string) (*store.User, error) {
	users, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var found *store.User
	for i := range users {
		if users[i].EmailVerified && strings.EqualFold(users[i].Email, email) {
			if found != nil {
				return nil, nil // ambiguous: link nobody
			}
			found = &users[i]
		}
	}
	return found, nil
}

// createUpstreamUser creates the user of a first sign-in (store.LinkJIT)
// and links it. Of concurrent first sign-ins of one subject one link
// wins (store.LinkUpstream); the others delete their user and take it.
func (s *Server) createUpstreamUser(ctx context.Context, u store.Upstream, id identity) (store.User, error) {
	username := id.Username
	if username == "" || registration.ValidateUsername(username) != nil {
		username = u.ID + "-" + token.Hash(id.Subject)[:12]
	}
	canonical, err := registration.CanonicalUsername(username)
	if err != nil {
		return store.User{}, err
	}
	user := store.User{ID: registration.NewUserID(), Username: canonical, Name: id.Name, CreatedAt: s.now()}
	if !registration.ValidText(user.Name) || len(user.Name) > 256 {
		user.Name = ""
	}
	if id.Email != "" && registration.ValidateEmail(id.Email) == nil {
		user.Email, user.EmailVerified = id.Email, id.EmailVerified
	}
	err = s.store.CreateUser(ctx, user)
	if errors.Is(err, store.ErrAlreadyExists) {
		return store.User{}, s.upstreamError(ctx, u.ID, "username_taken", nil,
			"An account named %q exists here already. Sign in to it another way, then link %s on your account page.", canonical, u.DisplayName)
	}
	if err != nil {
		return store.User{}, err
	}
	err = s.store.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: u.ID, Subject: id.Subject, UserID: user.ID, CreatedAt: s.now()})
	if errors.Is(err, store.ErrAlreadyExists) {
		if err := s.store.DeleteUser(ctx, user.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return store.User{}, err
		}
		return s.upstreamUser(ctx, u, id)
	}
	if err != nil {
		return store.User{}, err
	}
	s.auditLog(ctx, "upstream_user_created", "upstream", u.ID, "sub", user.ID)
	return user, nil
}

// finishUpstreamLogin starts the session of a sign-in through u and
// continues the interaction: the second factor first when the user has
// one (as after a password), then the authorization request.
func (s *Server) finishUpstreamLogin(w http.ResponseWriter, r *http.Request, u store.Upstream, id identity, user store.User, st fedState) error {
	ctx := r.Context()
	in := st.In
	var ar *authRequest
	if !in.Account {
		var err error
		if ar, err = s.resolveAuthorize(r, in.Query); err != nil {
			return err
		}
	}
	amr := upstreamAMR(id)
	second, err := s.hasSecondFactor(ctx, user.ID)
	if err != nil {
		return err
	}
	if second {
		s.auditLog(ctx, "upstream_login_ok", "upstream", u.ID, "client_id", ar.clientID(), "sub", user.ID, "next", "second_factor")
		key, _ := registration.CanonicalUsername(user.Username)
		in.Pending, in.PendingKey, in.AMR = user.ID, key, amr
		return s.showCode(w, r, ar, in, "", http.StatusOK, 0)
	}
	sess, err := s.startSession(ctx, w, r, user, amr)
	if err != nil {
		return err
	}
	s.auditLog(ctx, "login_succeeded", "client_id", ar.clientID(), "sub", user.ID, "upstream", u.ID, "amr", amr)
	if ar == nil {
		http.Redirect(w, r, s.url(pathAccount), http.StatusSeeOther)
		return nil
	}
	in.LoggedIn = true
	return s.continueAuthorize(w, r, ar, &sess, &user, in)
}

// linkUpstream finishes the account page's link action: the signed-in
// user (still the one who started it) is linked to the upstream
// identity, unless that identity is another user's.
func (s *Server) linkUpstream(w http.ResponseWriter, r *http.Request, u store.Upstream, id identity, st fedState) error {
	ctx := r.Context()
	sess, _, err := s.currentSession(r)
	if err != nil {
		return err
	}
	if sess == nil || sess.UserID != st.LinkUser {
		return errUpstreamState.WithCause(errors.New("upstream link: session gone"))
	}
	err = s.store.LinkUpstream(ctx, store.UpstreamLink{UpstreamID: u.ID, Subject: id.Subject, UserID: st.LinkUser, CreatedAt: s.now()})
	if errors.Is(err, store.ErrAlreadyExists) {
		return s.upstreamError(ctx, u.ID, "already_linked", nil, "This %s account is linked to another account here already.", u.DisplayName)
	}
	if err != nil {
		return err
	}
	s.auditLog(ctx, "upstream_linked", "upstream", u.ID, "sub", st.LinkUser, "by", "account_page")
	http.Redirect(w, r, s.url(pathAccount)+"?notice=linked", http.StatusSeeOther)
	return nil
}

// upstreamButtons are the "Sign in with …" links of a login page whose
// interaction is in (sealed afresh for each link: each is single-use).
func (s *Server) upstreamButtons(w http.ResponseWriter, r *http.Request, in interaction) ([]ui.UpstreamButton, error) {
	ups, err := s.store.ListUpstreams(r.Context())
	if err != nil || len(ups) == 0 {
		return nil, err
	}
	out := make([]ui.UpstreamButton, 0, len(ups))
	for _, u := range ups {
		sealed, err := s.sealInteraction(w, r, in)
		if err != nil {
			return nil, err
		}
		v := url.Values{"interaction": {sealed}, "upstream": {u.ID}}
		out = append(out, ui.UpstreamButton{Name: u.DisplayName, URL: s.url(pathUpstreamStart) + "?" + v.Encode()})
	}
	return out, nil
}

// accountUpstreams lists the upstreams on the account page: linked to
// userID, or a link that links it (a sealed single-use interaction
// naming the user, checked against the session at both ends).
func (s *Server) accountUpstreams(w http.ResponseWriter, r *http.Request, userID string) ([]ui.AccountUpstream, error) {
	ctx := r.Context()
	ups, err := s.store.ListUpstreams(ctx)
	if err != nil || len(ups) == 0 {
		return nil, err
	}
	links, err := s.store.ListUserUpstreamLinks(ctx, userID)
	if err != nil {
		return nil, err
	}
	out := make([]ui.AccountUpstream, 0, len(ups))
	for _, u := range ups {
		a := ui.AccountUpstream{Name: u.DisplayName}
		a.Linked = slices.ContainsFunc(links, func(l store.UpstreamLink) bool { return l.UpstreamID == u.ID })
		if !a.Linked {
			sealed, err := s.sealInteraction(w, r, interaction{Kind: kindAuthorize, Account: true, LinkUser: userID})
			if err != nil {
				return nil, err
			}
			a.LinkURL = s.url(pathUpstreamStart) + "?" + url.Values{"interaction": {sealed}, "upstream": {u.ID}}.Encode()
		}
		out = append(out, a)
	}
	return out, nil
}

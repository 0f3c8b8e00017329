package server

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// tokenResponse is the successful token response (RFC 6749 §5.1, OIDC
// Core §3.1.3.3).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
	Scope        string `json:"scope,omitempty"`
}

// handleToken is the token endpoint (RFC 6749 §3.2).
func (s *Server) handleToken(w http.ResponseWriter, r *http.Request) error {
	s.setDPoPNonce(w)
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	s.narrowCORS(w, r, form)
	if len(r.Header.Values("Authorization")) > 1 {
		return oauth.Errorf(oauth.InvalidRequest, "more than one Authorization header")
	}
	treq, err := oauth.ParseTokenRequest(r.Header.Get("Authorization"), form)
	if err != nil {
		return err
	}
	ctx := r.Context()
	client, err := s.authenticateClient(ctx, s.clientIP(r), treq.Client)
	if err != nil {
		return err
	}
	// RFC 9449 §5: the proof is checked before any grant is touched, so a
	// bad or replayed proof cannot burn a code or a refresh token.
	proof, err := s.dpopProof(ctx, r, s.url(pathToken), "")
	if err != nil {
		return err
	}
	if proof == nil && client.RequireDPoP {
		return errDPoPRequired
	}
	var resp *tokenResponse
	switch treq.GrantType {
	case oauth.GrantAuthorizationCode:
		resp, err = s.exchangeCode(ctx, client, treq, proof)
	case oauth.GrantRefreshToken:
		resp, err = s.refresh(ctx, client, treq, proof)
	case oauth.GrantClientCredentials:
		resp, err = s.clientCredentials(ctx, client, treq, proof)
	default:
		err = oauth.Errorf(oauth.UnsupportedGrantType, "unsupported grant_type")
	}
	if err != nil {
		return err
	}
	s.allowOrigin(w, r, client)
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// allowOrigin adds CORS for a response that now knows its client: only
// that client's registered origins may read it.
func (s *Server) allowOrigin(w http.ResponseWriter, r *http.Request, c store.Client) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return
	}
	if contains(c.AllowedOrigins, origin) {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	} else {
		w.Header().Del("Access-Control-Allow-Origin")
	}
}

// errBadClient is the one answer to every client authentication failure.
var errBadClient = oauth.Errorf(oauth.InvalidClient, "client authentication failed")

// authenticateClient is the client authentication step of every endpoint
// that takes client credentials, and must never be skipped (RFC 6749
// §2.3, §3.2.1). Public clients authenticate with their id alone (method
// none); confidential clients must present their secret by
// client_secret_basic or client_secret_post.
//
// Requests that present a secret are throttled (throttle.go): the
// attempt is reserved against the client_id's and the client IP ip's
// budgets before the secret is checked, so no burst checks more secrets
// than the budgets allow; a spent budget or a lockout is answered 429
// slow_down without checking the secret. A right secret releases its
// reservation. Requests without a secret have nothing to guess and are
// not throttled (the public-client hot path stays query-free).
func (s *Server) authenticateClient(ctx context.Context, ip netip.Addr, cred oauth.ClientCredentials) (store.Client, error) {
	if cred.Method == oauth.AuthNone {
		return s.checkClientCredentials(ctx, cred)
	}
	a, wait, err := s.throttle.reserve(ctx, s.throttle.clientLimits(cred.ID, ip))
	if err != nil {
		return store.Client{}, err
	}
	if a == nil {
		s.auditLog(ctx, "client_auth_throttled", "client_id", cred.ID)
		return store.Client{}, errClientThrottled(wait)
	}
	c, err := s.checkClientCredentials(ctx, cred)
	if e, ok := oauth.As(err); ok && e.Code == oauth.InvalidClient {
		wait, ferr := s.throttle.failed(ctx, a)
		if ferr != nil {
			return store.Client{}, ferr
		}
		if wait > 0 {
			s.auditLog(ctx, "client_locked_out", "client_id", cred.ID, "lockout_seconds", retryAfter(wait))
		}
		return c, err
	}
	if rerr := s.throttle.succeeded(ctx, a); rerr != nil {
		return store.Client{}, rerr
	}
	return c, err
}

// checkClientCredentials checks cred against the registration. Secrets
// are compared as SHA-256 hashes in constant time: they are 256-bit random
// values, so a slow password hash would add nothing but latency.
func (s *Server) checkClientCredentials(ctx context.Context, cred oauth.ClientCredentials) (store.Client, error) {
	c, err := s.store.GetClient(ctx, cred.ID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Client{}, errBadClient.WithCause(errors.New("unknown client"))
	}
	if err != nil {
		return store.Client{}, err
	}
	if c.Public {
		if cred.Method != oauth.AuthNone {
			return store.Client{}, errBadClient.WithCause(errors.New("public client presented a secret"))
		}
		return c, nil
	}
	if cred.Method == oauth.AuthNone || c.SecretHash == "" {
		return store.Client{}, errBadClient.WithCause(errors.New("confidential client without secret"))
	}
	if !token.EqualHash(token.Hash(cred.Secret), c.SecretHash) {
		return store.Client{}, errBadClient.WithCause(errors.New("wrong client secret"))
	}
	return c, nil
}

// errBadCode is the one answer for every unusable authorization code.
var errBadCode = oauth.Errorf(oauth.InvalidGrant, "the authorization code is invalid, expired, already used, or was issued to another client or redirect URI")

// maxCodeFailures is how many refused redemptions a code survives: the
// third kills it (store.RecordCodeFailure). A legitimate client that
// fumbles once or twice (a wrong redirect_uri, a stale DPoP key) can
// still redeem; a code under attack dies quickly.
const maxCodeFailures = 3

// exchangeCode is the authorization_code grant (RFC 6749 §4.1.3,
// RFC 7636 §4.6).
//
// Every check — the code's client, redirect URI, PKCE and DPoP binding
// (client authentication ran before) — runs against the stored code
// before anything is spent: a redemption that fails one neither consumes
// the code nor counts as a replay, so nobody can burn the legitimate
// client's code or revoke its grant without its secrets. A refused
// redemption is counted (RecordCodeFailure), and the maxCodeFailures-th
// kills the code. Only then is the code consumed, atomically; a code that
// passed every check but was consumed before is a true replay (RFC 6749
// §4.1.2): its grant is revoked and code_replay_detected raised.
func (s *Server) exchangeCode(ctx context.Context, c store.Client, treq *oauth.TokenRequest, proof *token.DPoPProof) (*tokenResponse, error) {
	if !hasGrant(c, oauth.GrantAuthorizationCode) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "the client is not registered for the authorization code grant")
	}
	now := s.now()
	hash := token.Hash(treq.Code)
	code, err := s.store.GetAuthCode(ctx, hash)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errBadCode.WithCause(err)
	case err != nil:
		return nil, err
	}
	if code.UsedAt.IsZero() && !code.ExpiresAt.After(now) {
		return nil, errBadCode.WithCause(store.ErrExpired) // expired or dead
	}
	if err := checkCodeRedemption(c, code, treq, proof); err != nil {
		if !code.UsedAt.IsZero() {
			// Used before, and this presentation fails the checks: not a
			// replay by the client (RFC 6749 §4.1.2 is about the code
			// being used again), nothing to count.
			return nil, err
		}
		n, ferr := s.store.RecordCodeFailure(ctx, hash, now, maxCodeFailures)
		switch {
		case ferr == nil:
			s.auditLog(ctx, "code_redemption_refused", "client_id", c.ID, "code_client_id", code.ClientID, "failures", n, "code_dead", n >= maxCodeFailures)
		case errors.Is(ferr, store.ErrCodeUsed), errors.Is(ferr, store.ErrNotFound):
			// Consumed or swept meanwhile: nothing to count.
		default:
			return nil, ferr
		}
		return nil, err
	}
	// RFC 8707 §2.2: resource at the token endpoint narrows the token's
	// audience to what /authorize granted. A client error, checked before
	// the code is spent and not counted: the client may ask again.
	aud, err := s.narrowAudience(c, code.Audiences, treq.Resources)
	if err != nil {
		return nil, err
	}
	code, err = s.store.ConsumeAuthCode(ctx, hash, now)
	switch {
	case errors.Is(err, store.ErrCodeUsed):
		// A code used twice, both times with everything its client holds:
		// one of the two was an attacker. Revoke everything issued from
		// it (RFC 6749 §4.1.2, RFC 9700 §4.5).
		if rerr := s.revokeCodeGrant(ctx, code, now); rerr != nil {
			return nil, rerr
		}
		s.auditLog(ctx, "code_replay_detected", "client_id", c.ID, "code_client_id", code.ClientID, "sub", code.UserID, "grant_id", code.GrantID)
		return nil, errBadCode.WithCause(err)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExpired):
		return nil, errBadCode.WithCause(err)
	case err != nil:
		return nil, err
	}
	g := store.Grant{
		ID: code.GrantID, ClientID: c.ID, UserID: code.UserID, SessionID: code.SessionID,
		Scopes: code.Scopes, Audiences: code.Audiences, AuthTime: code.AuthTime, AMR: code.AMR,
		Nonce: code.Nonce, CreatedAt: now,
	}
	// RFC 9449 §5: a public client's refresh tokens are bound to the key
	// of this proof (checked in refresh).
	if c.Public {
		g.DPoPJKT = jktOf(proof)
	}
	return s.issueForGrant(ctx, c, g, code.Scopes, code.Nonce, true, jktOf(proof), aud)
}

// checkCodeRedemption runs every check binding a code to its redemption
// and must never be skipped: the client it was issued to (RFC 6749
// §4.1.3), the redirect URI, PKCE (RFC 7636 §4.6) and the dpop_jkt
// binding (RFC 9449 §10: a code requested with dpop_jkt is redeemed only
// with a proof by that key). It reads nothing but its arguments.
func checkCodeRedemption(c store.Client, code store.AuthCode, treq *oauth.TokenRequest, proof *token.DPoPProof) error {
	if code.ClientID != c.ID {
		return errBadCode.WithCause(errors.New("code issued to another client"))
	}
	if err := checkCodeRedirect(c, code, treq.RedirectURI); err != nil {
		return err
	}
	if err := checkCodePKCE(c, code, treq.CodeVerifier); err != nil {
		return err
	}
	if code.DPoPJKT != "" && jktOf(proof) != code.DPoPJKT {
		return errDPoPKeyMismatch.WithCause(errors.New("proof key does not match the code's dpop_jkt"))
	}
	return nil
}

// checkCodeRedirect binds the code to its redirect URI (RFC 6749 §4.1.3):
// when the authorization request carried redirect_uri, the token request
// must carry the identical string.
func checkCodeRedirect(c store.Client, code store.AuthCode, redirectURI string) error {
	if code.RedirectURI != "" {
		if redirectURI != code.RedirectURI {
			return errBadCode.WithCause(errors.New("redirect_uri does not match the authorization request"))
		}
		return nil
	}
	if redirectURI != "" && !contains(c.RedirectURIs, redirectURI) {
		return errBadCode.WithCause(errors.New("redirect_uri not registered"))
	}
	return nil
}

// checkCodePKCE is the PKCE step of the code exchange and must never be
// skipped (RFC 7636 §4.6). A code issued with a challenge needs the
// matching verifier. A code issued without one must not be redeemed with a
// verifier (PKCE downgrade, RFC 9700 §4.8.2), and a public client's code
// always has one.
func checkCodePKCE(c store.Client, code store.AuthCode, verifier string) error {
	switch {
	case code.CodeChallenge == "" && verifier != "":
		return errBadCode.WithCause(errors.New("code_verifier sent but no code_challenge was"))
	case code.CodeChallenge == "" && c.Public:
		return errBadCode.WithCause(errors.New("public client code without PKCE"))
	case code.CodeChallenge == "":
		return nil
	case verifier == "":
		return oauth.Errorf(oauth.InvalidGrant, "code_verifier is required (PKCE)")
	case !oauth.VerifyPKCE(code.CodeChallenge, code.CodeChallengeMethod, verifier):
		return oauth.Errorf(oauth.InvalidGrant, "code_verifier does not match the code_challenge (PKCE)")
	}
	return nil
}

// revokeCodeGrant revokes the grant issued from a replayed code
// (RFC 6749 §4.1.2). The first redemption may still be in flight, its
// grant not yet stored; then a revoked grant is stored under that id
// first, so the in-flight CreateGrant fails with ErrAlreadyExists and
// issues nothing — the revocation cannot be lost to the race.
func (s *Server) revokeCodeGrant(ctx context.Context, code store.AuthCode, now time.Time) error {
	for range 2 {
		err := s.store.RevokeGrant(ctx, code.GrantID, now)
		if !errors.Is(err, store.ErrNotFound) {
			return err
		}
		revoked := store.Grant{
			ID: code.GrantID, ClientID: code.ClientID, UserID: code.UserID, SessionID: code.SessionID,
			Scopes: code.Scopes, CreatedAt: now, AbsoluteExpiresAt: now, RevokedAt: now,
		}
		if err := s.store.CreateGrant(ctx, revoked, nil); !errors.Is(err, store.ErrAlreadyExists) {
			return err
		}
		// The first redemption stored its grant meanwhile: revoke that.
	}
	return nil
}

// issueForGrant stores a new grant (with its first refresh token when the
// client gets one) and returns the token response. jkt, when set, binds
// the access token to a DPoP key. aud, when not nil, is the access
// token's audience, narrower than the grant's (narrowAudience); the grant
// keeps all of its audiences for later refreshes.
func (s *Server) issueForGrant(ctx context.Context, c store.Client, g store.Grant, scopes []string, nonce string, withIDToken bool, jkt string, aud []string) (*tokenResponse, error) {
	now := g.CreatedAt
	var rt *store.RefreshToken
	var refresh string
	if s.getsRefreshToken(c, scopes) {
		idle, absolute := s.refreshLifetimes(c)
		g.AbsoluteExpiresAt = now.Add(absolute)
		refresh = token.NewOpaque()
		rt = &store.RefreshToken{
			Hash: token.Hash(refresh), GrantID: g.ID, ClientID: c.ID, UserID: g.UserID,
			Scopes: g.Scopes, CreatedAt: now, ExpiresAt: minTime(now.Add(idle), g.AbsoluteExpiresAt),
		}
	} else {
		g.AbsoluteExpiresAt = now.Add(s.accessTTL(c))
	}
	if err := s.store.CreateGrant(ctx, g, rt); errors.Is(err, store.ErrAlreadyExists) {
		// A replay of the code stored the grant as revoked first
		// (revokeCodeGrant): nothing may be issued from it.
		return nil, errBadCode.WithCause(err)
	} else if err != nil {
		return nil, err
	}
	minted := g
	if aud != nil {
		minted.Audiences = aud
	}
	resp, err := s.mintTokens(ctx, c, minted, scopes, nonce, withIDToken, jkt)
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = refresh
	s.auditLog(ctx, "token_issued", "grant_type", "authorization_code", "client_id", c.ID, "sub", g.UserID, "grant_id", g.ID, "refresh_token", refresh != "", "dpop", jkt != "")
	return resp, nil
}

// getsRefreshToken: a client registered for the refresh_token grant gets
// one when offline_access was granted; a public client (a SPA) registered
// for the grant always gets one, made safe by rotation (RFC 9700 §4.14).
func (s *Server) getsRefreshToken(c store.Client, scopes []string) bool {
	if !hasGrant(c, oauth.GrantRefreshToken) {
		return false
	}
	return c.Public || oauth.HasScope(scopes, oauth.ScopeOfflineAccess)
}

func (s *Server) refreshLifetimes(c store.Client) (idle, absolute time.Duration) {
	if c.Public {
		idle, absolute = s.cfg.PublicRefreshIdle, s.cfg.PublicRefreshAbsolute
	} else {
		idle, absolute = s.cfg.ConfidentialRefreshIdle, s.cfg.ConfidentialRefreshAbsolute
	}
	if c.RefreshIdle > 0 {
		idle = c.RefreshIdle
	}
	if c.RefreshAbsolute > 0 {
		absolute = c.RefreshAbsolute
	}
	return idle, absolute
}

func (s *Server) accessTTL(c store.Client) time.Duration {
	ttl := s.cfg.AccessTokenTTL
	if c.AccessTokenTTL > 0 {
		ttl = c.AccessTokenTTL
	}
	return min(ttl, maxAccessTokenTTL)
}

// audiences returns the aud of an access token: the requested resources,
// else the client's registered audiences, else the issuer itself (whose
// userinfo endpoint accepts it).
func (s *Server) audiences(c store.Client, requested []string) []string {
	if len(requested) > 0 {
		return requested
	}
	if len(c.Audiences) > 0 {
		return c.Audiences
	}
	return []string{s.issuer}
}

// narrowAudience checks the resource parameters of an authorization_code
// or refresh_token request (RFC 8707 §2.2): each must be among the
// audiences granted (granted, as stored on the code or grant, else the
// client's registered audiences or the issuer, see audiences). It returns
// the requested resources as the access token's audience, or nil (the
// grant's audience unchanged) when none was asked for; anything not
// granted is invalid_target. It never widens.
func (s *Server) narrowAudience(c store.Client, granted, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return nil, nil
	}
	allowed := s.audiences(c, granted)
	for _, r := range requested {
		if !contains(allowed, r) {
			return nil, errNotGranted
		}
	}
	return requested, nil
}

// errNotGranted is the answer to a resource outside the grant.
var errNotGranted = oauth.Errorf(oauth.InvalidTarget, "the requested resource was not granted in the authorization request")

// mintTokens signs the access token and, when openid was granted, the ID
// token of a grant. With jkt set the access token is DPoP-bound: cnf.jkt
// (RFC 9449 §6.1) and token_type DPoP (§5).
func (s *Server) mintTokens(ctx context.Context, c store.Client, g store.Grant, scopes []string, nonce string, withIDToken bool, jkt string) (*tokenResponse, error) {
	now := s.now()
	ttl := s.accessTTL(c)
	sub := g.UserID
	if sub == "" {
		sub = c.ID // client credentials: the client acts for itself
	}
	at := token.AccessClaims{
		Issuer: s.issuer, Subject: sub, Audience: s.audiences(c, g.Audiences), ClientID: c.ID,
		Scope: oauth.JoinScope(scopes), IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
		ID: token.NewOpaque(), GrantID: g.ID, AMR: g.AMR,
	}
	if !g.AuthTime.IsZero() {
		at.AuthTime = g.AuthTime.Unix()
	}
	tokenType := "Bearer"
	if jkt != "" {
		at.Cnf = &token.Confirmation{JKT: jkt}
		tokenType = "DPoP"
	}
	access, err := s.keys.Sign(ctx, "", token.TypeAccessToken, at)
	if err != nil {
		return nil, err
	}
	resp := &tokenResponse{AccessToken: access, TokenType: tokenType, ExpiresIn: int64(ttl / time.Second), Scope: oauth.JoinScope(scopes)}
	if withIDToken && g.UserID != "" && oauth.HasScope(scopes, oauth.ScopeOpenID) {
		id, err := s.mintIDToken(ctx, c, g, scopes, nonce, access)
		if err != nil {
			return nil, err
		}
		resp.IDToken = id
	}
	return resp, nil
}

// mintIDToken builds the ID token (OIDC Core §2, §3.1.3.6) with the claims
// the granted scopes allow (§5.4).
func (s *Server) mintIDToken(ctx context.Context, c store.Client, g store.Grant, scopes []string, nonce, access string) (string, error) {
	u, err := s.store.GetUser(ctx, g.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return "", oauth.Errorf(oauth.InvalidGrant, "the user no longer exists")
	}
	if err != nil {
		return "", err
	}
	alg := c.IDTokenAlg
	if alg == "" || !s.keys.Supports(alg) {
		alg = s.keys.DefaultAlg()
	}
	now := s.now()
	claims := token.IDClaims{
		Issuer: s.issuer, Subject: u.ID, Audience: c.ID, AZP: c.ID,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(s.cfg.IDTokenTTL).Unix(),
		AuthTime: g.AuthTime.Unix(), Nonce: nonce, AMR: g.AMR,
		AtHash: token.AtHash(alg, access), SID: g.SessionID, // the session's public sid
	}
	addUserClaims(&claims, u, scopes)
	return s.keys.Sign(ctx, alg, token.TypeIDToken, claims)
}

func addUserClaims(c *token.IDClaims, u store.User, scopes []string) {
	if oauth.HasScope(scopes, oauth.ScopeProfile) {
		c.Name, c.PreferredUsername = u.Name, u.Username
	}
	if oauth.HasScope(scopes, oauth.ScopeEmail) && u.Email != "" {
		v := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &v
	}
}

// clientCredentials is the client_credentials grant (RFC 6749 §4.4): a
// confidential client acting for itself. No refresh token, no ID token.
func (s *Server) clientCredentials(ctx context.Context, c store.Client, treq *oauth.TokenRequest, proof *token.DPoPProof) (*tokenResponse, error) {
	if c.Public || !hasGrant(c, oauth.GrantClientCredentials) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "the client is not registered for the client credentials grant")
	}
	allowed := make([]string, 0, len(c.Scopes))
	for _, sc := range c.Scopes {
		if sc != oauth.ScopeOpenID && sc != oauth.ScopeOfflineAccess {
			allowed = append(allowed, sc)
		}
	}
	scopes := treq.Scopes
	if scopes == nil {
		scopes = allowed
	} else if !oauth.ScopeSubset(scopes, allowed) {
		return nil, oauth.Errorf(oauth.InvalidScope, "the requested scope is not allowed for this client")
	}
	for _, res := range treq.Resources {
		if !contains(c.Audiences, res) {
			return nil, oauth.Errorf(oauth.InvalidTarget, "the requested resource is not allowed for this client")
		}
	}
	now := s.now()
	g := store.Grant{ClientID: c.ID, Scopes: scopes, Audiences: treq.Resources, CreatedAt: now}
	resp, err := s.mintTokens(ctx, c, g, scopes, "", false, jktOf(proof))
	if err != nil {
		return nil, err
	}
	s.auditLog(ctx, "token_issued", "grant_type", "client_credentials", "client_id", c.ID, "dpop", proof != nil)
	return resp, nil
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

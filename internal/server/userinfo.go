package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// errBadAccessToken is the one answer for an unusable access token.
var errBadAccessToken = oauth.Errorf(oauth.InvalidToken, "the access token is invalid, expired or revoked")

// Authorization schemes of protected resources.
const (
	schemeBearer = "Bearer" // RFC 6750 §2.1
	schemeDPoP   = "DPoP"   // RFC 9449 §7.1
)

// accessToken extracts the access token of a protected-resource request
// and the scheme it came with, schemeBearer or schemeDPoP (scheme names
// are case-insensitive, RFC 9110 §11.1). Only the Authorization header is
// accepted: tokens in query strings leak into logs and Referer headers.
func accessToken(r *http.Request) (scheme, tok string, err error) {
	auth, present, err := authorizationHeader(r)
	if err != nil {
		return "", "", err
	}
	if !present {
		return "", "", &bearerChallenge{scheme: schemeBearer, err: &oauth.Error{}}
	}
	name, tok, ok := strings.Cut(auth, " ")
	switch {
	case strings.EqualFold(name, schemeBearer):
		scheme = schemeBearer
	case strings.EqualFold(name, schemeDPoP):
		scheme = schemeDPoP
	default:
		return "", "", oauth.Errorf(oauth.InvalidRequest, "the Authorization header must be: Bearer <access token>, or DPoP <access token> with a DPoP proof")
	}
	if !ok || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", "", &bearerChallenge{scheme: scheme, err: oauth.Errorf(oauth.InvalidRequest, "the Authorization header must be: %s <access token>", scheme)}
	}
	return scheme, tok, nil
}

// checkPresentation is the sender-constraint step of protected resources
// and must never be skipped (RFC 9449 §7). A DPoP-bound token (cnf.jkt)
// is accepted only with the DPoP scheme and a valid proof for this
// request, by the bound key, with ath of this token; presented as Bearer
// it is refused (§7.2), so a stolen bound token is useless. The DPoP
// scheme with an unbound token is refused too. Errors carry the scheme
// their challenge is sent under.
func (s *Server) checkPresentation(ctx context.Context, r *http.Request, scheme, raw string, claims token.AccessClaims, htu string) error {
	bound := claims.Cnf != nil && claims.Cnf.JKT != ""
	challenge := func(e *oauth.Error) error { return &bearerChallenge{scheme: schemeDPoP, err: e} }
	switch {
	case scheme == schemeBearer && !bound:
		return nil
	case scheme == schemeBearer:
		return challenge(errBadAccessToken.WithCause(errors.New("DPoP-bound token presented as Bearer")))
	case !bound:
		return challenge(errBadAccessToken.WithCause(errors.New("DPoP scheme with a token that is not DPoP-bound")))
	}
	proof, err := s.dpopProof(ctx, r, htu, raw)
	if err != nil {
		return challenge(asOAuth(err))
	}
	if proof == nil {
		return challenge(oauth.Errorf(oauth.InvalidDPoPProof, "a DPoP proof is required with the DPoP scheme"))
	}
	if proof.JKT != claims.Cnf.JKT {
		return challenge(oauth.Errorf(oauth.InvalidDPoPProof, "the DPoP proof key is not the key the access token is bound to"))
	}
	return nil
}

// checkAccessToken verifies a Latch access token and that neither it nor
// its grant has been revoked.
func (s *Server) checkAccessToken(ctx context.Context, raw string) (token.AccessClaims, error) {
	claims, err := s.keys.VerifyAccessToken(ctx, raw, s.issuer, 0)
	if err != nil {
		return claims, errBadAccessToken.WithCause(err)
	}
	// One round trip: the token's own revocation and its grant's.
	st, err := s.store.AccessTokenState(ctx, claims.ID, claims.GrantID)
	switch {
	case err != nil:
		return claims, err
	case st.Revoked:
		return claims, errBadAccessToken.WithCause(errors.New("access token revoked"))
	case st.GrantMissing:
		return claims, errBadAccessToken.WithCause(store.ErrNotFound)
	case st.GrantRevoked:
		return claims, errBadAccessToken.WithCause(errors.New("grant revoked"))
	}
	return claims, nil
}

// handleUserinfo is the UserInfo endpoint (OIDC Core §5.3).
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) error {
	s.setDPoPNonce(w)
	scheme, raw, err := accessToken(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	claims, err := s.checkAccessToken(ctx, raw)
	if err != nil {
		return &bearerChallenge{scheme: scheme, err: asOAuth(err)}
	}
	if err := s.checkPresentation(ctx, r, scheme, raw, claims, s.url(pathUserinfo)); err != nil {
		return err
	}
	scopes, _ := oauth.ParseScope(claims.Scope)
	if !oauth.HasScope(scopes, oauth.ScopeOpenID) {
		return &bearerChallenge{scheme: scheme, scope: oauth.ScopeOpenID, err: oauth.Errorf(oauth.InsufficientScope, "the access token lacks the openid scope")}
	}
	u, err := s.store.GetUser(ctx, claims.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return &bearerChallenge{scheme: scheme, err: errBadAccessToken.WithCause(err)}
	}
	if err != nil {
		return err
	}
	var c token.IDClaims
	grant.AddUserClaims(&c, u, scopes)
	out := map[string]any{"sub": u.ID}
	if c.Name != "" {
		out["name"] = c.Name
	}
	if c.PreferredUsername != "" {
		out["preferred_username"] = c.PreferredUsername
	}
	if c.Email != "" {
		out["email"] = c.Email
		out["email_verified"] = *c.EmailVerified
	}
	if cl, err := s.store.GetClient(ctx, claims.ClientID); err == nil {
		s.allowOrigin(w, r, cl)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

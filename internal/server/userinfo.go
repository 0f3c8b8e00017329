package server

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// errBadAccessToken is the one answer for an unusable access token.
var errBadAccessToken = oauth.Errorf(oauth.InvalidToken, "the access token is invalid, expired or revoked")

// bearerToken extracts the access token of a protected-resource request
// (RFC 6750 §2.1). Only the Authorization header is accepted: tokens in
// query strings leak into logs and Referer headers.
func bearerToken(r *http.Request) (string, error) {
	vals := r.Header.Values("Authorization")
	if len(vals) == 0 {
		return "", &bearerChallenge{scheme: "Bearer", err: &oauth.Error{}}
	}
	if len(vals) > 1 {
		return "", oauth.Errorf(oauth.InvalidRequest, "more than one Authorization header")
	}
	scheme, tok, ok := strings.Cut(vals[0], " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || tok == "" || strings.ContainsAny(tok, " \t") {
		return "", oauth.Errorf(oauth.InvalidRequest, "the Authorization header must be: Bearer <access token>")
	}
	return tok, nil
}

// checkAccessToken verifies a Latch access token and that neither it nor
// its grant has been revoked.
func (s *Server) checkAccessToken(ctx context.Context, raw string) (token.AccessClaims, error) {
	claims, err := s.keys.VerifyAccessToken(ctx, raw, s.issuer, 0)
	if err != nil {
		return claims, errBadAccessToken.WithCause(err)
	}
	revoked, err := s.store.IsAccessTokenRevoked(ctx, claims.ID)
	if err != nil {
		return claims, err
	}
	if revoked {
		return claims, errBadAccessToken.WithCause(errors.New("access token revoked"))
	}
	if claims.GrantID != "" {
		g, err := s.store.GetGrant(ctx, claims.GrantID)
		switch {
		case errors.Is(err, store.ErrNotFound):
			return claims, errBadAccessToken.WithCause(err)
		case err != nil:
			return claims, err
		case !g.RevokedAt.IsZero():
			return claims, errBadAccessToken.WithCause(errors.New("grant revoked"))
		}
	}
	return claims, nil
}

// handleUserinfo is the UserInfo endpoint (OIDC Core §5.3).
func (s *Server) handleUserinfo(w http.ResponseWriter, r *http.Request) error {
	raw, err := bearerToken(r)
	if err != nil {
		return err
	}
	ctx := r.Context()
	claims, err := s.checkAccessToken(ctx, raw)
	if err != nil {
		return err
	}
	scopes, _ := oauth.ParseScope(claims.Scope)
	if !oauth.HasScope(scopes, oauth.ScopeOpenID) {
		return &bearerChallenge{scheme: "Bearer", scope: oauth.ScopeOpenID, err: oauth.Errorf(oauth.InsufficientScope, "the access token lacks the openid scope")}
	}
	u, err := s.store.GetUser(ctx, claims.Subject)
	if errors.Is(err, store.ErrNotFound) {
		return errBadAccessToken.WithCause(err)
	}
	if err != nil {
		return err
	}
	var c token.IDClaims
	addUserClaims(&c, u, scopes)
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

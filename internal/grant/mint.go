package grant

import (
	"context"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// mintTokens signs the access token and, when openid was granted, the ID
// token of a grant. With jkt set the access token is DPoP-bound: cnf.jkt
// (RFC 9449 §6.1) and token_type DPoP (§5).
func (e *Engine) mintTokens(ctx context.Context, c store.Client, g store.Grant, scopes []string, nonce string, withIDToken bool, jkt string) (*Response, error) {
	now := e.now()
	ttl := e.accessTTL(c)
	sub := g.UserID
	if sub == "" {
		sub = c.ID // client credentials: the client acts for itself
	}
	at := token.AccessClaims{
		Issuer: e.issuer, Subject: sub, Audience: e.audiences(c, g.Audiences), ClientID: c.ID,
		Scope: oauth.JoinScope(scopes), IssuedAt: now.Unix(), ExpiresAt: now.Add(ttl).Unix(),
		ID: token.NewOpaque(), GrantID: g.ID, AMR: g.AMR, ACR: oauth.ACRFor(g.AMR),
	}
	if !g.AuthTime.IsZero() {
		at.AuthTime = g.AuthTime.Unix()
	}
	tokenType := "Bearer"
	if jkt != "" {
		at.Cnf = &token.Confirmation{JKT: jkt}
		tokenType = "DPoP"
	}
	access, err := e.signer.Sign(ctx, "", token.TypeAccessToken, at)
	if err != nil {
		return nil, err
	}
	resp := &Response{AccessToken: access, TokenType: tokenType, ExpiresIn: int64(ttl / time.Second), Scope: oauth.JoinScope(scopes)}
	if withIDToken && g.UserID != "" && oauth.HasScope(scopes, oauth.ScopeOpenID) {
		id, err := e.mintIDToken(ctx, c, g, scopes, nonce, access)
		if err != nil {
			return nil, err
		}
		resp.IDToken = id
	}
	return resp, nil
}

// mintIDToken builds the ID token (OIDC Core §2, §3.1.3.6) with the claims
// the granted scopes allow (§5.4).
func (e *Engine) mintIDToken(ctx context.Context, c store.Client, g store.Grant, scopes []string, nonce, access string) (string, error) {
	u, err := e.store.GetUser(ctx, g.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return "", oauth.Errorf(oauth.InvalidGrant, "the user no longer exists")
	}
	if err != nil {
		return "", err
	}
	alg := c.IDTokenAlg
	if alg == "" || !e.signer.Supports(alg) {
		alg = e.signer.DefaultAlg()
	}
	now := e.now()
	claims := token.IDClaims{
		Issuer: e.issuer, Subject: u.ID, Audience: c.ID, AZP: c.ID,
		IssuedAt: now.Unix(), ExpiresAt: now.Add(e.lifetimes.IDToken).Unix(),
		AuthTime: g.AuthTime.Unix(), Nonce: nonce, AMR: g.AMR, ACR: oauth.ACRFor(g.AMR),
		AtHash: token.AtHash(alg, access), SID: g.SessionID, // the session's public sid
	}
	AddUserClaims(&claims, u, scopes)
	return e.signer.Sign(ctx, alg, token.TypeIDToken, claims)
}

// AddUserClaims sets the user claims the granted scopes release (OIDC
// Core §5.4): profile → name and preferred_username, email → email and
// email_verified. The ID token and userinfo share it.
func AddUserClaims(c *token.IDClaims, u store.User, scopes []string) {
	if oauth.HasScope(scopes, oauth.ScopeProfile) {
		c.Name, c.PreferredUsername = u.Name, u.Username
	}
	if oauth.HasScope(scopes, oauth.ScopeEmail) && u.Email != "" {
		v := u.EmailVerified
		c.Email, c.EmailVerified = u.Email, &v
	}
}

package grant

import (
	"context"
	"errors"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

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
func (e *Engine) exchangeCode(ctx context.Context, c store.Client, treq *oauth.TokenRequest, proof *token.DPoPProof) (*Response, error) {
	if !registration.HasGrant(c, oauth.GrantAuthorizationCode) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "the client is not registered for the authorization code grant")
	}
	now := e.now()
	hash := token.Hash(treq.Code)
	code, err := e.store.GetAuthCode(ctx, hash)
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
		n, ferr := e.store.RecordCodeFailure(ctx, hash, now, maxCodeFailures)
		switch {
		case ferr == nil:
			e.audit(ctx, "code_redemption_refused", "client_id", c.ID, "code_client_id", code.ClientID, "failures", n, "code_dead", n >= maxCodeFailures)
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
	aud, err := e.narrowAudience(c, code.Audiences, treq.Resources)
	if err != nil {
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
	g, rt, refresh := e.newGrant(c, g, code.Scopes)
	// One atomic step spends the code and stores its grant (and first
	// refresh token): of concurrent redemptions exactly one wins, and every
	// other finds the code used only once the winner's grant is committed,
	// so the revocation below always finds it.
	code, err = e.store.RedeemAuthCode(ctx, hash, now, g, rt)
	switch {
	case errors.Is(err, store.ErrCodeUsed):
		// A code used twice, both times with everything its client holds:
		// one of the two was an attacker. Revoke everything issued from
		// it (RFC 6749 §4.1.2, RFC 9700 §4.5).
		if rerr := e.store.RevokeGrant(ctx, code.GrantID, now, store.ReasonCodeReplayed); rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
			return nil, rerr
		}
		e.audit(ctx, "code_replay_detected", "client_id", c.ID, "code_client_id", code.ClientID, "sub", code.UserID, "grant_id", code.GrantID,
			"reason", store.ReasonCodeReplayed)
		return nil, errBadCode.WithCause(err)
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExpired):
		return nil, errBadCode.WithCause(err)
	case err != nil:
		return nil, err
	}
	return e.issue(ctx, c, g, code.Scopes, code.Nonce, true, jktOf(proof), aud, refresh)
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

// newGrant completes g for the client: its absolute expiry and, when
// the client gets one (getsRefreshToken), its first refresh token (the
// record and the token itself).
func (e *Engine) newGrant(c store.Client, g store.Grant, scopes []string) (store.Grant, *store.RefreshToken, string) {
	now := g.CreatedAt
	if !e.getsRefreshToken(c, scopes) {
		g.AbsoluteExpiresAt = now.Add(e.accessTTL(c))
		return g, nil, ""
	}
	idle, absolute := e.refreshLifetimes(c)
	g.AbsoluteExpiresAt = now.Add(absolute)
	refresh := token.NewOpaque()
	rt := &store.RefreshToken{
		Hash: token.Hash(refresh), GrantID: g.ID, ClientID: c.ID, UserID: g.UserID,
		Scopes: g.Scopes, CreatedAt: now, ExpiresAt: minTime(now.Add(idle), g.AbsoluteExpiresAt),
	}
	return g, rt, refresh
}

// issue returns the token response for a grant already stored. jkt, when
// set, binds the access token to a DPoP key. aud, when not nil, is the
// access token's audience, narrower than the grant's (narrowAudience); the
// grant keeps all of its audiences for later refreshes.
func (e *Engine) issue(ctx context.Context, c store.Client, g store.Grant, scopes []string, nonce string, withIDToken bool, jkt string, aud []string, refresh string) (*Response, error) {
	minted := g
	if aud != nil {
		minted.Audiences = aud
	}
	resp, err := e.mintTokens(ctx, c, minted, scopes, nonce, withIDToken, jkt)
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = refresh
	e.audit(ctx, "token_issued", "grant_type", "authorization_code", "client_id", c.ID, "sub", g.UserID, "grant_id", g.ID, "refresh_token", refresh != "", "dpop", jkt != "")
	return resp, nil
}

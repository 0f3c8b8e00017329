package grant

import (
	"context"
	"errors"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// errBadRefresh is the answer for a refresh token that is unknown (never
// issued, swept, or of a deleted user or client), not the client's, or
// ended for no recorded reason; endedError names the reason when there is
// one.
var errBadRefresh = oauth.Errorf(oauth.InvalidGrant, "the refresh token is invalid, expired or revoked")

// refresh is the refresh_token grant (RFC 6749 §6) with rotation and reuse
// detection (RFC 9700 §4.14.2): every use returns a successor and retires
// the presented token; presenting a retired token again revokes the whole
// grant, unless it happens within the client's grace window and the
// presented token is the immediate predecessor of the chain's head, when
// the same successor is returned again (two tabs refreshing at once).
func (e *Engine) refresh(ctx context.Context, c store.Client, treq *oauth.TokenRequest, proof *token.DPoPProof) (*Response, error) {
	if !registration.HasGrant(c, oauth.GrantRefreshToken) {
		return nil, oauth.Errorf(oauth.UnauthorizedClient, "the client is not registered for the refresh token grant")
	}
	hash := token.Hash(treq.RefreshToken)
	// The token and its grant in one read (the rotation below re-checks
	// both atomically).
	old, g, err := e.store.GetRefreshGrant(ctx, hash)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errBadRefresh.WithCause(err)
	}
	if err != nil {
		return nil, err
	}
	// Check the binding before touching the token, so another client can
	// neither use nor burn it (RFC 6749 §6).
	if old.ClientID != c.ID {
		return nil, errBadRefresh.WithCause(errors.New("refresh token of another client"))
	}
	// Scope may be narrowed for the new access token, never widened
	// (RFC 6749 §6); the successor keeps the presented token's scope, so
	// a later refresh may ask for all of it again. A bad scope on a live
	// token is refused before the token is spent; on a token already
	// rotated it is refused only after the store has checked for reuse,
	// so a replayed token cannot dodge reuse detection by asking for
	// more.
	scopes := old.Scopes
	var scopeErr error
	if treq.Scopes != nil {
		if !oauth.ScopeSubset(treq.Scopes, old.Scopes) {
			scopeErr = oauth.Errorf(oauth.InvalidScope, "the requested scope exceeds the scope originally granted")
			if old.RotatedAt.IsZero() {
				return nil, scopeErr
			}
		}
		scopes = treq.Scopes
	}
	// RFC 8707 §2.2: resource narrows this access token's audience to
	// some of the grant's; the grant (and the successor) keep them all.
	// Refused like a bad scope: before a live token is spent, after the
	// reuse check for a rotated one.
	aud, targetErr := e.narrowAudience(c, g.Audiences, treq.Resources)
	if targetErr != nil && old.RotatedAt.IsZero() {
		return nil, targetErr
	}
	// RFC 9449 §5: a public client's refresh token bound to a DPoP key is
	// usable only with a proof by that key. Checked before rotation, so a
	// thief without the key can neither use nor burn it.
	if g.DPoPJKT != "" && jktOf(proof) != g.DPoPJKT {
		return nil, errDPoPKeyMismatch.WithCause(errors.New("refresh token bound to another DPoP key"))
	}
	now := e.now()
	idle, _ := e.refreshLifetimes(c)
	successor := e.chain.Successor(treq.RefreshToken)
	next := store.RefreshToken{
		Hash: token.Hash(successor), GrantID: old.GrantID, ClientID: c.ID, UserID: old.UserID,
		Scopes: old.Scopes, CreatedAt: now, ExpiresAt: minTime(now.Add(idle), g.AbsoluteExpiresAt),
	}
	// A client registered before the bound existed keeps at most the
	// bounded window (registration.MaxRefreshGrace).
	grace := min(c.RefreshGrace, registration.MaxRefreshGrace)
	rotated, result, err := e.store.RotateRefreshToken(ctx, hash, next, now, grace)
	switch {
	case errors.Is(err, store.ErrRefreshReused):
		e.audit(ctx, "refresh_token_reuse_detected", "client_id", c.ID, "sub", old.UserID, "grant_id", old.GrantID, "reason", store.ReasonReused)
		return nil, endedError(store.ReasonReused).WithCause(err)
	case errors.Is(err, store.ErrRevoked):
		// Revoked before this request or since the grant was read: the
		// reason is the first revocation's, read again.
		reason := g.RevokedReason
		if reason == "" {
			if cur, gerr := e.store.GetGrant(ctx, g.ID); gerr == nil {
				reason = cur.RevokedReason
			}
		}
		e.audit(ctx, "refresh_token_refused", "client_id", c.ID, "sub", old.UserID, "grant_id", old.GrantID, "reason", reason)
		return nil, endedError(reason).WithCause(err)
	case errors.Is(err, store.ErrExpired):
		reason := expiryReason(g, now)
		e.audit(ctx, "refresh_token_refused", "client_id", c.ID, "sub", old.UserID, "grant_id", old.GrantID, "reason", reason)
		return nil, endedError(reason).WithCause(err)
	case errors.Is(err, store.ErrNotFound):
		return nil, errBadRefresh.WithCause(err)
	case err != nil:
		return nil, err
	}
	if result == store.RotateGrace && !token.EqualHash(token.Hash(successor), rotated.SuccessorHash) {
		// The chain key changed since the rotation (a new
		// key-encryption secret): the derived token is not the stored
		// successor, and the client would get a token that never works.
		return nil, errBadRefresh.WithCause(errors.New("grace: derived successor does not match the stored one"))
	}
	if scopeErr != nil {
		return nil, scopeErr // only reachable within the grace window
	}
	if targetErr != nil {
		return nil, targetErr // likewise
	}
	minted := g
	if aud != nil {
		minted.Audiences = aud
	}
	// OIDC Core §12.2: an ID token from a refresh keeps sub and auth_time
	// of the original authentication.
	resp, err := e.mintTokens(ctx, c, minted, scopes, "", true, jktOf(proof))
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = successor
	e.audit(ctx, "token_issued", "grant_type", "refresh_token", "client_id", c.ID, "sub", old.UserID, "grant_id", old.GrantID, "grace", result == store.RotateGrace)
	return resp, nil
}

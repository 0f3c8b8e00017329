package grant

import (
	"context"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// clientCredentials is the client_credentials grant (RFC 6749 §4.4): a
// confidential client acting for itself. No refresh token, no ID token.
func (e *Engine) clientCredentials(ctx context.Context, c store.Client, treq *oauth.TokenRequest, proof *token.DPoPProof) (*Response, error) {
	if c.Public || !registration.HasGrant(c, oauth.GrantClientCredentials) {
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
	now := e.now()
	g := store.Grant{ClientID: c.ID, Scopes: scopes, Audiences: treq.Resources, CreatedAt: now}
	resp, err := e.mintTokens(ctx, c, g, scopes, "", false, jktOf(proof))
	if err != nil {
		return nil, err
	}
	e.audit(ctx, "token_issued", "grant_type", "client_credentials", "client_id", c.ID, "dpop", proof != nil)
	return resp, nil
}

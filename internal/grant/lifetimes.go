package grant

// The lifetime and audience rules of the tokens a grant issues: the
// configured Lifetimes, overridden per client by its registration.

import (
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// getsRefreshToken: a client registered for the refresh_token grant gets
// one when offline_access was granted; a public client (a SPA) registered
// for the grant always gets one, made safe by rotation (RFC 9700 §4.14).
func (e *Engine) getsRefreshToken(c store.Client, scopes []string) bool {
	if !registration.HasGrant(c, oauth.GrantRefreshToken) {
		return false
	}
	return c.Public || oauth.HasScope(scopes, oauth.ScopeOfflineAccess)
}

func (e *Engine) refreshLifetimes(c store.Client) (idle, absolute time.Duration) {
	if c.Public {
		idle, absolute = e.lifetimes.PublicRefreshIdle, e.lifetimes.PublicRefreshAbsolute
	} else {
		idle, absolute = e.lifetimes.ConfidentialRefreshIdle, e.lifetimes.ConfidentialRefreshAbsolute
	}
	if c.RefreshIdle > 0 {
		idle = c.RefreshIdle
	}
	if c.RefreshAbsolute > 0 {
		absolute = c.RefreshAbsolute
	}
	return idle, absolute
}

func (e *Engine) accessTTL(c store.Client) time.Duration {
	ttl := e.lifetimes.AccessToken
	if c.AccessTokenTTL > 0 {
		ttl = c.AccessTokenTTL
	}
	return min(ttl, MaxAccessTokenTTL)
}

// audiences returns the aud of an access token: the requested resources,
// else the client's registered audiences, else the issuer itself (whose
// userinfo endpoint accepts it).
func (e *Engine) audiences(c store.Client, requested []string) []string {
	if len(requested) > 0 {
		return requested
	}
	if len(c.Audiences) > 0 {
		return c.Audiences
	}
	return []string{e.issuer}
}

// narrowAudience checks the resource parameters of an authorization_code
// or refresh_token request (RFC 8707 §2.2): each must be among the
// audiences granted (granted, as stored on the code or grant, else the
// client's registered audiences or the issuer, see audiences). It returns
// the requested resources as the access token's audience, or nil (the
// grant's audience unchanged) when none was asked for; anything not
// granted is invalid_target. It never widens.
func (e *Engine) narrowAudience(c store.Client, granted, requested []string) ([]string, error) {
	if len(requested) == 0 {
		return nil, nil
	}
	allowed := e.audiences(c, granted)
	for _, r := range requested {
		if !contains(allowed, r) {
			return nil, errNotGranted
		}
	}
	return requested, nil
}

// errNotGranted is the answer to a resource outside the grant.
var errNotGranted = oauth.Errorf(oauth.InvalidTarget, "the requested resource was not granted in the authorization request")

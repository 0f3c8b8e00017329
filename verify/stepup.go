package verify

import (
	"net/http"
	"slices"
	"time"
)

// Requirement is how strongly and how recently the user behind a token
// must have authenticated for a resource (RFC 9470, OAuth 2.0 Step Up
// Authentication Challenge). The zero value requires nothing.
type Requirement struct {
	// ACR lists the acceptable acr values; the token's acr must be one
	// of them (exact match: list every value you accept, e.g. Latch's
	// urn:latch:acr:mfa and urn:latch:acr:phr for "a second factor or
	// better"). Empty: any acr.
	ACR []string
	// MaxAge is the longest time since the user's authentication
	// (auth_time); a token without auth_time fails it. Zero: no limit.
	// It is sent in whole seconds, rounded down.
	MaxAge time.Duration
}

// CheckAuthentication reports whether c meets req. When it does not, the
// error is an *Error with CodeInsufficientUserAuthentication, ACRValues
// and MaxAge set from req (RFC 9470 §3), which WriteError answers with
// 401 and a challenge the client can act on: ask the authorization
// server again with acr_values and max_age (OIDC Core §3.1.2.1), then
// retry with the new token. It checks nothing else about c (Verify did).
func (v *Verifier) CheckAuthentication(c *Claims, req Requirement) error {
	scheme := SchemeBearer
	if c.JKT != "" {
		scheme = SchemeDPoP
	}
	fail := func(desc string) error {
		e := &Error{Code: CodeInsufficientUserAuthentication, Scheme: scheme, Description: desc,
			ACRValues: slices.Clone(req.ACR), MaxAge: -1, Err: ErrInsufficientAuthentication}
		if req.MaxAge > 0 {
			e.MaxAge = int(req.MaxAge / time.Second)
		}
		return e
	}
	if len(req.ACR) > 0 && !slices.Contains(req.ACR, c.ACR) {
		return fail("a stronger authentication is required")
	}
	if req.MaxAge > 0 {
		// The clock and leeway of Verify; auth_time is when the user
		// authenticated (RFC 9068 §2.2.1, OIDC Core §2).
		if c.AuthTime.IsZero() || v.now().Sub(c.AuthTime) > req.MaxAge+v.leeway {
			return fail("a more recent authentication is required")
		}
	}
	return nil
}

// RequireAuthentication returns middleware that answers a request whose
// token does not meet req with the RFC 9470 challenge (CheckAuthentication,
// WriteError). It must run inside Middleware, which puts the verified
// claims in the context; without them it answers 401 invalid_token.
func (v *Verifier) RequireAuthentication(req Requirement) func(http.Handler) http.Handler {
	req.ACR = slices.Clone(req.ACR)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, ok := FromContext(r.Context())
			if !ok {
				v.WriteError(w, tokenError(SchemeBearer, "access token required", ErrNoToken))
				return
			}
			if err := v.CheckAuthentication(c, req); err != nil {
				v.logger.DebugContext(r.Context(), "verify: step-up required", "err", err)
				v.WriteError(w, err)
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}

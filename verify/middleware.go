package verify

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
)

// VerifyRequest authenticates r: it reads exactly one Authorization
// header with the Bearer or DPoP scheme (case-insensitive, RFC 9110
// §11.1) and verifies the token with Verify (Bearer) or VerifyDPoP (DPoP,
// with exactly one DPoP header and the URI from Config.ExternalURL or
// r.Host). A DPoP-bound token presented as Bearer is rejected.
//
// Errors are *Error: no Authorization header, or one with another scheme,
// gives ErrNoToken with an empty Code (RFC 6750 §3.1); a repeated header
// or a token that is not a b64token gives CodeInvalidRequest.
func (v *Verifier) VerifyRequest(r *http.Request) (*Claims, error) {
	scheme, token, err := parseAuthorization(r.Header)
	if err != nil {
		return nil, err
	}
	if scheme == SchemeBearer {
		return v.Verify(r.Context(), token)
	}
	// RFC 9449 §4.3 step 1: exactly one DPoP header.
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		// Check the token first so a bad token is reported as such.
		if _, err := v.verifyToken(r.Context(), token, SchemeDPoP); err != nil {
			return nil, err
		}
		desc := "missing DPoP proof"
		if len(proofs) > 1 {
			desc = "more than one DPoP proof"
		}
		return nil, proofError(desc, ErrDPoPProof)
	}
	return v.VerifyDPoP(r.Context(), token, proofs[0], r.Method, v.requestURI(r))
}

// parseAuthorization returns the scheme (SchemeBearer or SchemeDPoP) and
// token of the request's one Authorization header.
func parseAuthorization(h http.Header) (scheme, token string, err error) {
	vals := h.Values("Authorization")
	if len(vals) == 0 {
		return "", "", &Error{Scheme: SchemeBearer, Description: "access token required", Err: ErrNoToken}
	}
	if len(vals) > 1 {
		return "", "", &Error{Code: CodeInvalidRequest, Scheme: SchemeBearer,
			Description: "more than one Authorization header", Err: ErrMalformedRequest}
	}
	name, rest, _ := strings.Cut(vals[0], " ")
	switch {
	case strings.EqualFold(name, SchemeBearer):
		scheme = SchemeBearer
	case strings.EqualFold(name, SchemeDPoP):
		scheme = SchemeDPoP
	default:
		// RFC 6750 §3.1: an unsupported authentication method is
		// answered like no credentials, without an error code.
		return "", "", &Error{Scheme: SchemeBearer, Description: "access token required", Err: ErrNoToken}
	}
	token = strings.TrimLeft(rest, " ")
	if !isB64Token(token) {
		return "", "", &Error{Code: CodeInvalidRequest, Scheme: scheme,
			Description: "malformed Authorization header", Err: ErrMalformedRequest}
	}
	return scheme, token, nil
}

// isB64Token reports whether s matches RFC 6750 §2.1's
// b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"=".
func isB64Token(s string) bool {
	i := 0
	for ; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
			c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/') {
			break
		}
	}
	if i == 0 {
		return false
	}
	for ; i < len(s); i++ {
		if s[i] != '=' {
			return false
		}
	}
	return true
}

// requestURI is the URI a DPoP proof's htu must match: ExternalURL + the
// path, or the URL rebuilt from r.TLS and r.Host.
func (v *Verifier) requestURI(r *http.Request) string {
	if v.externalURL != "" {
		return v.externalURL + r.URL.EscapedPath()
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

type claimsKey struct{}

// NewContext returns ctx carrying c, as Middleware does; handy in tests
// of handlers that call FromContext.
func NewContext(ctx context.Context, c *Claims) context.Context {
	return context.WithValue(ctx, claimsKey{}, c)
}

// FromContext returns the claims Middleware put in the request context.
func FromContext(ctx context.Context) (*Claims, bool) {
	c, ok := ctx.Value(claimsKey{}).(*Claims)
	return c, ok && c != nil
}

// Middleware returns middleware that authenticates each request with
// VerifyRequest, requires every one of requiredScopes, and calls the next
// handler with the claims in the request context (FromContext). Failures
// are answered by WriteError: 401 for a missing or invalid token or DPoP
// proof, 400 for a malformed request, 403 for a missing scope.
func (v *Verifier) Middleware(requiredScopes ...string) func(http.Handler) http.Handler {
	required := append([]string(nil), requiredScopes...)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			c, err := v.VerifyRequest(r)
			if err != nil {
				v.logger.DebugContext(r.Context(), "verify: request rejected", "err", err)
				v.WriteError(w, withRequiredScope(err, required))
				return
			}
			for _, s := range required {
				if !c.HasScope(s) {
					scheme := SchemeBearer
					if c.JKT != "" {
						scheme = SchemeDPoP
					}
					v.WriteError(w, &Error{Code: CodeInsufficientScope, Scheme: scheme,
						Description: "the token lacks a required scope", Scope: required, Err: ErrInsufficientScope})
					return
				}
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), c)))
		})
	}
}

// withRequiredScope returns err, a 401 of Middleware, with the route's
// required scopes as its scope hint: RFC 6750 §3 allows scope in any
// challenge, and the MCP authorization specification asks for it so a
// client signing in for the first time asks for what the route needs.
func withRequiredScope(err error, required []string) error {
	var e *Error
	if len(required) == 0 || !errors.As(err, &e) || e.StatusCode() != http.StatusUnauthorized || len(e.Scope) > 0 {
		return err
	}
	c := *e
	c.Scope = required
	return &c
}

// WriteError writes the response for err: the status from
// (*Error).StatusCode, WWW-Authenticate challenges (RFC 6750 §3, RFC 9449
// §7.1) and a JSON body {"error", "error_description"}. An error that is
// not an *Error is written as invalid_token without its text.
//
// A 401 or 400 carries both challenges, the scheme the client used
// first: the one with the error, and the other one bare, since this
// resource server accepts both.
func (v *Verifier) WriteError(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = tokenError(SchemeBearer, "invalid token", err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	switch e.Scheme {
	case SchemeDPoP:
		h.Add("WWW-Authenticate", v.challenge(SchemeDPoP, e))
		if e.Code != CodeInsufficientScope {
			h.Add("WWW-Authenticate", v.challenge(SchemeBearer, nil))
		}
	default:
		h.Add("WWW-Authenticate", v.challenge(SchemeBearer, e))
		if e.Code != CodeInsufficientScope {
			h.Add("WWW-Authenticate", v.challenge(SchemeDPoP, nil))
		}
	}
	w.WriteHeader(e.StatusCode())
	body := struct {
		Error       string `json:"error,omitempty"`
		Description string `json:"error_description,omitempty"`
	}{e.Code, e.Description}
	_ = json.NewEncoder(w).Encode(body)
}

// challenge formats one WWW-Authenticate challenge (RFC 9110 §11.6.1,
// RFC 6750 §3, RFC 9449 §7.1). e may be nil for a bare challenge.
func (v *Verifier) challenge(scheme string, e *Error) string {
	var params []string
	if v.realm != "" {
		params = append(params, "realm="+quote(v.realm))
	}
	if e != nil && e.Code != "" {
		params = append(params, "error="+quote(e.Code))
		if e.Description != "" {
			params = append(params, "error_description="+quote(e.Description))
		}
	}
	if e != nil && len(e.Scope) > 0 {
		params = append(params, "scope="+quote(strings.Join(e.Scope, " ")))
	}
	if e != nil && e.Code != "" {
		// RFC 9470 §3: what the step-up must achieve.
		if e.Code == CodeInsufficientUserAuthentication {
			if len(e.ACRValues) > 0 {
				params = append(params, "acr_values="+quote(strings.Join(e.ACRValues, " ")))
			}
			if e.MaxAge >= 0 {
				params = append(params, "max_age="+quote(strconv.Itoa(e.MaxAge)))
			}
		}
	}
	// RFC 9728 §5.1: where this resource's metadata is, in every
	// challenge, so a client that has only this server's URL finds the
	// authorization server.
	if v.meta != nil {
		params = append(params, "resource_metadata="+quote(v.meta.url))
	}
	if scheme == SchemeDPoP {
		params = append(params, "algs="+quote(v.dpopAlgsHeader))
	}
	if len(params) == 0 {
		return scheme
	}
	return scheme + " " + strings.Join(params, ", ")
}

// quote makes s an RFC 9110 §5.6.4 quoted-string; characters RFC 6750 §3
// does not allow in these values (controls, non-ASCII) are dropped.
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c >= 0x20 && c < 0x7f:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

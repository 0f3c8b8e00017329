package verify

import (
	"errors"
	"net/http"
)

// Error codes sent in WWW-Authenticate challenges and JSON error bodies.
const (
	// CodeInvalidRequest: the request is malformed, e.g. two Authorization
	// headers or a token that is not a b64token (RFC 6750 §3.1). HTTP 400.
	CodeInvalidRequest = "invalid_request"
	// CodeInvalidToken: the access token is expired, revoked, malformed or
	// invalid for other reasons (RFC 6750 §3.1). HTTP 401.
	CodeInvalidToken = "invalid_token"
	// CodeInsufficientScope: the token lacks a scope the resource needs
	// (RFC 6750 §3.1). HTTP 403.
	CodeInsufficientScope = "insufficient_scope"
	// CodeInvalidDPoPProof: the DPoP proof is missing or invalid
	// (RFC 9449 §7.1). HTTP 401.
	CodeInvalidDPoPProof = "invalid_dpop_proof"
	// CodeInsufficientUserAuthentication: the token is valid, but the
	// user's sign-in behind it is too weak or too old for the resource
	// (RFC 9470 §3). HTTP 401, with acr_values and/or max_age telling
	// the client what to ask the authorization server for.
	CodeInsufficientUserAuthentication = "insufficient_user_authentication"
)

// Authentication schemes (RFC 6750 §2.1, RFC 9449 §7.1).
const (
	SchemeBearer = "Bearer"
	SchemeDPoP   = "DPoP"
)

// Sentinel causes; every error returned by Verify, VerifyDPoP and
// VerifyRequest is an *Error whose Err wraps exactly one of them, so
// callers can use errors.Is.
var (
	ErrNoToken          = errors.New("verify: no access token in request")
	ErrMalformedRequest = errors.New("verify: malformed authorization header")
	ErrMalformedToken   = errors.New("verify: malformed token")
	ErrTokenType        = errors.New("verify: wrong token type")
	ErrUnknownKey       = errors.New("verify: unknown signing key")
	ErrSignature        = errors.New("verify: invalid signature")
	ErrIssuer           = errors.New("verify: wrong issuer")
	ErrAudience         = errors.New("verify: wrong audience")
	ErrExpired          = errors.New("verify: token expired")
	ErrNotYetValid      = errors.New("verify: token not yet valid")
	ErrMissingClaim     = errors.New("verify: required claim missing")
	ErrDPoPRequired     = errors.New("verify: token is DPoP-bound but no DPoP proof was checked")
	ErrNotDPoPBound     = errors.New("verify: DPoP scheme used with a token that is not DPoP-bound")
	ErrDPoPProof        = errors.New("verify: invalid DPoP proof")
	ErrDPoPReplay       = errors.New("verify: DPoP proof replayed")
	// ErrDPoPReplayCacheFull: the proof may be valid, but the set of
	// proofs seen holds Config.DPoPReplayCapacity live entries, so it
	// could not be recorded and is refused (fail closed).
	ErrDPoPReplayCacheFull = errors.New("verify: DPoP replay cache full")
	ErrInsufficientScope   = errors.New("verify: insufficient scope")
	// ErrInsufficientAuthentication: the token's acr or auth_time does
	// not meet a Requirement (RFC 9470).
	ErrInsufficientAuthentication = errors.New("verify: insufficient user authentication")
)

// Error is the error type of this package. Code and Description are safe
// to send to the client (they are fixed strings chosen here, never the
// text of an underlying error); Err is the cause, for logs only.
type Error struct {
	// Code is one of the Code… constants, or "" when the request carried
	// no credentials at all (RFC 6750 §3.1: no error code then).
	Code string
	// Description is a short human-readable text for error_description.
	Description string
	// Scheme is the challenge the response should lead with: SchemeBearer
	// or SchemeDPoP, matching how the token was presented.
	Scheme string
	// Scope lists the scopes required, for CodeInsufficientScope.
	Scope []string
	// ACRValues and MaxAge are what a step-up must achieve, for
	// CodeInsufficientUserAuthentication (RFC 9470 §3): the acceptable
	// acr values, and the longest time since the user's authentication
	// in seconds (-1: not required).
	ACRValues []string
	MaxAge    int
	// Err wraps one of the Err… sentinels and possibly a lower-level cause.
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return "verify: " + e.Code + ": " + e.Description
}

func (e *Error) Unwrap() error { return e.Err }

// StatusCode is the HTTP status for the error: 400 for invalid_request,
// 403 for insufficient_scope, otherwise 401.
func (e *Error) StatusCode() int {
	switch e.Code {
	case CodeInvalidRequest:
		return http.StatusBadRequest
	case CodeInsufficientScope:
		return http.StatusForbidden
	default:
		return http.StatusUnauthorized
	}
}

// tokenError builds an invalid_token error presented under scheme.
func tokenError(scheme, desc string, err error) *Error {
	return &Error{Code: CodeInvalidToken, Description: desc, Scheme: scheme, Err: err}
}

// proofError builds an invalid_dpop_proof error (RFC 9449 §7.1).
func proofError(desc string, err error) *Error {
	return &Error{Code: CodeInvalidDPoPProof, Description: desc, Scheme: SchemeDPoP, Err: err}
}

// withScheme returns e presented under scheme (a copy; e is not changed).
func withScheme(err error, scheme string) error {
	var e *Error
	if errors.As(err, &e) && e.Scheme != scheme {
		c := *e
		c.Scheme = scheme
		return &c
	}
	return err
}

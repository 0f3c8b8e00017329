package oauth

import (
	"errors"
	"fmt"
)

// Code is an OAuth 2.0 / OpenID Connect error code.
type Code string

// Error codes. RFC 6749 §4.1.2.1 (authorization endpoint), §5.2 (token
// endpoint), RFC 6750 §3.1 (bearer), RFC 7009 §2.2.1, RFC 9449 §7,
// OpenID Connect Core §3.1.2.6.
const (
	InvalidRequest          Code = "invalid_request"
	InvalidClient           Code = "invalid_client"
	InvalidGrant            Code = "invalid_grant"
	UnauthorizedClient      Code = "unauthorized_client"
	UnsupportedGrantType    Code = "unsupported_grant_type"
	InvalidScope            Code = "invalid_scope"
	AccessDenied            Code = "access_denied"
	UnsupportedResponseType Code = "unsupported_response_type"
	ServerError             Code = "server_error"
	TemporarilyUnavailable  Code = "temporarily_unavailable"
	InvalidToken            Code = "invalid_token"          // RFC 6750 §3.1
	InsufficientScope       Code = "insufficient_scope"     // RFC 6750 §3.1
	UnsupportedTokenType    Code = "unsupported_token_type" // RFC 7009 §2.2.1
	InvalidTarget           Code = "invalid_target"         // RFC 8707 §2
	InvalidDPoPProof        Code = "invalid_dpop_proof"     // RFC 9449 §5
	UseDPoPNonce            Code = "use_dpop_nonce"         // RFC 9449 §8
	LoginRequired           Code = "login_required"         // OIDC Core §3.1.2.6
	ConsentRequired         Code = "consent_required"
	InteractionRequired     Code = "interaction_required"
	// UnmetAuthenticationRequirements: the authentication the request
	// asked for (acr_values, an essential acr) cannot be performed
	// (OpenID Connect Core Unmet Authentication Requirements 1.0 §2).
	UnmetAuthenticationRequirements Code = "unmet_authentication_requirements"
	// InsufficientUserAuthentication: the access token's authentication
	// is too weak or too old for the resource (RFC 9470 §3).
	InsufficientUserAuthentication Code = "insufficient_user_authentication"
	RequestNotSupported            Code = "request_not_supported"
	RequestURINotSupported         Code = "request_uri_not_supported"
	InvalidRequestURI              Code = "invalid_request_uri" // OIDC Core §3.1.2.6, RFC 9126 §4
	RegistrationNotSupported       Code = "registration_not_supported"
	InvalidRedirectURI             Code = "invalid_redirect_uri"    // RFC 7591 §3.2.2
	InvalidClientMetadata          Code = "invalid_client_metadata" // RFC 7591 §3.2.2
	// SlowDown is not an RFC 6749 code; Latch uses it with HTTP 429 and
	// Retry-After when a client is throttled after repeated authentication
	// failures. Without RetryAfter it is RFC 8628 §3.5's: a device polled
	// too fast (HTTP 400).
	SlowDown Code = "slow_down"
	// RFC 8628 §3.5: the device authorization grant's polling answers.
	AuthorizationPending Code = "authorization_pending"
	ExpiredToken         Code = "expired_token"
)

// Error is a protocol error. Description is sent to the client and must
// never contain internal details; Err is the cause, written only to the log.
// Errors are values: the With* methods return modified copies.
type Error struct {
	Code        Code
	Description string
	Err         error
	// RetryAfter, when positive, is sent as a Retry-After header (seconds).
	RetryAfter int
}

// Errorf returns an *Error with a formatted description.
func Errorf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Description: fmt.Sprintf(format, args...)}
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Description != "" {
		s += ": " + e.Description
	}
	if e.Err != nil {
		s += " (" + e.Err.Error() + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// WithCause returns a copy of e carrying err as its logged cause.
func (e *Error) WithCause(err error) *Error {
	c := *e
	c.Err = err
	return &c
}

// As reports whether err is or wraps an *Error and returns it.
func As(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return nil, false
}

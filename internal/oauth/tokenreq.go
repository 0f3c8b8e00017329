package oauth

import "net/url"

// GrantType is a token endpoint grant_type value.
type GrantType string

const (
	GrantAuthorizationCode GrantType = "authorization_code" // RFC 6749 §4.1.3
	GrantRefreshToken      GrantType = "refresh_token"      // RFC 6749 §6
	GrantClientCredentials GrantType = "client_credentials" // RFC 6749 §4.4
)

// AuthMethod is how a client authenticated (RFC 7591 §2 names).
type AuthMethod string

const (
	AuthNone              AuthMethod = "none"
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
)

// ClientCredentials are what the client presented to identify itself.
type ClientCredentials struct {
	ID     string
	Secret string // "" for AuthNone
	Method AuthMethod
}

// ParseClientCredentials reads client authentication from the
// Authorization header value and the form (RFC 6749 §2.3.1): HTTP Basic
// with form-urlencoded id and secret, or client_id + client_secret in the
// body, or client_id alone (a public client, AuthNone). Using more than
// one method, a malformed Basic header, a body client_id that differs from
// the Basic one, or no client_id at all is invalid_request (or
// invalid_client for a malformed Basic header). err is an *Error.
func ParseClientCredentials(authorization string, form url.Values) (ClientCredentials, error) {
	panic("unimplemented")
}

// TokenRequest is a parsed token endpoint request.
type TokenRequest struct {
	GrantType    GrantType
	Client       ClientCredentials
	Code         string // authorization_code
	RedirectURI  string // authorization_code; "" when omitted
	CodeVerifier string // authorization_code; "" when omitted
	RefreshToken string // refresh_token
	// Scopes is the scope parameter (refresh_token, client_credentials);
	// nil when the parameter was absent.
	Scopes    []string
	Resources []string // RFC 8707
}

// ParseTokenRequest parses a token request from the Authorization header
// value and the POST body form (the caller has already checked the method,
// content type and body size and never passes the URL query). Every
// parameter may appear at most once (RFC 6749 §3.2); values must be valid
// UTF-8; grant-specific required parameters must be present. Unknown
// grant types give unsupported_grant_type. err is an *Error.
func ParseTokenRequest(authorization string, form url.Values) (*TokenRequest, error) {
	panic("unimplemented")
}

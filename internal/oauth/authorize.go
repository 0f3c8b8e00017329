package oauth

import "net/url"

// ResponseMode is how the authorization response is delivered
// (OAuth 2.0 Multiple Response Type Encoding Practices; Form Post Response Mode).
type ResponseMode string

const (
	ResponseModeQuery    ResponseMode = "query"
	ResponseModeFragment ResponseMode = "fragment"
	ResponseModeFormPost ResponseMode = "form_post"
)

// Prompt values, OIDC Core §3.1.2.1.
const (
	PromptNone          = "none"
	PromptLogin         = "login"
	PromptConsent       = "consent"
	PromptSelectAccount = "select_account"
)

// AuthorizeRequest is a parsed authorization request (RFC 6749 §4.1.1,
// RFC 7636 §4.3, OIDC Core §3.1.2.1, RFC 9207, RFC 8707, RFC 9449 §10).
type AuthorizeRequest struct {
	ClientID     string
	RedirectURI  string // as sent; "" when omitted
	ResponseType string // always "code" when parsing succeeded
	ResponseMode ResponseMode
	Scopes       []string
	State        string
	Nonce        string
	// CodeChallenge is "" when the client sent none; Method is then "".
	CodeChallenge       string
	CodeChallengeMethod string // "S256" when a challenge was sent
	Prompt              []string
	MaxAge              int // -1 when absent
	LoginHint           string
	Resources           []string // RFC 8707 resource indicators
	DPoPJKT             string   // RFC 9449 §10 dpop_jkt
}

// ParseAuthorizeRequest parses the parameters of an authorization request.
// It never consults the client registration.
//
// The two error cases are distinct and the caller MUST tell them apart
// (RFC 6749 §4.1.2.1):
//   - req == nil: client_id or redirect_uri is missing, repeated or
//     malformed, so no redirect may happen; show an error page.
//   - req != nil && err != nil: client_id and redirect_uri are usable, but
//     another parameter is wrong; the error may be redirected only after
//     the client and redirect URI are validated (see CheckRedirect).
//
// err is always an *Error.
func ParseAuthorizeRequest(q url.Values) (*AuthorizeRequest, error) {
	panic("unimplemented")
}

// Query returns the request encoded as URL query parameters, such that
// ParseAuthorizeRequest(req.Query()) yields an equal request.
func (r *AuthorizeRequest) Query() url.Values {
	panic("unimplemented")
}

// HasPrompt reports whether p is among the request's prompt values.
func (r *AuthorizeRequest) HasPrompt(p string) bool {
	panic("unimplemented")
}

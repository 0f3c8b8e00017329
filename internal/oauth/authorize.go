package oauth

import (
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// ResponseMode is how the authorization response is delivered
// (OAuth 2.0 Multiple Response Type Encoding Practices; Form Post Response Mode).
type ResponseMode string

const (
	ResponseModeQuery    ResponseMode = "query"
	ResponseModeFragment ResponseMode = "fragment"
	ResponseModeFormPost ResponseMode = "form_post"
)

// ResponseTypeCode is the only supported response_type (RFC 6749 §4.1.1).
// The implicit and hybrid flows are refused (RFC 9700 §2.1.2).
const ResponseTypeCode = "code"

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
	// UILocales is the ui_locales parameter as sent: the end user's
	// preferred languages for the pages, space-separated BCP 47 tags in
	// order of preference (OIDC Core §3.1.2.1). Only a preference: tags
	// are not validated here, and unknown ones are ignored by the UI.
	UILocales string
	// ACRValues are the acr values asked for, in order of preference:
	// acr_values (OIDC Core §3.1.2.1) and then the values of an acr
	// member of the claims parameter's id_token object (§5.5.1.1).
	// ACREssential is set when that member is essential. Latch holds
	// both the same way (continueAuthorize: step up, or
	// unmet_authentication_requirements).
	ACRValues    []string
	ACREssential bool
}

// descImplicit is the error_description for the implicit and hybrid flows.
const descImplicit = "the implicit and hybrid flows are not supported; use the authorization code flow with PKCE (RFC 9700 section 2.1.2)"

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
//
// Rules, in the order they are checked (the first failure is returned):
//   - Every parameter may appear at most once, except resource (RFC 6749
//     §3.1, RFC 8707 §2); an empty value counts as omitted (RFC 6749 §3.1).
//     Values must be valid UTF-8 without control characters and at most
//     2048 bytes.
//   - client_id is required; redirect_uri, when sent, must be an absolute
//     URI without a fragment (RFC 6749 §3.1.2). Failures here give req == nil.
//   - state, then response_mode (query, fragment or form_post). When req is
//     returned with an error, State and ResponseMode are filled if they were
//     valid, so the error can be delivered correctly; an absent or invalid
//     response_mode gives the default mode, which is fragment when
//     response_type asked for a token or ID token from the authorization
//     endpoint (Multiple Response Type Encoding Practices §2.1, §5) and
//     query otherwise.
//   - request, request_uri, registration: refused with request_not_supported,
//     request_uri_not_supported, registration_not_supported (OIDC Core
//     §6.1, §6.2, §7.2.1).
//   - response_type must be "code"; anything containing "token" or
//     "id_token" is the implicit or hybrid flow, refused with
//     unsupported_response_type (RFC 9700 §2.1.2).
//   - scope: ParseScope (invalid_scope).
//   - nonce.
//   - code_challenge_method must be S256. "plain", or an absent method with
//     a challenge (which means plain, RFC 7636 §4.3), is refused (RFC 9700
//     §2.1.1); a method without a challenge is refused; the challenge must
//     satisfy ValidCodeChallenge.
//   - prompt: single-space separated none, login, consent, select_account;
//     none with any other value is an error (OIDC Core §3.1.2.1).
//   - max_age: a non-negative decimal integer (OIDC Core §3.1.2.1) of at
//     most MaxMaxAge seconds.
//   - login_hint, ui_locales (kept as sent; OIDC Core §3.1.2.1).
//   - resource: each an absolute URI without fragment, else invalid_target
//     (RFC 8707 §2); at most 16.
//   - dpop_jkt: a base64url SHA-256 JWK thumbprint (RFC 9449 §10).
//   - No parameter name or value anywhere, even an ignored one, is invalid
//     UTF-8.
//
// Other parameters are ignored (RFC 6749 §3.1). Whether PKCE is required,
// whether openid is in scope, and whether the redirect URI is registered
// are the caller's decisions.
func ParseAuthorizeRequest(q url.Values) (*AuthorizeRequest, error) {
	// client_id and redirect_uri first: until both are known good, no
	// error may be redirected (RFC 6749 §4.1.2.1), so failures give nil.
	clientID, e := single(q, "client_id", maxAuthorizeParamLen)
	if e != nil {
		return nil, e
	}
	if clientID == "" {
		return nil, Errorf(InvalidRequest, "parameter client_id is required")
	}
	redirectURI, e := single(q, "redirect_uri", maxAuthorizeParamLen)
	if e != nil {
		return nil, e
	}
	if redirectURI != "" {
		// RFC 6749 §3.1.2: "MUST be an absolute URI", "MUST NOT include a
		// fragment component". Whether it is registered is CheckRedirect's job.
		u, err := url.Parse(redirectURI)
		if err != nil || !u.IsAbs() || strings.Contains(redirectURI, "#") {
			return nil, Errorf(InvalidRequest, "parameter redirect_uri must be an absolute URI without a fragment")
		}
	}

	req := &AuthorizeRequest{
		ClientID:     clientID,
		RedirectURI:  redirectURI,
		ResponseMode: defaultResponseMode(q),
		MaxAge:       -1,
	}
	// state and response_mode are read before any other check so that an
	// error response carries them; their own errors come first.
	state, e := single(q, "state", maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}
	req.State = state
	mode, e := parseResponseMode(q)
	if e != nil {
		return req, e
	}
	if mode != "" {
		req.ResponseMode = mode
	}

	for _, p := range []struct {
		name string
		code Code
	}{
		{"request", RequestNotSupported},           // OIDC Core §6.1
		{"request_uri", RequestURINotSupported},    // OIDC Core §6.2
		{"registration", RegistrationNotSupported}, // OIDC Core §7.2.1
	} {
		if slices.ContainsFunc(q[p.name], func(v string) bool { return v != "" }) {
			return req, Errorf(p.code, "parameter %s is not supported", p.name)
		}
	}

	rt, e := single(q, "response_type", maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}
	if e := checkResponseType(rt); e != nil {
		return req, e
	}

	scope, e := single(q, "scope", maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}
	scopes, err := ParseScope(scope)
	if err != nil {
		return req, err
	}

	nonce, e := single(q, "nonce", maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}

	challenge, method, e := parseCodeChallenge(q)
	if e != nil {
		return req, e
	}

	prompt, e := parsePrompt(q)
	if e != nil {
		return req, e
	}

	maxAge, e := parseMaxAge(q)
	if e != nil {
		return req, e
	}

	loginHint, e := single(q, "login_hint", maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}

	uiLocales, e := single(q, "ui_locales", maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}

	resources, e := parseResources(q, maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}

	jkt, e := single(q, "dpop_jkt", maxAuthorizeParamLen)
	if e != nil {
		return req, e
	}
	if jkt != "" && !isSHA256Base64URL(jkt) {
		// RFC 9449 §10: the base64url JWK SHA-256 thumbprint (RFC 7638).
		return req, Errorf(InvalidRequest, "parameter dpop_jkt must be a base64url SHA-256 JWK thumbprint")
	}

	acrs, essential, e := parseACR(q)
	if e != nil {
		return req, e
	}

	if e := checkUTF8(q); e != nil {
		return req, e
	}

	req.ACRValues, req.ACREssential = acrs, essential
	req.ResponseType = rt
	req.Scopes = scopes
	req.Nonce = nonce
	req.CodeChallenge = challenge
	req.CodeChallengeMethod = method
	req.Prompt = prompt
	req.MaxAge = maxAge
	req.LoginHint = loginHint
	req.UILocales = uiLocales
	req.Resources = resources
	req.DPoPJKT = jkt
	return req, nil
}

// defaultResponseMode is the response mode used when response_mode is
// absent or invalid: fragment for response types that return a token from
// the authorization endpoint (Multiple Response Type Encoding Practices
// §2.1 and §5, RFC 6749 §4.2.2.1), so that even the refusal of such a
// request reaches the client where it listens; query otherwise (RFC 6749
// §4.1.2). It reads response_type without validating it.
func defaultResponseMode(q url.Values) ResponseMode {
	if vs := q["response_type"]; len(vs) == 1 {
		for tok := range strings.SplitSeq(vs[0], " ") {
			if tok == "token" || tok == "id_token" {
				return ResponseModeFragment
			}
		}
	}
	return ResponseModeQuery
}

// parseResponseMode returns the response_mode parameter, "" when absent.
func parseResponseMode(q url.Values) (ResponseMode, *Error) {
	v, e := single(q, "response_mode", maxAuthorizeParamLen)
	if e != nil {
		return "", e
	}
	switch m := ResponseMode(v); m {
	case "", ResponseModeQuery, ResponseModeFragment, ResponseModeFormPost:
		return m, nil
	}
	return "", Errorf(InvalidRequest, "parameter response_mode must be query, fragment or form_post")
}

// checkResponseType accepts only "code" (RFC 6749 §4.1.1). A response type
// asking for a token or ID token from the authorization endpoint is the
// implicit or hybrid flow (RFC 6749 §4.2, OIDC Core §3.2, §3.3), which
// RFC 9700 §2.1.2 says not to use.
func checkResponseType(rt string) *Error {
	if rt == "" {
		return Errorf(InvalidRequest, "parameter response_type is required")
	}
	if rt == ResponseTypeCode {
		return nil
	}
	for tok := range strings.SplitSeq(rt, " ") {
		if tok == "token" || tok == "id_token" {
			return Errorf(UnsupportedResponseType, descImplicit)
		}
	}
	return Errorf(UnsupportedResponseType, "unsupported response_type; only code is supported")
}

// parseCodeChallenge validates code_challenge and code_challenge_method
// (RFC 7636 §4.3). Only S256 is accepted: "plain" is refused (RFC 9700
// §2.1.1), and so is a challenge without a method, because an absent method
// means plain (RFC 7636 §4.3). Both results are "" when no challenge was
// sent; the caller decides whether PKCE is required.
func parseCodeChallenge(q url.Values) (challenge, method string, err *Error) {
	method, e := single(q, "code_challenge_method", maxAuthorizeParamLen)
	if e != nil {
		return "", "", e
	}
	challenge, e = single(q, "code_challenge", maxAuthorizeParamLen)
	if e != nil {
		return "", "", e
	}
	switch {
	case method == MethodPlain || (method == "" && challenge != ""):
		return "", "", Errorf(InvalidRequest, "code_challenge_method plain is not supported; use S256")
	case method != "" && method != MethodS256:
		return "", "", Errorf(InvalidRequest, "unsupported code_challenge_method; use S256")
	case method != "" && challenge == "":
		return "", "", Errorf(InvalidRequest, "parameter code_challenge_method requires code_challenge")
	case challenge != "" && !ValidCodeChallenge(challenge):
		return "", "", Errorf(InvalidRequest, "parameter code_challenge must be 43 characters of base64url (S256)")
	}
	return challenge, method, nil
}

// parsePrompt parses prompt (OIDC Core §3.1.2.1): single-space separated
// known values, duplicates dropped, order kept; nil when absent. "none"
// together with any other value is invalid_request.
func parsePrompt(q url.Values) ([]string, *Error) {
	v, e := single(q, "prompt", maxAuthorizeParamLen)
	if e != nil || v == "" {
		return nil, e
	}
	var prompt []string
	for tok := range strings.SplitSeq(v, " ") {
		switch tok {
		case PromptNone, PromptLogin, PromptConsent, PromptSelectAccount:
		default:
			return nil, Errorf(InvalidRequest, "parameter prompt must hold none, login, consent or select_account separated by single spaces")
		}
		if !slices.Contains(prompt, tok) {
			prompt = append(prompt, tok)
		}
	}
	if len(prompt) > 1 && slices.Contains(prompt, PromptNone) {
		return nil, Errorf(InvalidRequest, "prompt none must not be combined with other values")
	}
	return prompt, nil
}

// MaxMaxAge is the largest max_age accepted, in seconds (about 68 years):
// time.Duration(MaxAge)*time.Second never overflows, on any platform.
const MaxMaxAge = math.MaxInt32

// parseMaxAge parses max_age (OIDC Core §3.1.2.1): decimal digits only, no
// sign, at most MaxMaxAge; -1 when absent. A larger value is
// invalid_request rather than an overflow when the age is compared.
func parseMaxAge(q url.Values) (int, *Error) {
	v, e := single(q, "max_age", maxAuthorizeParamLen)
	if e != nil {
		return -1, e
	}
	if v == "" {
		return -1, nil
	}
	bad := Errorf(InvalidRequest, "parameter max_age must be a non-negative integer of at most %d seconds", MaxMaxAge)
	for i := 0; i < len(v); i++ {
		if v[i] < '0' || v[i] > '9' {
			return -1, bad
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n > MaxMaxAge {
		return -1, bad
	}
	return n, nil
}

// Query returns the request encoded as URL query parameters, such that
// ParseAuthorizeRequest(req.Query()) yields an equal request.
// Empty fields are omitted, as is response_mode when it is query.
func (r *AuthorizeRequest) Query() url.Values {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("client_id", r.ClientID)
	set("redirect_uri", r.RedirectURI)
	set("response_type", r.ResponseType)
	if r.ResponseMode != ResponseModeQuery {
		set("response_mode", string(r.ResponseMode))
	}
	set("scope", JoinScope(r.Scopes))
	set("state", r.State)
	set("nonce", r.Nonce)
	set("code_challenge", r.CodeChallenge)
	set("code_challenge_method", r.CodeChallengeMethod)
	set("prompt", strings.Join(r.Prompt, " "))
	if r.MaxAge >= 0 {
		q.Set("max_age", strconv.Itoa(r.MaxAge))
	}
	set("login_hint", r.LoginHint)
	set("ui_locales", r.UILocales)
	for _, res := range r.Resources {
		q.Add("resource", res)
	}
	set("dpop_jkt", r.DPoPJKT)
	// Every acr value goes to acr_values; the claims parameter keeps
	// only its essential flag (parseACR reads the two back the same).
	set("acr_values", strings.Join(r.ACRValues, " "))
	if r.ACREssential {
		q.Set("claims", `{"id_token":{"acr":{"essential":true}}}`)
	}
	return q
}

// HasPrompt reports whether p is among the request's prompt values.
func (r *AuthorizeRequest) HasPrompt(p string) bool {
	return slices.Contains(r.Prompt, p)
}

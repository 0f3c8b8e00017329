package oauth

import (
	"errors"
	"net/url"
	"strings"
)

// MatchRedirectURI reports whether requested matches the registered redirect
// URI. This is the only redirect URI comparison in Latch and must never be
// skipped or loosened: the match is by exact string comparison, except that
// for a registered loopback IP literal (http://127.0.0.1 or http://[::1])
// the port of the requested URI may differ (RFC 8252 §7.3, RFC 9700 §4.1.3).
// "localhost" gets no port exception.
//
// Invariants (RFC 9700 §4.1.3, RFC 6749 §3.1.2):
//   - No normalisation of any kind: no case folding, no percent-decoding,
//     no path cleaning, no default-port elision. "https://App.example/cb"
//     does not match "https://app.example/cb".
//   - requested never matches when it does not parse as an absolute URI,
//     or holds userinfo or a fragment, whatever is registered.
//   - The port exception needs the registered URI to start with exactly
//     "http://127.0.0.1" or "http://[::1]": it does not apply to https
//     (a loopback listener of a native app speaks plain http, RFC 8252
//     §7.3), to other 127/8 addresses, or to an upper-case scheme. Apart
//     from the port (digits, 1 to 65535, or absent), the two raw strings
//     must be identical.
func MatchRedirectURI(registered, requested string) bool {
	if registered == "" || requested == "" {
		return false
	}
	req, err := url.Parse(requested)
	if err != nil || !req.IsAbs() || req.User != nil || strings.Contains(requested, "#") {
		return false
	}
	reg, err := url.Parse(registered)
	if err != nil {
		return false
	}
	if registered == requested {
		return true
	}
	// RFC 8252 §7.3: loopback IP literal, any port.
	regHost, _, regRest, ok := splitLoopback(registered)
	if !ok {
		return false
	}
	reqHost, reqPort, reqRest, ok := splitLoopback(requested)
	if !ok || reqHost != regHost || reqRest != regRest {
		return false
	}
	// Cross-check with net/url, so that the raw split above and the parser
	// other code uses cannot disagree about where the request goes.
	want := strings.Trim(regHost, "[]")
	return reg.Scheme == "http" && req.Scheme == "http" &&
		reg.Hostname() == want && req.Hostname() == want && req.Port() == reqPort
}

// splitLoopback splits a raw "http://127.0.0.1[:port]rest" or
// "http://[::1][:port]rest" URI into host literal, port ("" when absent)
// and the rest (path, query, fragment, byte for byte). ok is false for any
// other URI, including an empty or invalid port.
func splitLoopback(raw string) (host, port, rest string, ok bool) {
	s, found := strings.CutPrefix(raw, "http://")
	if !found {
		return "", "", "", false
	}
	authority := s
	if i := strings.IndexAny(s, "/?#"); i >= 0 {
		authority, rest = s[:i], s[i:]
	}
	for _, h := range []string{"127.0.0.1", "[::1]"} {
		if authority == h {
			return h, "", rest, true
		}
		if p, found := strings.CutPrefix(authority, h+":"); found && validPort(p) {
			return h, p, rest, true
		}
	}
	return "", "", "", false
}

// validPort reports whether p is a decimal port 1-65535 without leading zeros.
func validPort(p string) bool {
	if p == "" || len(p) > 5 || p[0] == '0' {
		return false
	}
	n := 0
	for i := 0; i < len(p); i++ {
		if p[i] < '0' || p[i] > '9' {
			return false
		}
		n = n*10 + int(p[i]-'0')
	}
	return n <= 65535
}

// ValidateRegisteredRedirectURI checks a redirect URI at registration:
// absolute, no fragment, no userinfo; https, or http only for loopback
// hosts (localhost, 127.0.0.0/8, [::1]), or a private-use scheme containing
// a dot (RFC 8252 §7.1, e.g. com.example.app:/cb). The returned error says
// what is wrong in one sentence.
//
// Also refused, so that exact matching stays unambiguous: characters other
// than printable ASCII (percent-encode them, RFC 3986 §2.1), spaces, an
// upper-case scheme, and URIs longer than 2048 bytes. A query is allowed
// (RFC 6749 §3.1.2). Registering http://localhost is allowed but gets no
// port exception in MatchRedirectURI (RFC 8252 §8.3 recommends the IP
// literal).
func ValidateRegisteredRedirectURI(uri string) error {
	if uri == "" {
		return errors.New("redirect URI is empty")
	}
	if len(uri) > maxAuthorizeParamLen {
		return errors.New("redirect URI is longer than 2048 bytes")
	}
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] >= 0x7f {
			return errors.New("redirect URI must contain only printable ASCII characters without spaces")
		}
	}
	if strings.Contains(uri, "#") {
		return errors.New("redirect URI must not contain a fragment (RFC 6749 section 3.1.2)")
	}
	u, err := url.Parse(uri)
	if err != nil {
		return errors.New("redirect URI is not a valid URI")
	}
	if !u.IsAbs() {
		return errors.New("redirect URI must be absolute (RFC 6749 section 3.1.2)")
	}
	if !strings.HasPrefix(uri, u.Scheme+":") {
		return errors.New("redirect URI scheme must be lower case")
	}
	if u.User != nil {
		return errors.New("redirect URI must not contain userinfo")
	}
	switch {
	case u.Scheme == "https":
		if u.Opaque != "" || u.Hostname() == "" {
			return errors.New("https redirect URI must have a host")
		}
	case u.Scheme == "http":
		if u.Opaque != "" || !IsLoopbackHost(u.Hostname()) {
			return errors.New("http redirect URI is allowed only for loopback hosts (localhost, 127.0.0.0/8, [::1]); use https")
		}
	case strings.Contains(u.Scheme, "."):
		// RFC 8252 §7.1: private-use URI scheme based on a reverse domain name.
	default:
		return errors.New("redirect URI scheme must be https, http on a loopback host, or a private-use scheme containing a dot (RFC 8252 section 7.1)")
	}
	return nil
}

// Redirect is a redirect URI that has been validated against the client's
// registration, with the response mode, state and issuer it must carry.
// Only CheckRedirect constructs one, so no error can be redirected to an
// unvalidated URI (RFC 6749 §4.1.2.1).
type Redirect struct {
	uri   string
	mode  ResponseMode
	state string
	iss   string
}

// CheckRedirect resolves the redirect URI of req against the registered
// ones: req.RedirectURI must match one of them (MatchRedirectURI); when it
// is empty, registered must hold exactly one URI, which is used. issuer is
// sent as the iss response parameter (RFC 9207). On failure it returns an
// *Error to be shown on an error page, never redirected.
//
// When a loopback registration matches with another port, the URI used is
// the requested one (RFC 8252 §7.3). CheckRedirect does not enforce OIDC
// Core §3.1.2.1, which makes redirect_uri required for openid requests;
// that is the caller's decision.
func CheckRedirect(registered []string, req *AuthorizeRequest, issuer string) (*Redirect, error) {
	if req == nil {
		return nil, Errorf(InvalidRequest, "invalid authorization request")
	}
	uri := ""
	switch {
	case req.RedirectURI == "" && len(registered) == 1:
		// RFC 6749 §3.1.2.3: optional when exactly one URI is registered.
		uri = registered[0]
	case req.RedirectURI == "":
		return nil, Errorf(InvalidRequest, "parameter redirect_uri is required")
	default:
		for _, reg := range registered {
			if MatchRedirectURI(reg, req.RedirectURI) {
				uri = req.RedirectURI
				break
			}
		}
		if uri == "" {
			return nil, Errorf(InvalidRequest, "redirect_uri does not match a registered redirect URI")
		}
	}
	if uri == "" {
		return nil, Errorf(InvalidRequest, "no redirect URI is registered")
	}
	mode := req.ResponseMode
	if mode == "" {
		mode = ResponseModeQuery
	}
	return &Redirect{uri: uri, mode: mode, state: req.State, iss: issuer}, nil
}

// URI is the validated redirect URI.
func (r *Redirect) URI() string { return r.uri }

// Mode is the response mode to use.
func (r *Redirect) Mode() ResponseMode { return r.mode }

// Params adds state and iss to params (which holds code, or error fields)
// and returns it. Each is set only when non-empty, replacing any value
// already there; a nil params gets a new map.
func (r *Redirect) Params(params url.Values) url.Values {
	if params == nil {
		params = url.Values{}
	}
	if r.state != "" {
		params.Set("state", r.state) // RFC 6749 §4.1.2, exactly as received
	}
	if r.iss != "" {
		params.Set("iss", r.iss) // RFC 9207 §2
	}
	return params
}

// ErrorParams returns the parameters of an error response (error,
// error_description, state, iss), RFC 6749 §4.1.2.1.
//
// error_description is omitted when empty; characters outside the set
// RFC 6749 §4.1.2.1 allows (%x20-21 / %x23-5B / %x5D-7E) are replaced by
// '?'. A nil e is reported as server_error.
func (r *Redirect) ErrorParams(e *Error) url.Values {
	if e == nil {
		e = &Error{Code: ServerError}
	}
	p := url.Values{}
	p.Set("error", string(e.Code))
	if d := sanitizeDescription(e.Description); d != "" {
		p.Set("error_description", d)
	}
	return r.Params(p)
}

// sanitizeDescription maps every character of d that RFC 6749 §4.1.2.1
// does not allow in error_description to '?'.
func sanitizeDescription(d string) string {
	return strings.Map(func(c rune) rune {
		if c == 0x20 || c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e) {
			return c
		}
		return '?'
	}, d)
}

// Location returns the URL to redirect to for query and fragment modes:
// params appended to the URI's existing query (query mode) or placed in
// the fragment (fragment mode). It must not be called for form_post.
//
// The URI is never re-serialised: its bytes, including an existing query
// (RFC 6749 §3.1.2: "MUST retain the query component"), are kept and the
// encoded params appended after '?', '&' or '#'. Location panics for
// form_post, which would otherwise leak the response into a URL.
func (r *Redirect) Location(params url.Values) string {
	enc := params.Encode()
	switch r.mode {
	case ResponseModeFragment:
		return r.uri + "#" + enc
	case ResponseModeFormPost:
		panic("oauth: Redirect.Location called for response_mode form_post")
	}
	switch {
	case enc == "":
		return r.uri
	case !strings.Contains(r.uri, "?"):
		return r.uri + "?" + enc
	case strings.HasSuffix(r.uri, "?") || strings.HasSuffix(r.uri, "&"):
		return r.uri + enc
	default:
		return r.uri + "&" + enc
	}
}

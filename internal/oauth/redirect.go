package oauth

import "net/url"

// MatchRedirectURI reports whether requested matches the registered redirect
// URI. This is the only redirect URI comparison in Latch and must never be
// skipped or loosened: the match is by exact string comparison, except that
// for a registered loopback IP literal (http://127.0.0.1 or http://[::1])
// the port of the requested URI may differ (RFC 8252 §7.3, RFC 9700 §4.1.3).
// "localhost" gets no port exception.
func MatchRedirectURI(registered, requested string) bool {
	panic("unimplemented")
}

// ValidateRegisteredRedirectURI checks a redirect URI at registration:
// absolute, no fragment, no userinfo; https, or http only for loopback
// hosts (localhost, 127.0.0.0/8, [::1]), or a private-use scheme containing
// a dot (RFC 8252 §7.1, e.g. com.example.app:/cb). The returned error says
// what is wrong in one sentence.
func ValidateRegisteredRedirectURI(uri string) error {
	panic("unimplemented")
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
func CheckRedirect(registered []string, req *AuthorizeRequest, issuer string) (*Redirect, error) {
	panic("unimplemented")
}

// URI is the validated redirect URI.
func (r *Redirect) URI() string { return r.uri }

// Mode is the response mode to use.
func (r *Redirect) Mode() ResponseMode { return r.mode }

// Params adds state and iss to params (which holds code, or error fields)
// and returns it.
func (r *Redirect) Params(params url.Values) url.Values {
	panic("unimplemented")
}

// ErrorParams returns the parameters of an error response (error,
// error_description, state, iss), RFC 6749 §4.1.2.1.
func (r *Redirect) ErrorParams(e *Error) url.Values {
	panic("unimplemented")
}

// Location returns the URL to redirect to for query and fragment modes:
// params appended to the URI's existing query (query mode) or placed in
// the fragment (fragment mode). It must not be called for form_post.
func (r *Redirect) Location(params url.Values) string {
	panic("unimplemented")
}

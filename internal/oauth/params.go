package oauth

import (
	"net/url"
	"slices"
	"unicode/utf8"
)

// Length caps for single parameter values. They bound the work done on
// hostile input; no legitimate client comes near them.
const (
	// maxAuthorizeParamLen caps every authorization request value
	// (client_id, redirect_uri, state, nonce, scope, …).
	maxAuthorizeParamLen = 2048
	// maxTokenParamLen caps every token request value and the
	// Authorization header.
	maxTokenParamLen = 4096
	// maxClientAssertionLen caps client_assertion (RFC 7523): a JWS
	// signed with an RSA-4096 key and a few claims is about 1.5 KiB.
	maxClientAssertionLen = 16 << 10
	// maxResources caps the number of RFC 8707 resource parameters.
	maxResources = 16
)

// single returns the one value of the parameter name in q, or "" when it is
// absent or empty: "Parameters sent without a value MUST be treated as if
// they were omitted from the request" and "Request and response parameters
// MUST NOT be included more than once" (RFC 6749 §3.1, §3.2). A repeated
// parameter (even with an empty value), a value that is not valid UTF-8,
// contains control characters or exceeds maxLen is invalid_request naming
// the parameter.
func single(q url.Values, name string, maxLen int) (string, *Error) {
	vs := q[name]
	if len(vs) > 1 {
		return "", Errorf(InvalidRequest, "parameter %s must not be repeated", name)
	}
	if len(vs) == 0 {
		return "", nil
	}
	if err := checkValue(name, vs[0], maxLen); err != nil {
		return "", err
	}
	return vs[0], nil
}

// checkValue enforces the value rules shared by every parameter: valid
// UTF-8, no control characters, at most maxLen bytes.
func checkValue(name, v string, maxLen int) *Error {
	switch {
	case !utf8.ValidString(v):
		return Errorf(InvalidRequest, "parameter %s is not valid UTF-8", name)
	case len(v) > maxLen:
		return Errorf(InvalidRequest, "parameter %s is too long", name)
	case hasControl(v):
		return Errorf(InvalidRequest, "parameter %s contains control characters", name)
	}
	return nil
}

// hasControl reports whether s holds a C0 or C1 control character or DEL.
// s must be valid UTF-8.
func hasControl(s string) bool {
	for _, r := range s {
		if r < 0x20 || (r >= 0x7f && r <= 0x9f) {
			return true
		}
	}
	return false
}

// knownParams is the fixed vocabulary of parameter names an error
// description may name: those of the authorization, token, revocation
// and introspection requests (RFC 6749 §4.1, §4.4, §6; RFC 7636; RFC 8707;
// RFC 9449; OIDC Core §3.1.2.1, §6; RFC 7009 §2.1; RFC 7662 §2.1). A name outside it came from the request and is never
// echoed: error_description reaches the client's callback, and attacker-
// chosen text there is a phishing vector (RFC 6749 §4.1.2.1 limits
// error_description to a fixed character set, and we go further).
var knownParams = map[string]bool{
	"response_type": true, "client_id": true, "redirect_uri": true, "scope": true, "state": true,
	"response_mode": true, "nonce": true, "display": true, "prompt": true, "max_age": true,
	"ui_locales": true, "claims_locales": true, "id_token_hint": true, "login_hint": true,
	"acr_values": true, "claims": true, "request": true, "request_uri": true, "registration": true,
	"code_challenge": true, "code_challenge_method": true, "resource": true, "dpop_jkt": true,
	"grant_type": true, "client_secret": true, "code": true, "code_verifier": true,
	"refresh_token": true, "client_assertion": true, "client_assertion_type": true,
	"token": true, "token_type_hint": true, "device_code": true, "user_code": true,
}

// checkUTF8 rejects any key or value of q that is not valid UTF-8, in
// sorted key order so the reported error is deterministic. It covers the
// parameters Latch otherwise ignores. Only names in knownParams appear in
// the description; any other name is request input and stays out of it.
func checkUTF8(q url.Values) *Error {
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if !utf8.ValidString(k) {
			return Errorf(InvalidRequest, "a parameter name is not valid UTF-8")
		}
		for _, v := range q[k] {
			if !utf8.ValidString(v) {
				if !knownParams[k] {
					return Errorf(InvalidRequest, "a parameter value is not valid UTF-8")
				}
				return Errorf(InvalidRequest, "parameter %s is not valid UTF-8", k)
			}
		}
	}
	return nil
}

// parseResources validates the RFC 8707 resource parameters, the one
// parameter that may repeat (RFC 8707 §2): each must be an absolute URI
// (RFC 3986 §4.3) without a fragment, else invalid_target. Empty values are
// omitted (RFC 6749 §3.1). The result is nil when none remain.
func parseResources(q url.Values, maxLen int) ([]string, *Error) {
	vs := q["resource"]
	if len(vs) > maxResources {
		return nil, Errorf(InvalidTarget, "too many resource parameters")
	}
	var out []string
	for _, v := range vs {
		if v == "" {
			continue
		}
		if err := checkValue("resource", v, maxLen); err != nil {
			return nil, err
		}
		if !validResource(v) {
			return nil, Errorf(InvalidTarget, "resource must be an absolute URI without a fragment")
		}
		out = append(out, v)
	}
	return out, nil
}

// validResource reports whether v is an absolute URI without a fragment
// (RFC 8707 §2). A query is allowed (the RFC says only SHOULD NOT).
func validResource(v string) bool {
	u, err := url.Parse(v)
	if err != nil || !u.IsAbs() {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] == '#' || v[i] == ' ' {
			return false
		}
	}
	return true
}

package oauth

import (
	"encoding/base64"
	"net/url"
	"strings"
	"unicode/utf8"
)

// GrantType is a token endpoint grant_type value.
type GrantType string

const (
	GrantAuthorizationCode GrantType = "authorization_code" // RFC 6749 §4.1.3
	GrantRefreshToken      GrantType = "refresh_token"      // RFC 6749 §6
	GrantClientCredentials GrantType = "client_credentials" // RFC 6749 §4.4
	// GrantDeviceCode is the device authorization grant (RFC 8628 §3.4).
	GrantDeviceCode GrantType = "urn:ietf:params:oauth:grant-type:device_code"
)

// AuthMethod is how a client authenticated (RFC 7591 §2 names).
type AuthMethod string

const (
	AuthNone              AuthMethod = "none"
	AuthClientSecretBasic AuthMethod = "client_secret_basic"
	AuthClientSecretPost  AuthMethod = "client_secret_post"
	AuthPrivateKeyJWT     AuthMethod = "private_key_jwt" // RFC 7523 §2.2, OIDC Core §9
)

// ClientAssertionTypeJWT is the only client_assertion_type (RFC 7523 §2.2).
const ClientAssertionTypeJWT = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// ClientCredentials are what the client presented to identify itself.
type ClientCredentials struct {
	// ID is the client_id; with AuthPrivateKeyJWT it may be "" (the
	// request named the client only in the assertion's sub).
	ID     string
	Secret string // "" for AuthNone and AuthPrivateKeyJWT
	Method AuthMethod
	// Assertion is the client_assertion of AuthPrivateKeyJWT, unverified.
	Assertion string
}

// ParseClientCredentials reads client authentication from the
// Authorization header value and the form (RFC 6749 §2.3.1): HTTP Basic
// with form-urlencoded id and secret, or client_id + client_secret in the
// body, or client_id alone (a public client, AuthNone). Using more than
// one method, a malformed Basic header, a body client_id that differs from
// the Basic one, or no client_id at all is invalid_request (or
// invalid_client for a malformed Basic header). err is an *Error.
//
// The split is by where the defect is: anything wrong with the
// Authorization header (a scheme other than Basic, bad base64, no ':',
// bad percent-encoding, an empty id) is invalid_client, so the server
// answers 401 with a WWW-Authenticate challenge (RFC 6749 §5.2); anything
// wrong in the body is invalid_request.
//
// client_assertion_type + client_assertion (RFC 7523 §2.2) is
// AuthPrivateKeyJWT: the type must be ClientAssertionTypeJWT and the
// assertion present (else invalid_client, so such a request is never
// mistaken for a public client's); together with a secret or HTTP Basic
// it is invalid_request (RFC 6749 §2.3: one method per request).
// client_id is optional then (RFC 7523 §3); when sent it must equal the
// assertion's sub, which the authentication step checks.
//
// Basic with an empty secret ("id:", as golang.org/x/oauth2 sends for a
// client without a secret) identifies a public client: Method is AuthNone.
// ParseClientCredentials only reads; it authenticates nothing.
func ParseClientCredentials(authorization string, form url.Values) (ClientCredentials, error) {
	bodyID, e := single(form, "client_id", maxTokenParamLen)
	if e != nil {
		return ClientCredentials{}, e
	}
	bodySecret, e := single(form, "client_secret", maxTokenParamLen)
	if e != nil {
		return ClientCredentials{}, e
	}
	assertion, e := single(form, "client_assertion", maxClientAssertionLen)
	if e != nil {
		return ClientCredentials{}, e
	}
	assertionType, e := single(form, "client_assertion_type", maxTokenParamLen)
	if e != nil {
		return ClientCredentials{}, e
	}
	if assertion != "" || assertionType != "" {
		switch {
		case authorization != "" || bodySecret != "":
			return ClientCredentials{}, Errorf(InvalidRequest, "use one client authentication method only: client_assertion, HTTP Basic or client_secret")
		case assertionType != ClientAssertionTypeJWT:
			return ClientCredentials{}, Errorf(InvalidClient, "client_assertion_type must be %s", ClientAssertionTypeJWT)
		case assertion == "":
			return ClientCredentials{}, Errorf(InvalidClient, "client_assertion is required with client_assertion_type %s", ClientAssertionTypeJWT)
		}
		return ClientCredentials{ID: bodyID, Method: AuthPrivateKeyJWT, Assertion: assertion}, nil
	}

	if authorization == "" {
		switch {
		case bodyID == "":
			return ClientCredentials{}, Errorf(InvalidRequest, "parameter client_id is required")
		case bodySecret != "":
			return ClientCredentials{ID: bodyID, Secret: bodySecret, Method: AuthClientSecretPost}, nil
		default:
			return ClientCredentials{ID: bodyID, Method: AuthNone}, nil
		}
	}

	id, secret, e := parseBasic(authorization)
	if e != nil {
		return ClientCredentials{}, e
	}
	// RFC 6749 §2.3: "The client MUST NOT use more than one authentication
	// method in each request."
	if bodySecret != "" {
		return ClientCredentials{}, Errorf(InvalidRequest, "use one client authentication method only: HTTP Basic or client_secret in the body")
	}
	if bodyID != "" && bodyID != id {
		return ClientCredentials{}, Errorf(InvalidRequest, "parameter client_id does not match the HTTP Basic client identifier")
	}
	if secret == "" {
		return ClientCredentials{ID: id, Method: AuthNone}, nil
	}
	return ClientCredentials{ID: id, Secret: secret, Method: AuthClientSecretBasic}, nil
}

// parseBasic decodes an HTTP Basic Authorization header value (RFC 7617
// §2): the scheme is case-insensitive, the credentials padded base64 of
// id ":" secret, each application/x-www-form-urlencoded (RFC 6749 §2.3.1),
// so '+' means a space. Every failure is invalid_client.
func parseBasic(h string) (id, secret string, err *Error) {
	malformed := Errorf(InvalidClient, "malformed HTTP Basic client credentials")
	if len(h) > maxTokenParamLen {
		return "", "", malformed
	}
	scheme, cred, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return "", "", Errorf(InvalidClient, "unsupported authorization scheme; use HTTP Basic")
	}
	raw, derr := base64.StdEncoding.DecodeString(strings.TrimLeft(cred, " "))
	if derr != nil {
		return "", "", malformed
	}
	rawID, rawSecret, ok := strings.Cut(string(raw), ":")
	if !ok {
		return "", "", malformed
	}
	id, uerr := url.QueryUnescape(rawID)
	if uerr != nil {
		return "", "", malformed
	}
	secret, uerr = url.QueryUnescape(rawSecret)
	if uerr != nil {
		return "", "", malformed
	}
	if id == "" || !utf8.ValidString(id) || !utf8.ValidString(secret) || hasControl(id) || hasControl(secret) {
		return "", "", malformed
	}
	return id, secret, nil
}

// TokenRequest is a parsed token endpoint request.
type TokenRequest struct {
	GrantType    GrantType
	Client       ClientCredentials
	Code         string // authorization_code
	RedirectURI  string // authorization_code; "" when omitted
	CodeVerifier string // authorization_code; "" when omitted
	RefreshToken string // refresh_token
	DeviceCode   string // device_code (RFC 8628 §3.4)
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
//
// Order of checks (the first failure is returned): repeated or malformed
// known parameters (invalid_request; values capped at 4096 bytes, no
// control characters); invalid UTF-8 in any name or value
// (invalid_request); client credentials (ParseClientCredentials);
// grant_type (missing: invalid_request; unknown: unsupported_grant_type);
// the grant's required parameter (code or refresh_token); scope
// (ParseScope, refresh_token and client_credentials only; ignored for
// authorization_code and device_code, RFC 6749 §4.1.3 and RFC 8628 §3.4
// define none); resource
// (invalid_target, RFC 8707 §2).
//
// redirect_uri and code_verifier are optional here: whether they are
// required depends on the stored authorization code (RFC 6749 §4.1.3,
// RFC 7636 §4.5, RFC 9700 §4.8.2), which only the server knows. Their
// syntax is not checked either; VerifyPKCE checks the verifier.
func ParseTokenRequest(authorization string, form url.Values) (*TokenRequest, error) {
	// The parameters Latch reads; each may appear at most once (RFC 6749
	// §3.2). resource is the exception (RFC 8707 §2).
	names := [...]string{
		"grant_type", "client_id", "client_secret", "code", "redirect_uri",
		"code_verifier", "refresh_token", "scope", "client_assertion_type", "device_code",
	}
	vals := make(map[string]string, len(names))
	for _, name := range names {
		v, e := single(form, name, maxTokenParamLen)
		if e != nil {
			return nil, e
		}
		vals[name] = v
	}
	if e := checkUTF8(form); e != nil {
		return nil, e
	}
	client, err := ParseClientCredentials(authorization, form)
	if err != nil {
		return nil, err
	}
	req := &TokenRequest{Client: client}

	gt := GrantType(vals["grant_type"])
	switch gt {
	case "":
		return nil, Errorf(InvalidRequest, "parameter grant_type is required")
	case GrantAuthorizationCode:
		// RFC 6749 §4.1.3.
		if vals["code"] == "" {
			return nil, Errorf(InvalidRequest, "parameter code is required")
		}
		req.Code = vals["code"]
		req.RedirectURI = vals["redirect_uri"]
		req.CodeVerifier = vals["code_verifier"]
	case GrantRefreshToken:
		// RFC 6749 §6.
		if vals["refresh_token"] == "" {
			return nil, Errorf(InvalidRequest, "parameter refresh_token is required")
		}
		req.RefreshToken = vals["refresh_token"]
	case GrantClientCredentials:
		// RFC 6749 §4.4.2: only grant_type and scope.
	case GrantDeviceCode:
		// RFC 8628 §3.4: device_code and client_id.
		if vals["device_code"] == "" {
			return nil, Errorf(InvalidRequest, "parameter device_code is required")
		}
		req.DeviceCode = vals["device_code"]
	default:
		return nil, Errorf(UnsupportedGrantType, "unsupported grant_type")
	}
	req.GrantType = gt

	if gt != GrantAuthorizationCode && gt != GrantDeviceCode {
		scopes, err := ParseScope(vals["scope"])
		if err != nil {
			return nil, err
		}
		req.Scopes = scopes
	}
	resources, e := parseResources(form, maxTokenParamLen)
	if e != nil {
		return nil, e
	}
	req.Resources = resources
	return req, nil
}

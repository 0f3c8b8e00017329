package oauth

import (
	"errors"
	"net/url"
)

// TokenTypeHint is the token_type_hint of revocation (RFC 7009 §2.1) and
// introspection (RFC 7662 §2.1). It only orders the server's lookups;
// an unknown value is kept and ignored, never an error.
type TokenTypeHint string

const (
	HintAccessToken  TokenTypeHint = "access_token"  // RFC 7009 §2.1
	HintRefreshToken TokenTypeHint = "refresh_token" // RFC 7009 §2.1
)

// RevocationRequest is a parsed revocation request (RFC 7009 §2.1).
type RevocationRequest struct {
	Client ClientCredentials
	// Token is the token to revoke; "" when the parameter is absent,
	// which the server answers with invalid_request only after
	// authenticating the client (RFC 7009 §2.1: "the authorization
	// server first validates the client credentials").
	Token         string
	TokenTypeHint TokenTypeHint // "" when absent
}

// IntrospectionRequest is a parsed introspection request (RFC 7662 §2.1),
// with the same parameters and rules as a RevocationRequest.
type IntrospectionRequest struct {
	Client        ClientCredentials
	Token         string // "" when absent; see RevocationRequest.Token
	TokenTypeHint TokenTypeHint
}

// ParseRevocationRequest parses a revocation request from the
// Authorization header value and the POST body form (the caller has
// checked the method, content type, body size and text of every value).
// err is an *Error:
//
//   - no client authentication at all (no Authorization header, no
//     client_id) is invalid_client: RFC 7009 §2.1 requires it, and RFC 6749
//     §5.2 names the error (the server answers 401);
//   - client credentials as ParseClientCredentials reads them;
//   - token or token_type_hint repeated is invalid_request (RFC 6749 §3.2).
//
// The token is opaque here: it is looked up by its hash or verified as a
// JWT, so it needs no length or character rule beyond the edge's.
func ParseRevocationRequest(authorization string, form url.Values) (*RevocationRequest, error) {
	c, tok, hint, err := parseTokenHint(authorization, form)
	if err != nil {
		return nil, err
	}
	return &RevocationRequest{Client: c, Token: tok, TokenTypeHint: hint}, nil
}

// ParseIntrospectionRequest parses an introspection request (RFC 7662
// §2.1) by the rules of ParseRevocationRequest.
func ParseIntrospectionRequest(authorization string, form url.Values) (*IntrospectionRequest, error) {
	c, tok, hint, err := parseTokenHint(authorization, form)
	if err != nil {
		return nil, err
	}
	return &IntrospectionRequest{Client: c, Token: tok, TokenTypeHint: hint}, nil
}

func parseTokenHint(authorization string, form url.Values) (ClientCredentials, string, TokenTypeHint, error) {
	if authorization == "" && len(form["client_id"]) == 0 && len(form["client_assertion"]) == 0 {
		return ClientCredentials{}, "", "", Errorf(InvalidClient, "client authentication failed").WithCause(errors.New("no client authentication"))
	}
	c, err := ParseClientCredentials(authorization, form)
	if err != nil {
		return ClientCredentials{}, "", "", err
	}
	var vals [2]string
	for i, name := range [...]string{"token", "token_type_hint"} {
		switch v := form[name]; len(v) {
		case 0:
		case 1:
			vals[i] = v[0]
		default:
			return ClientCredentials{}, "", "", Errorf(InvalidRequest, "parameter %s is repeated", name)
		}
	}
	return c, vals[0], TokenTypeHint(vals[1]), nil
}

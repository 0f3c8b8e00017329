package cimd

import (
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strings"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// IsClientIDURL reports whether clientID is meant as a client ID metadata
// document URL: it starts with "https://". Whether it is a valid one is
// CheckClientIDURL's question.
func IsClientIDURL(clientID string) bool { return strings.HasPrefix(clientID, "https://") }

// CheckClientIDURL applies the draft's rules for a client_id URL
// (draft-ietf-oauth-client-id-metadata-document-03 §3) and returns its
// lower-cased host: scheme https, a host, a path other than "/", no dot
// segments, no fragment, no user info; Latch also refuses a query (the
// draft says SHOULD NOT) and anything but printable ASCII, and bounds
// the length like every client ID.
func CheckClientIDURL(clientID string) (string, error) {
	if len(clientID) > registration.MaxClientIDLen {
		return "", fail("the client_id URL is longer than %d bytes", registration.MaxClientIDLen)
	}
	for i := 0; i < len(clientID); i++ {
		if clientID[i] <= ' ' || clientID[i] >= 0x7f {
			return "", fail("the client_id URL must contain only printable ASCII characters without spaces")
		}
	}
	u, err := url.Parse(clientID)
	if err != nil || !IsClientIDURL(clientID) || u.Hostname() == "" || u.Opaque != "" {
		return "", fail("a client_id URL must be an absolute https URL (https://host/path)")
	}
	if strings.HasSuffix(u.Host, ":") {
		return "", fail("the client_id URL has an empty port: leave the colon out, or give the port")
	}
	switch {
	case u.User != nil:
		return "", fail("the client_id URL must not contain a user name or password")
	case strings.Contains(clientID, "#"):
		return "", fail("the client_id URL must not contain a fragment")
	case u.RawQuery != "" || u.ForceQuery:
		return "", fail("the client_id URL must not contain a query")
	case u.Path == "" || u.Path == "/":
		return "", fail("the client_id URL must have a path, e.g. https://%s/oauth/client.json", u.Host)
	}
	for _, seg := range strings.Split(u.EscapedPath(), "/") {
		if s := strings.ToLower(seg); s == "." || s == ".." || s == "%2e" || s == "%2e%2e" || s == ".%2e" || s == "%2e." {
			return "", fail("the client_id URL must not contain . or .. path segments")
		}
	}
	return strings.ToLower(u.Hostname()), nil
}

// document is the client metadata Latch reads (RFC 7591 §2, draft §4.1).
// Other members are ignored (RFC 7591 §2: unknown metadata is ignored).
type document struct {
	ClientID                string          `json:"client_id"`
	ClientName              string          `json:"client_name"`
	RedirectURIs            []string        `json:"redirect_uris"`
	PostLogoutRedirectURIs  []string        `json:"post_logout_redirect_uris"`
	GrantTypes              []string        `json:"grant_types"`
	ResponseTypes           []string        `json:"response_types"`
	TokenEndpointAuthMethod string          `json:"token_endpoint_auth_method"`
	Scope                   string          `json:"scope"`
	JWKSURI                 string          `json:"jwks_uri"`
	JWKS                    json.RawMessage `json:"jwks"`
	ClientSecret            json.RawMessage `json:"client_secret"`
	ClientSecretExpiresAt   json.RawMessage `json:"client_secret_expires_at"`
}

// ParseDocument validates the document body fetched from clientID and
// returns the client it describes: public (token_endpoint_auth_method
// none), not first-party (consent is always asked), Origin cimd. Every
// error is an *Error whose description names the member to fix.
func ParseDocument(clientID string, body []byte) (store.Client, error) {
	var d document
	if err := json.Unmarshal(body, &d); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return store.Client{}, &Error{Description: "the client metadata document's " + te.Field + " has the wrong JSON type", Err: err}
		}
		return store.Client{}, &Error{Description: "the client metadata document is not a JSON object", Err: err}
	}
	// draft §4.1: the document's client_id MUST equal the URL it was
	// fetched from, compared as strings (no normalisation).
	if d.ClientID != clientID {
		return store.Client{}, fail("the client metadata document's client_id %q does not equal the URL it was fetched from, %q", clip(d.ClientID), clientID)
	}
	// draft §4.1: no shared secret can be established by a document.
	if len(d.ClientSecret) > 0 || len(d.ClientSecretExpiresAt) > 0 {
		return store.Client{}, fail("a client metadata document must not contain client_secret or client_secret_expires_at: such clients cannot have a shared secret")
	}
	switch d.TokenEndpointAuthMethod {
	case "", string(oauth.AuthNone):
	case "private_key_jwt":
		return store.Client{}, fail("token_endpoint_auth_method private_key_jwt is not supported for client ID metadata documents yet; use none (a public client with PKCE)")
	default:
		return store.Client{}, fail("token_endpoint_auth_method %q is not allowed in a client metadata document: use none (client_secret_* methods need a shared secret, which a public document cannot carry)", clip(d.TokenEndpointAuthMethod))
	}
	if len(d.RedirectURIs) == 0 {
		return store.Client{}, fail("the client metadata document has no redirect_uris")
	}
	for _, rt := range d.ResponseTypes {
		if rt != "code" {
			return store.Client{}, fail("response_types %q is not supported: Latch issues only authorization codes (response_types [\"code\"])", clip(rt))
		}
	}
	grants := d.GrantTypes
	if len(grants) == 0 {
		grants = []string{string(oauth.GrantAuthorizationCode)} // RFC 7591 §2 default
	}
	for _, g := range grants {
		if g != string(oauth.GrantAuthorizationCode) && g != string(oauth.GrantRefreshToken) {
			return store.Client{}, fail("grant_types %q is not allowed for a client metadata document: want authorization_code and optionally refresh_token", clip(g))
		}
	}
	var scopes []string
	if d.Scope != "" {
		s, err := oauth.ParseScope(d.Scope)
		if err != nil {
			return store.Client{}, fail("the client metadata document's scope is not a valid scope list (RFC 6749 section 3.3)")
		}
		scopes = s
	}
	c := store.Client{
		ID:                     clientID,
		Public:                 true,
		Name:                   d.ClientName,
		RedirectURIs:           d.RedirectURIs,
		PostLogoutRedirectURIs: d.PostLogoutRedirectURIs,
		GrantTypes:             slices.Compact(slices.Sorted(slices.Values(grants))),
		Scopes:                 scopes,
		Origin:                 store.OriginCIMD,
	}
	// The same rules as an operator's registration (redirect URIs
	// exact, https or loopback http, no wildcards), named as in RFC 7591.
	if err := registration.ValidateClient(&c, registration.Field.JSON); err != nil {
		return store.Client{}, &Error{Description: "the client metadata document is not acceptable: " + err.Error()}
	}
	return c, nil
}

// OnlyLoopbackRedirects reports whether every redirect URI of c is on a
// loopback host: the consent page then warns that the app runs on the
// user's own machine, whoever wrote the document.
func OnlyLoopbackRedirects(c store.Client) bool {
	for _, r := range c.RedirectURIs {
		u, err := url.Parse(r)
		if err != nil || !oauth.IsLoopbackHost(u.Hostname()) {
			return false
		}
	}
	return len(c.RedirectURIs) > 0
}

// clip bounds a value echoed in an error description.
func clip(s string) string {
	if len(s) > 100 {
		return strings.ToValidUTF8(s[:100], "") + "…"
	}
	return s
}

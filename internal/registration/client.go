package registration

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// MaxClientIDLen bounds client IDs; they appear in URLs and logs.
const MaxClientIDLen = 255

// MaxRefreshGrace bounds a client's refresh grace window. The window only
// has to cover two tabs refreshing with one token at once (seconds); a
// longer one would let a stolen retired token get the live head back for
// that long without tripping reuse detection (RFC 9700 §4.14.2).
const MaxRefreshGrace = 30 * time.Second

// MaxAccessTokenTTL bounds every access token lifetime — the server's
// access-token-ttl (config.Validate) and each client's (ValidateClient);
// the grant engine caps records written before the rule with it. A
// retired signing key leaves the JWKS once the longest token it signed has
// expired (app.RetiredKeyTTL), and an access token cannot be recalled from
// a resource server that verifies it locally. A longer value is refused,
// never silently shortened. This is its one definition.
const MaxAccessTokenTTL = time.Hour

// DefaultGrantTypes are a new client's grant types when none are given.
func DefaultGrantTypes() []string {
	return []string{string(oauth.GrantAuthorizationCode), string(oauth.GrantRefreshToken)}
}

// KnownGrantTypes are the grant types a client may be registered for.
func KnownGrantTypes() []string {
	return []string{
		string(oauth.GrantAuthorizationCode),
		string(oauth.GrantRefreshToken),
		string(oauth.GrantClientCredentials),
		string(oauth.GrantDeviceCode), // RFC 8628
	}
}

// Field is a client setting an error is about. Its name depends on who
// reports it: the CLI says "--redirect-uri", the admin API "redirect_uris".
type Field int

const (
	FieldID Field = iota
	FieldName
	FieldGrantTypes
	FieldRedirectURIs
	FieldPostLogoutRedirectURIs
	FieldAllowedOrigins
	FieldScopes
	FieldAudiences
	FieldIDTokenAlg
	FieldRefreshGrace
	FieldRefreshIdle
	FieldRefreshAbsolute
	FieldAccessTokenTTL
	FieldResourceServer
	FieldAuthMethod
	FieldJWKS
	FieldJWKSURI
	FieldRequirePAR
	FieldBackchannelLogoutURI
	FieldAuthenticationPolicy
)

var fieldNames = [...]struct{ flag, json string }{
	FieldID:                     {"--id", "client_id"},
	FieldName:                   {"--name", "client_name"},
	FieldGrantTypes:             {"--grant-type", "grant_types"},
	FieldRedirectURIs:           {"--redirect-uri", "redirect_uris"},
	FieldPostLogoutRedirectURIs: {"--post-logout-redirect-uri", "post_logout_redirect_uris"},
	FieldAllowedOrigins:         {"--allowed-origin", "allowed_origins"},
	FieldScopes:                 {"--scope", "scopes"},
	FieldAudiences:              {"--audience", "audiences"},
	FieldIDTokenAlg:             {"--id-token-alg", "id_token_signed_response_alg"},
	FieldRefreshGrace:           {"--refresh-grace", "refresh_grace"},
	FieldRefreshIdle:            {"--refresh-idle", "refresh_idle"},
	FieldRefreshAbsolute:        {"--refresh-absolute", "refresh_absolute"},
	FieldAccessTokenTTL:         {"--access-token-ttl", "access_token_ttl"},
	FieldResourceServer:         {"--resource-server", "resource_server"},
	FieldAuthMethod:             {"--auth", "token_endpoint_auth_method"},
	FieldJWKS:                   {"--jwks-file", "jwks"},
	FieldJWKSURI:                {"--jwks-uri", "jwks_uri"},
	FieldRequirePAR:             {"--require-par", "require_pushed_authorization_requests"},
	FieldBackchannelLogoutURI:   {"--backchannel-logout-uri", "backchannel_logout_uri"},
	FieldAuthenticationPolicy:   {"--authentication-policy", "authentication_policy"},
}

// Flag is the field's command-line flag, e.g. "--redirect-uri".
func (f Field) Flag() string { return fieldNames[f].flag }

// JSON is the field's name in ClientView and the admin API, e.g.
// "redirect_uris" (RFC 7591 §2 where one exists).
func (f Field) JSON() string { return fieldNames[f].json }

// Error is a client registration problem with one field. Its message is
// safe to show to the administrator who sent the value.
type Error struct {
	Field Field
	msg   string
}

func (e *Error) Error() string { return e.msg }

// ValidateClient checks a client before it is stored and normalises its
// allowed origins (in place). name renders a field in messages: pass
// Field.Flag or Field.JSON. Every error is an *Error.
//
// It is the registration-time policy; the server re-checks every request
// against what is stored (exact redirect URI match, RFC 9700 §4.1.3).
func ValidateClient(c *store.Client, name func(Field) string) error {
	fail := func(f Field, format string, args ...any) error {
		return &Error{Field: f, msg: fmt.Sprintf(format, args...)}
	}
	if c.ID == "" || len(c.ID) > MaxClientIDLen {
		return fail(FieldID, "client ID must be 1 to %d characters", MaxClientIDLen)
	}
	// RFC 6749 Appendix A.1: client_id = *VSCHAR; we also refuse spaces so
	// IDs are safe in tables, logs and Basic credentials.
	for i := 0; i < len(c.ID); i++ {
		if c.ID[i] <= 0x20 || c.ID[i] >= 0x7f {
			return fail(FieldID, "client ID %q: only printable ASCII without spaces is allowed", c.ID)
		}
	}
	if !ValidText(c.Name) {
		return fail(FieldName, "client name must be valid UTF-8 without control characters")
	}
	known := KnownGrantTypes()
	if len(c.GrantTypes) == 0 {
		return fail(FieldGrantTypes, "a client needs at least one grant type (%s)", orList(known))
	}
	for _, g := range c.GrantTypes {
		if !slices.Contains(known, g) {
			return fail(FieldGrantTypes, "unknown grant type %q (want %s)", g, orList(known))
		}
	}
	hasCode := slices.Contains(c.GrantTypes, string(oauth.GrantAuthorizationCode))
	// RFC 6749 §4.4: only confidential clients can use client credentials;
	// a public client has nothing to authenticate with.
	if c.Public && slices.Contains(c.GrantTypes, string(oauth.GrantClientCredentials)) {
		return fail(FieldGrantTypes, "a public client cannot use the client_credentials grant")
	}
	// Refresh tokens come from an authorization code or a device
	// authorization (RFC 8628 §3.5); client credentials get none (RFC 6749
	// §4.4.3).
	if slices.Contains(c.GrantTypes, string(oauth.GrantRefreshToken)) && !hasCode && !slices.Contains(c.GrantTypes, string(oauth.GrantDeviceCode)) {
		return fail(FieldGrantTypes, "the refresh_token grant needs authorization_code or %s", oauth.GrantDeviceCode)
	}
	if hasCode && len(c.RedirectURIs) == 0 {
		return fail(FieldRedirectURIs, "%s is required for the authorization_code grant", name(FieldRedirectURIs))
	}
	// A "*" is refused before anything else: Latch compares redirect URIs
	// and origins exactly (RFC 9700 §4.1.3, RFC 6454 §5), so a wildcard
	// would be stored and never match anything.
	for _, u := range c.RedirectURIs {
		if strings.Contains(u, "*") {
			return fail(FieldRedirectURIs, "invalid %s %q: %s", name(FieldRedirectURIs), u, errWildcard)
		}
		if err := oauth.ValidateRegisteredRedirectURI(u); err != nil {
			return fail(FieldRedirectURIs, "invalid %s %q: %v", name(FieldRedirectURIs), u, err)
		}
	}
	for _, u := range c.PostLogoutRedirectURIs {
		if strings.Contains(u, "*") {
			return fail(FieldPostLogoutRedirectURIs, "invalid %s %q: %s", name(FieldPostLogoutRedirectURIs), u, errWildcard)
		}
		if err := oauth.ValidateRegisteredRedirectURI(u); err != nil {
			return fail(FieldPostLogoutRedirectURIs, "invalid %s %q: %v", name(FieldPostLogoutRedirectURIs), u, err)
		}
	}
	for i, o := range c.AllowedOrigins {
		if strings.Contains(o, "*") {
			return fail(FieldAllowedOrigins, "invalid %s %q: %s", name(FieldAllowedOrigins), o, errWildcard)
		}
		n, err := NormalizeOrigin(o)
		if err != nil {
			return fail(FieldAllowedOrigins, "invalid %s %q: %v", name(FieldAllowedOrigins), o, err)
		}
		c.AllowedOrigins[i] = n
	}
	c.AllowedOrigins = slices.Compact(c.AllowedOrigins)
	for _, s := range c.Scopes {
		if _, err := oauth.ParseScope(s); err != nil {
			return fail(FieldScopes, "scope %q: only printable ASCII without spaces, quotes or backslashes is allowed (RFC 6749 section 3.3)", s)
		}
	}
	for _, a := range c.Audiences {
		// RFC 8707 §2: a resource indicator is an absolute URI without a
		// fragment.
		u, err := url.Parse(a)
		if err != nil || !u.IsAbs() || u.Fragment != "" || strings.Contains(a, "#") {
			return fail(FieldAudiences, "audience %q must be an absolute URI without a fragment (RFC 8707 section 2)", a)
		}
	}
	if c.IDTokenAlg != "" && !slices.Contains(token.Algorithms(), c.IDTokenAlg) {
		return fail(FieldIDTokenAlg, "unknown ID token algorithm %q (want %s)", c.IDTokenAlg, orList(token.Algorithms()))
	}
	for _, d := range []struct {
		f Field
		v time.Duration
	}{
		{FieldRefreshGrace, c.RefreshGrace},
		{FieldRefreshIdle, c.RefreshIdle},
		{FieldRefreshAbsolute, c.RefreshAbsolute},
		{FieldAccessTokenTTL, c.AccessTokenTTL},
	} {
		if d.v < 0 {
			return fail(d.f, "%s must not be negative", name(d.f))
		}
	}
	// RFC 7662 §2.1: introspection takes client authentication, which a
	// public client has not got.
	if err := CheckPolicy(c.AuthenticationPolicy); err != nil {
		return fail(FieldAuthenticationPolicy, "%s: %s", name(FieldAuthenticationPolicy), err.Error())
	}
	if c.Public && c.ResourceServer {
		return fail(FieldResourceServer, "a public client cannot be a resource server (%s): introspection needs client authentication", name(FieldResourceServer))
	}
	if err := validateClientAuth(c, name); err != nil {
		return err
	}
	if c.BackchannelLogoutURI != "" {
		if err := validateBackchannelLogoutURI(c.BackchannelLogoutURI); err != nil {
			return fail(FieldBackchannelLogoutURI, "invalid %s %q: %v", name(FieldBackchannelLogoutURI), c.BackchannelLogoutURI, err)
		}
	} else if c.BackchannelLogoutSessionRequired {
		return fail(FieldBackchannelLogoutURI, "backchannel_logout_session_required needs a %s", name(FieldBackchannelLogoutURI))
	}
	if c.RefreshGrace > MaxRefreshGrace {
		return fail(FieldRefreshGrace, "%s (%v) is longer than the maximum of %v: the window only has to cover concurrent refreshes by one app, and a longer one weakens refresh token reuse detection", name(FieldRefreshGrace), c.RefreshGrace, MaxRefreshGrace)
	}
	if c.AccessTokenTTL > MaxAccessTokenTTL {
		return fail(FieldAccessTokenTTL, "%s (%s) must be at most %s (the longest access token Latch issues)", name(FieldAccessTokenTTL), FormatDuration(c.AccessTokenTTL), FormatDuration(MaxAccessTokenTTL))
	}
	if c.RefreshIdle > 0 && c.RefreshAbsolute > 0 && c.RefreshIdle > c.RefreshAbsolute {
		return fail(FieldRefreshIdle, "%s (%v) is longer than %s (%v)", name(FieldRefreshIdle), c.RefreshIdle, name(FieldRefreshAbsolute), c.RefreshAbsolute)
	}
	return nil
}

// validateClientAuth checks the client authentication method and keys
// (RFC 7591 §2 token_endpoint_auth_method, jwks, jwks_uri) and
// normalises the method: the names implied by the client type
// (none for public, client_secret_basic or client_secret_post for
// confidential clients) are stored as "".
func validateClientAuth(c *store.Client, name func(Field) string) error {
	fail := func(f Field, format string, args ...any) error {
		return &Error{Field: f, msg: fmt.Sprintf(format, args...)}
	}
	pkjwt := string(oauth.AuthPrivateKeyJWT)
	switch c.AuthMethod {
	case "":
	case string(oauth.AuthNone):
		if !c.Public {
			return fail(FieldAuthMethod, "%s none is for public clients; a confidential client uses client_secret_basic, client_secret_post or private_key_jwt", name(FieldAuthMethod))
		}
		c.AuthMethod = ""
	case string(oauth.AuthClientSecretBasic), string(oauth.AuthClientSecretPost):
		if c.Public {
			return fail(FieldAuthMethod, "a public client has no secret: %s must be none", name(FieldAuthMethod))
		}
		c.AuthMethod = "" // both are accepted from every confidential client with a secret
	case pkjwt:
		if c.Public {
			return fail(FieldAuthMethod, "a public client cannot use private_key_jwt: register it as confidential")
		}
	default:
		return fail(FieldAuthMethod, "unknown %s %q (want none, client_secret_basic, client_secret_post or private_key_jwt)", name(FieldAuthMethod), c.AuthMethod)
	}
	if c.AuthMethod != pkjwt {
		if c.JWKS != "" || c.JWKSURI != "" {
			return fail(FieldAuthMethod, "%s and %s are for private_key_jwt clients: set %s private_key_jwt", name(FieldJWKS), name(FieldJWKSURI), name(FieldAuthMethod))
		}
		return nil
	}
	switch {
	case c.JWKS == "" && c.JWKSURI == "":
		return fail(FieldJWKSURI, "private_key_jwt needs the client's public keys: give %s or %s", name(FieldJWKSURI), name(FieldJWKS))
	case c.JWKS != "" && c.JWKSURI != "":
		return fail(FieldJWKSURI, "give %s or %s, not both (RFC 7591 section 2)", name(FieldJWKSURI), name(FieldJWKS))
	case c.JWKS != "":
		if _, err := token.ParseClientJWKS([]byte(c.JWKS)); err != nil {
			return fail(FieldJWKS, "invalid %s: %v", name(FieldJWKS), err)
		}
	default:
		if err := CheckJWKSURI(c.JWKSURI, true); err != nil {
			return fail(FieldJWKSURI, "invalid %s %q: %v", name(FieldJWKSURI), c.JWKSURI, err)
		}
	}
	return nil
}

// CheckJWKSURI is the rule for a jwks_uri: an absolute https URL without
// user info or fragment; http only to a loopback host
// (oauth.IsLoopbackHost), and only when allowLoopbackHTTP. Registration
// accepts loopback URIs (for latch dev); the fetcher
// (internal/clientkeys) fetches them only in latch dev.
func CheckJWKSURI(uri string, allowLoopbackHTTP bool) error {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.Fragment != "" || strings.Contains(uri, "#") {
		return errors.New("want an absolute https URL without user info or fragment")
	}
	switch u.Scheme {
	case "https":
		return nil
	case "http":
		if allowLoopbackHTTP && oauth.IsLoopbackHost(u.Hostname()) {
			return nil
		}
		return errors.New("jwks_uri must be https (http only to a loopback host, in latch dev)")
	}
	return errors.New("jwks_uri must be an https URL")
}

// AuthMethod is the client's token_endpoint_auth_method (RFC 7591 §2).
func AuthMethod(c store.Client) string {
	switch {
	case c.AuthMethod != "":
		return c.AuthMethod
	case c.Public:
		return string(oauth.AuthNone)
	}
	return string(oauth.AuthClientSecretBasic)
}

// validateBackchannelLogoutURI checks a backchannel_logout_uri (OpenID
// Connect Back-Channel Logout 1.0 §2.2): an absolute URI without a
// fragment, https — or http on a loopback host, which only latch dev
// delivers to (the server refuses to post a Logout Token in clear
// elsewhere). Latch posts to it from the server, so the operator who
// registers it decides where tokens go; there is no other SSRF rule.
func validateBackchannelLogoutURI(uri string) error {
	u, err := url.Parse(uri)
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return errors.New("want an absolute https URL")
	}
	if u.Fragment != "" || strings.Contains(uri, "#") {
		return errors.New("must not contain a fragment (Back-Channel Logout section 2.2)")
	}
	if u.User != nil {
		return errors.New("must not contain user info")
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && oauth.IsLoopbackHost(u.Hostname()):
		return nil // delivered by latch dev only
	}
	return errors.New("must be https (http only on a loopback host, for latch dev)")
}

// errWildcard explains why a "*" in a redirect URI or origin is refused.
const errWildcard = "wildcards (*) are not supported: Latch matches redirect URIs and origins exactly, character for character; register each one in full"

// NormalizeOrigin checks a CORS origin (RFC 6454 §6.1: scheme://host[:port],
// nothing else) and returns it as browsers send it in the Origin header:
// lower-case scheme and host, default port dropped. Like redirect URIs,
// plain http is allowed only for loopback hosts.
func NormalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil || u.Scheme == "" || u.Host == "" || u.Opaque != "" {
		return "", errors.New("want scheme://host[:port]")
	}
	if u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(o, "#") {
		return "", errors.New("an origin has no user info, path, query or fragment: want scheme://host[:port]")
	}
	scheme := strings.ToLower(u.Scheme)
	host := strings.ToLower(u.Hostname())
	port := u.Port()
	switch scheme {
	case "https":
		if port == "443" {
			port = ""
		}
	case "http":
		// host is lower case here; oauth.IsLoopbackHost is byte for byte.
		if !oauth.IsLoopbackHost(host) {
			return "", errors.New("http is allowed only for loopback hosts; use https")
		}
		if port == "80" {
			port = ""
		}
	default:
		return "", errors.New("scheme must be https (or http for loopback hosts)")
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// NewClientSecret returns a fresh client secret and the hash to store.
// The secret is 256 bits from crypto/rand (token.NewOpaque), so a fast
// SHA-256 (token.Hash) is the right storage hash: a slow password hash only
// helps against guessable secrets, and it would make every client
// authentication cost tens of milliseconds for nothing.
func NewClientSecret() (secret, hash string) {
	secret = token.NewOpaque()
	return secret, token.Hash(secret)
}

// ValidText reports whether s is valid UTF-8 without control characters.
func ValidText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// ClientView is a client as printed by the CLI and returned by the admin
// API: metadata names follow RFC 7591 §2 where one exists. It has no field
// for the secret hash, so the hash can never be shown; client_secret is
// set only right after the secret was made.
type ClientView struct {
	ClientID               string    `json:"client_id"`
	ClientSecret           string    `json:"client_secret,omitempty"`
	ClientType             string    `json:"client_type"` // public or confidential, RFC 6749 §2.1
	ClientName             string    `json:"client_name,omitempty"`
	RedirectURIs           []string  `json:"redirect_uris,omitempty"`
	PostLogoutRedirectURIs []string  `json:"post_logout_redirect_uris,omitempty"`
	AllowedOrigins         []string  `json:"allowed_origins,omitempty"`
	GrantTypes             []string  `json:"grant_types"`
	Scopes                 []string  `json:"scopes,omitempty"`
	Audiences              []string  `json:"audiences,omitempty"`
	FirstParty             bool      `json:"first_party"`
	RequireDPoP            bool      `json:"dpop_bound_access_tokens"` // RFC 9449 §5.2
	IDTokenAlg             string    `json:"id_token_signed_response_alg,omitempty"`
	RefreshGrace           string    `json:"refresh_grace,omitempty"`
	RefreshIdle            string    `json:"refresh_idle,omitempty"`
	RefreshAbsolute        string    `json:"refresh_absolute,omitempty"`
	AccessTokenTTL         string    `json:"access_token_ttl,omitempty"`
	RevokeRefreshOnLogout  bool      `json:"revoke_refresh_on_logout"`
	ResourceServer         bool      `json:"resource_server"`         // may introspect other clients' tokens
	RequireFreshChallenge  bool      `json:"require_fresh_challenge"` // refuse a reused code_challenge or nonce
	CreatedAt              time.Time `json:"created_at"`
	// AuthMethod is token_endpoint_auth_method (RFC 7591 §2) when the
	// client type does not imply it: private_key_jwt.
	AuthMethod string          `json:"token_endpoint_auth_method,omitempty"`
	JWKS       json.RawMessage `json:"jwks,omitempty"`
	JWKSURI    string          `json:"jwks_uri,omitempty"`
	RequirePAR bool            `json:"require_pushed_authorization_requests"` // RFC 9126 §6

	// Back-Channel Logout 1.0 §2.2.
	BackchannelLogoutURI             string `json:"backchannel_logout_uri,omitempty"`
	BackchannelLogoutSessionRequired bool   `json:"backchannel_logout_session_required"`
	// AuthenticationPolicy is how the client's users must sign in; "":
	// the server's (docs/authentication.md).
	AuthenticationPolicy string `json:"authentication_policy,omitempty"`
	Origin               string `json:"origin"` // operator, dcr or cimd (OriginName)
}

// NewClientView renders c; secret, when not empty, is the client secret
// just generated.
func NewClientView(c store.Client, secret string) ClientView {
	v := ClientView{
		ClientID:                         c.ID,
		ClientSecret:                     secret,
		ClientType:                       ClientType(c),
		ClientName:                       c.Name,
		RedirectURIs:                     c.RedirectURIs,
		PostLogoutRedirectURIs:           c.PostLogoutRedirectURIs,
		AllowedOrigins:                   c.AllowedOrigins,
		GrantTypes:                       c.GrantTypes,
		Scopes:                           c.Scopes,
		Audiences:                        c.Audiences,
		FirstParty:                       c.FirstParty,
		RequireDPoP:                      c.RequireDPoP,
		IDTokenAlg:                       c.IDTokenAlg,
		RefreshGrace:                     FormatDuration(c.RefreshGrace),
		RefreshIdle:                      FormatDuration(c.RefreshIdle),
		RefreshAbsolute:                  FormatDuration(c.RefreshAbsolute),
		AccessTokenTTL:                   FormatDuration(c.AccessTokenTTL),
		RevokeRefreshOnLogout:            c.RevokeRefreshOnLogout,
		ResourceServer:                   c.ResourceServer,
		CreatedAt:                        c.CreatedAt.UTC(),
		AuthMethod:                       c.AuthMethod,
		JWKSURI:                          c.JWKSURI,
		RequirePAR:                       c.RequirePAR,
		BackchannelLogoutURI:             c.BackchannelLogoutURI,
		BackchannelLogoutSessionRequired: c.BackchannelLogoutSessionRequired,
		RequireFreshChallenge:            c.RequireFreshChallenge,
		AuthenticationPolicy:             c.AuthenticationPolicy,
		Origin:                           OriginName(c.Origin),
	}
	if c.JWKS != "" && json.Valid([]byte(c.JWKS)) {
		v.JWKS = json.RawMessage(c.JWKS)
	}
	return v
}

// OriginName names who registered a client (store.Client.Origin):
// "operator" (CLI, admin API), "dcr" (RFC 7591) or "cimd" (a client ID
// metadata document).
func OriginName(origin string) string {
	if origin == store.OriginOperator {
		return "operator"
	}
	return origin
}

// ClientType is "public" or "confidential" (RFC 6749 §2.1).
func ClientType(c store.Client) string {
	if c.Public {
		return "public"
	}
	return "confidential"
}

// FormatDuration formats d like "10m" or "24h" ("" for zero); it
// round-trips through time.ParseDuration.
func FormatDuration(d time.Duration) string {
	if d == 0 {
		return ""
	}
	s := d.String()
	if t, ok := strings.CutSuffix(s, "m0s"); ok {
		s = t + "m"
	}
	if t, ok := strings.CutSuffix(s, "h0m"); ok {
		s = t + "h"
	}
	return s
}

// orList formats items as "a, b or c".
func orList(items []string) string {
	switch len(items) {
	case 0:
		return ""
	case 1:
		return items[0]
	}
	return strings.Join(items[:len(items)-1], ", ") + " or " + items[len(items)-1]
}

// HasGrant reports whether the client is registered for grant type g
// (RFC 7591 §2 grant_types): the one check the authorization endpoint and
// every grant make.
func HasGrant(c store.Client, g oauth.GrantType) bool {
	return slices.Contains(c.GrantTypes, string(g))
}

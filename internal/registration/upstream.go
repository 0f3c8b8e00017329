package registration

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// Upstream rules: the ID, the issuer URL, the claims and the linking
// policy of an upstream OpenID Provider, shared by the CLI and the admin
// API (through internal/manage) and the server.

// upstreamID is an upstream's ID: it appears in URLs and commands.
var upstreamID = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,31}$`)

// LinkPolicies lists the linking policies, weakest check first.
func LinkPolicies() []string {
	return []string{store.LinkJIT, store.LinkVerifiedEmail, store.LinkExplicit}
}

// Upstream claim defaults (OIDC Core §5.1 standard claims).
const (
	DefaultUsernameClaim = "preferred_username"
	DefaultEmailClaim    = "email"
	DefaultNameClaim     = "name"
)

// DefaultUpstreamScopes are asked for when none are given.
func DefaultUpstreamScopes() []string { return []string{"openid", "email", "profile"} }

// UpstreamSecretAD binds an upstream's sealed client secret to its ID, so
// a secret copied to another row does not open.
func UpstreamSecretAD(id string) []byte { return []byte("upstream:" + id) }

// ValidateUpstream checks u and fills its defaults (scopes with openid,
// claims). The issuer must be an https URL without query or fragment
// (OIDC Discovery §2); http only to a loopback host (latch dev, tests).
func ValidateUpstream(u *store.Upstream) error {
	if !upstreamID.MatchString(u.ID) {
		return fmt.Errorf("upstream ID %q: want 1 to 32 lower-case letters, digits and dashes, starting with a letter or digit (it appears in URLs)", u.ID)
	}
	if err := CheckIssuerURL(u.Issuer); err != nil {
		return fmt.Errorf("issuer: %w", err)
	}
	if u.ClientID == "" || !ValidText(u.ClientID) {
		return errors.New("client ID: required (Latch's client ID at the upstream)")
	}
	if u.DisplayName == "" {
		u.DisplayName = u.ID
	}
	if !ValidText(u.DisplayName) || len(u.DisplayName) > 64 {
		return errors.New("display name: at most 64 bytes of valid UTF-8 without control characters")
	}
	if len(u.Scopes) == 0 {
		u.Scopes = DefaultUpstreamScopes()
	}
	for _, s := range u.Scopes {
		if p, err := oauth.ParseScope(s); err != nil || len(p) != 1 {
			return fmt.Errorf("scope %q is not a valid scope token (RFC 6749 §3.3)", s)
		}
	}
	if !slices.Contains(u.Scopes, "openid") {
		u.Scopes = append([]string{"openid"}, u.Scopes...)
	}
	for _, c := range []*struct {
		v   *string
		def string
	}{{&u.UsernameClaim, DefaultUsernameClaim}, {&u.EmailClaim, DefaultEmailClaim}, {&u.NameClaim, DefaultNameClaim}} {
		if *c.v == "" {
			*c.v = c.def
		}
		if !ValidText(*c.v) || strings.ContainsAny(*c.v, " \t") || len(*c.v) > 64 {
			return fmt.Errorf("claim name %q: want a JSON member name without blanks", *c.v)
		}
	}
	if !slices.Contains(LinkPolicies(), u.LinkPolicy) {
		return fmt.Errorf("link policy %q: want %s", u.LinkPolicy, orList(LinkPolicies()))
	}
	return nil
}

// CheckIssuerURL is the rule for an upstream's issuer: an absolute https
// URL without user info, query or fragment (OIDC Discovery §2); http only
// to a loopback host (oauth.IsLoopbackHost: latch dev, tests).
func CheckIssuerURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(raw, "?#") {
		return errors.New("want an absolute https URL without user info, query or fragment, e.g. https://accounts.example.com")
	}
	switch {
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && oauth.IsLoopbackHost(u.Hostname()):
		return nil
	}
	return errors.New("must be https (http only to a loopback host)")
}

// UpstreamView is an upstream as printed by the CLI and returned by the
// admin API: never its client secret, only whether it has one.
type UpstreamView struct {
	ID              string    `json:"id"`
	Issuer          string    `json:"issuer"`
	ClientID        string    `json:"client_id"`
	ClientSecretSet bool      `json:"client_secret_set"`
	Scopes          []string  `json:"scopes"`
	DisplayName     string    `json:"display_name"`
	UsernameClaim   string    `json:"username_claim"`
	EmailClaim      string    `json:"email_claim"`
	NameClaim       string    `json:"name_claim"`
	LinkPolicy      string    `json:"link_policy"`
	CreatedAt       time.Time `json:"created_at"`
	UpdatedAt       time.Time `json:"updated_at"`
}

// NewUpstreamView renders u.
func NewUpstreamView(u store.Upstream) UpstreamView {
	return UpstreamView{
		ID: u.ID, Issuer: u.Issuer, ClientID: u.ClientID, ClientSecretSet: len(u.ClientSecret) > 0,
		Scopes: u.Scopes, DisplayName: u.DisplayName,
		UsernameClaim: u.UsernameClaim, EmailClaim: u.EmailClaim, NameClaim: u.NameClaim,
		LinkPolicy: u.LinkPolicy, CreatedAt: u.CreatedAt.UTC(), UpdatedAt: u.UpdatedAt.UTC(),
	}
}

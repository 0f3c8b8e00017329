package oauth

// Standard scopes (OIDC Core §5.4, §11).
const (
	ScopeOpenID        = "openid"
	ScopeProfile       = "profile"
	ScopeEmail         = "email"
	ScopeOfflineAccess = "offline_access"
)

// ParseScope splits a scope parameter (RFC 6749 §3.3): tokens separated by
// single spaces, each of characters %x21 / %x23-5B / %x5D-7E. Duplicates
// are dropped, order kept. An empty string gives nil, nil.
func ParseScope(s string) ([]string, error) {
	panic("unimplemented")
}

// JoinScope joins scopes with single spaces.
func JoinScope(scopes []string) string {
	panic("unimplemented")
}

// ScopeSubset reports whether every scope in sub is in set.
func ScopeSubset(sub, set []string) bool {
	panic("unimplemented")
}

// HasScope reports whether s is in scopes.
func HasScope(scopes []string, s string) bool {
	panic("unimplemented")
}

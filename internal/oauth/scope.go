package oauth

import (
	"slices"
	"strings"
)

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
//
// Leading, trailing or doubled spaces are an error, as is any character
// outside the set above; the error is an *Error with code invalid_scope.
// ParseScope does not judge whether a scope is known or allowed.
func ParseScope(s string) ([]string, error) {
	if s == "" {
		return nil, nil
	}
	// RFC 6749 §3.3: scope = scope-token *( SP scope-token ).
	var scopes []string
	for tok := range strings.SplitSeq(s, " ") {
		if tok == "" {
			return nil, Errorf(InvalidScope, "scope tokens must be separated by single spaces")
		}
		for i := 0; i < len(tok); i++ {
			if !isScopeChar(tok[i]) {
				return nil, Errorf(InvalidScope, "scope contains a character not allowed by RFC 6749 section 3.3")
			}
		}
		if !slices.Contains(scopes, tok) {
			scopes = append(scopes, tok)
		}
	}
	return scopes, nil
}

// isScopeChar reports whether c is a scope-token character, RFC 6749 §3.3:
// %x21 / %x23-5B / %x5D-7E (printable ASCII except space, '"' and '\').
func isScopeChar(c byte) bool {
	return c == 0x21 || (c >= 0x23 && c <= 0x5b) || (c >= 0x5d && c <= 0x7e)
}

// JoinScope joins scopes with single spaces.
func JoinScope(scopes []string) string {
	return strings.Join(scopes, " ")
}

// ScopeSubset reports whether every scope in sub is in set. An empty sub is
// a subset of any set.
func ScopeSubset(sub, set []string) bool {
	for _, s := range sub {
		if !slices.Contains(set, s) {
			return false
		}
	}
	return true
}

// HasScope reports whether s is in scopes.
func HasScope(scopes []string, s string) bool {
	return slices.Contains(scopes, s)
}

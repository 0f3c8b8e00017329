package server

import (
	"net/url"
	"slices"
	"sort"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// defaultScopes are what a client may request when its registration lists
// no scopes.
func defaultScopes() []string {
	return []string{oauth.ScopeOpenID, oauth.ScopeProfile, oauth.ScopeEmail, oauth.ScopeOfflineAccess}
}

func allowedScopes(c store.Client) []string {
	if len(c.Scopes) == 0 {
		return defaultScopes()
	}
	return c.Scopes
}

func contains(list []string, v string) bool { return slices.Contains(list, v) }

func sortedKeys(v url.Values) []string {
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// originOf returns scheme://host[:port] of an absolute URL, or "".
func originOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

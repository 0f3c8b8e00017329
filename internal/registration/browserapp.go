package registration

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// IsBrowserApp reports whether c looks like a browser-based application
// (RFC 10017): a public client of the authorization code grant with an
// https redirect URI. A native app using claimed https URLs (RFC 8252
// §7.2) looks the same, so what follows from it is a warning, never an
// error. It is the one definition: the client commands, the admin API
// (ClientWarnings) and latch doctor (rules spa-no-allowed-origin,
// spa-refresh-outlives-logout) all ask it.
func IsBrowserApp(c store.Client) bool {
	return c.Public && slices.Contains(c.GrantTypes, string(oauth.GrantAuthorizationCode)) && len(httpsRedirectOrigins(c)) > 0
}

// MissingOrigins returns the origins a browser app without an allowed
// origin runs on, as browsers send them (NormalizeOrigin), other than
// issuerOrigin: its token requests are cross-origin fetches the browser
// refuses without CORS headers (the Fetch standard's CORS check), and
// Latch sends them only for registered origins; an app served from the
// issuer's own origin needs none (RFC 10017 §6.3.3.4). It returns nil when
// c is not a browser app (IsBrowserApp) or has an allowed origin.
// issuerOrigin may be "" (not known).
func MissingOrigins(c store.Client, issuerOrigin string) []string {
	if !IsBrowserApp(c) || len(c.AllowedOrigins) > 0 {
		return nil
	}
	var origins []string
	for _, o := range httpsRedirectOrigins(c) {
		if o != issuerOrigin {
			origins = append(origins, o)
		}
	}
	return origins
}

// RedirectOrigins returns the origins a self-registered client (dynamic
// registration, RFC 7591, or a client ID metadata document) gets as its
// AllowedOrigins: the distinct origins of its redirect URIs that a
// browser app can run on — https, and http on a loopback host
// (oauth.IsLoopbackHost, through NormalizeOrigin) — other than
// issuerOrigin, which needs no CORS. Only a public client of the
// authorization code grant gets any: a client with a secret or a key is
// a backend, whose token requests no browser makes.
//
// Invariant: the result is derived from c.RedirectURIs alone, never from
// c.AllowedOrigins or any other metadata, so a client that registered
// itself cannot choose the origins that may read its token responses;
// they are the pages its codes are sent to anyway. A private-use scheme
// (RFC 8252 §7.1) or a non-loopback http redirect URI adds none.
// issuerOrigin may be "".
func RedirectOrigins(c store.Client, issuerOrigin string) []string {
	if !c.Public || c.SecretHash != "" || c.JWKS != "" || c.JWKSURI != "" ||
		!slices.Contains(c.GrantTypes, string(oauth.GrantAuthorizationCode)) {
		return nil
	}
	var origins []string
	for _, r := range c.RedirectURIs {
		o := URLOrigin(r) // "" unless https or loopback http
		if o != "" && o != issuerOrigin && !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return origins
}

// httpsRedirectOrigins returns the distinct origins of c's https redirect
// URIs.
func httpsRedirectOrigins(c store.Client) []string {
	var origins []string
	for _, r := range c.RedirectURIs {
		if o := URLOrigin(r); strings.HasPrefix(o, "https://") && !slices.Contains(origins, o) {
			origins = append(origins, o)
		}
	}
	return origins
}

// URLOrigin returns the origin (RFC 6454) of an absolute http(s) URL as
// browsers send it (NormalizeOrigin), or "" when it has none.
func URLOrigin(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return ""
	}
	o, err := NormalizeOrigin(u.Scheme + "://" + u.Host)
	if err != nil {
		return ""
	}
	return o
}

// ClientWarnings returns what is probably wrong with a valid client, one
// sentence each, for the administrator who just registered or changed
// it: the client commands print them, the admin API returns them as
// "warnings". Today: a browser app without an allowed origin
// (MissingOrigins); the SPA would see only "TypeError: Failed to fetch"
// while Latch logs a successful OPTIONS /token. latch doctor reports the
// same rule as spa-no-allowed-origin.
func ClientWarnings(c store.Client, issuerOrigin string) []string {
	origins := MissingOrigins(c, issuerOrigin)
	if len(origins) == 0 {
		return nil
	}
	var add strings.Builder
	for _, o := range origins {
		add.WriteString(" --allowed-origin " + o)
	}
	return []string{fmt.Sprintf("public client %q has https redirect URIs but no allowed origin: "+
		"if it is a browser app (SPA), its token requests from %s are refused by the browser (CORS) "+
		"and it sees only \"Failed to fetch\". Add the origin: latch client update %s%s "+
		"(a native app with https redirect URIs can ignore this)",
		c.ID, orList(origins), c.ID, add.String())}
}

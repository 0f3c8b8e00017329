package oauth

import "net/netip"

// IsLoopbackHost reports whether host names this machine's loopback
// interface without asking DNS: the name "localhost" (RFC 6761 §6.3), an
// IPv4 literal in 127.0.0.0/8, or the IPv6 literal ::1 (RFC 8252 §7.3,
// §8.3). host is a bare host, as url.URL.Hostname and net.SplitHostPort
// return it: no brackets, no port.
//
// This is Latch's one definition of "loopback"; it decides where plain http
// is allowed (redirect URIs, CORS origins, the issuer, the example SPA) and
// whether the admin listener needs a token. It is deliberately strict;
// false for:
//   - other spellings: "LOCALHOST", "localhost." and subdomains such as
//     "app.localhost". Many resolvers send those to loopback (RFC 6761
//     lets them), but not all do — glibc without nss-myhostname asks DNS.
//     The comparison is byte for byte: callers that treat host as a DNS
//     name (the issuer, origins, listen addresses) lower-case it first;
//     redirect URIs are not normalised (RFC 9700 §4.1.3), so they don't.
//   - IPv4-mapped IPv6 ("::ffff:127.0.0.1") and addresses with a zone
//     ("::1%lo"): not what RFC 8252 names, and a second spelling of an
//     address is a second thing to get wrong.
//   - non-canonical IPv4 ("127.1", "0177.0.0.1", "2130706433") and the
//     unspecified addresses ("0.0.0.0", "::"), which listen on or reach
//     every interface.
//
// It does not decide the RFC 8252 §7.3 port exception of MatchRedirectURI,
// which applies to the exact literals 127.0.0.1 and [::1] only, never to
// "localhost" (§8.3). verify keeps its own copy (it must not import
// internal/); both are tested against verify/testdata/loopback.json.
func IsLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	if err != nil || a.Zone() != "" {
		return false
	}
	return (a.Is4() && a.IsLoopback()) || a == netip.IPv6Loopback()
}

package server

import (
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// trustedProxies are the networks (config trusted-proxies) whose
// X-Forwarded-For and X-Forwarded-Proto headers are believed. Parsed once,
// in New.
type trustedProxies []netip.Prefix

// parseTrustedProxies parses CIDRs such as 10.0.0.0/8; a bare address
// (no prefix length) is refused, as config.Validate does.
func parseTrustedProxies(cidrs []string) (trustedProxies, error) {
	out := make(trustedProxies, 0, len(cidrs))
	for _, c := range cidrs {
		p, err := netip.ParsePrefix(strings.TrimSpace(c))
		if err != nil {
			return nil, fmt.Errorf("trusted-proxies: %w", err)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// contains reports whether a is inside one of the trusted networks.
func (tp trustedProxies) contains(a netip.Addr) bool {
	if !a.IsValid() {
		return false
	}
	for _, p := range tp {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// fromTrustedPeer reports whether the TCP peer of r is a trusted proxy.
func (tp trustedProxies) fromTrustedPeer(r *http.Request) bool {
	return tp.contains(parseHop(r.RemoteAddr))
}

// clientIP returns the address of the client that sent r: the TCP peer
// (r.RemoteAddr), unless the peer is a trusted proxy, in which case the
// X-Forwarded-For chain (all such headers, in order) is walked from the
// right — the entry the nearest proxy appended — past every trusted
// proxy; the first untrusted address is the client. Entries left of it
// were written by the client itself and are never believed, so a spoofed
// X-Forwarded-For from an untrusted peer changes nothing. A garbled hop
// stops the walk at the last trusted proxy. IPv4-mapped IPv6 addresses
// are unmapped and zones dropped.
//
// It returns the zero Addr only when RemoteAddr is not an IP address
// (e.g. a test transport or a unix socket).
func (tp trustedProxies) clientIP(r *http.Request) netip.Addr {
	ip := parseHop(r.RemoteAddr)
	if !tp.contains(ip) {
		return ip
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	for i := len(hops) - 1; i >= 0 && tp.contains(ip); i-- {
		next := parseHop(strings.TrimSpace(hops[i]))
		if !next.IsValid() {
			break
		}
		ip = next
	}
	return ip
}

// scheme is the scheme the client used: https on a TLS connection; from a
// trusted proxy, its X-Forwarded-Proto when that is http or https; else
// http. It is for logs only: every URL Latch emits derives from the
// issuer, never from request headers.
func (tp trustedProxies) scheme(r *http.Request) string {
	if r.TLS != nil {
		return "https"
	}
	if tp.fromTrustedPeer(r) {
		switch p := strings.ToLower(strings.TrimSpace(r.Header.Get("X-Forwarded-Proto"))); p {
		case "http", "https":
			return p
		}
	}
	return "http"
}

// clientIP is the client address of r under this server's trusted-proxies
// configuration (logs, throttling).
func (s *Server) clientIP(r *http.Request) netip.Addr {
	return s.proxies.clientIP(r)
}

// parseHop accepts "ip", "ip:port" and "[ipv6]:port".
func parseHop(v string) netip.Addr {
	if host, _, err := net.SplitHostPort(v); err == nil {
		v = host
	}
	a, err := netip.ParseAddr(v)
	if err != nil {
		return netip.Addr{}
	}
	return a.WithZone("").Unmap()
}

package cimd

import "net/netip"

// nonPublic are the ranges that are never fetched from besides what
// netip.Addr's predicates cover (loopback, RFC 1918 and ULA private,
// link-local, multicast, unspecified): IANA special-purpose registries
// (RFC 6890 and its updates).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network" (RFC 791)
	netip.MustParsePrefix("100.64.0.0/10"),   // shared address space, CGNAT (RFC 6598)
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments (RFC 6890)
	netip.MustParsePrefix("192.0.2.0/24"),    // TEST-NET-1 (RFC 5737)
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relay anycast (RFC 7526)
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking (RFC 2544)
	netip.MustParsePrefix("198.51.100.0/24"), // TEST-NET-2 (RFC 5737)
	netip.MustParsePrefix("203.0.113.0/24"),  // TEST-NET-3 (RFC 5737)
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, and 255.255.255.255 (RFC 1112)
	netip.MustParsePrefix("100::/64"),        // discard-only (RFC 6666)
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments incl. Teredo (RFC 2928, 4380)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation (RFC 3849)
	netip.MustParsePrefix("2002::/16"),       // 6to4 (RFC 3056): embeds any IPv4 address
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64 (RFC 8215)
	netip.MustParsePrefix("fec0::/10"),       // deprecated site-local (RFC 3879)
}

// nat64 is the well-known NAT64 prefix (RFC 6052 §2.1): the address
// reaches the IPv4 address in its last 32 bits, so that one is checked.
var nat64 = netip.MustParsePrefix("64:ff9b::/96")

// IsPublic reports whether a is a public unicast address a metadata fetch
// may connect to. It is the one definition, applied to every address DNS
// returns and again to the address each connection dials. IPv4-mapped
// IPv6 addresses (::ffff:a.b.c.d) are refused outright, as are zoned
// addresses: neither is what a public DNS name resolves to.
func IsPublic(a netip.Addr) bool {
	if !a.IsValid() || a.Zone() != "" || a.Is4In6() {
		return false
	}
	if nat64.Contains(a) {
		b := a.As16()
		return IsPublic(netip.AddrFrom4([4]byte(b[12:16])))
	}
	if !a.IsGlobalUnicast() || a.IsPrivate() || a.IsLoopback() || a.IsLinkLocalUnicast() ||
		a.IsMulticast() || a.IsUnspecified() {
		return false
	}
	for _, p := range nonPublic {
		if p.Contains(a) {
			return false
		}
	}
	return true
}

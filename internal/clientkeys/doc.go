// Package clientkeys finds a client's public keys for private_key_jwt
// client authentication (RFC 7523 §2.2, OIDC Core §9): the inline JWK Set
// of its registration (jwks), or the one published at its jwks_uri,
// fetched and cached.
//
// Fetching goes through the Fetcher interface, so a hardened fetcher (for
// example the SSRF-guarded one of Client ID Metadata Documents) can be
// plugged in; HTTPFetcher is the default: https only (http to a loopback
// host only when allowed, for latch dev), no redirects, a short timeout and
// a size limit. Source caches fetched sets per URI for a bounded time and
// a bounded number of URIs, and refetches early (at most once per
// MinRefresh) when an assertion names a key the cached set lacks, so a
// client can rotate its keys without waiting for the cache.
//
// What it does not do: verify assertions (internal/token) or decide which
// client may use which method (internal/grant, internal/registration).
package clientkeys

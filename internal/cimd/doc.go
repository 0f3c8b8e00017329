// Package cimd resolves OAuth Client ID Metadata Documents
// (draft-ietf-oauth-client-id-metadata-document-03): a client_id that is an
// https URL names a JSON document of client metadata, fetched from that
// URL and validated into a public store.Client.
//
// Fetching a URL an unauthenticated party chose is a server-side request
// forgery risk (draft §6.6, RFC 9700 §4.16 for the analogous request_uri),
// so the Fetcher is hardened: https only; only public unicast addresses,
// checked after DNS resolution and again, on every connection, against the
// address actually dialled (net.Dialer.Control); no proxies from the
// environment; no redirects; a size limit; one deadline for the whole
// exchange including the body; a cache bounded by MinTTL/MaxTTL, a
// negative cache and one fetch per URL at a time. What may be fetched at
// all is the operator's Policy (off, allow-all or an allow-list of hosts).
//
// It does not store clients, show consent or decide whether the server
// supports the feature: the server does that with what Resolve returns.
package cimd

// Package store defines Latch's persistent records and the Store contract
// that every backend (sqlite, postgres) fulfils. It knows nothing of SQL,
// HTTP or the OAuth wire format; it imports only the standard library.
//
// Security-relevant steps are explicit atomic operations (ConsumeAuthCode,
// RotateRefreshToken, RevokeGrant, UseOnce) rather than read-modify-write
// sequences in the caller, so that single-use guarantees hold across every
// Latch instance sharing one database. The conformance suite in storetest
// checks each guarantee, including under concurrency.
//
// Secrets are never stored: codes, refresh tokens, session ids and client
// secrets are stored as hashes computed by the caller.
package store

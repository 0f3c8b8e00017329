// Package grant is Latch's grant engine: client authentication (secrets,
// public clients, private_key_jwt assertions per RFC 7523 with keys from a
// ClientKeySource such as internal/clientkeys) and the token endpoint's
// grants (RFC 6749 §4.1.3 authorization_code, §6
// refresh_token, §4.4 client_credentials, RFC 8628 device_code, whose
// authorizations StartDevice begins), without HTTP.
//
// An Engine declares what it needs in Config — the store, a signer, the
// refresh-token chain, the clock, the audit sink, the lifetimes, the
// issuer and the client-authentication throttle — and reaches nothing
// else (dex's server/grants shape). The HTTP front (internal/server)
// parses a request, calls Authenticate, checks DPoP, calls Token and
// writes the Response; it holds no grant logic.
//
// Invariant: every grant takes an AuthenticatedClient, which only
// Authenticate produces (its field is unexported and its zero value is
// refused), so no grant can be reached with a client that did not pass
// client authentication (RFC 6749 §2.3, §3.2.1).
//
// What it does not do: parse requests (internal/oauth), validate DPoP
// proofs (the caller passes a checked *token.DPoPProof or nil), write
// responses or errors (internal/server/errors.go), or decide lockouts
// (the caller's ClientThrottle).
package grant

// Package verify lets a resource server (your API) verify the access
// tokens Latch issues: JWTs per RFC 9068, optionally DPoP-bound per
// RFC 9449. It imports only the standard library and go-jose, never
// anything of the Latch server.
//
//	v, err := verify.New(ctx, verify.Config{
//		Issuer:   "https://login.example.com",
//		Audience: "https://api.example.com",
//	})
//	...
//	mux.Handle("GET /orders", v.Middleware("orders:read")(ordersHandler))
//	// in the handler:
//	claims, _ := verify.FromContext(r.Context())
//
// # What it checks
//
// Verify checks the JWS syntax with an alg from Config.Algorithms (RS256,
// ES256, EdDSA by default; "none" and HMAC algorithms are never accepted,
// which defeats alg=none and HS256-with-the-public-key forgeries); the typ
// header "at+jwt" (so an ID token is never taken for an access token); the
// signature under the key named by kid in the issuer's JWKS (never a key
// embedded in the token); iss equal to Config.Issuer; Config.Audience
// among aud; exp present and not passed; nbf and iat not in the future;
// sub and client_id present. Times allow Config.Leeway of clock skew.
//
// For a DPoP-bound token (cnf.jkt), VerifyDPoP and VerifyRequest also
// check the DPoP proof: typ, asymmetric alg, embedded public jwk and its
// signature, htm, htu, a fresh iat, ath, the key thumbprint against
// cnf.jkt, and that its jti was not seen before. Verify alone refuses a
// DPoP-bound token, since it cannot check possession of the key.
//
// Middleware adds the scope check and answers failures as RFC 6750 §3 and
// RFC 9449 §7.1 describe: 401 with a WWW-Authenticate challenge (no error
// code when no token was sent), 403 insufficient_scope, 400 for a
// malformed request.
//
// # Protected resource metadata (RFC 9728)
//
// With Config.ResourceMetadata, ResourceMetadataHandler serves the
// resource's metadata at ResourceMetadataPath (the well-known path
// inserted before the resource's path, RFC 9728 §3.1), every challenge
// carries resource_metadata="<its URL>" (§5.1), Middleware's 401s carry
// the route's scopes as a scope hint, and the metadata's resource is the
// one audience accepted (RFC 8707 §2). A client that knows only the
// resource's URL — an MCP client, for one — finds the authorization
// server from there.
//
// # What it does not check
//
//   - Revocation. A token revoked at the issuer (logout, refresh-token
//     reuse, admin action) stays valid here until its exp; Latch's access
//     tokens are short-lived for that reason. Where revocation must take
//     effect at once, call the issuer's introspection endpoint (RFC 7662).
//   - Replay of access tokens. A bearer token can be used any number of
//     times until exp (jti is not tracked); DPoP binding is the defence
//     against a stolen token.
//   - Key removal for cached tokens. Verified tokens are cached until their
//     exp (Config.CacheSize); removing a key from the JWKS does not evict
//     tokens already verified with it. Disable the cache if that matters.
//   - Scopes, unless you use Middleware or Claims.HasScope; and any
//     authorization decision beyond scopes (which user may see which
//     object is your API's business).
//   - DPoP nonces (RFC 9449 §8–9) are not issued or required, and the
//     DPoP replay set lives in this process only: replicas do not share
//     it. It remembers each proof until the proof is too old to be
//     accepted, and holds Config.DPoPReplayCapacity proofs: when full it
//     refuses new proofs (ErrDPoPReplayCacheFull) rather than forget one
//     early.
//   - The htu of DPoP proofs is matched against Config.ExternalURL, or,
//     when unset, a URL rebuilt from the request's Host header, which the
//     client chooses: set ExternalURL in production.
//
// # Keys
//
// The JWKS URL is Config.JWKSURL or the jwks_uri of the issuer's
// discovery document. Keys are fetched at New (best effort), and again
// when a token names an unknown kid — at most once per
// Config.MinRefreshInterval, with concurrent callers sharing one fetch, so
// tokens with random kids cannot turn the verifier into a load generator
// against the issuer. A rotated key may therefore be rejected for up to
// MinRefreshInterval after a fetch; an issuer that publishes keys before
// signing with them avoids that. A key set older than an hour is also
// refetched, in the background, so a withdrawn key stops being trusted.
// Each fetch replaces the whole set; a failed fetch keeps the old one.
//
// # Dangerous switches
//
// Config.SkipAudienceCheck and Config.InsecureAllowHTTP weaken the
// defaults; their names say so.
package verify

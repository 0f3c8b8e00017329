// Package security is Latch's attack suite: every threat of the OAuth 2.0
// Security Best Current Practice (RFC 9700 §4) that applies to an
// authorization server, plus the classic web attacks on its login pages,
// written as the attack itself against a complete Latch
// (internal/latchtest: real SQLite store, real keys, real HTTP) and
// asserting that it fails — and, where it matters, that nothing was
// issued, revoked or redirected as a side effect.
//
// The package has no code of its own: only tests, one file per threat
// family, named for the threat (redirect_test.go is RFC 9700 §4.1,
// code_test.go §4.3 and §4.5, pkce_test.go §4.8, …). The "Threat model"
// table of docs/security.md maps each threat to Latch's defence and to the
// test here that proves it; keep the two in step.
//
// Attackers use real tools: golang.org/x/oauth2 and go-oidc as clients,
// go-jose to forge tokens (other keys, alg "none", HMAC keyed with the
// server's public key), and the verify package as a resource server.
//
// Every defence a test here covers was removed once, by hand, to see the
// test fail ("try it", issue 6); a test that cannot fail proves nothing.
// A positive control sits beside most attacks (the same request with the
// genuine value succeeds), so a test cannot pass merely because the setup
// is broken.
//
// What it does not cover: transport security (TLS is the deployment's
// job), attacks on the client applications themselves (the example SPA
// and BFF check state and iss in their own tests), and browser behaviour
// (e2e/ drives Chromium).
package security

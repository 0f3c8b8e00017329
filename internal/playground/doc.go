// Package playground serves the flow playground of `latch dev`: a page at
// <issuer>/playground that walks a person through the Authorization Code
// flow with PKCE (RFC 7636) against the running server, one step at a
// time, showing every value that travels: the code verifier and challenge,
// the authorization request, the code, state and iss that come back
// (RFC 9207), the token request and response, the decoded ID and access
// tokens, a refresh and a UserInfo call.
//
// Everything happens in the browser, in plain JavaScript served by this
// package (no libraries, no inline script: the page runs under a strict
// Content-Security-Policy). The Go side only serves files; it never sees a
// token.
//
// The playground is teaching material for development: it shows tokens on
// screen and keeps the PKCE verifier in sessionStorage across the
// redirect. `latch dev` mounts it; `latch serve` never does.
package playground

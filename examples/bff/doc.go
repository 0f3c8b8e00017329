// Package bff is Latch's example backend-for-frontend: a tiny page (who is
// signed in, a button calling the API, sign out) served beside the bff
// package (github.com/latchauth/latch/bff), which does the work: sign-in
// as a confidential client with PKCE, tokens kept on the server, the API
// proxied under /api/ with the access token, CSRF defence, logout at
// Latch, back-channel logout.
//
// Handler wraps a *bff.BFF with the page. cmd/bff runs it on its own;
// `latch dev` runs it too, on http://localhost:3002 as the confidential
// client demo-web (docs/bff.md).
package bff

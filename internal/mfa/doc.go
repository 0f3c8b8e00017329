// Package mfa holds the second factors' mechanics, free of HTTP and
// storage: TOTP keys and codes (RFC 6238, through github.com/pquerna/otp)
// with an injected clock, and one-time recovery codes with their keyed
// hashes. The server seals TOTP secrets (internal/seal) and keeps each
// factor's last accepted counter in the store (store.AdvanceFactor), which
// is what makes a code single-use; this package only computes.
package mfa

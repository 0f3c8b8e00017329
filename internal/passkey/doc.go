// Package passkey is Latch's relying party for passkeys (WebAuthn Level 3)
// on top of github.com/go-webauthn/webauthn: it derives and checks the
// relying-party ID, makes the options of the registration and sign-in
// ceremonies, verifies their answers, and turns a credential into a
// store.Factor and back. Nothing of WebAuthn is hand-written here: the
// library parses and verifies every client response (challenge, origin,
// RP ID hash, flags, signature, counter).
//
// It does not keep state: the ceremony's session data (its challenge)
// is returned to the caller, which seals it into the browser's single-use
// form state (internal/server), and the credentials are the user's
// factors in the store.
package passkey

package token

// NewOpaque returns a fresh random value of 32 bytes from crypto/rand,
// base64url-encoded without padding (codes, refresh tokens, session ids,
// client secrets, jti).
func NewOpaque() string {
	panic("unimplemented")
}

// Hash returns the storage key of an opaque value: base64url(SHA-256(v)).
// Opaque values are high-entropy, so a fast hash is enough.
func Hash(v string) string {
	panic("unimplemented")
}

// EqualHash compares two hashes in constant time.
func EqualHash(a, b string) bool {
	panic("unimplemented")
}

// Chain derives refresh token successors: Successor(t) is
// base64url(HMAC-SHA256(key, t)). Deriving rather than drawing the
// successor lets the grace window return the same successor to a second
// tab without storing any token in plaintext.
type Chain struct {
	// unexported: key
}

// NewChain returns a Chain keyed by key (at least 32 bytes).
func NewChain(key []byte) (*Chain, error) {
	panic("unimplemented")
}

// Successor returns the refresh token that follows t.
func (c *Chain) Successor(t string) string {
	panic("unimplemented")
}

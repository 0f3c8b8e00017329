package token

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
)

// OpaqueLen is the number of random bytes in an opaque value (256 bits,
// well above the 128 bits RFC 6749 §10.10 asks of guessable credentials).
const OpaqueLen = 32

// NewOpaque returns a fresh random value of 32 bytes from crypto/rand,
// base64url-encoded without padding (codes, refresh tokens, session ids,
// client secrets, jti).
func NewOpaque() string {
	b := make([]byte, OpaqueLen)
	rand.Read(b) // never returns an error (crypto/rand, Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

// Hash returns the storage key of an opaque value: base64url(SHA-256(v)).
// Opaque values are high-entropy, so a fast hash is enough.
func Hash(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// EqualHash compares two hashes in constant time. (The time depends on
// the lengths, which are public: every hash is 43 characters.)
func EqualHash(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// Chain derives refresh token successors: Successor(t) is
// base64url(HMAC-SHA256(key, t)). Deriving rather than drawing the
// successor lets the grace window return the same successor to a second
// tab without storing any token in plaintext.
//
// Invariant: the key never leaves the process and is not the key of
// anything else (derive it with seal.DeriveKey and its own purpose);
// whoever holds it and one refresh token can compute every successor.
type Chain struct {
	key []byte
}

// NewChain returns a Chain keyed by key (at least 32 bytes). The key is
// copied.
func NewChain(key []byte) (*Chain, error) {
	if len(key) < 32 {
		return nil, fmt.Errorf("token: chain key is %d bytes, want at least 32", len(key))
	}
	return &Chain{key: append([]byte(nil), key...)}, nil
}

// Successor returns the refresh token that follows t.
func (c *Chain) Successor(t string) string {
	m := hmac.New(sha256.New, c.key)
	m.Write([]byte(t))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Package seal encrypts and authenticates small values with keys derived
// from Latch's key-encryption secret: signing keys at rest, and the
// interaction state carried through the login and consent forms. It uses
// only the standard library's AES-GCM and HKDF; nothing here is hand-rolled.
package seal

// Sealer encrypts with AES-256-GCM under a key derived from the secret with
// HKDF-SHA256 and a purpose string, so keys for different purposes are
// independent. Safe for concurrent use.
type Sealer struct {
	// unexported fields
}

// New derives a sealer for purpose from secret (at least 32 bytes; an error
// otherwise).
func New(secret []byte, purpose string) (*Sealer, error) {
	panic("unimplemented")
}

// Seal encrypts plaintext bound to additionalData; the result carries a
// fresh random nonce.
func (s *Sealer) Seal(plaintext, additionalData []byte) []byte {
	panic("unimplemented")
}

// Open decrypts and authenticates what Seal returned; any tampering,
// truncation or a different additionalData is an error.
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	panic("unimplemented")
}

// DeriveKey returns n bytes derived from secret for purpose (HKDF-SHA256),
// e.g. an HMAC key.
func DeriveKey(secret []byte, purpose string, n int) ([]byte, error) {
	panic("unimplemented")
}

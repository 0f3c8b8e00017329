// Package seal encrypts and authenticates small values with keys derived
// from Latch's key-encryption secret: signing keys at rest, and the
// interaction state carried through the login and consent forms. It uses
// only the standard library's AES-GCM and HKDF; nothing here is hand-rolled.
//
// Format of a sealed value (stable; stored in databases):
//
//	nonce (12 bytes, random) || AES-256-GCM ciphertext || tag (16 bytes)
//
// as produced by crypto/cipher.NewGCMWithRandomNonce. The key is
// HKDF-SHA256(secret, salt = none, info = purpose) (RFC 5869), so sealers
// for different purposes hold independent keys and cannot open each other's
// values. Purposes passed to New and to DeriveKey share one namespace: a
// purpose string must name exactly one use.
//
// What seal does not do: it does not hide the length of the plaintext, and
// it does not rotate the secret (a new secret makes old values unreadable).
package seal

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
)

// MinSecretLen is the minimum length of the key-encryption secret: 256
// bits, the strength of the AES-256 key derived from it.
const MinSecretLen = 32

// keyLen is the AES-256 key size.
const keyLen = 32

// ErrOpen is returned (wrapped or as is) by Open for any value that does not
// authenticate: tampered, truncated, sealed for another purpose or another
// secret, or bound to different additional data. The causes are
// deliberately indistinguishable.
var ErrOpen = errors.New("seal: message authentication failed")

// Sealer encrypts with AES-256-GCM under a key derived from the secret with
// HKDF-SHA256 and a purpose string, so keys for different purposes are
// independent. Safe for concurrent use.
type Sealer struct {
	aead cipher.AEAD // from cipher.NewGCMWithRandomNonce; safe for concurrent use
}

// New derives a sealer for purpose from secret (at least 32 bytes; an error
// otherwise). purpose must not be empty.
func New(secret []byte, purpose string) (*Sealer, error) {
	key, err := DeriveKey(secret, purpose, keyLen)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal encrypts plaintext bound to additionalData; the result carries a
// fresh random nonce. A random 96-bit nonce keeps collisions negligible for
// up to 2^32 messages per key (NIST SP 800-38D §8.3), far beyond Latch's use.
func (s *Sealer) Seal(plaintext, additionalData []byte) []byte {
	return s.aead.Seal(nil, nil, plaintext, additionalData)
}

// Open decrypts and authenticates what Seal returned; any tampering,
// truncation or a different additionalData is an error (ErrOpen).
func (s *Sealer) Open(sealed, additionalData []byte) ([]byte, error) {
	if len(sealed) < s.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, nil, sealed, additionalData)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// DeriveKey returns n bytes derived from secret for purpose (HKDF-SHA256,
// RFC 5869, info = purpose), e.g. an HMAC key. secret must be at least
// MinSecretLen bytes, purpose non-empty and n between 1 and 255*32 (the
// HKDF-SHA256 output limit).
func DeriveKey(secret []byte, purpose string, n int) ([]byte, error) {
	if len(secret) < MinSecretLen {
		return nil, fmt.Errorf("seal: secret is %d bytes, want at least %d", len(secret), MinSecretLen)
	}
	if purpose == "" {
		return nil, errors.New("seal: empty purpose")
	}
	if n <= 0 || n > 255*sha256.Size {
		return nil, fmt.Errorf("seal: cannot derive %d bytes", n)
	}
	key, err := hkdf.Key(sha256.New, secret, nil, purpose, n)
	if err != nil {
		return nil, fmt.Errorf("seal: %w", err)
	}
	return key, nil
}

package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
)

// PKCE, RFC 7636. Only S256 is supported; "plain" is refused (RFC 9700 §2.1.1).
const MethodS256 = "S256"

// MethodPlain is the RFC 7636 §4.2 "plain" method, named only so that it
// can be refused (RFC 9700 §2.1.1). It is also what an absent
// code_challenge_method means (RFC 7636 §4.3).
const MethodPlain = "plain"

// s256ChallengeLen is the length of BASE64URL(SHA256(x)) without padding:
// ceil(32*8/6) = 43.
const s256ChallengeLen = 43

// ValidCodeVerifier reports whether v has the syntax of RFC 7636 §4.1:
// 43 to 128 characters from [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
func ValidCodeVerifier(v string) bool {
	if len(v) < 43 || len(v) > 128 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if !isUnreserved(v[i]) {
			return false
		}
	}
	return true
}

// isUnreserved reports whether c is an RFC 3986 §2.3 unreserved character,
// the alphabet of a code verifier (RFC 7636 §4.1).
func isUnreserved(c byte) bool {
	return ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// ValidCodeChallenge reports whether c can be an S256 challenge: exactly 43
// characters of unpadded base64url.
//
// The encoding must also be canonical (the unused low bits of the last
// character zero), as every real S256 output is; a non-canonical challenge
// could never equal S256Challenge of any verifier.
func ValidCodeChallenge(c string) bool {
	return isSHA256Base64URL(c)
}

// isSHA256Base64URL reports whether s is the canonical unpadded base64url
// encoding of 32 bytes: an S256 code challenge (RFC 7636 §4.2) or a JWK
// SHA-256 thumbprint (RFC 7638, RFC 9449 §10).
func isSHA256Base64URL(s string) bool {
	if len(s) != s256ChallengeLen {
		return false
	}
	var buf [32]byte
	n, err := base64.RawURLEncoding.Strict().Decode(buf[:], []byte(s))
	return err == nil && n == len(buf)
}

// S256Challenge returns BASE64URL(SHA256(verifier)), RFC 7636 §4.2.
// It does not check the verifier's syntax; see ValidCodeVerifier.
func S256Challenge(verifier string) string {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// VerifyPKCE is the PKCE check of the token endpoint and must never be
// skipped (RFC 7636 §4.6): it reports whether verifier is valid and its S256
// transform equals challenge, comparing in constant time. Any other method
// than S256 fails.
//
// An empty challenge fails too: whether a client may go without PKCE is the
// caller's decision, taken before calling VerifyPKCE, never by skipping it
// with an empty challenge.
func VerifyPKCE(challenge, method, verifier string) bool {
	if method != MethodS256 || !ValidCodeChallenge(challenge) || !ValidCodeVerifier(verifier) {
		return false
	}
	got := S256Challenge(verifier)
	return subtle.ConstantTimeCompare([]byte(got), []byte(challenge)) == 1
}

package oauth

// PKCE, RFC 7636. Only S256 is supported; "plain" is refused (RFC 9700 §2.1.1).
const MethodS256 = "S256"

// ValidCodeVerifier reports whether v has the syntax of RFC 7636 §4.1:
// 43 to 128 characters from [A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~".
func ValidCodeVerifier(v string) bool {
	panic("unimplemented")
}

// ValidCodeChallenge reports whether c can be an S256 challenge: exactly 43
// characters of unpadded base64url.
func ValidCodeChallenge(c string) bool {
	panic("unimplemented")
}

// S256Challenge returns BASE64URL(SHA256(verifier)), RFC 7636 §4.2.
func S256Challenge(verifier string) string {
	panic("unimplemented")
}

// VerifyPKCE is the PKCE check of the token endpoint and must never be
// skipped (RFC 7636 §4.6): it reports whether verifier is valid and its S256
// transform equals challenge, comparing in constant time. Any other method
// than S256 fails.
func VerifyPKCE(challenge, method, verifier string) bool {
	panic("unimplemented")
}

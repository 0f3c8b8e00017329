package mfa

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// RecoveryCodes is how many one-time recovery codes an enrolment gives.
const RecoveryCodes = 10

// recoveryAlphabet is Crockford-like base32 in lower case: no 0/o or
// 1/l/i ambiguity when read off paper.
var recoveryEnc = base32.NewEncoding("abcdefghjkmnpqrstuvwxyz23456789+").WithPadding(base32.NoPadding)

// NewRecoveryCodes returns RecoveryCodes random codes of 10 characters
// (50 bits) each, written "xxxxx-xxxxx". They are shown once; only their
// hashes are stored.
func NewRecoveryCodes() []string {
	out := make([]string, RecoveryCodes)
	for i := range out {
		b := make([]byte, 7)
		_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
		s := strings.ReplaceAll(recoveryEnc.EncodeToString(b)[:10], "+", "z")
		out[i] = s[:5] + "-" + s[5:]
	}
	return out
}

// HashRecoveryCode is the stored form of a recovery code: HMAC-SHA256
// under the server's recovery key, over the user's ID and the code
// normalised (lower case, no spaces or dashes). A keyed hash, not
// argon2id: the codes carry 50 random bits, so a slow hash adds nothing
// a database thief could not brute-force anyway without the key, and
// every guess online is bounded by the sign-in throttle. Binding the user
// ID makes a code worthless for another account.
func HashRecoveryCode(key []byte, userID, code string) string {
	code = strings.Map(func(r rune) rune {
		if r == '-' || r == ' ' {
			return -1
		}
		return r
	}, strings.ToLower(strings.TrimSpace(code)))
	m := hmac.New(sha256.New, key)
	m.Write([]byte(userID))
	m.Write([]byte{0})
	m.Write([]byte(code))
	return "rc-" + hex.EncodeToString(m.Sum(nil))
}

// LooksLikeRecoveryCode tells a recovery code (ten characters) from a
// TOTP code (six digits) typed into the one field of the second step.
func LooksLikeRecoveryCode(s string) bool {
	return len(strings.ReplaceAll(strings.TrimSpace(s), " ", "")) > digits.Length()
}

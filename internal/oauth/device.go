package oauth

import (
	"crypto/rand"
	"net/url"
	"strings"
)

// The device authorization grant (RFC 8628).

// UserCodeAlphabet is the alphabet of user codes (RFC 8628 §6.1): the
// consonants of the Latin alphabet without Y, which leaves no vowels (no
// words are spelt by accident), no digits, and no look-alikes (no 0/O,
// 1/I/L confusion: I and O are vowels, and there are no digits). 20
// letters, 8 of them: 20^8 ≈ 2.56·10^10 codes (34.6 bits), shown as
// XXXX-XXXX.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCodeLength is the number of letters in a user code.
const UserCodeLength = 8

// NewUserCode returns a random user code in its canonical form (8
// letters of UserCodeAlphabet, no dash), from crypto/rand without modulo
// bias.
func NewUserCode() string {
	b := make([]byte, UserCodeLength)
	for i := range b {
		b[i] = UserCodeAlphabet[randIndex(len(UserCodeAlphabet))]
	}
	return string(b)
}

// randIndex is a uniform random number in [0, n), n <= 256, by rejection
// sampling.
func randIndex(n int) int {
	limit := 256 - 256%n
	var b [1]byte
	for {
		_, _ = rand.Read(b[:]) // never fails (crypto/rand, Go 1.24+)
		if int(b[0]) < limit {
			return int(b[0]) % n
		}
	}
}

// FormatUserCode shows a canonical user code as XXXX-XXXX.
func FormatUserCode(code string) string {
	if len(code) != UserCodeLength {
		return code
	}
	return code[:4] + "-" + code[4:]
}

// NormalizeUserCode turns what a user typed into the canonical code
// (RFC 8628 §6.1: "case-insensitive ... ignore punctuation"): letters
// upper-cased, dashes and spaces dropped. ok is false unless exactly
// UserCodeLength letters of UserCodeAlphabet remain; such input cannot
// be any code, and is refused without a lookup.
func NormalizeUserCode(s string) (string, bool) {
	if len(s) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == ' ':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if r > 0x7f || !strings.ContainsRune(UserCodeAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	if b.Len() != UserCodeLength {
		return "", false
	}
	return b.String(), true
}

// DeviceAuthorizationRequest is a parsed device authorization request
// (RFC 8628 §3.1).
type DeviceAuthorizationRequest struct {
	Client ClientCredentials
	Scopes []string // nil when scope was absent
}

// ParseDeviceAuthorizationRequest parses the POST body of a device
// authorization request and its Authorization header value: client
// authentication as at the token endpoint (ParseClientCredentials) and
// scope (ParseScope). Repeated parameters and invalid UTF-8 are
// invalid_request. It authenticates nothing and judges no scope.
func ParseDeviceAuthorizationRequest(authorization string, form url.Values) (*DeviceAuthorizationRequest, error) {
	scope, e := single(form, "scope", maxTokenParamLen)
	if e != nil {
		return nil, e
	}
	if e := checkUTF8(form); e != nil {
		return nil, e
	}
	client, err := ParseClientCredentials(authorization, form)
	if err != nil {
		return nil, err
	}
	scopes, err := ParseScope(scope)
	if err != nil {
		return nil, err
	}
	return &DeviceAuthorizationRequest{Client: client, Scopes: scopes}, nil
}

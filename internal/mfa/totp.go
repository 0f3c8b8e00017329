package mfa

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP parameters (RFC 6238 §4, §5.2): 30-second steps, 6 digits,
// HMAC-SHA1 — what every authenticator app supports — and one step of
// clock drift either way.
const (
	Period   = 30 * time.Second
	digits   = otp.DigitsSix
	skew     = 1
	keyBytes = 20 // 160 bits, RFC 4226 §4 R6's recommended length
)

var opts = totp.ValidateOpts{Period: uint(Period / time.Second), Digits: digits, Algorithm: otp.AlgorithmSHA1}

// Key is a freshly generated TOTP key, before the user confirmed it.
type Key struct {
	Secret []byte // the raw shared key, to be sealed
	// Text is the secret in base32, as typed into an app by hand.
	Text string
	// URI is the otpauth:// URI a QR code carries.
	URI string
}

// NewKey generates a random TOTP key for account at issuer (the name the
// authenticator app shows).
func NewKey(issuer, account string) (Key, error) {
	secret := make([]byte, keyBytes)
	_, _ = rand.Read(secret) // crypto/rand.Read never fails (Go 1.24+)
	return KeyFor(issuer, account, secret)
}

// KeyFor is the Key of an existing secret (shown again while enrolling).
func KeyFor(issuer, account string, secret []byte) (Key, error) {
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: account, Period: opts.Period, Secret: secret,
		Digits: digits, Algorithm: otp.AlgorithmSHA1,
	})
	if err != nil {
		return Key{}, err
	}
	return Key{Secret: secret, Text: k.Secret(), URI: k.URL()}, nil
}

// QRDataURL renders the key's URI as a PNG QR code in a data: URL, for an
// <img> the page's CSP allows (img-src data:).
func (k Key) QRDataURL() (string, error) {
	key, err := otp.NewKeyFromURL(k.URI)
	if err != nil {
		return "", err
	}
	img, err := key.Image(200, 200)
	if err != nil {
		return "", err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()), nil
}

// ErrBadCode: the code matches none of the accepted steps.
var ErrBadCode = errors.New("mfa: wrong code")

// Step is the RFC 6238 time step of t (T = floor(unix / 30), §4.2).
func Step(t time.Time) int64 { return t.Unix() / int64(Period/time.Second) }

// Check returns the time step whose code is code: the step of now, or
// the one before or after (RFC 6238 §5.2, one step of drift). It does NOT
// refuse a reused code: the caller advances the factor's counter to the
// returned step in the store (store.AdvanceFactor), which accepts each
// step once and never one at or before the last accepted. The comparison
// is constant-time; code is trimmed of spaces first.
func Check(secret []byte, code string, now time.Time) (int64, error) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != digits.Length() {
		return 0, ErrBadCode
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret)
	step := Step(now)
	found := int64(-1)
	for d := int64(-skew); d <= skew; d++ {
		want, err := totp.GenerateCodeCustom(enc, now.Add(time.Duration(d)*Period), opts)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			found = step + d // no early return: every step is computed
		}
	}
	if found < 0 {
		return 0, ErrBadCode
	}
	return found, nil
}

// Code is the code of secret at t (tests and the CLI's diagnostics).
func Code(secret []byte, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(secret), t, opts)
}

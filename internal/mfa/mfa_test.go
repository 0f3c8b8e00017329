package mfa

import (
	"strings"
	"testing"
	"time"
)

// RFC 6238 Appendix B: the SHA-1 seed "12345678901234567890"; the
// 8-digit test values end in the 6-digit codes (a code is the value mod
// 10^6).
func TestCheckRFC6238Vectors(t *testing.T) {
	secret := []byte("12345678901234567890")
	for _, tc := range []struct {
		unix int64
		code string
	}{
		{59, "287082"},         // 94287082
		{1111111109, "081804"}, // 07081804
		{1234567890, "005924"}, // 89005924
		{2000000000, "279037"}, // 69279037
	} {
		now := time.Unix(tc.unix, 0)
		if got, err := Code(secret, now); err != nil || got != tc.code {
			t.Errorf("Code(%d) = %q, %v; want %q", tc.unix, got, err, tc.code)
		}
		step, err := Check(secret, tc.code, now)
		if err != nil || step != tc.unix/30 {
			t.Errorf("Check(%q at %d) = %d, %v; want step %d", tc.code, tc.unix, step, err, tc.unix/30)
		}
	}
}

// The previous and next steps are accepted (one step of drift, RFC 6238
// §5.2), two steps away are not; each acceptance names its own step, so
// the store can refuse it once used.
func TestCheckDrift(t *testing.T) {
	k, err := NewKey("Latch", "alice")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 12, 6, 18, 0, 15, 0, time.UTC)
	for _, d := range []int64{-2, -1, 0, 1, 2} {
		code, err := Code(k.Secret, now.Add(time.Duration(d)*Period))
		if err != nil {
			t.Fatal(err)
		}
		step, err := Check(k.Secret, code, now)
		accepted := d >= -1 && d <= 1
		if accepted && (err != nil || step != Step(now)+d) {
			t.Errorf("code of step %+d: Check = %d, %v; want step %d", d, step, err, Step(now)+d)
		}
		if !accepted && err == nil && step == Step(now)+d {
			t.Errorf("code of step %+d accepted", d)
		}
	}
	for _, bad := range []string{"", "12345", "1234567", "abcdef"} {
		if _, err := Check(k.Secret, bad, now); err != ErrBadCode {
			t.Errorf("Check(%q) = %v, want ErrBadCode", bad, err)
		}
	}
}

func TestNewKey(t *testing.T) {
	k, err := NewKey("Latch", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Secret) != keyBytes || !strings.HasPrefix(k.URI, "otpauth://totp/Latch:alice?") || !strings.Contains(k.URI, "secret="+k.Text) {
		t.Errorf("NewKey = %+v", k)
	}
	qr, err := k.QRDataURL()
	if err != nil || !strings.HasPrefix(qr, "data:image/png;base64,") {
		t.Errorf("QRDataURL = %.40q, %v", qr, err)
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes := NewRecoveryCodes()
	seen := map[string]bool{}
	for _, c := range codes {
		if len(c) != 11 || c[5] != '-' || seen[c] || !LooksLikeRecoveryCode(c) {
			t.Errorf("recovery code %q: want unique xxxxx-xxxxx", c)
		}
		seen[c] = true
	}
	key := []byte("k")
	h := HashRecoveryCode(key, "u1", codes[0])
	if HashRecoveryCode(key, "u1", " "+strings.ToUpper(strings.ReplaceAll(codes[0], "-", ""))+" ") != h {
		t.Error("the hash depends on case, dashes or spaces")
	}
	if HashRecoveryCode(key, "u2", codes[0]) == h || HashRecoveryCode([]byte("other"), "u1", codes[0]) == h {
		t.Error("the hash does not bind the user and the key")
	}
	if LooksLikeRecoveryCode("123456") {
		t.Error("a TOTP code looks like a recovery code")
	}
}

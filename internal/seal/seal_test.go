package seal

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"testing"
)

func testSecret(b byte) []byte { return bytes.Repeat([]byte{b}, MinSecretLen) }

func mustNew(t testing.TB, secret []byte, purpose string) *Sealer {
	t.Helper()
	s, err := New(secret, purpose)
	if err != nil {
		t.Fatalf("New(%d bytes, %q) error: %v", len(secret), purpose, err)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	s := mustNew(t, testSecret(1), "test")
	tests := []struct {
		name      string
		plaintext []byte
		ad        []byte
	}{
		{"empty", nil, nil},
		{"empty with ad", []byte{}, []byte("kid-1")},
		{"short", []byte("hello"), nil},
		{"binary", []byte{0, 1, 2, 255, 0}, []byte{0}},
		{"large", bytes.Repeat([]byte("x"), 64<<10), []byte("ad")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed := s.Seal(tt.plaintext, tt.ad)
			if want := len(tt.plaintext) + 28; len(sealed) != want {
				t.Errorf("len(Seal) = %d, want %d (nonce+ciphertext+tag)", len(sealed), want)
			}
			if len(tt.plaintext) >= 4 && bytes.Contains(sealed, tt.plaintext) {
				t.Errorf("sealed value contains the plaintext")
			}
			got, err := s.Open(sealed, tt.ad)
			if err != nil {
				t.Fatalf("Open(Seal(x)) error: %v", err)
			}
			if !bytes.Equal(got, tt.plaintext) {
				t.Errorf("Open(Seal(%q)) = %q", tt.plaintext, got)
			}
		})
	}
}

func TestSealFreshNonce(t *testing.T) {
	s := mustNew(t, testSecret(1), "test")
	a, b := s.Seal([]byte("same"), nil), s.Seal([]byte("same"), nil)
	if bytes.Equal(a, b) {
		t.Fatal("two Seal calls of the same plaintext returned identical output; nonce is not fresh")
	}
	if bytes.Equal(a[:12], b[:12]) {
		t.Fatal("two Seal calls used the same nonce")
	}
}

func TestOpenRejectsTamperingAnyByte(t *testing.T) {
	s := mustNew(t, testSecret(1), "test")
	ad := []byte("ad")
	sealed := s.Seal([]byte("signing key material"), ad)
	for i := range sealed {
		for _, flip := range []byte{0x01, 0x80} {
			tampered := bytes.Clone(sealed)
			tampered[i] ^= flip
			if got, err := s.Open(tampered, ad); err == nil {
				t.Fatalf("Open(sealed with byte %d ^ %#x) = %q, nil; want error", i, flip, got)
			} else if !errors.Is(err, ErrOpen) {
				t.Fatalf("Open(tampered) error = %v, want ErrOpen", err)
			}
		}
	}
}

func TestOpenRejectsTruncationAndExtension(t *testing.T) {
	s := mustNew(t, testSecret(1), "test")
	sealed := s.Seal([]byte("value"), nil)
	for n := range len(sealed) {
		if _, err := s.Open(sealed[:n], nil); err == nil {
			t.Errorf("Open(sealed[:%d]) succeeded, want error", n)
		}
	}
	if _, err := s.Open(append(bytes.Clone(sealed), 0), nil); err == nil {
		t.Error("Open(sealed + extra byte) succeeded, want error")
	}
	if _, err := s.Open(nil, nil); err == nil {
		t.Error("Open(nil) succeeded, want error")
	}
}

func TestOpenRejectsWrongAdditionalData(t *testing.T) {
	s := mustNew(t, testSecret(1), "test")
	sealed := s.Seal([]byte("value"), []byte("kid-A"))
	for _, ad := range [][]byte{nil, []byte(""), []byte("kid-B"), []byte("kid-A "), []byte("KID-A"), []byte("kid-")} {
		if _, err := s.Open(sealed, ad); err == nil {
			t.Errorf("Open(sealed for %q, ad %q) succeeded, want error", "kid-A", ad)
		}
	}
	if _, err := s.Open(sealed, []byte("kid-A")); err != nil {
		t.Errorf("Open with the right ad: %v", err)
	}
}

func TestPurposesAreIndependent(t *testing.T) {
	secret := testSecret(7)
	keys := mustNew(t, secret, "signing-keys")
	forms := mustNew(t, secret, "interaction-state")
	sealed := keys.Seal([]byte("value"), nil)
	if _, err := forms.Open(sealed, nil); err == nil {
		t.Error("a sealer for another purpose opened the value")
	}
	if _, err := keys.Open(forms.Seal([]byte("value"), nil), nil); err == nil {
		t.Error("a sealer for another purpose opened the value (reverse)")
	}
	// Same purpose, same secret: a fresh Sealer (another instance) opens it.
	if _, err := mustNew(t, secret, "signing-keys").Open(sealed, nil); err != nil {
		t.Errorf("same secret and purpose could not open: %v", err)
	}
	// Same purpose, different secret: cannot.
	if _, err := mustNew(t, testSecret(8), "signing-keys").Open(sealed, nil); err == nil {
		t.Error("a sealer with another secret opened the value")
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	tests := []struct {
		name    string
		secret  []byte
		purpose string
	}{
		{"nil secret", nil, "p"},
		{"empty secret", []byte{}, "p"},
		{"31 bytes", bytes.Repeat([]byte{1}, 31), "p"},
		{"empty purpose", testSecret(1), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if s, err := New(tt.secret, tt.purpose); err == nil {
				t.Errorf("New(%d bytes, %q) = %v, nil; want error", len(tt.secret), tt.purpose, s)
			}
		})
	}
	if _, err := New(bytes.Repeat([]byte{1}, 64), "p"); err != nil {
		t.Errorf("New(64-byte secret) error: %v", err)
	}
}

// hkdfReference computes HKDF-SHA256 with an empty salt straight from RFC
// 5869 §2.2–2.3 using crypto/hmac, independently of crypto/hkdf.
func hkdfReference(secret []byte, info string, n int) []byte {
	ext := hmac.New(sha256.New, make([]byte, sha256.Size)) // salt not provided: HashLen zeros
	ext.Write(secret)
	prk := ext.Sum(nil)
	var out, prev []byte
	for i := byte(1); len(out) < n; i++ {
		m := hmac.New(sha256.New, prk)
		m.Write(prev)
		m.Write([]byte(info))
		m.Write([]byte{i})
		prev = m.Sum(nil)
		out = append(out, prev...)
	}
	return out[:n]
}

func TestDeriveKey(t *testing.T) {
	secret := []byte("0123456789abcdef0123456789abcdef-latch")
	for _, n := range []int{1, 16, 32, 33, 64, 100} {
		for _, purpose := range []string{"hmac", "refresh-chain"} {
			got, err := DeriveKey(secret, purpose, n)
			if err != nil {
				t.Fatalf("DeriveKey(_, %q, %d) error: %v", purpose, n, err)
			}
			if want := hkdfReference(secret, purpose, n); !bytes.Equal(got, want) {
				t.Errorf("DeriveKey(_, %q, %d) = %x, want %x", purpose, n, got, want)
			}
		}
	}
	a, _ := DeriveKey(secret, "a", 32)
	b, _ := DeriveKey(secret, "b", 32)
	if bytes.Equal(a, b) {
		t.Error("DeriveKey returned the same key for two purposes")
	}
}

func TestDeriveKeyRejectsBadInput(t *testing.T) {
	tests := []struct {
		secret  []byte
		purpose string
		n       int
	}{
		{testSecret(1)[:31], "p", 32},
		{nil, "p", 32},
		{testSecret(1), "", 32},
		{testSecret(1), "p", 0},
		{testSecret(1), "p", -1},
		{testSecret(1), "p", 255*32 + 1},
	}
	for _, tt := range tests {
		if k, err := DeriveKey(tt.secret, tt.purpose, tt.n); err == nil {
			t.Errorf("DeriveKey(%d bytes, %q, %d) = %x, nil; want error", len(tt.secret), tt.purpose, tt.n, k)
		}
	}
}

func TestConcurrentUse(t *testing.T) {
	s := mustNew(t, testSecret(3), "test")
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			for j := range 50 {
				msg := fmt.Appendf(nil, "%d/%d", i, j)
				got, err := s.Open(s.Seal(msg, msg), msg)
				if err != nil || !bytes.Equal(got, msg) {
					t.Errorf("concurrent round trip of %q = %q, %v", msg, got, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

func BenchmarkSeal(b *testing.B) {
	s := mustNew(b, testSecret(1), "bench")
	pt := bytes.Repeat([]byte("k"), 1200) // about an RSA-2048 PKCS#8 key
	for b.Loop() {
		s.Seal(pt, []byte("kid"))
	}
}

func BenchmarkOpen(b *testing.B) {
	s := mustNew(b, testSecret(1), "bench")
	sealed := s.Seal(bytes.Repeat([]byte("k"), 1200), []byte("kid"))
	for b.Loop() {
		if _, err := s.Open(sealed, []byte("kid")); err != nil {
			b.Fatal(err)
		}
	}
}

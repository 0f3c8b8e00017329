package token

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"testing"
)

func TestNewOpaque(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		v := NewOpaque()
		if len(v) != 43 {
			t.Fatalf("NewOpaque() = %q: length %d, want 43 (32 bytes, unpadded base64url)", v, len(v))
		}
		b, err := base64.RawURLEncoding.Strict().DecodeString(v)
		if err != nil || len(b) != 32 {
			t.Fatalf("NewOpaque() = %q: decodes to %d bytes, err %v", v, len(b), err)
		}
		if seen[v] {
			t.Fatalf("NewOpaque() repeated %q", v)
		}
		seen[v] = true
	}
}

func TestHash(t *testing.T) {
	// Known answers: SHA-256("") and SHA-256("abc") (FIPS 180-2 appendix B.1).
	tests := []struct{ in, hexSum string }{
		{"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	}
	for _, tt := range tests {
		sum, _ := hex.DecodeString(tt.hexSum)
		if got, want := Hash(tt.in), base64.RawURLEncoding.EncodeToString(sum); got != want {
			t.Errorf("Hash(%q) = %q, want %q", tt.in, got, want)
		}
	}
	v := NewOpaque()
	if Hash(v) == v || Hash(v) != Hash(v) || len(Hash(v)) != 43 {
		t.Errorf("Hash(%q) = %q: want a deterministic 43-character value different from the input", v, Hash(v))
	}
}

func TestEqualHash(t *testing.T) {
	a, b := Hash("a"), Hash("b")
	tests := []struct {
		x, y string
		want bool
	}{
		{a, a, true},
		{a, Hash("a"), true},
		{a, b, false},
		{a, a[:42], false},
		{a, a + "x", false},
		{"", a, false},
		{"", "", true},
	}
	for _, tt := range tests {
		if got := EqualHash(tt.x, tt.y); got != tt.want {
			t.Errorf("EqualHash(%q, %q) = %v, want %v", tt.x, tt.y, got, tt.want)
		}
	}
}

func TestChain(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	c, err := NewChain(key)
	if err != nil {
		t.Fatal(err)
	}
	// Independent computation with crypto/hmac.
	m := hmac.New(sha256.New, key)
	m.Write([]byte("rt-1"))
	if got, want := c.Successor("rt-1"), base64.RawURLEncoding.EncodeToString(m.Sum(nil)); got != want {
		t.Errorf("Successor(rt-1) = %q, want %q", got, want)
	}
	if c.Successor("rt-1") != c.Successor("rt-1") {
		t.Error("Successor is not deterministic")
	}
	if c.Successor("rt-1") == c.Successor("rt-2") {
		t.Error("Successor(rt-1) == Successor(rt-2)")
	}
	other, _ := NewChain(bytes.Repeat([]byte{8}, 32))
	if c.Successor("rt-1") == other.Successor("rt-1") {
		t.Error("two keys give the same successor")
	}
	// The key is copied: changing the caller's slice changes nothing.
	before := c.Successor("rt-1")
	key[0] ^= 1
	if c.Successor("rt-1") != before {
		t.Error("NewChain kept a reference to the caller's key")
	}
}

func TestNewChainRejectsShortKey(t *testing.T) {
	for _, n := range []int{0, 16, 31} {
		if c, err := NewChain(make([]byte, n)); err == nil {
			t.Errorf("NewChain(%d bytes) = %v, nil; want error", n, c)
		}
	}
}

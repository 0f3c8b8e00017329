package oauth

import (
	"strings"
	"testing"
)

func TestS256ChallengeRFC7636AppendixB(t *testing.T) {
	if got := S256Challenge(rfcVerifier); got != rfcChallenge {
		t.Errorf("S256Challenge(%q) = %q, want %q", rfcVerifier, got, rfcChallenge)
	}
	if !VerifyPKCE(rfcChallenge, MethodS256, rfcVerifier) {
		t.Errorf("VerifyPKCE(%q, S256, %q) = false, want true", rfcChallenge, rfcVerifier)
	}
}

func TestValidCodeVerifier(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{rfcVerifier, true},
		{strings.Repeat("a", 43), true},
		{strings.Repeat("Z", 128), true},
		{strings.Repeat("-._~", 11), true},
		{strings.Repeat("a", 42), false},
		{strings.Repeat("a", 129), false},
		{"", false},
		{strings.Repeat("a", 42) + "+", false},
		{strings.Repeat("a", 42) + "/", false},
		{strings.Repeat("a", 42) + "=", false},
		{strings.Repeat("a", 42) + " ", false},
		{strings.Repeat("a", 42) + "%", false},
		{strings.Repeat("a", 41) + "é", false}, // 43 bytes, but not unreserved
	}
	for _, tt := range tests {
		if got := ValidCodeVerifier(tt.v); got != tt.want {
			t.Errorf("ValidCodeVerifier(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
}

func TestValidCodeChallenge(t *testing.T) {
	tests := []struct {
		c    string
		want bool
	}{
		{rfcChallenge, true},
		{S256Challenge("x"), true},
		{rfcChallenge[:42], false},
		{rfcChallenge + "A", false},
		{rfcChallenge[:42] + "=", false},                    // padding
		{strings.ReplaceAll(rfcChallenge, "-", "+"), false}, // standard alphabet
		{rfcChallenge[:42] + "N", false},                    // non-canonical: low bits of the last character set
		{rfcVerifier + "", true},                            // a verifier happens to be 43 chars of base64url too
		{strings.Repeat("~", 43), false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidCodeChallenge(tt.c); got != tt.want {
			t.Errorf("ValidCodeChallenge(%q) = %v, want %v", tt.c, got, tt.want)
		}
	}
}

func TestVerifyPKCE(t *testing.T) {
	short := strings.Repeat("a", 42)
	tests := []struct {
		name                        string
		challenge, method, verifier string
		want                        bool
	}{
		{"RFC 7636 vector", rfcChallenge, "S256", rfcVerifier, true},
		{"wrong verifier", rfcChallenge, "S256", strings.Repeat("a", 43), false},
		{"verifier one char off", rfcChallenge, "S256", rfcVerifier[:42] + "j", false},
		{"plain method refused", rfcVerifier, "plain", rfcVerifier, false},
		{"plain with S256 challenge refused", rfcChallenge, "plain", rfcVerifier, false},
		{"empty method refused", rfcChallenge, "", rfcVerifier, false},
		{"lower-case method refused", rfcChallenge, "s256", rfcVerifier, false},
		{"empty challenge", "", "S256", rfcVerifier, false},
		{"empty verifier", rfcChallenge, "S256", "", false},
		{"everything empty", "", "", "", false},
		{"verifier too short even if it hashes right", S256Challenge(short), "S256", short, false},
		{"challenge as verifier", rfcChallenge, "S256", rfcChallenge, false},
	}
	for _, tt := range tests {
		if got := VerifyPKCE(tt.challenge, tt.method, tt.verifier); got != tt.want {
			t.Errorf("%s: VerifyPKCE(%q, %q, %q) = %v, want %v", tt.name, tt.challenge, tt.method, tt.verifier, got, tt.want)
		}
	}
}

func BenchmarkVerifyPKCE(b *testing.B) {
	for b.Loop() {
		if !VerifyPKCE(rfcChallenge, MethodS256, rfcVerifier) {
			b.Fatal("VerifyPKCE = false")
		}
	}
}

package verify

import (
	"encoding/json"
	"os"
	"testing"
)

// TestIsLoopbackVectors checks verify's copy of the loopback rule against
// the vectors internal/oauth.IsLoopbackHost is tested with, so the two
// sides of the module boundary cannot drift apart.
func TestIsLoopbackVectors(t *testing.T) {
	b, err := os.ReadFile("testdata/loopback.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Vectors []struct {
			Host     string `json:"host"`
			Loopback bool   `json:"loopback"`
		} `json:"vectors"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatalf("testdata/loopback.json: %v", err)
	}
	if len(file.Vectors) < 20 {
		t.Fatalf("testdata/loopback.json: %d vectors, want the full set", len(file.Vectors))
	}
	for _, v := range file.Vectors {
		if got := isLoopback(v.Host); got != v.Loopback {
			t.Errorf("isLoopback(%q) = %v, want %v", v.Host, got, v.Loopback)
		}
	}
}

// TestCheckURLLoopback: plain http is accepted for a loopback issuer only,
// the host compared case-insensitively (it is a DNS name).
func TestCheckURLLoopback(t *testing.T) {
	for _, tc := range []struct {
		url string
		ok  bool
	}{
		{"http://localhost:8080", true},
		{"http://LOCALHOST:8080", true},
		{"http://127.0.0.1", true},
		{"http://[::1]:8080", true},
		{"http://[::ffff:127.0.0.1]:8080", false},
		{"http://auth.localhost:8080", false},
		{"http://example.com", false},
		{"https://example.com", true},
	} {
		if err := checkURL("Issuer", tc.url, false); (err == nil) != tc.ok {
			t.Errorf("checkURL(%q) = %v, want ok=%v", tc.url, err, tc.ok)
		}
	}
}

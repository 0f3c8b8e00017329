package main

import (
	"strings"
	"testing"
)

// TestClientToken: latch client token prints an initial access token
// once, as JSON, with its uses and expiry; client list shows each
// client's origin.
func TestClientToken(t *testing.T) {
	h := newHarness(t)
	out := h.ok("", "client", "token", "--uses", "3", "--ttl", "2h")
	v := decodeJSON[map[string]any](t, out)
	if tok, _ := v["initial_access_token"].(string); len(tok) < 43 || v["uses"] != float64(3) || v["expires_at"] == nil {
		t.Errorf("client token = %s", out)
	}
	r := h.run("", "client", "token", "--uses", "2000")
	wantFailure(t, "latch client token --uses 2000", r, 1, "uses must be between 1 and 1000")

	h.ok("", "client", "create", "--id", "a-spa", "--public", "--redirect-uri", "http://127.0.0.1/cb")
	list := h.ok("", "client", "list")
	if lines := strings.Split(list, "\n"); !strings.Contains(lines[0], "ORIGIN") || !strings.Contains(lines[1], "operator") {
		t.Errorf("client list =\n%s\nwant an ORIGIN column with operator", list)
	}
}

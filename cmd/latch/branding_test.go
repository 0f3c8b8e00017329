package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeRefusesBadBranding: a broken replacement template or a bad
// branding value stops `latch serve` before it listens, with one line
// naming the file or key and what is wrong.
func TestServeRefusesBadBranding(t *testing.T) {
	h := newHarness(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "login.html"), []byte(`{{define "title"}}{{t "Sign in"}}{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"serve", "--issuer", "http://localhost:8080", "--key-encryption-secret", testSecret, "--addr", "127.0.0.1:0", "--admin-addr", "", "--db", h.db}
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"templates-dir without content", []string{"--templates-dir", dir}, "latch: hosted pages: ui: " + filepath.Join(dir, "login.html") + `: missing template "content"`},
		{"brand-color red", []string{"--brand-color", "red"}, `latch: brand-color: "red" is not a colour written #rrggbb`},
		{"missing logo", []string{"--brand-logo", filepath.Join(dir, "nope.svg")}, "latch: hosted pages: ui: brand logo: stat " + filepath.Join(dir, "nope.svg")},
	}
	for _, tt := range tests {
		r := h.exec("", append(base, tt.args...)...)
		lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
		if last := lines[len(lines)-1]; r.code != 1 || !strings.HasPrefix(last, tt.want) {
			t.Errorf("%s: exit %d, last stderr line %q; want 1 and %q…", tt.name, r.code, last, tt.want)
		}
		if strings.Contains(r.stderr, "signing key created") {
			t.Errorf("%s: keys were created before the branding was checked:\n%s", tt.name, r.stderr)
		}
	}
}

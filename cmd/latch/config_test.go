package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestConfigCheck(t *testing.T) {
	valid := "issuer: https://id.example.com\nkey-encryption-secret: " + testSecret + "\n"
	for _, tc := range []struct {
		name       string
		yaml       string
		env        map[string]string
		code       int
		wantStdout []string // lines, in order
		wantErr    string
	}{
		{name: "valid", yaml: valid, wantStdout: []string{"ok"}},
		{
			name: "secret from the environment", yaml: "issuer: https://id.example.com\n",
			env: map[string]string{"LATCH_KEY_ENCRYPTION_SECRET": testSecret}, wantStdout: []string{"ok"},
		},
		{name: "unknown key", yaml: valid + "isuer: https://typo.example\n", code: 1, wantErr: "isuer"},
		{name: "unparsable value", yaml: valid + "code-ttl: banana\n", code: 1, wantErr: "code-ttl"},
		{
			name: "bad values", yaml: "issuer: http://id.example.com\ncode-ttl: 5m\nsigning-alg: HS256\nkey-encryption-secret: " + testSecret + "\n",
			code: 1, wantErr: "3 problems",
			wantStdout: []string{"issuer: ", "signing-alg: ", "code-ttl: "},
		},
		{
			name: "one problem", yaml: "issuer: https://id.example.com\n",
			code: 1, wantErr: "1 problem", wantStdout: []string{"key-encryption-secret: "},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			for k, v := range tc.env {
				h.env[k] = v
			}
			file := filepath.Join(h.dir, "latch.yaml")
			if err := os.WriteFile(file, []byte(tc.yaml), 0o600); err != nil {
				t.Fatal(err)
			}
			r := h.exec("", "config", "check", file)
			if tc.code != 0 {
				wantFailure(t, "config check", r, tc.code, tc.wantErr)
			} else if r.code != 0 || r.stderr != "" {
				t.Fatalf("config check: exit %d, stderr %q", r.code, r.stderr)
			}
			lines := strings.Split(strings.TrimSuffix(r.stdout, "\n"), "\n")
			if r.stdout == "" {
				lines = nil
			}
			if len(lines) != len(tc.wantStdout) {
				t.Fatalf("config check: stdout =\n%s\nwant %d lines like %q", r.stdout, len(tc.wantStdout), tc.wantStdout)
			}
			for i, want := range tc.wantStdout {
				if !strings.HasPrefix(lines[i], want) {
					t.Errorf("config check: line %d = %q, want it to start with %q", i, lines[i], want)
				}
			}
			if strings.Contains(r.stdout+r.stderr, testSecret) {
				t.Errorf("config check printed the secret")
			}
		})
	}
}

func TestConfigCheckMissingFile(t *testing.T) {
	h := newHarness(t)
	r := h.exec("", "config", "check", filepath.Join(h.dir, "nope.yaml"))
	wantFailure(t, "config check of a missing file", r, 1, "nope.yaml")
}

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
		{
			name: "unknown key", yaml: valid + "isuer: https://typo.example\n", code: 1, wantErr: "1 problem",
			wantStdout: []string{`line 3: unknown key "isuer" (did you mean "issuer"?)`},
		},
		{
			name: "unparsable value", yaml: valid + "code-ttl: banana\n", code: 1, wantErr: "1 problem",
			wantStdout: []string{`line 3: key "code-ttl": invalid duration "banana"`},
		},
		{
			// Every problem at once: each typo with its nearest key, a bad
			// value, a repeated key, a bad environment variable, and what
			// serve would refuse of the rest (the issuer is missing, since
			// it was misspelt).
			name: "every problem at once",
			yaml: "isuer: https://id.example.com\nkey-encyption-secret: " + testSecret + "\ncode-ttl: 5m\nacces-token-ttl: 5m\nlog-level: loud\nlog-level: info\nsigning_alg: ES256\n",
			env:  map[string]string{"LATCH_SESSION_TTL": "1 day"},
			code: 1, wantErr: "10 problems",
			wantStdout: []string{
				`line 1: unknown key "isuer" (did you mean "issuer"?)`,
				`line 2: unknown key "key-encyption-secret" (did you mean "key-encryption-secret"?)`,
				`line 4: unknown key "acces-token-ttl" (did you mean "access-token-ttl"?)`,
				`line 6: key "log-level" is set twice`,
				`line 7: unknown key "signing_alg" (did you mean "signing-alg"?)`,
				`LATCH_SESSION_TTL: invalid duration "1 day"`,
				"issuer: is required",
				"key-encryption-secret: is required",
				"code-ttl: must be at most 1m",
				`log-level: "loud" is not one of`,
			},
		},
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

// TestServeErrorsOnePerLine: latch serve used to fold every configuration
// problem into one long line. Each problem is now its own "latch: " line,
// and a misspelt flag or key gets the one it probably meant.
func TestServeErrorsOnePerLine(t *testing.T) {
	h := newHarness(t)
	lines := func(r result) []string {
		return strings.Split(strings.TrimSuffix(r.stderr, "\n"), "\n")
	}

	r := h.exec("", "serve", "--isser", "https://id.example.com")
	wantFailure(t, "serve --isser", r, 2, "serve: flag provided but not defined: -isser (did you mean --issuer?)")
	r = h.exec("", "dev", "--adr", "localhost:0")
	wantFailure(t, "dev --adr", r, 2, "dev: flag provided but not defined: -adr (did you mean --addr?)")
	r = h.exec("", "client", "create", "--id", "x", "--public", "--redirect-ur", "https://a.example/cb")
	wantFailure(t, "client create --redirect-ur", r, 2, "flag provided but not defined: -redirect-ur (did you mean --redirect-uri?)")
	r = h.exec("", "serve", "--frobnicate")
	wantFailure(t, "serve --frobnicate", r, 2, "flag provided but not defined: -frobnicate (see 'latch serve -h')")

	// Validation: every problem on its own line.
	r = h.exec("", "serve", "--issuer", "http://id.example.com", "--code-ttl", "5m", "--signing-alg", "HS256", "--db", h.db)
	want := []string{
		"latch: issuer: ",
		"latch: key-encryption-secret: is required",
		"latch: signing-alg: ",
		"latch: code-ttl: must be at most 1m",
	}
	if got := lines(r); r.code != 1 || len(got) != len(want) {
		t.Fatalf("serve with 4 problems: exit %d, stderr:\n%s\nwant exit 1 and %d lines", r.code, r.stderr, len(want))
	} else {
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("serve: stderr line %d = %q, want it to start with %q", i+1, got[i], want[i])
			}
		}
	}

	// The file's problems: one line each, with suggestions.
	file := filepath.Join(h.dir, "latch.yaml")
	if err := os.WriteFile(file, []byte("isuer: https://id.example.com\ncode-ttl: soon\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r = h.exec("", "serve", "--config", file)
	want = []string{
		"latch: serve: config file " + file + `: line 1: unknown key "isuer" (did you mean "issuer"?)`,
		"latch: serve: config file " + file + `: line 2: key "code-ttl": invalid duration "soon"`,
	}
	if got := lines(r); r.code != 2 || len(got) != len(want) {
		t.Fatalf("serve --config with 2 problems: exit %d, stderr:\n%s\nwant exit 2 and %d lines", r.code, r.stderr, len(want))
	} else {
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("serve --config: stderr line %d = %q, want it to start with %q", i+1, got[i], want[i])
			}
		}
	}
}

// TestCappedValuesRefused: a value Latch would cap is refused with the
// limit (access-token-ttl: 2h used to become 1 h silently), in the
// configuration and per client.
func TestCappedValuesRefused(t *testing.T) {
	h := newHarness(t)
	file := filepath.Join(h.dir, "latch.yaml")
	if err := os.WriteFile(file, []byte("issuer: https://id.example.com\nkey-encryption-secret: "+testSecret+"\naccess-token-ttl: 2h\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := h.exec("", "config", "check", file)
	wantFailure(t, "config check access-token-ttl: 2h", r, 1, "1 problem")
	if want := "access-token-ttl: must be at most 1h (the longest access token Latch issues), got 2h\n"; r.stdout != want {
		t.Errorf("config check: stdout %q, want %q", r.stdout, want)
	}
	// (latch serve runs the same Validate: TestServeErrorsOnePerLine.)

	r = h.run("", "client", "create", "--id", "x", "--public", "--redirect-uri", "http://127.0.0.1/cb", "--access-token-ttl", "2h")
	wantFailure(t, "client create --access-token-ttl 2h", r, 1, "--access-token-ttl (2h) must be at most 1h")
	h.ok("", "client", "create", "--id", "x", "--public", "--redirect-uri", "http://127.0.0.1/cb", "--access-token-ttl", "1h")
	r = h.run("", "client", "update", "x", "--access-token-ttl", "61m")
	wantFailure(t, "client update --access-token-ttl 61m", r, 1, "must be at most 1h")
}

package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeSecret writes a secret file (with the trailing newline an editor
// or `echo` leaves) and returns its path.
func writeSecret(t *testing.T, secret string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestSecretFlagsWarn: a secret given as a flag (visible to every local
// user in ps and /proc/PID/cmdline) still works but gets a warning on
// stderr naming the -file variant and the variable; the warning never
// shows the secret, and the -file variant or the variable give none.
func TestSecretFlagsWarn(t *testing.T) {
	h := newHarness(t)
	for _, tc := range []struct {
		name, flag string
		args       []string
		code       int
		advice     string
	}{
		{"keys --key-encryption-secret", "key-encryption-secret", []string{"keys", "rotate", "--alg", "EdDSA", "--key-encryption-secret", testSecret, "--db", h.db}, 0, "--key-encryption-secret-file or $LATCH_KEY_ENCRYPTION_SECRET"},
		{"serve --key-encryption-secret", "key-encryption-secret", []string{"serve", "--issuer", "http://localhost:8080", "--key-encryption-secret", testSecret, "--addr", "127.0.0.1:0", "--admin-addr", "0.0.0.0:0", "--db", h.db}, 1, "--key-encryption-secret-file or $LATCH_KEY_ENCRYPTION_SECRET"},
		{"client --admin-token", "admin-token", []string{"client", "list", "--server", "http://127.0.0.1:1", "--admin-token", testSecret}, 1, "--admin-token-file or $LATCH_ADMIN_TOKEN"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := h.exec("", tc.args...)
			if r.code != tc.code {
				t.Errorf("exit %d, want %d (stderr %q)", r.code, tc.code, r.stderr)
			}
			want := "latch: warning: --" + tc.flag + " on the command line is visible to other local users"
			if !strings.HasPrefix(r.stderr, want) || !strings.Contains(r.stderr, tc.advice) {
				t.Errorf("stderr = %q, want a first line %q… naming %s", r.stderr, want, tc.advice)
			}
			if strings.Contains(r.stderr, testSecret) {
				t.Errorf("the warning shows the secret: %q", r.stderr)
			}
		})
	}
	t.Run("no warning for the -file variant or the variable", func(t *testing.T) {
		r := h.exec("", "keys", "rotate", "--alg", "EdDSA", "--key-encryption-secret-file", writeSecret(t, testSecret), "--db", h.db)
		if r.code != 0 || withoutAudit(r.stderr) != "" {
			t.Errorf("keys rotate --key-encryption-secret-file: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
		}
		h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
		defer delete(h.env, "LATCH_KEY_ENCRYPTION_SECRET")
		if r := h.run("", "keys", "list"); r.code != 0 || r.stderr != "" {
			t.Errorf("keys list with LATCH_KEY_ENCRYPTION_SECRET: exit %d, stderr %q; want 0 and nothing", r.code, r.stderr)
		}
	})
}

// TestSecretFiles: --key-encryption-secret-file and --admin-token-file
// work in the admin commands (the secret is the file's first line), and
// giving both forms of one secret is a usage error.
func TestSecretFiles(t *testing.T) {
	const token = "file-admin-token-0123456789abcdef"
	h := newHarness(t)
	secretFile := writeSecret(t, testSecret)
	h.ok("", "keys", "rotate", "--alg", "ES256", "--key-encryption-secret-file", secretFile)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer, cfg.DB, cfg.AdminToken = "http://"+ln.Addr().String(), h.db, token
	srv := serveInProcess(t, cfg, ln, "https://app.example/cb")
	server := "http://" + srv.adminAddr
	r := h.exec("", "client", "list", "--server", server, "--admin-token-file", writeSecret(t, token))
	if r.code != 0 || !strings.Contains(r.stdout, "app") || r.stderr != "" {
		t.Errorf("client list --admin-token-file: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	if r := h.exec("", "client", "list", "--server", server, "--admin-token-file", writeSecret(t, "wrong-token-0123456789abcdef")); r.code == 0 {
		t.Errorf("client list with a wrong token file: exit 0")
	}

	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"both admin token forms", []string{"client", "list", "--server", server, "--admin-token", token, "--admin-token-file", secretFile}, 2, "not both"},
		{"both key secret forms", []string{"keys", "list", "--key-encryption-secret", testSecret, "--key-encryption-secret-file", secretFile, "--db", h.db}, 1, "both"},
		{"missing key secret file", []string{"keys", "list", "--key-encryption-secret-file", secretFile + ".missing", "--db", h.db}, 1, "no such file"},
	} {
		r := h.exec("", tc.args...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%s: exit %d, stderr %q; want exit %d and %q", tc.name, r.code, r.stderr, tc.code, tc.want)
		}
		if strings.Contains(r.stderr, testSecret) || strings.Contains(r.stderr, token) {
			t.Errorf("%s: stderr shows a secret: %q", tc.name, r.stderr)
		}
	}
}

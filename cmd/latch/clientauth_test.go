package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
)

// TestClientPrivateKeyJWT: latch client create --auth private_key_jwt
// registers a confidential client with keys and no secret, by jwks file
// or jwks_uri, through the database and through the admin API alike;
// switching it back to secrets prints a new secret.
func TestClientPrivateKeyJWT(t *testing.T) {
	const adminToken = "remote-admin-token-0123456789abcdef"
	h := newHarness(t)
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: pub, KeyID: "k1"}}})
	jwksFile := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwksFile, b, 0o600); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer, cfg.DB, cfg.AdminToken = "http://"+ln.Addr().String(), h.db, adminToken
	srv := serveInProcess(t, cfg, ln, "https://app.example/cb")
	h.env["LATCH_ADMIN_TOKEN"] = adminToken
	roads := map[string]func(args ...string) result{
		"local":  func(args ...string) result { return h.run("", args...) },
		"remote": func(args ...string) result { return h.exec("", append(args, "--server", "http://"+srv.adminAddr)...) },
	}
	for road, run := range roads {
		t.Run(road, func(t *testing.T) {
			ok := func(args ...string) clientView {
				t.Helper()
				r := run(args...)
				if r.code != 0 {
					t.Fatalf("latch %s: exit %d, stderr %q", strings.Join(args, " "), r.code, r.stderr)
				}
				return decodeJSON[clientView](t, r.stdout)
			}
			file, uri := road+"-file", road+"-uri"
			v := ok("client", "create", "--id", file, "--auth", "private_key_jwt", "--jwks-file", jwksFile, "--grant-type", "client_credentials")
			if v.ClientSecret != "" || v.ClientType != "confidential" || v.AuthMethod != "private_key_jwt" || len(v.JWKS) == 0 {
				t.Errorf("create with --jwks-file: %+v", v)
			}
			v = ok("client", "create", "--id", uri, "--auth", "private_key_jwt", "--jwks-uri", "https://keys.example/jwks.json", "--grant-type", "client_credentials", "--require-par")
			if v.ClientSecret != "" || v.JWKSURI != "https://keys.example/jwks.json" || !v.RequirePAR {
				t.Errorf("create with --jwks-uri: %+v", v)
			}
			stored, err := h.store().GetClient(t.Context(), uri)
			if err != nil || stored.SecretHash != "" || stored.AuthMethod != "private_key_jwt" {
				t.Errorf("stored %+v, %v; want private_key_jwt without a secret hash", stored, err)
			}
			// The jwks file replaces the jwks_uri.
			v = ok("client", "update", uri, "--jwks-file", jwksFile)
			if v.JWKSURI != "" || len(v.JWKS) == 0 {
				t.Errorf("update --jwks-file: %+v", v)
			}
			wantFailure(t, "rotate a key client's secret", run("client", "update", uri, "--rotate-secret"), 1, "no secret to rotate")
			wantFailure(t, "http jwks_uri", run("client", "create", "--id", road+"-bad", "--auth", "private_key_jwt", "--jwks-uri", "http://keys.example/jwks", "--grant-type", "client_credentials"), 1, "jwks")
			wantFailure(t, "private_key_jwt without keys", run("client", "create", "--id", road+"-bad", "--auth", "private_key_jwt", "--grant-type", "client_credentials"), 1, "jwks")
			v = ok("client", "update", file, "--auth", "client_secret_basic", "--jwks-file", "")
			if v.ClientSecret == "" || v.AuthMethod != "" {
				t.Errorf("back to a secret: %+v, want a new secret", v)
			}
		})
	}
}

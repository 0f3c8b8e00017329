package server_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
)

// TestDiscoveryPaths: the metadata document is served where clients
// look for it — for an issuer with a path, RFC 8414 §3's inserted
// /.well-known/oauth-authorization-server/tenant, OIDC Discovery §4's
// appended /tenant/.well-known/openid-configuration, and the inserted
// /.well-known/openid-configuration/tenant; for a root issuer, both
// well-known names at the root — always the same document, naming the
// issuer (RFC 8414 §3.3). go-oidc discovers and verifies it.
func TestDiscoveryPaths(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		urls       func(host string) []string
		absent     func(host string) []string
	}{
		{"root issuer", "", func(h string) []string {
			return []string{h + "/.well-known/oauth-authorization-server", h + "/.well-known/openid-configuration"}
		}, nil},
		{"issuer with a path", "/tenant", func(h string) []string {
			return []string{
				h + "/.well-known/oauth-authorization-server/tenant",
				h + "/tenant/.well-known/openid-configuration",
				h + "/.well-known/openid-configuration/tenant",
				h + "/tenant/.well-known/oauth-authorization-server",
			}
		}, func(h string) []string {
			// The root names describe a root issuer, which this is not.
			return []string{h + "/.well-known/openid-configuration", h + "/.well-known/oauth-authorization-server", h + "/.well-known/openid-configuration/other"}
		}},
		{"issuer with a two-segment path", "/org/tenant", func(h string) []string {
			return []string{
				h + "/.well-known/oauth-authorization-server/org/tenant",
				h + "/org/tenant/.well-known/openid-configuration",
				h + "/.well-known/openid-configuration/org/tenant",
			}
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := latchtest.Start(t, func(c *config.Config) { c.Issuer += tc.path })
			issuer, host := e.Config.Issuer, e.Issuer
			var first string
			for _, u := range tc.urls(host) {
				resp, err := http.Get(u)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
					t.Fatalf("GET %s = %d %q", u, resp.StatusCode, resp.Header.Get("Content-Type"))
				}
				if !strings.Contains(string(b), `"issuer":"`+issuer+`"`) {
					t.Errorf("GET %s: the document does not name the issuer %s:\n%s", u, issuer, b)
				}
				if first == "" {
					first = string(b)
				} else if string(b) != first {
					t.Errorf("GET %s differs from %s", u, tc.urls(host)[0])
				}
			}
			if tc.absent != nil {
				for _, u := range tc.absent(host) {
					resp, err := http.Get(u)
					if err != nil {
						t.Fatal(err)
					}
					resp.Body.Close()
					if resp.StatusCode != http.StatusNotFound {
						t.Errorf("GET %s = %d, want 404 (not this issuer's name)", u, resp.StatusCode)
					}
				}
			}
			p, err := oidc.NewProvider(latchtest.ClientContext(t.Context()), issuer)
			if err != nil {
				t.Fatalf("go-oidc discovery of %s: %v", issuer, err)
			}
			if p.Endpoint().TokenURL != issuer+"/token" {
				t.Errorf("token endpoint %s, want %s/token", p.Endpoint().TokenURL, issuer)
			}
		})
	}
}

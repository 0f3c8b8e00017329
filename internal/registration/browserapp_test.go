package registration

import (
	"slices"
	"testing"

	"github.com/latchauth/latch/internal/store"
)

// TestRedirectOrigins: a self-registered public client of the code grant
// gets the distinct origins of its https and loopback http redirect URIs,
// as browsers send them, except the issuer's; nothing else ever adds one.
func TestRedirectOrigins(t *testing.T) {
	public := func(redirects ...string) store.Client {
		return store.Client{ID: "c", Public: true, GrantTypes: DefaultGrantTypes(), RedirectURIs: redirects}
	}
	with := func(c store.Client, f func(*store.Client)) store.Client { f(&c); return c }
	for _, tc := range []struct {
		name   string
		c      store.Client
		issuer string
		want   []string
	}{
		{"https", public("https://App.example:443/cb", "https://app.example/silent"), "", []string{"https://app.example"}},
		{"https port", public("https://app.example:8443/cb"), "", []string{"https://app.example:8443"}},
		{"loopback", public("http://localhost:6274/cb", "http://127.0.0.1/cb", "http://[::1]:8080/cb"), "",
			[]string{"http://localhost:6274", "http://127.0.0.1", "http://[::1]:8080"}},
		{"not loopback http", public("http://app.example/cb", "http://localhost.example/cb", "http://127.1/cb"), "", nil},
		{"private-use scheme", public("com.example.app:/cb"), "", nil},
		{"issuer's own origin", public("https://id.example/app/cb", "https://app.example/cb"), "https://id.example", []string{"https://app.example"}},
		{"chosen origins ignored", with(public("https://app.example/cb"), func(c *store.Client) { c.AllowedOrigins = []string{"https://evil.example"} }), "",
			[]string{"https://app.example"}},
		{"confidential", with(public("https://app.example/cb"), func(c *store.Client) { c.Public = false }), "", nil},
		{"secret", with(public("https://app.example/cb"), func(c *store.Client) { c.SecretHash = "h" }), "", nil},
		{"private_key_jwt", with(public("https://app.example/cb"), func(c *store.Client) { c.JWKSURI = "https://app.example/jwks" }), "", nil},
		{"no code grant", with(public("https://app.example/cb"), func(c *store.Client) { c.GrantTypes = []string{"client_credentials"} }), "", nil},
	} {
		if got := RedirectOrigins(tc.c, tc.issuer); !slices.Equal(got, tc.want) {
			t.Errorf("%s: RedirectOrigins(%q, %q) = %q, want %q", tc.name, tc.c.RedirectURIs, tc.issuer, got, tc.want)
		}
	}
}

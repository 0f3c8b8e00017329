package cimd_test

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/internal/cimd"
	"github.com/latchauth/latch/internal/store"
)

// FuzzParseDocument: any body either yields a public, third-party client
// of origin cimd whose ID is the URL and which has redirect URIs and no
// secret, or an *Error — never a panic, never anything else.
func FuzzParseDocument(f *testing.F) {
	const id = "https://app.example/client.json"
	f.Add(`{"client_id":"` + id + `","redirect_uris":["https://app.example/cb"]}`)
	f.Add(`{"client_id":"` + id + `","redirect_uris":["http://127.0.0.1/cb"],"grant_types":["authorization_code","refresh_token"],"scope":"openid"}`)
	f.Add(`{"client_id":"` + id + `","redirect_uris":["https://app.example/cb"],"token_endpoint_auth_method":"client_secret_basic"}`)
	f.Add(`{"client_id":"` + id + `","redirect_uris":[1]}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		c, err := cimd.ParseDocument(id, []byte(body))
		if err != nil {
			var ce *cimd.Error
			if !errors.As(err, &ce) || ce.Description == "" {
				t.Fatalf("ParseDocument error %v is not a described *cimd.Error", err)
			}
			return
		}
		if c.ID != id || !c.Public || c.FirstParty || c.SecretHash != "" || c.Origin != store.OriginCIMD || len(c.RedirectURIs) == 0 {
			t.Fatalf("ParseDocument(%q) = %+v", body, c)
		}
	})
}

// FuzzCheckClientIDURL: an accepted client_id is an https URL with a
// host and a path, without fragment, query, user info or dot segments.
func FuzzCheckClientIDURL(f *testing.F) {
	for _, s := range []string{"https://app.example/client.json", "https://a/b/../c", "https://u@a/b", "http://a/b", "https://a/%2e%2E/b", "https://[::1]:8443/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		host, err := cimd.CheckClientIDURL(s)
		if err != nil {
			return
		}
		u, perr := url.Parse(s)
		if perr != nil || u.Scheme != "https" || u.Host == "" || host == "" || u.User != nil || u.RawQuery != "" ||
			strings.Contains(s, "#") || u.Path == "" || u.Path == "/" || strings.Contains("/"+u.Path+"/", "/../") || strings.Contains("/"+u.Path+"/", "/./") {
			t.Fatalf("CheckClientIDURL(%q) accepted it (host %q)", s, host)
		}
	})
}

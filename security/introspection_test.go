package security

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/latchauth/latch/internal/store"
)

// TestIntrospectionByAnotherClient is RFC 7662 §4 (the server limits what
// each caller may learn): any confidential client — even one registered
// only for client_credentials — used to introspect any user's token and
// learn its sub, username, scopes and audiences. A client now learns
// about its own tokens; about another client's only when registered as a
// resource server (--resource-server). Otherwise: {"active": false} and
// nothing else (§2.2).
func TestIntrospectionByAnotherClient(t *testing.T) {
	e := start(t)
	e.MustClient(store.Client{ID: "reports", Name: "Reports job", GrantTypes: []string{"client_credentials"}})
	e.MustClient(store.Client{ID: "orders-rs", Name: "Orders API", GrantTypes: []string{"client_credentials"}, ResourceServer: true})
	userToken := tokensOf(t, e, e.Browser(), "spa")["access_token"].(string)
	introspect := func(t *testing.T, client, tok string) map[string]any {
		t.Helper()
		resp, body := e.PostForm("/introspect", url.Values{"token": {tok}}, withSecret(e, client))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("introspect as %s: %d %v", client, resp.StatusCode, body)
		}
		return body
	}
	t.Run("client_credentials-only client, a user's token", func(t *testing.T) {
		body := introspect(t, "reports", userToken)
		if body["active"] != false || len(body) != 1 {
			t.Errorf("introspection by a client that is neither the token's nor a resource server = %v, want {active: false} only", body)
		}
	})
	t.Run("another web client, a user's token", func(t *testing.T) {
		e.MustClient(store.Client{ID: "web3", Name: "Another app", RedirectURIs: []string{"https://web3.example/cb"}, GrantTypes: []string{"authorization_code"}})
		if body := introspect(t, "web3", userToken); body["active"] != false || len(body) != 1 {
			t.Errorf("= %v, want {active: false} only", body)
		}
	})
	t.Run("control: a client's own token", func(t *testing.T) {
		resp, cc := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, withSecret(e, "reports"))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("client_credentials: %d %v", resp.StatusCode, cc)
		}
		if body := introspect(t, "reports", cc["access_token"].(string)); body["active"] != true || body["client_id"] != "reports" {
			t.Errorf("own token = %v, want active", body)
		}
	})
	t.Run("control: a registered resource server", func(t *testing.T) {
		if body := introspect(t, "orders-rs", userToken); body["active"] != true || body["username"] != "alice" {
			t.Errorf("resource server = %v, want active with the user", body)
		}
	})
}

package security

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// phishingText is what an attacker would like the client's callback (or
// its error page) to show: a parameter name is request input too.
const phishingText = "Your_account_is_locked_call_555-0100"

// TestErrorDescriptionInjection: an attacker crafts an authorization
// request whose error response carries text of its choosing to the
// client's callback, where a client may display error_description. Latch
// builds descriptions from a fixed vocabulary (known parameter names, its
// own sentences) and never echoes request input — neither at the
// authorization endpoint (a redirect to the client) nor at the token
// endpoint.
func TestErrorDescriptionInjection(t *testing.T) {
	e := start(t)
	v := oauth2.GenerateVerifier()
	t.Run("authorize: unknown parameter with an invalid UTF-8 value", func(t *testing.T) {
		q := authParams("app", appRedirect, v)
		u := authorizeURL(e, q) + "&" + phishingText + "=%ff"
		p := get(t, u, nil)
		// The edge rule for text (store.ValidText) refuses the request
		// with Latch's 400 page before the parser runs; the parser's own
		// rule (oauth checkUTF8, unit-tested there) would redirect
		// without the name. Either way the text reaches no one.
		if p.Status != http.StatusBadRequest {
			cb := requireErrorRedirect(t, e, p, appRedirect, "invalid_request")
			if d := cb.Get("error_description"); strings.Contains(d, phishingText) {
				t.Fatalf("error_description echoes request input: %q", d)
			}
		} else if strings.Contains(p.Body, phishingText) || p.Header.Get("Location") != "" {
			t.Fatalf("the error page echoes request input or redirects:\n%s", p.Body)
		}
	})
	t.Run("token: unknown parameter with an invalid UTF-8 value", func(t *testing.T) {
		form := url.Values{"grant_type": {"authorization_code"}, "client_id": {"spa"}, "code": {"x"}}
		form[phishingText] = []string{"\xff"}
		resp, body := e.PostForm("/token", form)
		requireTokenError(t, resp, body, http.StatusBadRequest, "invalid_request")
		if d, _ := body["error_description"].(string); strings.Contains(d, phishingText) {
			t.Fatalf("error_description echoes request input: %q", d)
		}
	})
	t.Run("control: a known parameter is named", func(t *testing.T) {
		q := authParams("app", appRedirect, v)
		q.Set("nonce", "n\x01") // a control character: the parser's rule, past the edge rule
		cb := requireErrorRedirect(t, e, get(t, authorizeURL(e, q), nil), appRedirect, "invalid_request")
		if d := cb.Get("error_description"); !strings.Contains(d, "nonce") {
			t.Fatalf("error_description %q does not name nonce", d)
		}
	})
}

package server_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/latchauth/latch/internal/latchtest"
)

// TestAuthorizationHeaderOnce: a second Authorization header makes the
// request ambiguous, at every endpoint that reads the header: 400
// invalid_request (form.go authorizationHeader), never a guess at which
// one counts.
func TestAuthorizationHeaderOnce(t *testing.T) {
	e := latchtest.Start(t)
	twice := func(first, second string) func(*http.Request) {
		return func(r *http.Request) {
			r.Header.Add("Authorization", first)
			r.Header.Add("Authorization", second)
		}
	}
	basic := "Basic d2ViOndlYi1zZWNyZXQ=" // web:web-secret
	for _, tc := range []struct {
		path string
		form url.Values
	}{
		{"/token", url.Values{"grant_type": {"client_credentials"}}},
		{"/revoke", url.Values{"token": {"x"}}},
		{"/introspect", url.Values{"token": {"x"}}},
	} {
		resp, body := e.PostForm(tc.path, tc.form, twice(basic, basic))
		if resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
			t.Errorf("POST %s with two Authorization headers: %d %v, want 400 invalid_request", tc.path, resp.StatusCode, body)
		}
	}
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/userinfo", nil)
	if err != nil {
		t.Fatal(err)
	}
	twice("Bearer a", "Bearer b")(req)
	if resp, body := e.DoJSON(req); resp.StatusCode != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("GET /userinfo with two Authorization headers: %d %v, want 400 invalid_request", resp.StatusCode, body)
	}
}

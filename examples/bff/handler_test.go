package bff_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/latchauth/latch/bff"
	example "github.com/latchauth/latch/examples/bff"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
)

// The example serves its page with a strict CSP and hands everything else
// to the BFF (whose own tests are in package bff).
func TestHandler(t *testing.T) {
	env := latchtest.Start(t)
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	base := "http://" + ts.Listener.Addr().String()
	env.MustClient(store.Client{ID: "web-bff", RedirectURIs: []string{base + "/callback"}, GrantTypes: []string{"authorization_code"}})
	b, err := bff.New(t.Context(), bff.Config{
		Issuer: env.Issuer, ClientID: "web-bff", ClientSecret: env.Secrets["web-bff"],
		BaseURL: base, CookieKey: bff.NewCookieKey(),
	})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = example.Handler(b, env.Issuer)
	ts.Start()
	t.Cleanup(ts.Close)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		path string
		want int
		hdr  string
	}{
		{"/", 200, "script-src 'self'"},
		{"/app.js", 200, ""},
		{"/me", 401, ""},
		{"/login", 302, ""},
		{"/nope", 404, ""},
	} {
		res, err := noFollow.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tt.want || !strings.Contains(res.Header.Get("Content-Security-Policy"), tt.hdr) {
			t.Errorf("GET %s = %d CSP %q, want %d with %q", tt.path, res.StatusCode, res.Header.Get("Content-Security-Policy"), tt.want, tt.hdr)
		}
	}
}

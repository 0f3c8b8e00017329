package bff_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/fstest"

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

// AppHandler serves a built app's files (the Angular example's) under the
// same CSP, and a name it does not hold still reaches the BFF.
func TestAppHandler(t *testing.T) {
	env := latchtest.Start(t)
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	base := "http://" + ts.Listener.Addr().String()
	env.MustClient(store.Client{ID: "web-bff", RedirectURIs: []string{base + "/callback"}, GrantTypes: []string{"authorization_code"}})
	b, err := bff.New(t.Context(), bff.Config{
		Issuer: env.Issuer, ClientID: "web-bff", ClientSecret: env.Secrets["web-bff"],
		BaseURL: base, CookieKey: bff.NewCookieKey(), CSRF: bff.CSRF{DoubleSubmit: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	files := fstest.MapFS{
		"index.html":      {Data: []byte("<!doctype html><app-root></app-root>")},
		"main-ABC123.js":  {Data: []byte("console.log(1)")},
		"styles-DEF4.css": {Data: []byte("body{}")},
		"media/x.png":     {Data: []byte("png")},
	}
	ts.Config.Handler = example.AppHandler(b, env.Issuer, files)
	ts.Start()
	t.Cleanup(ts.Close)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, tt := range []struct {
		path, contentType string
		want              int
		csp               bool
	}{
		{"/", "text/html; charset=utf-8", 200, true},
		{"/main-ABC123.js", "text/javascript; charset=utf-8", 200, true},
		{"/styles-DEF4.css", "text/css; charset=utf-8", 200, true},
		{"/me", "application/json", 401, false},    // not a file: the BFF's
		{"/login", "", 302, false},                 // likewise
		{"/media", "text/plain", 404, false},       // a directory is no file
		{"/media/x.png", "text/plain", 404, false}, // one level only
		{"/app.js", "text/plain", 404, false},      // the example page's files are not served
	} {
		res, err := noFollow.Get(base + tt.path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		csp := res.Header.Get("Content-Security-Policy")
		if res.StatusCode != tt.want || !strings.HasPrefix(res.Header.Get("Content-Type"), tt.contentType) ||
			strings.Contains(csp, "script-src 'self'") != tt.csp || strings.Contains(csp, "unsafe") {
			t.Errorf("GET %s = %d %q CSP %q, want %d %q (CSP: %v)", tt.path, res.StatusCode, res.Header.Get("Content-Type"), csp, tt.want, tt.contentType, tt.csp)
		}
	}
}

package ui

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func serve(t *testing.T, h http.Handler, method, target string, hdr map[string]string) *http.Response {
	t.Helper()
	r := httptest.NewRequestWithContext(t.Context(), method, target, nil)
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Result()
}

func TestStatic(t *testing.T) {
	h := newUI(t).Static()
	tests := []struct {
		method, path string
		status       int
		ctype        string // prefix
	}{
		{"GET", "/static/latch.css", 200, "text/css"},
		{"GET", "/static/latch.css?v=anything", 200, "text/css"},
		{"GET", "/static/form_post.js", 200, "text/javascript"},
		{"HEAD", "/static/latch.css", 200, "text/css"},
		{"GET", "/static/", 404, ""},
		{"GET", "/static", 404, ""},
		{"GET", "/static/missing.css", 404, ""},
		{"GET", "/static/../ui.go", 404, ""},
		{"GET", "/static/%2e%2e/ui.go", 404, ""},
		{"GET", "/static/templates/login.html", 404, ""},
		{"GET", "/static/index.html", 404, ""},
		{"GET", "/static/latch.css/", 404, ""},
		{"GET", "/other/latch.css", 404, ""},
		{"POST", "/static/latch.css", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			res := serve(t, h, tt.method, tt.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, res.StatusCode, tt.status)
			}
			cc := res.Header.Get("Cache-Control")
			if tt.status != 200 {
				if cc != "" {
					t.Errorf("%s %s: Cache-Control %q on a %d (would cache the error)", tt.method, tt.path, cc, tt.status)
				}
				return
			}
			if cc != "public, max-age=86400" {
				t.Errorf("Cache-Control = %q", cc)
			}
			if got := res.Header.Get("X-Content-Type-Options"); got != "nosniff" {
				t.Errorf("X-Content-Type-Options = %q", got)
			}
			if got := res.Header.Get("Content-Type"); !strings.HasPrefix(got, tt.ctype) {
				t.Errorf("Content-Type = %q, want %s", got, tt.ctype)
			}
			if res.Header.Get("ETag") == "" {
				t.Error("no ETag")
			}
			if tt.method == "GET" && len(body) == 0 {
				t.Error("empty body")
			}
		})
	}
}

func TestStaticConditional(t *testing.T) {
	h := newUI(t).Static()
	etag := serve(t, h, "GET", "/static/latch.css", nil).Header.Get("ETag")
	res := serve(t, h, "GET", "/static/latch.css", map[string]string{"If-None-Match": etag})
	if res.StatusCode != http.StatusNotModified {
		t.Errorf("If-None-Match %s = %d, want 304", etag, res.StatusCode)
	}
}

// TestPageAssetsResolve follows every asset URL in the rendered pages
// through Static, and checks the ?v= version is the served ETag.
func TestPageAssetsResolve(t *testing.T) {
	u := newUI(t)
	h := u.Static()
	seen := 0
	for _, f := range fixtures() {
		for _, tg := range tags(render(t, u, f.page)) {
			ref := tg.attrs["src"]
			if tg.name == "link" && tg.attrs["rel"] == "stylesheet" {
				ref = tg.attrs["href"]
			}
			if ref == "" || strings.HasPrefix(ref, "data:") {
				continue // inline (the TOTP QR code): nothing to serve
			}
			seen++
			res := serve(t, h, "GET", ref, nil)
			if res.StatusCode != 200 {
				t.Errorf("%s: %s = %d", f.name, ref, res.StatusCode)
			}
			_, v, _ := strings.Cut(ref, "?v=")
			if etag := res.Header.Get("ETag"); etag != `"`+v+`"` {
				t.Errorf("%s: %s has version %q, served ETag %s", f.name, ref, v, etag)
			}
		}
	}
	if seen < len(fixtures())+1 {
		t.Errorf("followed %d asset URLs, want at least %d", seen, len(fixtures())+1)
	}
}

func TestStaticAssetsContent(t *testing.T) {
	css, err := staticFS.ReadFile("static/latch.css")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"prefers-color-scheme: dark", ":focus-visible", "system-ui", ".alert-locked", "prefers-reduced-motion"} {
		if !strings.Contains(string(css), want) {
			t.Errorf("latch.css lacks %q", want)
		}
	}
	// No external resources from CSS: no @import, no url() but data:.
	if regexp.MustCompile(`(?i)@import|url\(\s*['"]?(https?:|//)`).Match(css) {
		t.Error("latch.css loads an external resource")
	}
	js, err := staticFS.ReadFile("static/form_post.js")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"DOMContentLoaded", "HTMLFormElement.prototype.submit.call"} {
		if !strings.Contains(string(js), want) {
			t.Errorf("form_post.js lacks %q", want)
		}
	}
	for _, bad := range []string{"eval(", "innerHTML", "http"} {
		if strings.Contains(string(js), bad) {
			t.Errorf("form_post.js contains %q", bad)
		}
	}
}

// TestBasePath mounts Static the way the server does for an issuer with a
// path, and follows the asset links of pages rendered WithBasePath.
func TestBasePath(t *testing.T) {
	u := newUI(t)
	for _, base := range []string{"/auth", "/auth/", "auth", "/a/b"} {
		ub := u.WithBasePath(base)
		want := "/" + strings.Trim(base, "/")
		mux := http.NewServeMux()
		mux.Handle(want+StaticPrefix, http.StripPrefix(want, ub.Static()))
		html := render(t, ub, FormPostPage{Action: "https://app.example/cb"})
		n := 0
		for _, tg := range tags(html) {
			ref := tg.attrs["src"]
			if tg.name == "link" && tg.attrs["rel"] == "stylesheet" {
				ref = tg.attrs["href"]
			}
			if ref == "" {
				continue
			}
			n++
			if !strings.HasPrefix(ref, want+StaticPrefix) {
				t.Errorf("WithBasePath(%q): asset %s not under %s", base, ref, want+StaticPrefix)
			}
			if res := serve(t, mux, "GET", ref, nil); res.StatusCode != 200 {
				t.Errorf("WithBasePath(%q): GET %s = %d", base, ref, res.StatusCode)
			}
		}
		if n != 2 {
			t.Errorf("WithBasePath(%q): followed %d assets, want 2", base, n)
		}
	}
	// The original is unchanged.
	if html := render(t, u, LoggedOutPage{}); !strings.Contains(html, `href="/static/latch.css?v=`) {
		t.Error("WithBasePath modified its receiver")
	}
}

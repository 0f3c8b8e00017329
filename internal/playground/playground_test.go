package playground

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), method, path, nil))
	res := rec.Result()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

func TestServesPageAndAssets(t *testing.T) {
	h := Handler("http://localhost:8080", "demo-spa")
	tests := []struct {
		path, contentType, contains string
	}{
		{"/playground", "text/html; charset=utf-8", `<script src="/playground/playground.js" defer></script>`},
		{"/playground/callback", "text/html; charset=utf-8", `data-client-id="demo-spa"`},
		{"/playground/playground.js", "text/javascript; charset=utf-8", "crypto.subtle.digest('SHA-256'"},
		{"/playground/playground.css", "text/css; charset=utf-8", "#diagram"},
	}
	for _, tc := range tests {
		res, body := get(t, h, http.MethodGet, tc.path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d, want 200", tc.path, res.StatusCode)
		}
		if got := res.Header.Get("Content-Type"); got != tc.contentType {
			t.Errorf("GET %s: Content-Type = %q, want %q", tc.path, got, tc.contentType)
		}
		if !strings.Contains(body, tc.contains) {
			t.Errorf("GET %s: body lacks %q", tc.path, tc.contains)
		}
		// Security headers on every response, whatever the type.
		csp := res.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("GET %s: CSP %q lacks %q", tc.path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
			t.Errorf("GET %s: CSP %q allows inline code", tc.path, csp)
		}
		for k, want := range map[string]string{"X-Frame-Options": "DENY", "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"} {
			if got := res.Header.Get(k); got != want {
				t.Errorf("GET %s: %s = %q, want %q", tc.path, k, got, want)
			}
		}
	}
	// The page (and the callback, whose URL carries the code) is never cached.
	for _, p := range []string{"/playground", "/playground/callback"} {
		if res, _ := get(t, h, http.MethodGet, p); res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control = %q, want no-store", p, res.Header.Get("Cache-Control"))
		}
	}
	// HEAD works like GET, without a body.
	if res, body := get(t, h, http.MethodHead, "/playground"); res.StatusCode != http.StatusOK || body != "" {
		t.Errorf("HEAD /playground = %d with %d bytes, want 200 and none", res.StatusCode, len(body))
	}
}

func TestRefusesOtherPathsAndMethods(t *testing.T) {
	h := Handler("http://localhost:8080", "demo-spa")
	for _, p := range []string{"/playground/index.html", "/playground/nope", "/playground/static/playground.js", "/playgroundx", "/playground/callback/x", "/"} {
		if res, _ := get(t, h, http.MethodGet, p); res.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, res.StatusCode)
		}
	}
	res, _ := get(t, h, http.MethodGet, "/playground/")
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/playground" {
		t.Errorf("GET /playground/ = %d → %q, want 301 → /playground", res.StatusCode, res.Header.Get("Location"))
	}
	for _, m := range []string{http.MethodPost, http.MethodPut, http.MethodDelete} {
		res, _ := get(t, h, m, "/playground")
		if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
			t.Errorf("%s /playground = %d (Allow %q), want 405 (GET, HEAD)", m, res.StatusCode, res.Header.Get("Allow"))
		}
	}
}

func TestIssuerWithPath(t *testing.T) {
	h := Handler("https://id.example.com/auth/", "pg")
	res, body := get(t, h, http.MethodGet, "/auth/playground/callback")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/playground/callback = %d, want 200", res.StatusCode)
	}
	for _, want := range []string{`src="/auth/playground/playground.js"`, `href="/auth/playground/playground.css"`, `data-issuer="https://id.example.com/auth"`, `data-base="/auth/playground"`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if res, _ := get(t, h, http.MethodGet, "/playground"); res.StatusCode != http.StatusNotFound {
		t.Errorf("GET /playground under an issuer path = %d, want 404", res.StatusCode)
	}
}

// The values reach the page through html/template: escaped, never markup.
func TestEscapesConfiguration(t *testing.T) {
	_, body := get(t, Handler("http://localhost:8080", `x"><script>alert(1)</script>`), http.MethodGet, "/playground")
	if strings.Contains(body, "<script>alert(1)") {
		t.Fatalf("client id injected markup:\n%s", body)
	}
}

// Strict CSP: no inline script, style or event handler anywhere in the
// page, or the browser would refuse to run it.
func TestNoInlineCode(t *testing.T) {
	_, body := get(t, Handler("http://localhost:8080", "demo-spa"), http.MethodGet, "/playground")
	for _, re := range []*regexp.Regexp{
		regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]+</script>`),
		regexp.MustCompile(`(?i)<style`),
		regexp.MustCompile(`(?i)\sstyle=`),
		regexp.MustCompile(`(?i)\son[a-z]+=`),
		regexp.MustCompile(`(?i)javascript:`),
		regexp.MustCompile(`(?i)(?:src|href)="(?:https?:)?//`),
	} {
		for _, m := range re.FindAllString(body, -1) {
			t.Errorf("page has inline code or an external resource: %q", m)
		}
	}
	for _, tag := range regexp.MustCompile(`<script[^>]*>`).FindAllString(body, -1) {
		if !strings.Contains(tag, ` src="/playground/`) {
			t.Errorf("script without a same-origin src: %q", tag)
		}
	}
}

// Every element the script looks up by id exists in the page, so a
// renamed id cannot silently break a step.
func TestScriptIDsExistInPage(t *testing.T) {
	h := Handler("http://localhost:8080", "demo-spa")
	_, page := get(t, h, http.MethodGet, "/playground")
	_, js := get(t, h, http.MethodGet, "/playground/playground.js")
	ids := regexp.MustCompile(`\$\('([A-Za-z0-9-]+)'\)`).FindAllStringSubmatch(js, -1)
	if len(ids) < 8 {
		t.Fatalf("found only %d id lookups in the script", len(ids))
	}
	for _, m := range ids {
		if !strings.Contains(page, `id="`+m[1]+`"`) {
			t.Errorf("script uses #%s, the page has no such element", m[1])
		}
	}
	for n := 1; n <= 7; n++ {
		for _, id := range []string{"step", "out"} {
			if !strings.Contains(page, `id="`+id+string(rune('0'+n))+`"`) {
				t.Errorf("page lacks #%s%d", id, n)
			}
		}
		if !strings.Contains(page, `class="flow-step" data-step="`+string(rune('0'+n))+`"`) {
			t.Errorf("diagram lacks step %d", n)
		}
	}
}

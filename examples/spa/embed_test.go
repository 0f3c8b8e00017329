package spa_test

import (
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/latchauth/latch/examples/spa"
)

func TestHandler(t *testing.T) {
	h := spa.Handler(spa.Config{
		Issuer: "http://localhost:8080", ClientID: "demo-spa", Scope: "openid", APIURL: "http://localhost:3001",
	})
	get := func(path string) (*http.Response, string) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, path, nil))
		resp := rec.Result()
		body, _ := io.ReadAll(resp.Body)
		return resp, string(body)
	}

	for _, tc := range []struct {
		path, want, contentType string
	}{
		{"/", `<script type="module" src="/app.js">`, "text/html"},
		{"/callback?code=abc&state=xyz", `<script type="module" src="/app.js">`, "text/html"},
		{"/?state=after-logout", `<script type="module" src="/app.js">`, "text/html"},
		{"/app.js", "navigator.locks.request('latch-refresh'", "text/javascript"},
		{"/app.css", "button.primary", "text/css"},
		{"/dpop.js", "window.LatchDPoP", "text/javascript"},
		{"/reasons.js", "window.LatchReasons", "text/javascript"},
		// latch dev's config, not the file's defaults.
		{"/config.js", `"issuer": "http://localhost:8080"`, "text/javascript"},
		{"/config.js", `"dpop": true`, "text/javascript"}, // DPoP is the default
	} {
		resp, body := get(tc.path)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, tc.want) {
			t.Errorf("GET %s = %d, body without %q", tc.path, resp.StatusCode, tc.want)
		}
		if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, tc.contentType) {
			t.Errorf("GET %s: Content-Type = %q, want %s", tc.path, ct, tc.contentType)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, d := range []string{"script-src 'self';", "connect-src 'self' http://localhost:8080 http://localhost:3001;", "frame-ancestors 'none'"} {
			if !strings.Contains(csp, d) {
				t.Errorf("GET %s: CSP %q lacks %q", tc.path, csp, d)
			}
		}
		if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("GET %s: Referrer-Policy = %q, want no-referrer (the callback URL carries the code)", tc.path, got)
		}
	}

	for _, path := range []string{"/embed.go", "/index.html/../embed.go", "/nope", "/callback/x"} {
		if resp, _ := get(path); resp.StatusCode == http.StatusOK {
			t.Errorf("GET %s = 200, want an error", path)
		}
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodPost, "/callback", nil))
	if rec.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST /callback = %d, want 405", rec.Code)
	}
}

// The SPA is teaching material: it must stay small and free of
// dependencies and of places where tokens could outlive the tab.
func TestAppJS(t *testing.T) {
	b, err := spa.FS().Open("app.js")
	if err != nil {
		t.Fatal(err)
	}
	src, _ := io.ReadAll(b)
	js := string(src)
	if n := strings.Count(js, "\n"); n >= 300 {
		t.Errorf("app.js has %d lines, want well under 300", n)
	}
	for _, banned := range []string{"localStorage.", "import ", "require(", "eval(", "innerHTML", "document.cookie"} {
		if strings.Contains(js, banned) {
			t.Errorf("app.js contains %q", banned)
		}
	}
	// sessionStorage holds only the sign-in in progress and the logout state.
	for _, m := range regexp.MustCompile(`sessionStorage\.setItem\('([^']*)'`).FindAllStringSubmatch(js, -1) {
		if m[1] != "latch.pending" && m[1] != "latch.logout" {
			t.Errorf("app.js writes sessionStorage key %q", m[1])
		}
	}
	for _, must := range []string{"crypto.getRandomValues", "crypto.subtle.digest", "code_challenge_method: 'S256'", "history.replaceState", "navigator.locks.request", "BroadcastChannel"} {
		if !strings.Contains(js, must) {
			t.Errorf("app.js lacks %q", must)
		}
	}
}

func TestConfigDisableDPoP(t *testing.T) {
	h := spa.Handler(spa.Config{Issuer: "http://localhost:8080", ClientID: "demo-spa", DisableDPoP: true})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/config.js", nil))
	if body := rec.Body.String(); !strings.Contains(body, `"dpop": false`) || strings.Contains(body, "DisableDPoP") {
		t.Errorf("config.js with DisableDPoP = %q, want \"dpop\": false", body)
	}
}

// dpop.js holds the key that DPoP-bound tokens need: it must be made
// non-extractable, kept only in IndexedDB, and the file stay library-free.
func TestDPoPJS(t *testing.T) {
	src, err := fs.ReadFile(spa.FS(), "dpop.js")
	if err != nil {
		t.Fatal(err)
	}
	js := string(src)
	for _, banned := range []string{"localStorage", "sessionStorage", "import ", "require(", "eval(", "innerHTML", "document.cookie", "exportKey('pkcs8'", "exportKey('jwk', pair.privateKey"} {
		if strings.Contains(js, banned) {
			t.Errorf("dpop.js contains %q", banned)
		}
	}
	for _, must := range []string{
		"crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, false /* non-extractable */",
		"indexedDB.open", "typ: 'dpop+jwt'", "alg: 'ES256'", "use_dpop_nonce", "DPoP-Nonce", "'DPoP ' + accessToken",
	} {
		if !strings.Contains(js, must) {
			t.Errorf("dpop.js lacks %q", must)
		}
	}
}

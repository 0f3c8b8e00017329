package security

import (
	"strings"
	"testing"
)

// TestClickjacking is RFC 9700 §4.16 (and §4.11 for the login and consent
// pages): a hostile site frames Latch's pages invisibly and tricks the
// user into clicking "Allow" or "Sign in". Every HTML page forbids
// framing twice: CSP frame-ancestors 'none' for current browsers and
// X-Frame-Options: DENY for old ones. The CSP also allows no inline
// script, so an injected snippet could not run either.
func TestClickjacking(t *testing.T) {
	e := start(t)
	for name, p := range hostedPages(t, e) {
		t.Run(name, func(t *testing.T) {
			csp := p.Header.Get("Content-Security-Policy")
			directives := map[string]string{}
			for _, d := range strings.Split(csp, ";") {
				name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
				directives[name] = value
			}
			if directives["frame-ancestors"] != "'none'" {
				t.Errorf("CSP frame-ancestors = %q, want 'none' (CSP: %q)", directives["frame-ancestors"], csp)
			}
			if got := p.Header.Get("X-Frame-Options"); got != "DENY" {
				t.Errorf("X-Frame-Options = %q, want DENY", got)
			}
			for _, d := range []string{"script-src", "default-src", "style-src"} {
				if strings.Contains(directives[d], "unsafe-inline") || strings.Contains(directives[d], "unsafe-eval") || strings.Contains(directives[d], "*") {
					t.Errorf("CSP %s = %q allows inline or foreign code", d, directives[d])
				}
			}
			if _, ok := directives["default-src"]; !ok {
				t.Errorf("CSP without default-src: %q", csp)
			}
		})
	}
}

package ui

import (
	"strings"
	"testing"
)

func TestContentSecurityPolicy(t *testing.T) {
	const base = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action 'self'%s; frame-ancestors 'none'; base-uri 'none'"
	tests := []struct {
		in   []string
		want string // the extra form-action sources
	}{
		{nil, ""},
		{[]string{"https://app.example.com/callback?x=1#f"}, " https://app.example.com"},
		{[]string{"http://127.0.0.1:8765/cb"}, " http://127.0.0.1:8765"},
		{[]string{"http://[::1]:8765/cb"}, " http://[::1]:8765"},
		{[]string{"https://APP.example.com/cb", "https://app.example.com/other"}, " https://app.example.com"},
		{[]string{"https://a.example/cb", "https://b.example/cb"}, " https://a.example https://b.example"},
		// Anything that is not a plain http(s) origin is dropped.
		{[]string{"com.example.app:/cb"}, ""},
		{[]string{"/relative"}, ""},
		{[]string{"javascript:alert(1)"}, ""},
		{[]string{"https://evil.example;script-src *"}, ""},
		{[]string{"https://a.example,b/cb"}, ""},
		{[]string{"https://a'b.example/cb"}, ""},
		{[]string{"https://user:pw@a.example/cb"}, " https://a.example"},
	}
	for _, tt := range tests {
		got := ContentSecurityPolicy(tt.in...)
		want := strings.Replace(base, "%s", tt.want, 1)
		if got != want {
			t.Errorf("ContentSecurityPolicy(%q) =\n  %s\nwant\n  %s", tt.in, got, want)
		}
		if strings.Count(got, ";") != 6 {
			t.Errorf("ContentSecurityPolicy(%q) has injected directives: %s", tt.in, got)
		}
	}
}

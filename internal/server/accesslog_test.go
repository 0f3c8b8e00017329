package server

import (
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestClientIPAndSchemeForLogs(t *testing.T) {
	tests := []struct {
		name    string
		trusted []string
		remote  string
		xff     []string
		xfp     string
		tls     bool
		want    string
		scheme  string
	}{
		{name: "no proxies: peer", remote: "192.0.2.1:4000", xff: []string{"203.0.113.9"}, xfp: "https", want: "192.0.2.1", scheme: "http"},
		{name: "untrusted peer: XFF ignored", trusted: []string{"10.0.0.0/8"}, remote: "192.0.2.1:4000", xff: []string{"203.0.113.9"}, want: "192.0.2.1", scheme: "http"},
		{name: "trusted peer, one hop", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xff: []string{"203.0.113.9"}, xfp: "https", want: "203.0.113.9", scheme: "https"},
		{name: "client-supplied entries left of the real one", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xff: []string{"1.1.1.1, 203.0.113.9"}, want: "203.0.113.9", scheme: "http"},
		{name: "chain of trusted proxies", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xff: []string{"203.0.113.9, 10.0.0.7", "10.0.0.6"}, want: "203.0.113.9", scheme: "http"},
		{name: "all hops trusted: leftmost", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xff: []string{"10.0.0.9, 10.0.0.8"}, want: "10.0.0.9", scheme: "http"},
		{name: "garbage stops the walk", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xff: []string{"203.0.113.9, junk, 10.0.0.7"}, want: "10.0.0.7", scheme: "http"},
		{name: "no XFF: the proxy itself", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", want: "10.0.0.5", scheme: "http"},
		{name: "hop with a port", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xff: []string{"203.0.113.9:5555"}, want: "203.0.113.9", scheme: "http"},
		{name: "IPv6 hop with a port", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xff: []string{"[2001:db8::1]:5555"}, want: "2001:db8::1", scheme: "http"},
		{name: "IPv4-mapped peer", trusted: []string{"10.0.0.0/8"}, remote: "[::ffff:10.0.0.5]:4000", xff: []string{"203.0.113.9"}, want: "203.0.113.9", scheme: "http"},
		{name: "IPv6 trusted proxy", trusted: []string{"fd00::/8"}, remote: "[fd00::1]:4000", xff: []string{"2001:db8::2"}, want: "2001:db8::2", scheme: "http"},
		{name: "bogus XFP from a trusted proxy", trusted: []string{"10.0.0.0/8"}, remote: "10.0.0.5:4000", xfp: "javascript", want: "10.0.0.5", scheme: "http"},
		{name: "TLS connection", remote: "192.0.2.1:4000", tls: true, want: "192.0.2.1", scheme: "https"},
		{name: "unparsable RemoteAddr", trusted: []string{"10.0.0.0/8"}, remote: "pipe", xff: []string{"203.0.113.9"}, want: "invalid IP", scheme: "http"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tp, err := parseTrustedProxies(tt.trusted)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.xfp != "" {
				r.Header.Set("X-Forwarded-Proto", tt.xfp)
			}
			if tt.tls {
				r.TLS = &tls.ConnectionState{}
			}
			if got := tp.clientIP(r).String(); got != tt.want {
				t.Errorf("clientIP(remote %s, XFF %q) = %s, want %s", tt.remote, tt.xff, got, tt.want)
			}
			if got := tp.scheme(r); got != tt.scheme {
				t.Errorf("scheme = %s, want %s", got, tt.scheme)
			}
		})
	}
	if _, err := parseTrustedProxies([]string{"10.0.0.1"}); err == nil {
		t.Error("parseTrustedProxies accepted an address without a prefix length")
	}
}

func TestValidRequestID(t *testing.T) {
	for id, want := range map[string]bool{
		"abc-123":                    true,
		"4bf92f3577b34da6a3ce929d0e": true,
		"":                           false,
		"a b":                        false,
		"a\nb":                       false,
		`a"b`:                        false,
		"é":                          false,
		string(make([]byte, 129)):    false,
	} {
		if got := validRequestID(id); got != want {
			t.Errorf("validRequestID(%q) = %v, want %v", id, got, want)
		}
	}
}

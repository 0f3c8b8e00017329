package main

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestReadyzURL(t *testing.T) {
	for _, tc := range []struct{ addr, want, err string }{
		{"127.0.0.1:9090", "http://127.0.0.1:9090/readyz", ""},
		{":9090", "http://127.0.0.1:9090/readyz", ""},
		{"0.0.0.0:9090", "http://127.0.0.1:9090/readyz", ""},
		{"[::]:9090", "http://[::1]:9090/readyz", ""},
		{"10.0.0.5:9090", "http://10.0.0.5:9090/readyz", ""},
		{"", "", "admin listener is disabled"},
		{"9090", "", "not host:port"},
	} {
		got, err := readyzURL(tc.addr)
		if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("readyzURL(%q) = %q, %v; want %q, error containing %q", tc.addr, got, err, tc.want, tc.err)
		}
	}
}

// TestHealthcheckStatus: a 2xx is healthy (exit 0, one line on stdout);
// anything else, e.g. /readyz's 503 while draining, is exit 1 with the
// status and reason in one line; a redirect is not followed.
func TestHealthcheckStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/readyz":
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			w.Write([]byte(`{"status":"not ready","reason":"shutting down"}`))
		case "/moved":
			http.Redirect(w, r, "/ok", http.StatusFound)
		default:
			w.Write([]byte("fine"))
		}
	}))
	defer srv.Close()
	h := newHarness(t)
	addr := strings.TrimPrefix(srv.URL, "http://")

	r := h.exec("", "healthcheck", "--admin-addr", addr)
	wantFailure(t, "healthcheck of a draining server", r, 1, "healthcheck: http://"+addr+"/readyz: 503 Service Unavailable (not ready: shutting down)")

	r = h.exec("", "healthcheck", "--url", srv.URL+"/ok")
	if r.code != 0 || r.stdout != "ok: "+srv.URL+"/ok: 200 OK\n" || r.stderr != "" {
		t.Errorf("healthcheck --url /ok: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
	r = h.exec("", "healthcheck", "--url", srv.URL+"/moved")
	wantFailure(t, "healthcheck of a redirect", r, 1, "302 Found")

	h.env["LATCH_ADMIN_ADDR"] = ""
	r = h.exec("", "healthcheck", "--admin-addr=")
	wantFailure(t, "healthcheck with the admin listener disabled", r, 1, "give --url")
	r = h.exec("", "healthcheck", "--url", "ftp://x/")
	wantFailure(t, "healthcheck --url ftp", r, 2, "is not an http(s) URL")
	r = h.exec("", "healthcheck", "--url", srv.URL, "--admin-addr", addr)
	wantFailure(t, "healthcheck --url and --admin-addr", r, 2, "not both")
}

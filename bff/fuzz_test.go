package bff_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/latchauth/latch/bff"
	"github.com/latchauth/latch/internal/latchtest"
)

// fuzzBFF is a BFF over a real Latch, shared by the fuzz inputs.
func fuzzBFF(f *testing.F) http.Handler {
	env := latchtest.Start(f)
	b, err := bff.New(f.Context(), bff.Config{
		Issuer: env.Issuer, ClientID: "web", ClientSecret: env.Secrets["web"], BaseURL: "https://app.example",
		CookieKey: testKey, Upstreams: []bff.Upstream{{Prefix: "/api/", URL: "http://127.0.0.1:1"}},
	})
	if err != nil {
		f.Fatal(err)
	}
	return b
}

// FuzzCallback: whatever the query and cookie, the callback answers with a
// 4xx page (there is no valid login here), never a 5xx, never a session.
func FuzzCallback(f *testing.F) {
	h := fuzzBFF(f)
	f.Add("state=abc&code=x&iss=https%3A%2F%2Fevil", "bff_login_abc", "garbage")
	f.Add("state=&code=", "", "")
	f.Add("state=a&state=b", "__Host-bff_login_a", "AAAA")
	f.Add("%zz", "x", "y")
	f.Fuzz(func(t *testing.T, query, name, value string) {
		r := httptest.NewRequest(http.MethodGet, "/callback", nil)
		r.URL.RawQuery = query
		if name != "" && !strings.ContainsAny(name+value, "\x00;,\r\n \t\"\\") {
			r.Header.Set("Cookie", name+"="+value)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code < 400 || w.Code >= 500 {
			t.Fatalf("callback %q (cookie %s=%s) = %d, want a 4xx", query, name, value, w.Code)
		}
		if strings.Contains(w.Header().Get("Set-Cookie"), "bff_session=") && !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
			t.Fatalf("callback %q set a session", query)
		}
	})
}

// FuzzBackchannelLogout: a logout_token that is not a valid token is a
// 400, never a 5xx or a 200.
func FuzzBackchannelLogout(f *testing.F) {
	h := fuzzBFF(f)
	f.Add("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.")
	f.Add("eyJhbGciOiJFUzI1NiIsInR5cCI6ImxvZ291dCtqd3QifQ.e30.AAAA")
	f.Add("a.b.c.d.e")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		r := httptest.NewRequest(http.MethodPost, "/backchannel-logout", strings.NewReader(url.Values{"logout_token": {token}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != http.StatusBadRequest {
			t.Fatalf("logout_token %q = %d, want 400", token, w.Code)
		}
	})
}

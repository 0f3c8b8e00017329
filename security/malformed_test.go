package security

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/latchtest"
)

// Endpoints by the error channel they speak.
var (
	apiPaths     = []string{"/token", "/revoke", "/introspect"}
	browserPaths = []string{"/authorize", "/login", "/consent", "/logout", "/logout/confirm"}
	otherPaths   = []string{"/userinfo", "/.well-known/openid-configuration", "/.well-known/oauth-authorization-server", "/jwks.json", "/static/latch.css", "/nothing"}
)

// registeredTargets are the only places Latch may redirect off itself to.
var registeredTargets = []string{latchtest.SPARedirect, latchtest.WebRedirect, "http://127.0.0.1:", "http://127.0.0.1/",
	appRedirect, appLogout, apiClientRedirect, "http://spa.test:3000/"}

// checkResponse asserts the invariants of any answer to any request: no
// 5xx, the endpoint's own error channel, and no redirect except to Latch
// or to a registered URI.
func checkResponse(t *testing.T, e *latchtest.Env, path string, resp *http.Response, body []byte, what string) {
	t.Helper()
	if resp.StatusCode >= 500 {
		t.Fatalf("%s: status %d:\n%.500s", what, resp.StatusCode, body)
	}
	if resp.Header.Get("X-Request-Id") == "" {
		return // refused by net/http itself (431, a malformed request line) before Latch saw it
	}
	ct := resp.Header.Get("Content-Type")
	if resp.Request.Method == http.MethodHead {
		body = []byte(`"error"`) // no body on HEAD: the headers say enough
	}
	if loc := resp.Header.Get("Location"); loc != "" {
		ok := strings.HasPrefix(loc, "/") && !strings.HasPrefix(loc, "//") && !strings.HasPrefix(loc, "/\\") || strings.HasPrefix(loc, e.Issuer+"/")
		for _, r := range registeredTargets {
			ok = ok || strings.HasPrefix(loc, r)
		}
		if !ok {
			t.Fatalf("%s: redirect to %q", what, loc)
		}
		return
	}
	switch {
	case contains(apiPaths, path) && resp.StatusCode >= 400:
		if !strings.HasPrefix(ct, "application/json") || !bytes.Contains(body, []byte(`"error"`)) {
			t.Fatalf("%s: %d %q %.300s, want an RFC 6749 §5.2 JSON error", what, resp.StatusCode, ct, body)
		}
	case contains(browserPaths, path) && resp.StatusCode >= 400 && resp.StatusCode != http.StatusMethodNotAllowed:
		if !strings.HasPrefix(ct, "text/html") {
			t.Fatalf("%s: %d %q %.300s, want Latch's HTML error page", what, resp.StatusCode, ct, body)
		}
	case path == "/userinfo" && resp.StatusCode == http.StatusUnauthorized:
		if resp.Header.Get("WWW-Authenticate") == "" {
			t.Fatalf("%s: 401 without WWW-Authenticate", what)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// garbage is a random value: invalid UTF-8, control characters,
// percent-escapes, huge, or a near-valid protocol value.
func garbage(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0:
		b := make([]byte, r.IntN(64))
		for i := range b {
			b[i] = byte(r.UintN(256))
		}
		return string(b)
	case 1:
		return "\xff\xfe\x00\x01%00%zz"
	case 2:
		return strings.Repeat("A", 70<<10) // beyond the body cap
	case 3:
		return strings.Repeat("x", 5000)
	case 4:
		return "https://evil.test/cb"
	case 5:
		return ""
	case 6:
		return "S256"
	case 7:
		return "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
	case 8:
		return "\r\nSet-Cookie: x=y"
	default:
		return []string{"code", "token", "openid profile", "form_post", "none", "spa", "app", "authorization_code", "refresh_token"}[r.IntN(9)]
	}
}

// headerGarbage is garbage that an HTTP client can still send in a
// header (no control characters; obs-text, i.e. invalid UTF-8, stays).
func headerGarbage(r *rand.Rand) string {
	return strings.Map(func(c rune) rune {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return -1
		}
		return c
	}, garbage(r))
}

var paramNames = []string{"client_id", "redirect_uri", "response_type", "scope", "state", "code_challenge",
	"code_challenge_method", "response_mode", "prompt", "max_age", "nonce", "resource", "dpop_jkt", "request",
	"grant_type", "code", "code_verifier", "refresh_token", "client_secret", "token", "token_type_hint",
	"interaction", "username", "password", "decision", "id_token_hint", "post_logout_redirect_uri", "x"}

// randomRequest mutates a valid request into a malformed one.
func randomRequest(t *testing.T, r *rand.Rand, e *latchtest.Env, cookies []*http.Cookie) (*http.Request, string) {
	all := append(append(append([]string{}, apiPaths...), browserPaths...), otherPaths...)
	path := all[r.IntN(len(all))]
	params := authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier())
	if contains(apiPaths, path) {
		params = exchangeForm("spa", "code", latchtest.SPARedirect, oauth2.GenerateVerifier())
	}
	for range r.IntN(5) {
		name := paramNames[r.IntN(len(paramNames))]
		switch r.IntN(3) {
		case 0:
			params.Set(name, garbage(r))
		case 1:
			params.Add(name, garbage(r)) // repeated
		default:
			params.Del(name)
		}
	}
	method := []string{"GET", "POST", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}[r.IntN(8)]
	u := e.Issuer + path
	var body io.Reader
	ctype := ""
	if method == "GET" || method == "HEAD" || r.IntN(4) == 0 {
		u += "?" + params.Encode()
		if r.IntN(5) == 0 {
			u += "&%zz&" + url.PathEscape(garbage(r))
		}
	}
	if method != "GET" && method != "HEAD" {
		raw := params.Encode()
		switch r.IntN(6) {
		case 0:
			raw = garbage(r)
		case 1:
			raw += "&" + url.QueryEscape(garbage(r)) + "=%ff%fe"
		}
		body = strings.NewReader(raw)
		ctype = []string{"application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "application/json",
			"multipart/form-data; boundary=x", "text/plain", "", "application/x-www-form-urlencoded; charset=\xff", "garbage/;;;"}[r.IntN(8)]
	}
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		return nil, ""
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if r.IntN(3) == 0 {
		req.Header.Set("Authorization", []string{"Basic " + headerGarbage(r), "Bearer " + headerGarbage(r), "DPoP " + headerGarbage(r), headerGarbage(r), "Basic Og=="}[r.IntN(5)])
	}
	if r.IntN(4) == 0 {
		req.Header.Add("Authorization", "Bearer x")
	}
	if r.IntN(4) == 0 {
		req.Header.Set("DPoP", headerGarbage(r))
	}
	if r.IntN(4) == 0 {
		req.Header.Set("Origin", []string{"https://evil.test", "null", e.Issuer, latchtest.SPAOrigin}[r.IntN(4)])
	}
	if r.IntN(5) == 0 {
		req.Header.Set("X-Huge", strings.Repeat("h", 10<<10))
	}
	if r.IntN(3) == 0 {
		for _, c := range cookies {
			req.AddCookie(c)
		}
	} else if r.IntN(3) == 0 {
		req.Header.Set("Cookie", "latch_session="+url.QueryEscape(garbage(r))+"; latch_csrf="+url.QueryEscape(garbage(r)))
	}
	return req, path
}

// TestMalformedRequestsNever5xx fires randomized malformed requests —
// random bytes in every parameter, repeated parameters, invalid UTF-8,
// huge values and headers, wrong methods and content types, garbage
// credentials, cookies and DPoP headers — at every endpoint, signed in
// and not, and asserts that Latch answers each with a client error in
// the endpoint's own channel (or a validated redirect), never a 5xx.
// The seed is fixed, so a failure reproduces.
func TestMalformedRequestsNever5xx(t *testing.T) {
	e := start(t)
	b := e.Browser()
	e.IssueCode(b, "spa", latchtest.SPARedirect)
	u, _ := url.Parse(e.Issuer)
	cookies := b.Client.Jar.Cookies(u)
	r := rand.New(rand.NewPCG(9700, 6749))
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	n := 300
	if testing.Short() {
		n = 100
	}
	for i := range n {
		req, path := randomRequest(t, r, e, cookies)
		if req == nil {
			continue
		}
		what := req.Method + " " + path
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("request %d %s: %v", i, what, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkResponse(t, e, path, resp, body, what)
	}
	// Headers beyond net/http's limit (1 MiB) are refused before Latch.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/authorize", nil)
	req.Header.Set("X-Huge", strings.Repeat("h", 2<<20))
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Errorf("2 MiB header: status %d", resp.StatusCode)
		}
	}
	if strings.Contains(e.OperationalLog(), `"msg":"panic"`) {
		t.Error("a handler panicked")
	}
}

// FuzzEndpoint is the same property under the fuzzer: any method, query,
// content type, body and Authorization, DPoP and Cookie header, at any
// endpoint, gets an answer below 500 in the endpoint's channel. CI runs
// it for a few seconds (scripts/test); the seeds run with every go test.
func FuzzEndpoint(f *testing.F) {
	e := start(f)
	all := append(append(append([]string{}, apiPaths...), browserPaths...), otherPaths...)
	valid := authParams("spa", latchtest.SPARedirect, oauth2.GenerateVerifier()).Encode()
	f.Add(uint8(0), uint8(3), valid, "", []byte(nil), "", "", "")
	f.Add(uint8(1), uint8(3), "", "application/x-www-form-urlencoded", []byte(valid+"&redirect_uri=x"), "", "", "")
	f.Add(uint8(1), uint8(0), "", "application/x-www-form-urlencoded", []byte("grant_type=authorization_code&code=x&client_id=spa&code_verifier="+strings.Repeat("a", 43)), "", "eyJ.e30.", "")
	f.Add(uint8(1), uint8(0), "", "application/x-www-form-urlencoded", []byte("grant_type=client_credentials"), "Basic YXBwOnNlY3JldA==", "", "")
	f.Add(uint8(1), uint8(4), "", "application/x-www-form-urlencoded", []byte("interaction=AAAA&username=alice&password=x"), "", "", "latch_csrf=abc")
	f.Add(uint8(0), uint8(8), "", "", []byte(nil), "DPoP eyJhbGciOiJub25lIn0.e30.", "x.y.z", "")
	f.Add(uint8(0), uint8(6), "post_logout_redirect_uri=https%3A%2F%2Fevil.test&id_token_hint=a.b.c", "", []byte(nil), "", "", "latch_session=x")
	f.Add(uint8(2), uint8(1), "%zz", "text/plain", []byte("\xff\xfe"), "Bearer", "", "")
	client := &http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	methods := []string{"GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"}
	f.Fuzz(func(t *testing.T, methodIdx, pathIdx uint8, rawQuery, ctype string, body []byte, auth, dpop, cookie string) {
		method, path := methods[int(methodIdx)%len(methods)], all[int(pathIdx)%len(all)]
		req, err := http.NewRequestWithContext(t.Context(), method, e.Issuer+path, bytes.NewReader(body))
		if err != nil {
			t.Skip("not a request the client can send")
		}
		req.URL.RawQuery = rawQuery
		for name, v := range map[string]string{"Content-Type": ctype, "Authorization": auth, "DPoP": dpop, "Cookie": cookie} {
			if v != "" {
				req.Header.Set(name, v)
			}
		}
		resp, err := client.Do(req)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatalf("%s %s: no answer within 10 s", method, path)
		}
		if err != nil {
			t.Skip("the client refused to send it")
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkResponse(t, e, path, resp, b, method+" "+path)
	})
}

package security

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/admin"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store/storemetrics"
)

// Endpoints by the error channel they speak.
var (
	apiPaths     = []string{"/token", "/revoke", "/introspect", "/par", "/device_authorization"}
	browserPaths = []string{"/authorize", "/login", "/consent", "/logout", "/logout/confirm", "/device"}
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
// The seed is fixed, so a failure reproduces. It runs on SQLite and on
// PostgreSQL, and no request may make a store call fail
// (latch_store_errors_total stays at zero): bad input is refused at the
// edge, whatever the backend would have made of it.
func TestMalformedRequestsNever5xx(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { malformedRequestsNever5xx(t, startBackend(t, b)) })
	}
}

func malformedRequestsNever5xx(t *testing.T, e *latchtest.Env) {
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
		if n := storeErrors(e); n != 0 {
			t.Fatalf("request %d %s: latch_store_errors_total = %v, want 0 (bad input reached the store):\n%s", i, what, n, e.OperationalLog())
		}
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
// endpoint, gets an answer below 500 in the endpoint's channel, and no
// store call fails. CI runs it for a few seconds (scripts/test); the
// seeds run with every go test. FuzzEndpointPostgres is the same on
// PostgreSQL.
func FuzzEndpoint(f *testing.F) { fuzzEndpoint(f, backends[0]) }

// FuzzEndpointPostgres is FuzzEndpoint on PostgreSQL, which refuses some
// text SQLite stores (NUL, invalid UTF-8): the edge must refuse it first.
func FuzzEndpointPostgres(f *testing.F) { fuzzEndpoint(f, backends[1]) }

func fuzzEndpoint(f *testing.F, b backend) {
	e := startBackend(f, b)
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
		got, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		checkResponse(t, e, path, resp, got, method+" "+path)
		if n := storeErrors(e); n != 0 {
			t.Fatalf("%s %s: latch_store_errors_total = %v, want 0 (bad input reached the store)", method, path, n)
		}
	})
}

// storeErrors is latch_store_errors_total of the server under test. It
// reads the registry itself: Env.MetricValue calls the Env's t.Helper,
// which a fuzz target must not.
func storeErrors(e *latchtest.Env) float64 { return storeErrorsIn(e.Registry) }

// storeErrorsIn sums latch_store_errors_total in reg (-1 if it cannot be
// gathered, which fails every comparison with 0).
func storeErrorsIn(reg prometheus.Gatherer) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return -1
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() == "latch_store_errors_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// TestMalformedValuesNeverReachStore is issue 11 item 5: NUL bytes and
// invalid UTF-8 in values that are looked up in the store — the login
// username, the logout client_id, a DPoP jti, client ids in forms and in
// HTTP Basic, admin API paths, queries and bodies — are refused at the
// edge with the endpoint's own error. PostgreSQL refuses such text
// (SQLSTATE 22021), so a value that reached it used to answer 500 and
// move latch_store_errors_total, which operators alert on. Runs on both
// backends; asserts a 4xx in the endpoint's channel and that the store
// error counter did not move.
func TestMalformedValuesNeverReachStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			e := startBackend(t, b)
			adm := startAdmin(t, e)
			k := latchtest.NewDPoPKey(t, jose.ES256)
			at := dpopTokens(t, e, k)["access_token"].(string)
			for _, bad := range []struct{ name, v string }{{"NUL", "a\x00b"}, {"invalid UTF-8", "a\xff\xfeb"}} {
				basic := func(id, secret string) func(*http.Request) {
					return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
				}
				cases := []struct {
					name string
					path string // for checkResponse's channel rules
					req  func(t *testing.T) *http.Request
				}{
					{"login username", "/login", func(t *testing.T) *http.Request {
						return loginRequest(t, e, bad.v, "a password")
					}},
					{"login password", "/login", func(t *testing.T) *http.Request {
						return loginRequest(t, e, "alice", bad.v)
					}},
					{"logout client_id (GET)", "/logout", func(t *testing.T) *http.Request {
						return newRequest(t, http.MethodGet, e.Issuer+"/logout?"+url.Values{"client_id": {bad.v}}.Encode(), "", nil)
					}},
					{"logout client_id (POST)", "/logout", func(t *testing.T) *http.Request {
						return newRequest(t, http.MethodPost, e.Issuer+"/logout", "application/x-www-form-urlencoded", url.Values{"client_id": {bad.v}})
					}},
					{"logout state", "/logout", func(t *testing.T) *http.Request {
						return newRequest(t, http.MethodGet, e.Issuer+"/logout?"+url.Values{"client_id": {"app"}, "state": {bad.v}}.Encode(), "", nil)
					}},
					{"authorize client_id", "/authorize", func(t *testing.T) *http.Request {
						q := authParams("spa", latchtest.SPARedirect, rand43())
						q.Set("client_id", bad.v)
						return newRequest(t, http.MethodGet, authorizeURL(e, q), "", nil)
					}},
					{"authorize POST client_id", "/authorize", func(t *testing.T) *http.Request {
						q := authParams("spa", latchtest.SPARedirect, rand43())
						q.Set("client_id", bad.v)
						return newRequest(t, http.MethodPost, e.Issuer+"/authorize", "application/x-www-form-urlencoded", q)
					}},
					{"token client_id in the form", "/token", func(t *testing.T) *http.Request {
						return newRequest(t, http.MethodPost, e.Issuer+"/token", "application/x-www-form-urlencoded",
							exchangeForm(bad.v, "code", latchtest.SPARedirect, rand43()))
					}},
					{"token client_id in HTTP Basic", "/token", func(t *testing.T) *http.Request {
						r := newRequest(t, http.MethodPost, e.Issuer+"/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}})
						basic(bad.v, "secret")(r)
						return r
					}},
					{"token client secret in HTTP Basic", "/token", func(t *testing.T) *http.Request {
						r := newRequest(t, http.MethodPost, e.Issuer+"/token", "application/x-www-form-urlencoded", url.Values{"grant_type": {"client_credentials"}})
						basic("app", bad.v)(r)
						return r
					}},
					{"revoke client_id in HTTP Basic", "/revoke", func(t *testing.T) *http.Request {
						r := newRequest(t, http.MethodPost, e.Issuer+"/revoke", "application/x-www-form-urlencoded", url.Values{"token": {"x"}})
						basic(bad.v, "secret")(r)
						return r
					}},
					{"introspect client_id in the form", "/introspect", func(t *testing.T) *http.Request {
						return newRequest(t, http.MethodPost, e.Issuer+"/introspect", "application/x-www-form-urlencoded",
							url.Values{"token": {"x"}, "client_id": {bad.v}, "client_secret": {"x"}})
					}},
					{"revoke token", "/revoke", func(t *testing.T) *http.Request {
						r := newRequest(t, http.MethodPost, e.Issuer+"/revoke", "application/x-www-form-urlencoded", url.Values{"token": {bad.v}})
						withSecret(e, "app")(r)
						return r
					}},
					{"DPoP jti at the token endpoint", "/token", func(t *testing.T) *http.Request {
						r := newRequest(t, http.MethodPost, e.Issuer+"/token", "application/x-www-form-urlencoded",
							url.Values{"grant_type": {"refresh_token"}, "client_id": {"spa"}, "refresh_token": {"x"}})
						r.Header.Set("DPoP", e.DPoPProof(k, "POST", "/token", map[string]any{"jti": bad.v}))
						return r
					}},
					{"DPoP jti at userinfo", "/userinfo", func(t *testing.T) *http.Request {
						r := newRequest(t, http.MethodGet, e.Issuer+"/userinfo", "", nil)
						r.Header.Set("Authorization", "DPoP "+at)
						r.Header.Set("DPoP", e.DPoPProof(k, "GET", "/userinfo", map[string]any{"jti": bad.v, "ath": latchtest.ATH(at)}))
						return r
					}},
				}
				for _, tc := range cases {
					t.Run(bad.name+"/"+tc.name, func(t *testing.T) {
						before := storeErrors(e)
						req := tc.req(t)
						resp, err := http.DefaultClient.Do(req)
						if err != nil {
							t.Fatal(err)
						}
						body, _ := io.ReadAll(resp.Body)
						resp.Body.Close()
						checkResponse(t, e, tc.path, resp, body, tc.name)
						if resp.StatusCode < 400 && !(resp.StatusCode == http.StatusSeeOther && strings.HasPrefix(resp.Header.Get("Location"), e.Issuer+"/")) {
							t.Errorf("status %d, want the value refused (4xx):\n%.300s", resp.StatusCode, body)
						}
						if after := storeErrors(e); after != before {
							t.Errorf("latch_store_errors_total moved from %v to %v: the value reached the store", before, after)
						}
					})
				}
				adminCases := []struct {
					name, method, path, body string
				}{
					{"GET client", http.MethodGet, "/admin/clients/" + url.PathEscape(bad.v), ""},
					{"PATCH client", http.MethodPatch, "/admin/clients/" + url.PathEscape(bad.v), `{"client_name":"x"}`},
					{"DELETE client", http.MethodDelete, "/admin/clients/" + url.PathEscape(bad.v), ""},
					{"GET user", http.MethodGet, "/admin/users/" + url.PathEscape(bad.v), ""},
					{"DELETE user", http.MethodDelete, "/admin/users/" + url.PathEscape(bad.v), ""},
					{"find user by username", http.MethodGet, "/admin/users?" + url.Values{"username": {bad.v}}.Encode(), ""},
					{"user sessions", http.MethodGet, "/admin/users/" + url.PathEscape(bad.v) + "/sessions", ""},
					{"log out everywhere", http.MethodDelete, "/admin/users/" + url.PathEscape(bad.v) + "/sessions", ""},
					{"user grants", http.MethodGet, "/admin/users/" + url.PathEscape(bad.v) + "/grants", ""},
					{"set password", http.MethodPut, "/admin/users/" + url.PathEscape(bad.v) + "/password", `{"password":"a long enough password"}`},
					{"create user", http.MethodPost, "/admin/users", `{"username":` + jsonString(bad.v) + `,"password":"a long enough password"}`},
					{"create user, bad email", http.MethodPost, "/admin/users", `{"username":"carol","email":` + jsonString(bad.v) + `,"password":"a long enough password"}`},
					{"create client", http.MethodPost, "/admin/clients", `{"client_id":` + jsonString(bad.v) + `,"grant_types":["client_credentials"]}`},
				}
				for _, tc := range adminCases {
					t.Run(bad.name+"/admin API "+tc.name, func(t *testing.T) {
						before := adm.storeErrors()
						status, body := adm.do(t, tc.method, tc.path, tc.body)
						if status != http.StatusBadRequest && status != http.StatusNotFound {
							t.Errorf("%s %q: status %d %s, want 400 (or 404)", tc.method, tc.path, status, body)
						}
						if after := adm.storeErrors(); after != before {
							t.Errorf("admin latch_store_errors_total moved from %v to %v: the value reached the store", before, after)
						}
					})
				}
			}
		})
	}
}

// jsonString is s as a JSON string literal; invalid UTF-8 bytes are
// written raw (a client can send them, json.Marshal would not).
func jsonString(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == 0:
			b.WriteString(`\u0000`)
		case c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// loginRequest is a POST /login from a browser that opened spa's login
// page, with the given credentials.
func loginRequest(t *testing.T, e *latchtest.Env, username, pw string) *http.Request {
	t.Helper()
	b := e.Browser()
	p := b.Get(authorizeURL(e, authParams("spa", latchtest.SPARedirect, rand43())))
	if !latchtest.IsLoginPage(p) {
		t.Fatalf("setup: no login page: %d", p.Status)
	}
	r := newRequest(t, http.MethodPost, e.Issuer+"/login", "application/x-www-form-urlencoded",
		url.Values{"interaction": {latchtest.Hidden(t, p.Body)}, "username": {username}, "password": {pw}})
	u, _ := url.Parse(e.Issuer)
	for _, c := range b.Client.Jar.Cookies(u) {
		r.AddCookie(c)
	}
	return r
}

// newRequest builds a request with an optional form body.
func newRequest(t *testing.T, method, u, ctype string, form url.Values) *http.Request {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	return r
}

// adminEnv is the admin listener of a test server, on an instrumented
// store with its own metrics.
type adminEnv struct {
	url string
	reg *prometheus.Registry
}

const testAdminToken = "security-test-admin-token-0123456789"

func startAdmin(t *testing.T, e *latchtest.Env) *adminEnv {
	t.Helper()
	reg := prometheus.NewRegistry()
	m, err := server.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	hasher, err := password.NewHasher(password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, err := admin.New(admin.Options{Store: storemetrics.Instrument(e.Store, m), Keys: e.Latch.Keys(), Passwords: hasher,
		Token: testAdminToken, Now: e.Clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(a)
	t.Cleanup(ts.Close)
	return &adminEnv{url: ts.URL, reg: reg}
}

func (a *adminEnv) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, a.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testAdminToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (a *adminEnv) storeErrors() float64 { return storeErrorsIn(a.reg) }

package security

import (
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/postgres"
	"github.com/latchauth/latch/internal/store/postgres/pgtest"
)

// Registered redirect URIs of the "app" client that the redirect attacks
// aim at (a confidential web app, consent required).
const (
	appRedirect = "https://app.example/cb"
	appLogout   = "https://app.example/bye"
)

// start runs Latch with the seeded clients of latchtest plus "app"
// (confidential, https redirect, post-logout URI, a resource server: the
// tests introspect with it) and "api-client" (public, allowed to ask for
// two resource audiences).
//
// Brute-force thresholds are raised far out of reach (every request comes
// from 127.0.0.1), so that each attack here meets the defence it is
// about, not a lockout; bruteforce_test.go uses startDefaults.
func start(t testing.TB, mutate ...func(*config.Config)) *latchtest.Env {
	t.Helper()
	loose := func(c *config.Config) {
		c.LoginMaxFailures, c.IPMaxFailures, c.ClientMaxFailures = 1<<20, 1<<20, 1<<20
	}
	return startDefaults(t, append([]func(*config.Config){loose}, mutate...)...)
}

// startDefaults is start with Latch's default configuration. The
// operational log is kept (Env.OperationalLog), to look for leaks and
// panics.
func startDefaults(t testing.TB, mutate ...func(*config.Config)) *latchtest.Env {
	t.Helper()
	return startOn(t, nil, mutate...)
}

// startBackend is start on the given backend (see backends).
func startBackend(t testing.TB, b backend, mutate ...func(*config.Config)) *latchtest.Env {
	t.Helper()
	loose := func(c *config.Config) {
		c.LoginMaxFailures, c.IPMaxFailures, c.ClientMaxFailures = 1<<20, 1<<20, 1<<20
	}
	var st store.Store
	if b.open != nil {
		st = b.open(t)
	}
	return startOn(t, st, append([]func(*config.Config){loose}, mutate...)...)
}

// backend is a store the malformed-input tests run Latch on.
type backend struct {
	name string
	open func(t testing.TB) store.Store // nil: latchtest's SQLite
}

// backends are SQLite and PostgreSQL. PostgreSQL runs on a scratch
// database (pgtest.NewTestDB): skipped with a reason when no server is
// reachable, except under CI=true, where that fails.
var backends = []backend{
	{"sqlite", nil},
	{"postgres", func(t testing.TB) store.Store {
		t.Helper()
		st, err := postgres.Open(t.Context(), pgtest.NewTestDB(t), postgres.Options{})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() { st.Close() })
		return st
	}},
}

// startOn is startDefaults over st (nil: a fresh SQLite database).
func startOn(t testing.TB, st store.Store, mutate ...func(*config.Config)) *latchtest.Env {
	t.Helper()
	e := latchtest.StartWith(t, latchtest.Options{Config: mutate, CaptureLog: true, Store: st})
	e.MustClient(store.Client{
		ID: "app", Name: "App", RedirectURIs: []string{appRedirect},
		PostLogoutRedirectURIs: []string{appLogout},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
		ResourceServer:         true,
	})
	e.MustClient(store.Client{
		ID: "api-client", Public: true, FirstParty: true, RedirectURIs: []string{apiClientRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"},
		Audiences:  []string{ordersAPI, billingAPI},
	})
	return e
}

// Resource servers ("audiences") of api-client.
const (
	ordersAPI         = "https://orders.example"
	billingAPI        = "https://billing.example"
	apiClientRedirect = "https://api-client.example/cb"
)

// authParams is a valid authorization request of client to redirect with
// an S256 challenge of verifier; tests then corrupt one parameter.
func authParams(client, redirect, verifier string) url.Values {
	return url.Values{
		"client_id": {client}, "redirect_uri": {redirect}, "response_type": {"code"},
		"scope": {"openid"}, "state": {"st-123"},
		"code_challenge": {oauth2.S256ChallengeFromVerifier(verifier)}, "code_challenge_method": {"S256"},
	}
}

func authorizeURL(e *latchtest.Env, q url.Values) string {
	return e.Issuer + "/authorize?" + q.Encode()
}

// requireErrorPage asserts that p is Latch's own HTML error page: a 4xx,
// HTML, no Location header (RFC 6749 §4.1.2.1: never redirect to an
// unvalidated URI) and no code anywhere.
func requireErrorPage(t *testing.T, p latchtest.Page) {
	t.Helper()
	if loc := p.Header.Get("Location"); loc != "" {
		t.Fatalf("status %d redirects to %q; want Latch's error page and no redirect", p.Status, loc)
	}
	if p.Status < 400 || p.Status >= 500 {
		t.Fatalf("status %d, want a 4xx error page:\n%s", p.Status, p.Body)
	}
	if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") || !strings.Contains(p.Body, `class="error-title"`) {
		t.Fatalf("not Latch's HTML error page (Content-Type %q):\n%s", p.Header.Get("Content-Type"), p.Body)
	}
	if strings.Contains(p.Body, `name="code"`) || strings.Contains(p.Body, "code=") {
		t.Fatalf("error page carries a code:\n%s", p.Body)
	}
}

// requireTokenError asserts an RFC 6749 §5.2 error with status and code.
func requireTokenError(t *testing.T, resp *http.Response, body map[string]any, status int, code string) {
	t.Helper()
	if resp.StatusCode != status || body["error"] != code {
		t.Fatalf("status %d body %v, want %d %s", resp.StatusCode, body, status, code)
	}
	if body["access_token"] != nil || body["refresh_token"] != nil || body["id_token"] != nil {
		t.Fatalf("an error response carries tokens: %v", body)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
		t.Errorf("Cache-Control = %q, want no-store", cc)
	}
}

// exchangeForm is a raw authorization_code token request.
func exchangeForm(client, code, redirect, verifier string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "client_id": {client}, "code": {code}}
	if redirect != "" {
		f.Set("redirect_uri", redirect)
	}
	if verifier != "" {
		f.Set("code_verifier", verifier)
	}
	return f
}

// withSecret authenticates a confidential client with client_secret_basic.
func withSecret(e *latchtest.Env, client string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(client), url.QueryEscape(e.Secrets[client])) }
}

// jwks fetches Latch's published keys.
func jwks(t *testing.T, e *latchtest.Env) jose.JSONWebKeySet {
	t.Helper()
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/jwks.json", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &set); err != nil || len(set.Keys) == 0 {
		t.Fatalf("JWKS: %v (%s)", err, b)
	}
	return set
}

// get performs a bare GET (no cookies, no redirects followed).
func get(t *testing.T, u string, header http.Header) latchtest.Page {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) latchtest.Page {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return latchtest.Page{Status: resp.StatusCode, Header: resp.Header, Body: string(b), URL: req.URL}
}

// cookie returns the value the response sets for name ("" if none).
func cookie(p latchtest.Page, name string) (string, bool) {
	for _, c := range (&http.Response{Header: p.Header}).Cookies() {
		if c.Name == name {
			return c.Value, true
		}
	}
	return "", false
}

// requireErrorRedirect asserts that p sends an error back to the
// registered redirect URI (the client and redirect URI were validated)
// with error=code, the request's state and Latch's iss — and no code.
func requireErrorRedirect(t *testing.T, e *latchtest.Env, p latchtest.Page, redirect, code string) url.Values {
	t.Helper()
	loc := p.Header.Get("Location")
	if (p.Status != http.StatusFound && p.Status != http.StatusSeeOther) || !strings.HasPrefix(loc, redirect+"?") {
		t.Fatalf("status %d Location %q, want an error redirect to %s:\n%s", p.Status, loc, redirect, p.Body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if q.Get("error") != code || q.Has("code") || q.Get("iss") != e.Issuer {
		t.Fatalf("callback %v, want error=%s, iss=%s and no code", q, code, e.Issuer)
	}
	return q
}

// requireCodeRedirect asserts that p sends a code to redirect.
func requireCodeRedirect(t *testing.T, p latchtest.Page, redirect string) url.Values {
	t.Helper()
	loc := p.Header.Get("Location")
	if (p.Status != http.StatusFound && p.Status != http.StatusSeeOther) || !strings.HasPrefix(loc, redirect+"?") {
		t.Fatalf("status %d Location %q, want a code sent to %s:\n%s", p.Status, loc, redirect, p.Body)
	}
	u, _ := url.Parse(loc)
	if u.Query().Get("code") == "" {
		t.Fatalf("no code in %s", loc)
	}
	return u.Query()
}

// signIn loads u in b, signing in (and consenting) when asked, and
// returns the page that answers the authorization request.
func signIn(b *latchtest.Browser, u string) latchtest.Page {
	p := b.Get(u)
	if latchtest.IsLoginPage(p) {
		p = b.Login(p, "alice", latchtest.AlicePassword)
	}
	if latchtest.IsConsentPage(p) {
		p = b.Consent(p, "allow")
	}
	return p
}

// getJSON decodes the JSON document at u into v.
func getJSON(t *testing.T, u string, v any) {
	t.Helper()
	p := get(t, u, nil)
	if p.Status != http.StatusOK {
		t.Fatalf("GET %s: %d", u, p.Status)
	}
	if err := json.Unmarshal([]byte(p.Body), v); err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
}

// hostedPages renders every kind of HTML page Latch serves, each as a
// browser reaches it.
func hostedPages(t *testing.T, e *latchtest.Env) map[string]latchtest.Page {
	t.Helper()
	v := oauth2.GenerateVerifier()
	pages := map[string]latchtest.Page{}

	b := e.Browser()
	login := b.Get(authorizeURL(e, authParams("app", appRedirect, v)))
	pages["login"] = login
	pages["login failed"] = b.Login(login, "alice", "wrong password")
	pages["consent"] = b.Login(pages["login failed"], "alice", latchtest.AlicePassword) // forms are single-use
	if !latchtest.IsLoginPage(login) || !latchtest.IsConsentPage(pages["consent"]) {
		t.Fatalf("setup: login %d, consent %d", login.Status, pages["consent"].Status)
	}
	pages["account"] = b.Get(e.Issuer + "/account")
	pages["account sign-in"] = e.Browser().Get(e.Issuer + "/account")
	q := authParams("spa", latchtest.SPARedirect, v)
	q.Set("response_mode", "form_post")
	pages["form_post (with code)"] = b.Get(authorizeURL(e, q))
	logout := b.Get(e.Issuer + "/logout")
	pages["logout confirmation"] = logout
	pages["logged out"] = b.Post(formAction(t, logout.Body), url.Values{"interaction": {latchtest.Hidden(t, logout.Body)}, "decision": {"logout"}})
	// The device verification page (RFC 8628 §3.3), each step.
	e.DeviceClient()
	da := e.StartDevice("tv", "openid")
	db := e.Browser()
	pages["device sign-in"] = db.Get(da["verification_uri_complete"].(string))
	pages["device code form"] = db.Login(pages["device sign-in"], "alice", latchtest.AlicePassword)
	pages["device wrong code"] = db.EnterUserCode(pages["device code form"], "BBBB-BBBB")
	pages["device confirmation"] = db.EnterUserCode(pages["device wrong code"], da["user_code"].(string))
	pages["device connected"] = db.DecideDevice(pages["device confirmation"], "allow")
	pages["error (unknown client)"] = b.Get(authorizeURL(e, authParams("nobody", appRedirect, v)))
	pages["not found"] = b.Get(e.Issuer + "/nothing-here")
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/login", strings.NewReader("interaction=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	pages["cross-origin refusal"] = do(t, req)
	for name, p := range pages {
		if !strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") {
			t.Fatalf("setup: page %q is not HTML: %d %q", name, p.Status, p.Header.Get("Content-Type"))
		}
	}
	return pages
}

var formActionRE = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)

// formAction is the action URL of the first form on a page.
func formAction(t *testing.T, body string) string {
	t.Helper()
	m := formActionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no form on the page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

// oauthOffline asks for offline_access (a refresh token for a
// confidential client).
var oauthOffline = oauth2.SetAuthURLParam("scope", "openid offline_access")

// rand43 is a fresh 43-character random string (a PKCE verifier, a jti).
func rand43() string { return oauth2.GenerateVerifier() }

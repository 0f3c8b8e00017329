package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/token"
)

// clock is a settable clock shared by the server under test.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running Latch on a real SQLite store behind httptest.
type env struct {
	t      *testing.T
	issuer string
	ts     *httptest.Server
	st     store.Store
	clock  *clock
	audit  *bytes.Buffer
	auditM *sync.Mutex
	// secrets of confidential clients, by id
	secrets map[string]string
}

const (
	alicePassword = "correct horse battery staple"
	spaOrigin     = "http://spa.test:3000"
	spaRedirect   = "http://spa.test:3000/callback"
	webRedirect   = "https://web.test/callback"
	testSecret    = "0123456789abcdef0123456789abcdef-test-only"
)

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// newEnv starts Latch with a user "alice" and three clients: "spa"
// (public, first-party, refresh tokens), "web" (confidential, consent
// required) and "native" (public, loopback redirect).
func newEnv(t *testing.T, mutate ...func(*config.Config)) *env {
	t.Helper()
	ctx := t.Context()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latch.db"))
	if err != nil {
		t.Fatalf("sqlite.Open: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	issuer := "http://" + ts.Listener.Addr().String()
	cfg := config.Default()
	cfg.Issuer = issuer
	cfg.KeyEncryptionSecret = testSecret
	cfg.PasswordMemoryKiB, cfg.PasswordIterations = 64, 1
	cfg.SigningAlg = token.ES256
	for _, m := range mutate {
		m(&cfg)
	}
	clk := &clock{t: time.Now().Truncate(time.Second)}
	e := &env{t: t, issuer: issuer, ts: ts, st: st, clock: clk, audit: &bytes.Buffer{}, auditM: &sync.Mutex{}, secrets: map[string]string{}}
	audit := slog.New(slog.NewJSONHandler(lockedWriter{e.auditM, e.audit}, nil))
	srv, err := server.Assemble(ctx, cfg, st, slog.New(slog.DiscardHandler), audit, clk.Now, nil)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)

	hash, err := password.Hash(alicePassword, password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.mustUser(store.User{ID: "user-alice", Username: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Liddell", PasswordHash: hash})
	e.mustClient(store.Client{
		ID: "spa", Public: true, Name: "Demo SPA", FirstParty: true,
		RedirectURIs: []string{spaRedirect}, AllowedOrigins: []string{spaOrigin},
		PostLogoutRedirectURIs: []string{"http://spa.test:3000/"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
	})
	e.mustClient(store.Client{
		ID: "web", Name: "Web App", RedirectURIs: []string{webRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"},
	})
	e.mustClient(store.Client{
		ID: "native", Public: true, FirstParty: true, RedirectURIs: []string{"http://127.0.0.1/callback"},
		GrantTypes: []string{"authorization_code"},
	})
	return e
}

func (e *env) mustUser(u store.User) {
	e.t.Helper()
	if err := e.st.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
}

// mustClient registers c; a confidential client gets a fresh secret,
// remembered in e.secrets.
func (e *env) mustClient(c store.Client) {
	e.t.Helper()
	if !c.Public {
		secret := token.NewOpaque()
		c.SecretHash = token.Hash(secret)
		e.secrets[c.ID] = secret
	}
	c.CreatedAt = e.clock.Now()
	if err := e.st.CreateClient(e.t.Context(), c); err != nil {
		e.t.Fatalf("CreateClient: %v", err)
	}
}

func (e *env) auditLog() string {
	e.auditM.Lock()
	defer e.auditM.Unlock()
	return e.audit.String()
}

// oauthConfig is an x/oauth2 config for a registered client.
func (e *env) oauthConfig(clientID, redirect string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: e.secrets[clientID], RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.issuer + "/authorize", TokenURL: e.issuer + "/token"},
	}
}

func (e *env) provider() *oidc.Provider {
	e.t.Helper()
	p, err := oidc.NewProvider(e.t.Context(), e.issuer)
	if err != nil {
		e.t.Fatalf("oidc.NewProvider: %v", err)
	}
	return p
}

// browser is a user agent with a cookie jar that stops at redirects
// leaving Latch, so the test sees what the client's callback would get.
type browser struct {
	t      *testing.T
	e      *env
	client *http.Client
}

func (e *env) browser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{t: e.t, e: e}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), e.issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

type page struct {
	status int
	header http.Header
	body   string
	url    *url.URL // final URL requested
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body), url: resp.Request.URL}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	interactionRE = regexp.MustCompile(`name="interaction" value="([^"]*)"`)
	formActionRE  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
)

func hidden(t *testing.T, body string) string {
	t.Helper()
	m := interactionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no interaction field in page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

func isLoginPage(p page) bool {
	return p.status < 500 && strings.Contains(p.body, `name="password"`)
}

func isConsentPage(p page) bool {
	return strings.Contains(p.body, `name="decision" value="allow"`)
}

// login submits the login form on p.
func (b *browser) login(p page, username, pw string) page {
	b.t.Helper()
	if !isLoginPage(p) {
		b.t.Fatalf("expected the login page, got %d:\n%s", p.status, p.body)
	}
	return b.post(b.e.issuer+"/login", url.Values{"interaction": {hidden(b.t, p.body)}, "username": {username}, "password": {pw}})
}

func (b *browser) consent(p page, decision string) page {
	b.t.Helper()
	if !isConsentPage(p) {
		b.t.Fatalf("expected the consent page, got %d:\n%s", p.status, p.body)
	}
	return b.post(b.e.issuer+"/consent", url.Values{"interaction": {hidden(b.t, p.body)}, "decision": {decision}})
}

// callback returns the query of a redirect to the client.
func callback(t *testing.T, p page) url.Values {
	t.Helper()
	if p.status != http.StatusFound && p.status != http.StatusSeeOther {
		t.Fatalf("expected a redirect to the client, got %d:\n%s", p.status, p.body)
	}
	loc, err := url.Parse(p.header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// signIn runs the browser through authorize → login (→ consent allow) and
// returns the callback parameters.
func (b *browser) signIn(authURL string) url.Values {
	b.t.Helper()
	p := b.get(authURL)
	if isLoginPage(p) {
		p = b.login(p, "alice", alicePassword)
	}
	if isConsentPage(p) {
		p = b.consent(p, "allow")
	}
	return callback(b.t, p)
}

// tokenPost posts a raw form to the token endpoint (or another API path).
func (e *env) postForm(path string, form url.Values, mutate ...func(*http.Request)) (*http.Response, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mutate {
		m(req)
	}
	return e.doJSON(req)
}

func (e *env) doJSON(req *http.Request) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(body) > 0 {
		if err := json.Unmarshal(body, &m); err != nil {
			e.t.Fatalf("%s %s: response is not JSON (%d): %q", req.Method, req.URL, resp.StatusCode, body)
		}
	}
	return resp, m
}

// codeFlow runs a complete PKCE flow for the spa client and returns the
// token.
func (e *env) codeFlow(b *browser, scopes ...string) (*oauth2.Token, *oauth2.Config) {
	e.t.Helper()
	conf := e.oauthConfig("spa", spaRedirect, scopes...)
	verifier := oauth2.GenerateVerifier()
	q := b.signIn(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(e.t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("Exchange: %v", err)
	}
	return tok, conf
}

func oauthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func ctxWithClient(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, http.DefaultClient)
}

// Package latchtest starts a complete Latch (real SQLite store, real
// keys, real HTTP) on httptest for tests in any package, with a seeded
// user and clients, a settable clock, an audit-log buffer and a browser
// that follows the login and consent forms.
package latchtest

import (
	"bytes"
	"context"
	"encoding/base64"
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
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/app"
	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/store/storemetrics"
	"github.com/latchauth/latch/internal/token"
)

// clock is a settable clock shared by the server under test.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// env is a running Latch on a real SQLite store behind httptest.
type Env struct {
	t      testing.TB
	Issuer string
	Server *httptest.Server
	Store  store.Store
	Clock  *Clock
	// Latch is the server under test; Registry holds its metrics (a
	// private registry, scraped with Env.Metrics).
	Latch    *server.Server
	Registry *prometheus.Registry
	// Config is the configuration the server under test runs with.
	Config config.Config
	audit  *bytes.Buffer
	auditM *sync.Mutex
	oplog  *bytes.Buffer // operational log (access log, errors), JSON at debug level
	// Secrets of confidential clients, by id.
	Secrets map[string]string
	// Passwords is the server's password hasher (it counts its checks).
	Passwords *password.Hasher
}

const (
	AlicePassword = "correct horse battery staple"
	SPAOrigin     = "http://spa.test:3000"
	SPARedirect   = "http://spa.test:3000/callback"
	WebRedirect   = "https://web.test/callback"
	TestSecret    = "0123456789abcdef0123456789abcdef-test-only"
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

// Start starts Latch with a user "alice" and three clients: "spa"
// (public, first-party, refresh tokens), "web" (confidential, consent
// required) and "native" (public, loopback redirect). Each mutate adjusts
// the configuration first.
func Start(t testing.TB, mutate ...func(*config.Config)) *Env {
	t.Helper()
	return StartWith(t, Options{Config: mutate})
}

// Options are StartWith's settings.
type Options struct {
	// Config adjusts the configuration before the server is built.
	Config []func(*config.Config)
	// Localhost makes the issuer http://localhost:PORT instead of
	// http://127.0.0.1:PORT, so passkeys are on (a WebAuthn RP ID is a
	// domain name; see Authenticator).
	Localhost bool
	// CaptureLog keeps the operational log (access log lines, errors;
	// JSON, debug level and up) for Env.OperationalLog even in a
	// benchmark. Tests always capture it; benchmarks (a *testing.B)
	// discard it unless CaptureLog is set, so b.N requests do not grow a
	// buffer.
	CaptureLog bool
	// Store is the store the server runs on (the caller closes it); nil:
	// a fresh SQLite database in t.TempDir(). Tests pass a PostgreSQL
	// store (pgtest.NewTestDB) to run the same requests on both
	// backends.
	Store store.Store
	// Seeded: Store already holds the user and clients Start seeds (it
	// is another instance's): they are not created again. With Store,
	// this starts a second instance on one database.
	Seeded bool
	// Server adjusts the server's options just before it is built (after
	// the configuration is applied), e.g. its back-channel transport.
	Server []func(*server.Options)
}

// StartWith is Start with options.
func StartWith(t testing.TB, o Options) *Env {
	t.Helper()
	mutate := o.Config
	ctx := t.Context()
	st := o.Store
	if st == nil {
		sq, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "latch.db"))
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
		}
		t.Cleanup(func() { sq.Close() })
		st = sq
	}
	ts := httptest.NewUnstartedServer(http.NotFoundHandler())
	issuer := "http://" + ts.Listener.Addr().String()
	if o.Localhost {
		issuer = strings.Replace(issuer, "127.0.0.1", "localhost", 1)
	}
	cfg := config.Default()
	cfg.Issuer = issuer
	cfg.KeyEncryptionSecret = TestSecret
	cfg.PasswordMemoryKiB, cfg.PasswordIterations = 64, 1
	cfg.SigningAlg = token.ES256
	for _, m := range mutate {
		m(&cfg)
	}
	clk := &Clock{t: time.Now().Truncate(time.Second)}
	e := &Env{t: t, Issuer: issuer, Server: ts, Store: st, Clock: clk, audit: &bytes.Buffer{}, auditM: &sync.Mutex{}, oplog: &bytes.Buffer{}, Secrets: map[string]string{}}
	audit := slog.New(slog.NewJSONHandler(lockedWriter{e.auditM, e.audit}, nil))
	oplog := slog.New(slog.DiscardHandler)
	if _, bench := t.(*testing.B); o.CaptureLog || !bench {
		oplog = slog.New(slog.NewJSONHandler(lockedWriter{e.auditM, e.oplog}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	} else {
		e.oplog = nil
	}
	e.Registry = prometheus.NewRegistry()
	metrics, err := server.NewMetrics(e.Registry)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	srv, err := app.Assemble(ctx, cfg, storemetrics.Instrument(st, metrics), oplog, audit, clk.Now, nil,
		append([]func(*server.Options){func(o *server.Options) { o.Metrics = metrics; e.Passwords = o.Passwords }}, o.Server...)...)
	if err != nil {
		t.Fatalf("Assemble: %v", err)
	}
	e.Latch = srv
	// Writes through e.Store are seen by this server at once, as the
	// admin API's are (its cache is dropped); another instance sees them
	// within its cache's bound.
	e.Store = srv.Store()
	e.Config = cfg
	ts.Config.Handler = srv
	ts.Start()
	t.Cleanup(ts.Close)
	if o.Seeded {
		return e
	}

	hash, err := password.Hash(AlicePassword, password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
	if err != nil {
		t.Fatal(err)
	}
	e.MustUser(store.User{ID: "user-alice", Username: "alice", Email: "alice@example.com", EmailVerified: true, Name: "Alice Liddell", PasswordHash: hash})
	e.MustClient(store.Client{
		ID: "spa", Public: true, Name: "Demo SPA", FirstParty: true,
		RedirectURIs: []string{SPARedirect}, AllowedOrigins: []string{SPAOrigin},
		PostLogoutRedirectURIs: []string{"http://spa.test:3000/"},
		GrantTypes:             []string{"authorization_code", "refresh_token"},
	})
	e.MustClient(store.Client{
		ID: "web", Name: "Web App", RedirectURIs: []string{WebRedirect},
		GrantTypes: []string{"authorization_code", "refresh_token"},
		// The tests' resource server: it introspects other clients' tokens.
		ResourceServer: true,
	})
	e.MustClient(store.Client{
		ID: "native", Public: true, FirstParty: true, RedirectURIs: []string{"http://127.0.0.1/callback"},
		GrantTypes: []string{"authorization_code"},
	})
	return e
}

// NewKeys returns a second signing-key manager over the server's store,
// built as `latch keys` builds one: a rotation made with it is a rotation
// by another process, which the server picks up within
// Config.KeyRefreshInterval (advance Clock past it).
func (e *Env) NewKeys() *token.Keys {
	e.t.Helper()
	k, err := app.NewKeys(e.Config, e.Store, e.Clock.Now, nil)
	if err != nil {
		e.t.Fatalf("NewKeys: %v", err)
	}
	if err := k.Load(e.t.Context()); err != nil {
		e.t.Fatalf("loading keys: %v", err)
	}
	return k
}

func (e *Env) MustUser(u store.User) {
	e.t.Helper()
	if err := e.Store.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatalf("CreateUser: %v", err)
	}
}

// mustClient registers c; a confidential client gets a fresh secret,
// remembered in e.Secrets (a private_key_jwt client none).
func (e *Env) MustClient(c store.Client) {
	e.t.Helper()
	if !c.Public && c.AuthMethod == "" {
		secret := token.NewOpaque()
		c.SecretHash = token.Hash(secret)
		e.Secrets[c.ID] = secret
	}
	c.CreatedAt = e.Clock.Now()
	if err := e.Store.CreateClient(e.t.Context(), c); err != nil {
		e.t.Fatalf("CreateClient: %v", err)
	}
}

func (e *Env) AuditLog() string {
	e.auditM.Lock()
	defer e.auditM.Unlock()
	return e.audit.String()
}

// OperationalLog is everything the server logged besides audit events
// (one JSON object per line, debug level and up): access log lines,
// errors. In a benchmark, only with Options.CaptureLog.
func (e *Env) OperationalLog() string {
	e.t.Helper()
	if e.oplog == nil {
		e.t.Fatal("OperationalLog: a benchmark must start the server with latchtest.StartWith(b, latchtest.Options{CaptureLog: true})")
	}
	e.auditM.Lock()
	defer e.auditM.Unlock()
	return e.oplog.String()
}

// Metrics gathers the server's metrics, by metric name.
func (e *Env) Metrics() map[string]*dto.MetricFamily {
	e.t.Helper()
	mfs, err := e.Registry.Gather()
	if err != nil {
		e.t.Fatalf("gathering metrics: %v", err)
	}
	out := make(map[string]*dto.MetricFamily, len(mfs))
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// MetricValue is the value of the counter or gauge name (for a histogram,
// its sample count) whose labels include every pair in labels (k1, v1, k2,
// v2, ...), summed over the matching series; 0 when there is none.
func (e *Env) MetricValue(name string, labels ...string) float64 {
	e.t.Helper()
	mf := e.Metrics()[name]
	if mf == nil {
		return 0
	}
	sum := 0.0
series:
	for _, m := range mf.GetMetric() {
		for i := 0; i+1 < len(labels); i += 2 {
			found := false
			for _, lp := range m.GetLabel() {
				if lp.GetName() == labels[i] && lp.GetValue() == labels[i+1] {
					found = true
				}
			}
			if !found {
				continue series
			}
		}
		switch {
		case m.Counter != nil:
			sum += m.GetCounter().GetValue()
		case m.Gauge != nil:
			sum += m.GetGauge().GetValue()
		case m.Histogram != nil:
			sum += float64(m.GetHistogram().GetSampleCount())
		}
	}
	return sum
}

// oauthConfig is an x/oauth2 config for a registered client.
func (e *Env) OAuthConfig(clientID, redirect string, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: e.Secrets[clientID], RedirectURL: redirect, Scopes: scopes,
		Endpoint: oauth2.Endpoint{AuthURL: e.Issuer + "/authorize", TokenURL: e.Issuer + "/token"},
	}
}

func (e *Env) Provider() *oidc.Provider {
	e.t.Helper()
	p, err := oidc.NewProvider(e.t.Context(), e.Issuer)
	if err != nil {
		e.t.Fatalf("oidc.NewProvider: %v", err)
	}
	return p
}

// browser is a user agent with a cookie jar that stops at redirects
// leaving Latch, so the test sees what the client's callback would get.
type Browser struct {
	t      testing.TB
	e      *Env
	Client *http.Client
}

func (e *Env) Browser() *Browser {
	jar, _ := cookiejar.New(nil)
	b := &Browser{t: e.t, e: e}
	b.Client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if !strings.HasPrefix(req.URL.String(), e.Issuer) {
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return b
}

type Page struct {
	Status int
	Header http.Header
	Body   string
	URL    *url.URL // final URL requested
}

func (b *Browser) Do(req *http.Request) Page {
	b.t.Helper()
	resp, err := b.Client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return Page{Status: resp.StatusCode, Header: resp.Header, Body: string(body), URL: resp.Request.URL}
}

func (b *Browser) Get(u string) Page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodGet, u, nil)
	if err != nil {
		b.t.Fatal(err)
	}
	return b.Do(req)
}

func (b *Browser) Post(u string, form url.Values) Page {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		b.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.Do(req)
}

var (
	interactionRE = regexp.MustCompile(`name="interaction" value="([^"]*)"`)
	formActionRE  = regexp.MustCompile(`<form[^>]*action="([^"]*)"`)
)

func Hidden(t testing.TB, body string) string {
	t.Helper()
	m := interactionRE.FindStringSubmatch(body)
	if m == nil {
		t.Fatalf("no interaction field in page:\n%s", body)
	}
	return html.UnescapeString(m[1])
}

func IsLoginPage(p Page) bool {
	return p.Status < 500 && strings.Contains(p.Body, `name="password"`)
}

func IsConsentPage(p Page) bool {
	return strings.Contains(p.Body, `name="decision" value="allow"`)
}

// login submits the login form on p.
func (b *Browser) Login(p Page, username, pw string) Page {
	b.t.Helper()
	if !IsLoginPage(p) {
		b.t.Fatalf("expected the login page, got %d:\n%s", p.Status, p.Body)
	}
	return b.Post(b.e.Issuer+"/login", url.Values{"interaction": {Hidden(b.t, p.Body)}, "username": {username}, "password": {pw}})
}

func (b *Browser) Consent(p Page, decision string) Page {
	b.t.Helper()
	if !IsConsentPage(p) {
		b.t.Fatalf("expected the consent page, got %d:\n%s", p.Status, p.Body)
	}
	return b.Post(b.e.Issuer+"/consent", url.Values{"interaction": {Hidden(b.t, p.Body)}, "decision": {decision}})
}

// callback returns the query of a redirect to the client.
func Callback(t testing.TB, p Page) url.Values {
	t.Helper()
	if p.Status != http.StatusFound && p.Status != http.StatusSeeOther {
		t.Fatalf("expected a redirect to the client, got %d:\n%s", p.Status, p.Body)
	}
	loc, err := url.Parse(p.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return loc.Query()
}

// signIn runs the browser through authorize → login (→ consent allow) and
// returns the callback parameters.
func (b *Browser) SignIn(authURL string) url.Values {
	b.t.Helper()
	p := b.Get(authURL)
	if IsLoginPage(p) {
		p = b.Login(p, "alice", AlicePassword)
	}
	if IsConsentPage(p) {
		p = b.Consent(p, "allow")
	}
	return Callback(b.t, p)
}

// tokenPost posts a raw form to the token endpoint (or another API path).
func (e *Env) PostForm(path string, form url.Values, mutate ...func(*http.Request)) (*http.Response, map[string]any) {
	e.t.Helper()
	req, err := http.NewRequestWithContext(e.t.Context(), http.MethodPost, e.Issuer+path, strings.NewReader(form.Encode()))
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for _, m := range mutate {
		m(req)
	}
	return e.DoJSON(req)
}

func (e *Env) DoJSON(req *http.Request) (*http.Response, map[string]any) {
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
func (e *Env) CodeFlow(b *Browser, scopes ...string) (*oauth2.Token, *oauth2.Config) {
	e.t.Helper()
	conf := e.OAuthConfig("spa", SPARedirect, scopes...)
	verifier := oauth2.GenerateVerifier()
	q := b.SignIn(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	tok, err := conf.Exchange(e.t.Context(), q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		e.t.Fatalf("Exchange: %v", err)
	}
	return tok, conf
}

func OAuthErrorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func ClientContext(ctx context.Context) context.Context {
	return oidc.ClientContext(ctx, http.DefaultClient)
}

// DecodeJWT returns the decoded header and claims of a compact JWS
// without verifying it.
func DecodeJWT(t testing.TB, raw string) (header, claims map[string]any) {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWS compact token: %q", raw)
	}
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatal(err)
		}
	}
	return header, claims
}

// Issued is a code obtained by a signed-in browser, before exchange.
type Issued struct {
	Code, Verifier string
	Conf           *oauth2.Config
}

// IssueCode signs the browser in (if needed) and returns a fresh code.
func (e *Env) IssueCode(b *Browser, clientID, redirect string, opts ...oauth2.AuthCodeOption) Issued {
	e.t.Helper()
	conf := e.OAuthConfig(clientID, redirect, "openid")
	v := oauth2.GenerateVerifier()
	q := b.SignIn(conf.AuthCodeURL("s", append([]oauth2.AuthCodeOption{oauth2.S256ChallengeOption(v)}, opts...)...))
	if q.Get("code") == "" {
		e.t.Fatalf("no code: %v", q)
	}
	return Issued{Code: q.Get("code"), Verifier: v, Conf: conf}
}

// UserinfoStatus calls userinfo with the access token and returns the status.
func (e *Env) UserinfoStatus(accessToken string) int {
	e.t.Helper()
	req, _ := http.NewRequestWithContext(e.t.Context(), http.MethodGet, e.Issuer+"/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+accessToken)
	resp, _ := e.DoJSON(req)
	return resp.StatusCode
}

// DeviceClient registers "tv": a public client for the device
// authorization grant (RFC 8628) with rotating refresh tokens.
func (e *Env) DeviceClient() {
	e.MustClient(store.Client{
		ID: "tv", Public: true, Name: "Living Room TV",
		GrantTypes: []string{"urn:ietf:params:oauth:grant-type:device_code", "refresh_token"},
	})
}

// StartDevice starts a device authorization for clientID (a public
// client) with scope, and returns the response's fields.
func (e *Env) StartDevice(clientID, scope string) map[string]any {
	e.t.Helper()
	resp, body := e.PostForm("/device_authorization", url.Values{"client_id": {clientID}, "scope": {scope}})
	if resp.StatusCode != http.StatusOK {
		e.t.Fatalf("device authorization: %d %v", resp.StatusCode, body)
	}
	return body
}

// userCodeFormRE matches the code input of the device page.
var userCodeFormRE = regexp.MustCompile(`name="user_code"`)

// IsDeviceEnterPage reports whether p is the device page's code form.
func IsDeviceEnterPage(p Page) bool { return userCodeFormRE.MatchString(p.Body) }

// EnterUserCode submits code on the device page's code form p.
func (b *Browser) EnterUserCode(p Page, code string) Page {
	b.t.Helper()
	if !IsDeviceEnterPage(p) {
		b.t.Fatalf("expected the device code form, got %d:\n%s", p.Status, p.Body)
	}
	return b.Post(b.e.Issuer+"/device", url.Values{"interaction": {Hidden(b.t, p.Body)}, "user_code": {code}})
}

// DecideDevice answers the device page's confirmation p with decision
// ("allow" or "deny").
func (b *Browser) DecideDevice(p Page, decision string) Page {
	b.t.Helper()
	if !IsConsentPage(p) {
		b.t.Fatalf("expected the device confirmation, got %d:\n%s", p.Status, p.Body)
	}
	return b.Post(b.e.Issuer+"/device", url.Values{"interaction": {Hidden(b.t, p.Body)}, "decision": {decision}})
}

// ApproveDevice opens verificationURIComplete as alice would (signing in
// when asked), confirms the prefilled code and answers decision; it
// returns the final page.
func (b *Browser) ApproveDevice(verificationURIComplete, decision string) Page {
	b.t.Helper()
	p := b.Get(verificationURIComplete)
	if IsLoginPage(p) {
		p = b.Login(p, "alice", AlicePassword)
	}
	u, err := url.Parse(verificationURIComplete)
	if err != nil {
		b.t.Fatal(err)
	}
	p = b.EnterUserCode(p, u.Query().Get("user_code"))
	return b.DecideDevice(p, decision)
}

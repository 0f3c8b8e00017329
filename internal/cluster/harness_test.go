package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
)

// The harness: a built latch binary, a deployment (one database and the
// settings every process on it shares), instances (running `latch serve`
// processes) and a user agent that speaks to any of them.

const (
	// issuer is the public URL of the deployment: in production, the load
	// balancer's. Requests go straight to the instances, which listen on
	// ephemeral ports: Latch must not care which instance answers, nor
	// under which address (the issuer only appears in emitted URLs and in
	// the iss checks). http is allowed because localhost is loopback
	// (oauth.IsLoopbackHost; subdomains of localhost are not).
	issuer = "http://localhost"

	secret        = "cluster-test-key-encryption-secret-0123456789"
	alicePassword = "correct horse battery staple"
	redirectURI   = "https://app.example/callback"

	// startTimeout bounds how long an instance may take to listen.
	startTimeout = time.Minute
	// stopTimeout bounds a graceful stop before the instance is killed.
	stopTimeout = 20 * time.Second
)

// binDir holds the latch binary built for this run (see TestMain).
var binDir string

// buildLatch builds the latch binary once per test run, on first use, so
// that `go test -run` of a test that needs no process builds nothing.
var buildLatch = sync.OnceValues(func() (string, error) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("the go command is not on PATH: %w", err)
	}
	out := filepath.Join(binDir, "latch")
	args := []string{"build", "-o", out}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goTool, append(args, "github.com/latchauth/latch/cmd/latch")...)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/latch: %v\n%s", err, b)
	}
	return out, nil
})

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "latch-cluster-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// latchBinary returns the path of the built binary, skipping in -short
// mode (these tests start processes and take seconds).
func latchBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("process-level test: skipped with -short")
	}
	bin, err := buildLatch()
	if err != nil {
		t.Fatalf("building latch: %v", err)
	}
	return bin
}

// deployment is one database with the settings every process on it
// shares: the issuer, the key-encryption secret and the password cost.
type deployment struct {
	t   *testing.T
	bin string
	db  string
	// env is the whole environment of every process: nothing is inherited
	// from the test's, so a developer's LATCH_* variables cannot leak in.
	env []string
	// apiSecret is the secret of the confidential client "api", which the
	// tests use to introspect tokens.
	apiSecret string
}

func newDeployment(t *testing.T, db string) *deployment {
	t.Helper()
	return &deployment{
		t: t, bin: latchBinary(t), db: db,
		env: []string{
			"LATCH_DB=" + db,
			"LATCH_ISSUER=" + issuer,
			"LATCH_KEY_ENCRYPTION_SECRET=" + secret,
			// A cheap argon2id: the tests sign in a few times, not
			// thousands.
			"LATCH_PASSWORD_MEMORY_KIB=1024",
			"LATCH_PASSWORD_ITERATIONS=1",
			"LATCH_LOG_FORMAT=json",
		},
	}
}

// run runs a latch admin command with stdin and returns its standard
// output; a non-zero exit fails the test.
func (d *deployment) run(stdin string, args ...string) string {
	d.t.Helper()
	out, err := d.tryRun(stdin, args...)
	if err != nil {
		d.t.Fatalf("latch %s: %v", strings.Join(args, " "), err)
	}
	return out
}

// tryRun is run returning the failure instead of failing the test.
func (d *deployment) tryRun(stdin string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(d.t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, d.bin, args...)
	cmd.Env = d.env
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("%v: %s", err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// seed creates, with the admin CLI, the user alice and three clients:
// "spa" (public, first party, no refresh grace), "spa-grace" (the same
// with the maximum, 30-second, refresh grace window) and "api"
// (confidential, used to introspect).
func (d *deployment) seed() {
	d.t.Helper()
	// Admin commands refuse to create a database; migrate does.
	d.run("", "migrate")
	d.run(alicePassword+"\n", "user", "create", "--username", "alice", "--email", "alice@example.com", "--email-verified", "--password-stdin")
	d.run("", "client", "create", "--id", "spa", "--public", "--first-party", "--redirect-uri", redirectURI)
	d.run("", "client", "create", "--id", "spa-grace", "--public", "--first-party", "--redirect-uri", redirectURI, "--refresh-grace", "30s")
	out := d.run("", "client", "create", "--id", "api", "--confidential", "--grant-type", "client_credentials", "--resource-server")
	var v struct {
		Secret string `json:"client_secret"`
	}
	if err := json.Unmarshal([]byte(out), &v); err != nil || v.Secret == "" {
		d.t.Fatalf("client create api: no client_secret in %q (%v)", out, err)
	}
	d.apiSecret = v.Secret
}

// instance is one running `latch serve` process.
type instance struct {
	t    *testing.T
	name string
	cmd  *exec.Cmd
	// URL is where this instance listens, http://127.0.0.1:PORT.
	URL    string
	logs   *logWriter
	exited chan struct{} // closed once the process has exited
	err    error         // cmd.Wait's result, set before exited is closed
	killed bool          // the test killed it on purpose
}

// start runs `latch serve` on an ephemeral port with the deployment's
// settings, a 1 s key-refresh-interval and the extra flags, and returns
// once it is listening. The instance is stopped gracefully (SIGTERM) when
// the test ends, which must exit 0; its log is printed if the test failed.
func (d *deployment) start(name string, extra ...string) *instance {
	d.t.Helper()
	in := d.spawn(name, extra...)
	in.await()
	return in
}

// startAll starts one instance per name at the same moment, with the same
// extra flags, and returns once all are listening.
func (d *deployment) startAll(names []string, extra ...string) []*instance {
	d.t.Helper()
	ins := make([]*instance, len(names))
	for i, name := range names {
		ins[i] = d.spawn(name, extra...)
	}
	for _, in := range ins {
		in.await()
	}
	return ins
}

// spawn starts the process without waiting for it to listen.
func (d *deployment) spawn(name string, extra ...string) *instance {
	d.t.Helper()
	args := append([]string{"serve",
		"--addr", "127.0.0.1:0",
		// The admin listener: another ephemeral port. (addr and admin-addr
		// must differ as strings, hence localhost.)
		"--admin-addr", "localhost:0",
		"--key-refresh-interval", "1s",
	}, extra...)
	in := &instance{t: d.t, name: name, logs: newLogWriter(), exited: make(chan struct{})}
	in.cmd = exec.Command(d.bin, args...)
	in.cmd.Env = d.env
	in.cmd.Stdout, in.cmd.Stderr = in.logs, in.logs
	if err := in.cmd.Start(); err != nil {
		d.t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		in.err = in.cmd.Wait()
		close(in.exited)
	}()
	d.t.Cleanup(func() {
		// A binary built with -race reports races on stderr.
		if strings.Contains(in.logs.String(), "WARNING: DATA RACE") {
			d.t.Errorf("%s: the race detector reported a data race", name)
		}
		if d.t.Failed() {
			d.t.Logf("log of %s:\n%s", name, in.logs.String())
		}
	})
	d.t.Cleanup(in.stop)
	return in
}

// await waits until the instance listens and sets URL.
func (in *instance) await() {
	in.t.Helper()
	timer := time.NewTimer(startTimeout)
	defer timer.Stop()
	select {
	case addr := <-in.logs.listening:
		in.URL = "http://" + addr
	case <-in.exited:
		in.t.Fatalf("%s exited before listening (%v):\n%s", in.name, in.err, in.logs.String())
	case <-timer.C:
		in.t.Fatalf("%s not listening after %s:\n%s", in.name, startTimeout, in.logs.String())
	}
}

// ready polls the admin listener's /readyz, the load balancer's health
// check, until it answers 200.
func (in *instance) ready(ag *agent) {
	in.t.Helper()
	eventually(in.t, 10*time.Second, in.name+" /readyz answers 200", func() bool {
		in.logs.mu.Lock()
		addr := in.logs.adminAddr
		in.logs.mu.Unlock()
		if addr == "" {
			return false
		}
		r, err := get(in.t.Context(), ag.api, "http://"+addr+"/readyz")
		return err == nil && r.status == http.StatusOK
	})
}

// kill sends SIGKILL, as a crash or the OOM killer would, and waits for
// the process to be gone.
func (in *instance) kill() {
	in.t.Helper()
	in.killed = true
	if err := in.cmd.Process.Kill(); err != nil && !errors.Is(err, os.ErrProcessDone) {
		in.t.Fatalf("kill %s: %v", in.name, err)
	}
	<-in.exited
}

// stop shuts the instance down with SIGTERM and checks it exits 0 within
// stopTimeout; a stuck process is killed.
func (in *instance) stop() {
	select {
	case <-in.exited:
	default:
		_ = in.cmd.Process.Signal(syscall.SIGTERM)
		timer := time.NewTimer(stopTimeout)
		defer timer.Stop()
		select {
		case <-in.exited:
		case <-timer.C:
			in.killed = true
			_ = in.cmd.Process.Kill()
			<-in.exited
			in.t.Errorf("%s did not stop within %s of SIGTERM", in.name, stopTimeout)
			return
		}
	}
	if !in.killed && in.err != nil {
		in.t.Errorf("%s exited with %v", in.name, in.err)
	}
}

// logWriter collects a process's output and reports the address of the
// public listener from its "listening" log record.
type logWriter struct {
	mu        sync.Mutex
	all       bytes.Buffer
	partial   []byte
	found     bool
	listening chan string // receives the address once
	adminAddr string      // from the "admin listening" record
}

func newLogWriter() *logWriter {
	return &logWriter{listening: make(chan string, 1)}
}

func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.all.Write(p)
	w.partial = append(w.partial, p...)
	for {
		i := bytes.IndexByte(w.partial, '\n')
		if i < 0 {
			break
		}
		line := w.partial[:i]
		w.partial = w.partial[i+1:]
		if w.found && w.adminAddr != "" {
			continue
		}
		var rec struct {
			Msg, Addr, Issuer string
		}
		if json.Unmarshal(line, &rec) != nil || rec.Addr == "" {
			continue
		}
		switch {
		// The public listener's record is the "listening" one that names
		// the issuer.
		case rec.Msg == "listening" && rec.Issuer != "" && !w.found:
			w.found = true
			w.listening <- rec.Addr
		case rec.Msg == "admin listening":
			w.adminAddr = rec.Addr
		}
	}
	w.partial = bytes.Clone(w.partial) // do not pin everything written so far
	return len(p), nil
}

func (w *logWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.all.String()
}

// records returns the decoded JSON log records whose msg is msg.
func (w *logWriter) records(msg string) []map[string]any {
	var out []map[string]any
	for line := range strings.Lines(w.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

// errTransport marks a request that got no complete answer: the request
// may or may not have reached the server and been committed.
var errTransport = errors.New("no answer")

// agent is a user agent with one cookie jar. Cookies are scoped to a host,
// not a port, so the SSO session cookie set by one instance is presented
// to every instance, as a browser behind a load balancer would.
type agent struct {
	browser *http.Client // cookies, redirects not followed
	api     *http.Client // no cookies: token, introspection, JWKS
}

func newAgent() *agent {
	jar, _ := cookiejar.New(nil)
	noFollow := func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &agent{
		browser: &http.Client{Jar: jar, CheckRedirect: noFollow, Timeout: 30 * time.Second},
		api:     &http.Client{CheckRedirect: noFollow, Timeout: 30 * time.Second},
	}
}

// reply is an HTTP answer that was received in full.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// do sends req and reads the whole answer; an error wraps errTransport.
func do(c *http.Client, req *http.Request) (reply, error) {
	resp, err := c.Do(req)
	if err != nil {
		return reply{}, fmt.Errorf("%w: %s %s: %v", errTransport, req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, fmt.Errorf("%w: %s %s: reading the body: %v", errTransport, req.Method, req.URL.Path, err)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

func get(ctx context.Context, c *http.Client, u string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return reply{}, err
	}
	return do(c, req)
}

func postForm(ctx context.Context, c *http.Client, u string, form url.Values, user, pass string) (reply, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" {
		req.SetBasicAuth(url.QueryEscape(user), url.QueryEscape(pass)) // RFC 6749 §2.3.1
	}
	return do(c, req)
}

// authorizeURL is an authorization request (RFC 6749 §4.1.1) with PKCE
// S256 (RFC 7636) for clientID, sent to the instance at base.
func authorizeURL(base, clientID, verifier string, extra ...string) string {
	q := url.Values{
		"response_type":         {"code"},
		"client_id":             {clientID},
		"redirect_uri":          {redirectURI},
		"scope":                 {"openid"},
		"state":                 {"st"},
		"code_challenge":        {oauth2.S256ChallengeFromVerifier(verifier)},
		"code_challenge_method": {"S256"},
	}
	for i := 0; i+1 < len(extra); i += 2 {
		q.Set(extra[i], extra[i+1])
	}
	return base + "/authorize?" + q.Encode()
}

var interactionRE = regexp.MustCompile(`name="interaction" value="([^"]*)"`)

// codeFrom returns the code of a redirect to the client, or an error
// naming what came back instead.
func codeFrom(r reply) (string, error) {
	if r.status != http.StatusFound && r.status != http.StatusSeeOther {
		return "", fmt.Errorf("want a redirect to the client, got %d: %.300s", r.status, r.body)
	}
	loc, err := url.Parse(r.header.Get("Location"))
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(loc.String(), redirectURI+"?") {
		return "", fmt.Errorf("redirect to %q, not to the client", loc)
	}
	q := loc.Query()
	if q.Get("code") == "" {
		return "", fmt.Errorf("redirect without a code: error=%q %q", q.Get("error"), q.Get("error_description"))
	}
	if q.Get("state") != "st" || q.Get("iss") != issuer {
		return "", fmt.Errorf("redirect with state=%q iss=%q, want st and %s (RFC 9207)", q.Get("state"), q.Get("iss"), issuer)
	}
	return q.Get("code"), nil
}

// signIn sends the authorization request to one instance and the login
// form to another (they may be the same), the way a load balancer without
// sticky sessions might, and returns the code. The SSO session cookie
// stays in the jar.
func (a *agent) signIn(t *testing.T, authorizeAt, loginAt *instance, clientID, verifier string) string {
	t.Helper()
	page, err := get(t.Context(), a.browser, authorizeURL(authorizeAt.URL, clientID, verifier))
	if err != nil {
		t.Fatal(err)
	}
	m := interactionRE.FindSubmatch(page.body)
	if page.status != http.StatusOK || m == nil {
		t.Fatalf("authorize at %s: want the login page, got %d:\n%.500s", authorizeAt.name, page.status, page.body)
	}
	r, err := postForm(t.Context(), a.browser, loginAt.URL+"/login", url.Values{
		"interaction": {html.UnescapeString(string(m[1]))},
		"username":    {"alice"},
		"password":    {alicePassword},
	}, "", "")
	if err != nil {
		t.Fatal(err)
	}
	code, err := codeFrom(r)
	if err != nil {
		t.Fatalf("login at %s: %v", loginAt.name, err)
	}
	return code
}

// silentCode asks base for a code with prompt=none (OIDC Core §3.1.2.1):
// it succeeds only on the strength of the SSO session cookie.
func (a *agent) silentCode(ctx context.Context, base, clientID, verifier string) (string, error) {
	r, err := get(ctx, a.browser, authorizeURL(base, clientID, verifier, "prompt", "none"))
	if err != nil {
		return "", err
	}
	return codeFrom(r)
}

// tokens is a token endpoint answer (RFC 6749 §5.1, §5.2).
type tokens struct {
	status       int
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	IDToken      string `json:"id_token"`
	Error        string `json:"error"`
}

func (a *agent) token(ctx context.Context, base string, form url.Values) (tokens, error) {
	r, err := postForm(ctx, a.api, base+"/token", form, "", "")
	if err != nil {
		return tokens{}, err
	}
	tk := tokens{status: r.status}
	if err := json.Unmarshal(r.body, &tk); err != nil {
		return tk, fmt.Errorf("token endpoint answered %d with non-JSON %.200q", r.status, r.body)
	}
	switch {
	case r.status == http.StatusOK && (tk.AccessToken == "" || tk.RefreshToken == ""):
		return tk, fmt.Errorf("token endpoint answered 200 without access and refresh tokens: %.300s", r.body)
	case r.status != http.StatusOK && tk.Error == "":
		return tk, fmt.Errorf("token endpoint answered %d without an error code: %.300s", r.status, r.body)
	}
	return tk, nil
}

// exchange redeems a code (RFC 6749 §4.1.3) for a public client.
func (a *agent) exchange(ctx context.Context, base, clientID, code, verifier string) (tokens, error) {
	return a.token(ctx, base, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirectURI},
		"client_id": {clientID}, "code_verifier": {verifier},
	})
}

// refresh uses a refresh token (RFC 6749 §6) for a public client.
func (a *agent) refresh(ctx context.Context, base, clientID, rt string) (tokens, error) {
	return a.token(ctx, base, url.Values{
		"grant_type": {"refresh_token"}, "refresh_token": {rt}, "client_id": {clientID},
	})
}

// active introspects tok (RFC 7662) at base as the client "api".
func (a *agent) active(t *testing.T, base, apiSecret, tok string) bool {
	t.Helper()
	r, err := postForm(t.Context(), a.api, base+"/introspect", url.Values{"token": {tok}}, "api", apiSecret)
	if err != nil {
		t.Fatal(err)
	}
	var v struct {
		Active *bool  `json:"active"`
		Iss    string `json:"iss"`
	}
	if r.status != http.StatusOK || json.Unmarshal(r.body, &v) != nil || v.Active == nil {
		t.Fatalf("introspect at %s: %d %.300s", base, r.status, r.body)
	}
	if *v.Active && v.Iss != issuer {
		t.Errorf("introspect at %s: iss = %q, want %q", base, v.Iss, issuer)
	}
	return *v.Active
}

// jwksKids returns the key IDs published at base's JWKS (RFC 7517 §5).
func (a *agent) jwksKids(t *testing.T, base string) []string {
	t.Helper()
	r, err := get(t.Context(), a.api, base+"/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	if r.status != http.StatusOK || json.Unmarshal(r.body, &set) != nil {
		t.Fatalf("JWKS at %s: %d %.300s", base, r.status, r.body)
	}
	kids := make([]string, len(set.Keys))
	for i, k := range set.Keys {
		kids[i] = k.KeyID
	}
	return kids
}

// kidOf returns the kid header of a signed JWT. It does not verify the
// signature: introspection does that.
func kidOf(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSigned(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil || len(jws.Signatures) != 1 {
		t.Fatalf("not a JWS: %v", err)
	}
	return jws.Signatures[0].Header.KeyID
}

// eventually polls cond every 50 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not true after %s", what, timeout)
		}
		select {
		case <-tick.C:
		case <-t.Context().Done():
			t.Fatalf("%s: %v", what, t.Context().Err())
		}
	}
}

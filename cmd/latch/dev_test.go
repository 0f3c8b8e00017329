package main

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/latchauth/latch/examples/api"
	"github.com/latchauth/latch/verify"
)

// bannerWriter collects a command's output and closes ready once the
// output contains until (the end of the dev banner).
type bannerWriter struct {
	mu    sync.Mutex
	buf   strings.Builder
	until *regexp.Regexp
	ready chan struct{}
	done  bool
}

func (w *bannerWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.done && w.until.MatchString(w.buf.String()) {
		w.done = true
		close(w.ready)
	}
	return len(p), nil
}

func (w *bannerWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// devRun is a `latch dev` running in this process.
type devRun struct {
	issuer, spa, api string
	bff              string
	banner           string
	secrets          map[string]string // demo client id → secret, from the banner
	stop             func()
}

// freeAddr returns a loopback address that was free a moment ago (for the
// issuer, whose URL must be known before the listener exists).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// Ends of the dev banner, with and without the examples.
var (
	bannerWithExamples    = regexp.MustCompile(`to sign in \(demo / demo-password\)\.\n\n`)
	bannerWithoutExamples = regexp.MustCompile(`demo-service .*\n.*secret.*\n\n`)
)

func startDev(t *testing.T, db string, until *regexp.Regexp, args ...string) *devRun {
	t.Helper()
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	issuer := "http://localhost:" + port
	out := &bannerWriter{until: until, ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	e := &env{
		getenv: func(k string) string {
			return map[string]string{"LATCH_PASSWORD_MEMORY_KIB": "64", "LATCH_PASSWORD_ITERATIONS": "1"}[k]
		},
		stdin: strings.NewReader(""), stdout: out, stderr: io.Discard, now: time.Now,
	}
	exited := make(chan int, 1)
	go func() {
		exited <- e.run(ctx, append([]string{"dev", "--db", db, "--addr", "localhost:" + port, "--issuer", issuer, "--admin-addr="}, args...))
	}()
	select {
	case <-out.ready:
	case code := <-exited:
		cancel()
		t.Fatalf("latch dev exited with %d before its banner:\n%s", code, out)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("no banner after 30s:\n%s", out)
	}
	r := &devRun{issuer: issuer, banner: out.String(), secrets: map[string]string{}}
	if m := regexp.MustCompile(`spa +(http://\S+)`).FindStringSubmatch(r.banner); m != nil {
		r.spa = m[1]
	}
	if m := regexp.MustCompile(`bff +(http://\S+)`).FindStringSubmatch(r.banner); m != nil {
		r.bff = m[1]
	}
	if m := regexp.MustCompile(`api +(http://\S+)/api/messages`).FindStringSubmatch(r.banner); m != nil {
		r.api = m[1]
	}
	for _, m := range regexp.MustCompile(`(?m)^    (demo-\S+) .*\n(?:.*redirect.*\n)?\s+secret +(\S+)`).FindAllStringSubmatch(r.banner, -1) {
		r.secrets[m[1]] = m[2]
	}
	var once sync.Once
	r.stop = func() {
		once.Do(func() {
			cancel()
			if code := <-exited; code != 0 {
				t.Errorf("latch dev exited with %d", code)
			}
		})
	}
	t.Cleanup(r.stop)
	return r
}

func httpDo(t *testing.T, method, u string, header http.Header, body io.Reader) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// authorizeStatus asks Latch to start a sign-in for demo-spa with
// redirect: 200 (the login page) when the redirect URI is registered, an
// error page otherwise.
func authorizeStatus(t *testing.T, issuer, redirect string) int {
	t.Helper()
	q := url.Values{
		"response_type": {"code"}, "client_id": {"demo-spa"}, "redirect_uri": {redirect}, "scope": {"openid"},
		"state": {"s"}, "code_challenge": {strings.Repeat("A", 43)}, "code_challenge_method": {"S256"},
	}
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, issuer+"/authorize?"+q.Encode(), nil)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// serveExampleAPI runs the example API (examples/api, which `latch dev`
// does not link: it runs as its own process, as scripts/demo does) on ln
// for issuer, allowing the SPA's origin.
func serveExampleAPI(t *testing.T, ln net.Listener, issuer, apiURL, spaOrigin string) {
	t.Helper()
	v, err := verify.New(t.Context(), verify.Config{Issuer: issuer, Audience: apiURL})
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: api.Handler(v, spaOrigin)}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
}

// TestDevServesExamples runs `latch dev` with the example SPA on a free
// port, and the example API next to it on its own, and checks that they
// are wired to the dev issuer: the SPA's config, the demo client's
// redirect URI and CORS origin, and an access token for the API's
// audience (--api-url) that the API accepts.
func TestDevServesExamples(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "latch.db")
	apiLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, apiPort, _ := net.SplitHostPort(apiLn.Addr().String())
	apiURL := "http://localhost:" + apiPort
	d := startDev(t, db, bannerWithExamples, "--spa-addr", "localhost:0", "--bff-addr", "localhost:0", "--api-url", apiURL)
	if d.spa == "" || d.api != apiURL || !strings.Contains(d.banner, "Open "+d.spa+" to sign in") {
		t.Fatalf("banner lacks the SPA and API URLs:\n%s", d.banner)
	}
	if want := "go run ./examples/api/cmd/api --issuer " + d.issuer + " --audience " + apiURL + " --addr localhost:" + apiPort + " --origin " + d.spa; !strings.Contains(d.banner, want) {
		t.Errorf("banner lacks how to start the API (%s):\n%s", want, d.banner)
	}
	serveExampleAPI(t, apiLn, d.issuer, apiURL, d.spa)

	_, body := httpDo(t, http.MethodGet, d.spa+"/config.js", nil, nil)
	for _, want := range []string{`"issuer": "` + d.issuer + `"`, `"apiUrl": "` + d.api + `"`, `"clientId": "demo-spa"`, "messages:read"} {
		if !strings.Contains(body, want) {
			t.Errorf("config.js lacks %s:\n%s", want, body)
		}
	}
	if resp, body := httpDo(t, http.MethodGet, d.spa+"/callback?code=x&state=y", nil, nil); resp.StatusCode != 200 || !strings.Contains(body, "/app.js") {
		t.Errorf("GET /callback = %d, want the SPA's index.html", resp.StatusCode)
	}

	// The demo SPA client follows the actual SPA address.
	if got := authorizeStatus(t, d.issuer, d.spa+"/callback"); got != http.StatusOK {
		t.Errorf("authorize with redirect %s/callback = %d, want 200 (login page)", d.spa, got)
	}
	resp, _ := httpDo(t, http.MethodOptions, d.issuer+"/token", http.Header{"Origin": {d.spa}, "Access-Control-Request-Method": {"POST"}}, nil)
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != d.spa {
		t.Errorf("token endpoint CORS for %s: Access-Control-Allow-Origin = %q", d.spa, got)
	}

	// The API: no token → 401 with a challenge; CORS preflight for the SPA.
	resp, _ = httpDo(t, http.MethodGet, d.api+"/api/messages", nil, nil)
	if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("API without token = %d %q, want 401 Bearer", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	resp, _ = httpDo(t, http.MethodOptions, d.api+"/api/messages", http.Header{"Origin": {d.spa}, "Access-Control-Request-Method": {"GET"}, "Access-Control-Request-Headers": {"authorization"}}, nil)
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != d.spa {
		t.Errorf("API preflight from the SPA = %d %v", resp.StatusCode, resp.Header)
	}

	// A token from the dev issuer for the API's audience is accepted: the
	// demo clients' audience and the API's verifier agree.
	secret := d.secrets["demo-service"]
	if secret == "" {
		t.Fatalf("no demo-service secret in the banner:\n%s", d.banner)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"messages:read"}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, d.issuer+"/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("demo-service", secret)
	tresp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(tresp.Body).Decode(&tok)
	tresp.Body.Close()
	if tok.AccessToken == "" {
		t.Fatalf("client_credentials: status %d, no access token", tresp.StatusCode)
	}
	resp, body = httpDo(t, http.MethodGet, d.api+"/api/messages", http.Header{"Authorization": {"Bearer " + tok.AccessToken}}, nil)
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"sub":"demo-service"`) {
		t.Errorf("API with a demo-service token = %d %s", resp.StatusCode, body)
	}

	// The example BFF runs too, on its own origin, as demo-web: its page,
	// its user endpoint (nobody signed in), and a sign-in that Latch
	// accepts for demo-web's registered redirect URI.
	if d.bff == "" {
		t.Fatalf("banner lacks the BFF's URL:\n%s", d.banner)
	}
	if resp, body := httpDo(t, http.MethodGet, d.bff+"/", nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, "/app.js") {
		t.Errorf("BFF page = %d, want the example's index.html", resp.StatusCode)
	}
	if resp, _ := httpDo(t, http.MethodGet, d.bff+"/me", nil, nil); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("BFF /me without a session = %d, want 401", resp.StatusCode)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	lreq, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, d.bff+"/login", nil)
	lresp, err := noFollow.Do(lreq)
	if err != nil {
		t.Fatal(err)
	}
	lresp.Body.Close()
	authURL := lresp.Header.Get("Location")
	if !strings.HasPrefix(authURL, d.issuer+"/authorize?") || !strings.Contains(authURL, "client_id=demo-web") || !strings.Contains(authURL, url.QueryEscape(d.bff+"/callback")) {
		t.Fatalf("BFF /login → %q, want Latch's /authorize for demo-web and %s/callback", authURL, d.bff)
	}
	if resp, body := httpDo(t, http.MethodGet, authURL, nil, nil); resp.StatusCode != http.StatusOK || !strings.Contains(body, `name="password"`) {
		t.Errorf("Latch refused the BFF's authorization request: %d", resp.StatusCode)
	}

	// demo-web is registered with the example BFF's back-channel logout
	// receiver, which answers (a garbage token: 400, as §2.8 says).
	if got := backchannelURI(t, db, "demo-web"); got != d.bff+"/backchannel-logout" {
		t.Errorf("demo-web backchannel_logout_uri = %q, want %s/backchannel-logout", got, d.bff)
	}
	if resp, _ := httpDo(t, http.MethodPost, d.bff+"/backchannel-logout", http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}, strings.NewReader("logout_token=x")); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST %s/backchannel-logout with a garbage token = %d, want 400", d.bff, resp.StatusCode)
	}

	// Shutting down stops the SPA's and the BFF's listeners too.
	spa, bffURL := d.spa, d.bff
	d.stop()
	for _, u := range []string{spa, bffURL} {
		host := strings.TrimPrefix(u, "http://")
		if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after shutdown", u)
		}
	}

	// The next start on other ports re-registers the demo SPA client for
	// them, and the old redirect URI stops working.
	d2 := startDev(t, db, bannerWithExamples, "--spa-addr", "localhost:0", "--bff-addr", "localhost:0", "--api-url", apiURL)
	if d2.spa == spa {
		t.Skipf("the system reused port %s", spa)
	}
	if got := authorizeStatus(t, d2.issuer, d2.spa+"/callback"); got != http.StatusOK {
		t.Errorf("after restart: authorize with the new redirect = %d, want 200", got)
	}
	if got := authorizeStatus(t, d2.issuer, spa+"/callback"); got == http.StatusOK || got == http.StatusFound {
		t.Errorf("after restart: authorize with the old redirect %s = %d, want an error page", spa, got)
	}
	if got := backchannelURI(t, db, "demo-web"); got != d2.bff+"/backchannel-logout" {
		t.Errorf("after restart: demo-web backchannel_logout_uri = %q, want %s/backchannel-logout", got, d2.bff)
	}
}

// backchannelURI reads client id's backchannel_logout_uri from the
// database db.
func backchannelURI(t *testing.T, db, id string) string {
	t.Helper()
	st, err := openStore(t.Context(), db, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := st.GetClient(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	return c.BackchannelLogoutURI
}

func TestDevWithoutExamples(t *testing.T) {
	db := "sqlite:" + filepath.Join(t.TempDir(), "latch.db")
	d := startDev(t, db, bannerWithoutExamples, "--examples=false")
	if d.spa != "" || strings.Contains(d.banner, "to sign in") {
		t.Errorf("--examples=false: banner mentions the SPA:\n%s", d.banner)
	}
	if !strings.Contains(d.banner, "redirect http://localhost:3000/callback") {
		t.Errorf("--examples=false: the demo SPA should keep its default redirect:\n%s", d.banner)
	}
}

func TestDevRejectsBadAPIURL(t *testing.T) {
	for _, bad := range []string{"localhost:3001", "ftp://localhost:3001", "http://localhost:3001/api", "http://"} {
		var stderr strings.Builder
		e := &env{getenv: func(string) string { return "" }, stdin: strings.NewReader(""), stdout: io.Discard, stderr: &stderr, now: time.Now}
		db := "sqlite:" + filepath.Join(t.TempDir(), "latch.db")
		if code := e.run(t.Context(), []string{"dev", "--db", db, "--admin-addr=", "--spa-addr", "localhost:0", "--bff-addr", "localhost:0", "--api-url", bad}); code != 2 {
			t.Errorf("latch dev --api-url %q: exit %d, want 2 (usage)\n%s", bad, code, stderr.String())
		}
	}
}

// devOutput runs `latch dev` with args (no --issuer unless given) until
// its banner ends, and returns stdout, what it logged on stderr by then,
// and a stop function. A dev that exits first returns its exit code.
func devOutput(t *testing.T, args ...string) (stdout, stderr string, stop func(), exitCode int) {
	t.Helper()
	// At the default log level the banner ends with the line on logs
	// (printDevBanner), after the clients: wait for it.
	out := &bannerWriter{until: regexp.MustCompile(`(?m)^Logs: .*\n\n`), ready: make(chan struct{})}
	errw := &bannerWriter{until: regexp.MustCompile(`\A\z`), ready: make(chan struct{})}
	ctx, cancel := context.WithCancel(t.Context())
	e := &env{
		getenv: func(k string) string {
			return map[string]string{"LATCH_PASSWORD_MEMORY_KIB": "64", "LATCH_PASSWORD_ITERATIONS": "1"}[k]
		},
		stdin: strings.NewReader(""), stdout: out, stderr: errw, now: time.Now,
	}
	exited := make(chan int, 1)
	go func() { exited <- e.run(ctx, append([]string{"dev", "--admin-addr=", "--examples=false"}, args...)) }()
	select {
	case <-out.ready:
	case code := <-exited:
		cancel()
		return out.String(), errw.String(), func() {}, code
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("no banner after 30s:\n%s", out)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if code := <-exited; code != 0 {
				t.Errorf("latch dev exited with %d", code)
			}
		})
	}
	t.Cleanup(stop)
	return out.String(), errw.String(), stop, -1
}

// TestDevIssuerFollowsAddr: `latch dev --addr localhost:8090` used to keep
// the issuer on :8080, so discovery and every redirect pointed at a port
// nobody listened on. The issuer now follows --addr (port 0 included); an
// explicit loopback --issuer on another port is refused.
func TestDevIssuerFollowsAddr(t *testing.T) {
	dir := t.TempDir()
	db := "sqlite:" + filepath.Join(dir, "latch.db")

	for _, addr := range []string{"localhost:0", freeAddr(t)} {
		stdout, _, stop, code := devOutput(t, "--db", db, "--addr", addr)
		if code >= 0 {
			t.Fatalf("dev --addr %s exited with %d:\n%s", addr, code, stdout)
		}
		m := regexp.MustCompile(`issuer +(http://\S+)`).FindStringSubmatch(stdout)
		if m == nil {
			t.Fatalf("dev --addr %s: no issuer in the banner:\n%s", addr, stdout)
		}
		issuer := m[1]
		host, port, _ := net.SplitHostPort(addr)
		if port != "0" && issuer != "http://"+net.JoinHostPort(host, port) {
			t.Errorf("dev --addr %s: issuer %s, want http://%s", addr, issuer, addr)
		}
		resp, body := httpDo(t, http.MethodGet, issuer+"/.well-known/openid-configuration", nil, nil)
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"issuer":"`+issuer+`"`) {
			t.Errorf("dev --addr %s: discovery at %s = %d %s", addr, issuer, resp.StatusCode, body)
		}
		stop()
	}

	// A loopback issuer on another port than --addr is a mistake.
	addr := freeAddr(t)
	_, port, _ := net.SplitHostPort(addr)
	r := newHarness(t).exec("", "dev", "--db", db, "--addr", addr, "--issuer", "http://localhost:1", "--admin-addr=", "--examples=false")
	wantFailure(t, "dev with a mismatched --issuer", r, 2,
		"--issuer http://localhost:1 names port 1 but --addr "+addr+" listens on port "+port+": leave out --issuer (it follows --addr)")
}

// TestDevFirstStartAndQuietBanner: the first start says what it creates,
// later starts do not; with the default log level nothing is logged
// before the banner (the configuration line and request logs used to bury
// it), and the banner says how to see request logs.
func TestDevFirstStartAndQuietBanner(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "latch.db")
	stdout, stderr, stop, code := devOutput(t, "--db", "sqlite:"+db, "--addr", "localhost:0")
	if code >= 0 {
		t.Fatalf("dev exited with %d:\n%s", code, stdout)
	}
	stop()
	if !strings.HasPrefix(stdout, "First start: creating "+db+" (SQLite database), a key-encryption secret next to it, a signing key, the demo user and the demo clients.") ||
		!strings.Contains(stdout, "delete "+filepath.Dir(db)+" to start over") ||
		!strings.Contains(stdout, "Latch is running in dev mode (first start") {
		t.Errorf("first start: stdout does not say what it creates:\n%s", stdout)
	}
	if !strings.Contains(stdout, "--log-level info shows every request") {
		t.Errorf("banner does not say how to see request logs:\n%s", stdout)
	}
	if stderr != "" {
		t.Errorf("dev logged before its banner (it buries the banner):\n%s", stderr)
	}

	stdout, _, stop, code = devOutput(t, "--db", "sqlite:"+db, "--addr", "localhost:0")
	if code >= 0 {
		t.Fatalf("second dev exited with %d:\n%s", code, stdout)
	}
	stop()
	if strings.Contains(stdout, "First start") || strings.Contains(stdout, "first start") {
		t.Errorf("second start claims to be the first:\n%s", stdout)
	}
}

// TestDevPortInUse: a busy port names the flag that moves it.
func TestDevPortInUse(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	addr := busy.Addr().String()
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	next := net.JoinHostPort(host, strconv.Itoa(n+1))
	db := "sqlite:" + filepath.Join(t.TempDir(), "latch.db")
	h := newHarness(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--addr", addr, "--examples=false"},
			"addr " + addr + ": the port is already in use (another Latch?): stop that program or choose another port with --addr " + next + " (0 picks a free one)"},
		{[]string{"--addr", "localhost:0", "--spa-addr", addr},
			"example SPA: spa-addr " + addr + ": the port is already in use (another Latch?): stop that program or choose another port with --spa-addr " + next},
	} {
		r := h.exec("", append([]string{"dev", "--db", db, "--admin-addr="}, tc.args...)...)
		wantFailure(t, "dev "+strings.Join(tc.args, " "), r, 1, tc.want)
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"html"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/store"
)

// selfSigned writes a self-signed certificate for 127.0.0.1 and its key
// as PEM files and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "latch test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// running is an in-process `latch serve`.
type running struct {
	cancel    context.CancelFunc
	done      chan error
	adminAddr string
	stderr    *syncBuf
}

type syncBuf struct {
	mu chan struct{}
	b  bytes.Buffer
}

func newSyncBuf() *syncBuf { return &syncBuf{mu: make(chan struct{}, 1)} }

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu <- struct{}{}
	defer func() { <-s.mu }()
	return s.b.String()
}

// serveInProcess runs serve with cfg on ln until the test ends, seeding a
// user alice and a public client "app" with redirect URI cb.
func serveInProcess(t *testing.T, cfg config.Config, ln net.Listener, cb string) *running {
	t.Helper()
	if err := config.Err(cfg.Validate()); err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{cancel: cancel, done: make(chan error, 1), stderr: newSyncBuf()}
	e := &env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: r.stderr, now: time.Now}
	adminReady := make(chan string, 1)
	ready := make(chan struct{})
	hooks := serveHooks{
		listener: ln,
		seed: func(ctx context.Context, st store.Store) error {
			hash, err := password.Hash("alice password", password.Params{Memory: 64, Iterations: 1, Parallelism: 1})
			if err != nil {
				return err
			}
			if err := st.CreateUser(ctx, store.User{ID: "u-alice", Username: "alice", PasswordHash: hash, CreatedAt: time.Now()}); err != nil {
				return err
			}
			return st.CreateClient(ctx, store.Client{ID: "app", Public: true, FirstParty: true, RedirectURIs: []string{cb},
				GrantTypes: []string{"authorization_code"}, CreatedAt: time.Now()})
		},
		ready:      func(net.Addr) { close(ready) },
		adminReady: func(a net.Addr) { adminReady <- a.String() },
	}
	go func() { r.done <- serve(ctx, e, cfg, hooks) }()
	select {
	case <-ready:
	case err := <-r.done:
		t.Fatalf("serve: %v\n%s", err, r.stderr.String())
	}
	if cfg.AdminAddr != "" {
		r.adminAddr = <-adminReady
	}
	t.Cleanup(func() {
		r.cancel()
		if err := <-r.done; err != nil {
			t.Errorf("serve returned %v", err)
		}
	})
	return r
}

func testConfig(t *testing.T) config.Config {
	cfg := config.Default()
	cfg.DB = "sqlite:" + filepath.Join(t.TempDir(), "latch.db")
	cfg.KeyEncryptionSecret = testSecret
	cfg.SigningAlg = "ES256"
	cfg.PasswordMemoryKiB, cfg.PasswordIterations = 64, 1
	cfg.AdminAddr = "127.0.0.1:0"
	return cfg
}

var interactionRE = regexp.MustCompile(`name="interaction" value="([^"]*)"`)

// TestServeTLS serves HTTPS directly with --tls-cert/--tls-key: the TLS
// handshake works with the certificate, plain HTTP on that port does not,
// and with an https issuer the login cookies are Secure.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, pool := selfSigned(t, dir)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	issuer := "https://" + ln.Addr().String()
	cfg := testConfig(t)
	cfg.Issuer, cfg.TLSCert, cfg.TLSKey = issuer, certFile, keyFile
	const cb = "https://app.example/cb"
	r := serveInProcess(t, cfg, ln, cb)

	jar, _ := cookiejar.New(nil)
	client := &http.Client{
		Jar:       jar,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	resp, err := client.Get(issuer + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("HTTPS discovery: %v", err)
	}
	var doc map[string]any
	json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if resp.StatusCode != 200 || doc["issuer"] != issuer || resp.TLS == nil {
		t.Fatalf("HTTPS discovery: %d issuer %v tls %v", resp.StatusCode, doc["issuer"], resp.TLS != nil)
	}

	// Plain HTTP to the TLS port gets no page.
	if resp, err := http.Get("http://" + ln.Addr().String() + "/.well-known/openid-configuration"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Error("plain HTTP on the TLS port answered 200")
		}
	}
	// A client that does not trust the certificate is refused.
	if _, err := http.Get(issuer + "/jwks.json"); err == nil {
		t.Error("a client without the CA completed the handshake")
	}

	// Sign in: every cookie Latch sets is Secure (and HttpOnly), with the
	// __Host- prefix.
	auth := issuer + "/authorize?" + url.Values{
		"client_id": {"app"}, "redirect_uri": {cb}, "response_type": {"code"}, "scope": {"openid"}, "state": {"s"},
		"code_challenge": {"E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}, "code_challenge_method": {"S256"},
	}.Encode()
	resp, err = client.Get(auth)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	checkSecure := func(resp *http.Response, want string) {
		t.Helper()
		found := false
		for _, c := range resp.Cookies() {
			if c.Name == want {
				found = true
			}
			if !c.Secure || !c.HttpOnly {
				t.Errorf("cookie %s: Secure=%v HttpOnly=%v, want both", c.Name, c.Secure, c.HttpOnly)
			}
		}
		if !found {
			t.Errorf("no %s cookie set; got %v", want, resp.Header["Set-Cookie"])
		}
	}
	checkSecure(resp, "__Host-latch_csrf")
	m := interactionRE.FindSubmatch(body)
	if m == nil {
		t.Fatalf("no login form:\n%s", body)
	}
	resp, err = client.PostForm(issuer+"/login", url.Values{"interaction": {html.UnescapeString(string(m[1]))}, "username": {"alice"}, "password": {"alice password"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound && resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("login: %d", resp.StatusCode)
	}
	checkSecure(resp, "__Host-latch_session")
	if loc, _ := url.Parse(resp.Header.Get("Location")); loc == nil || loc.Query().Get("code") == "" || loc.Query().Get("iss") != issuer {
		t.Errorf("redirect after login: %q", resp.Header.Get("Location"))
	}

	// The admin listener is plain HTTP on its own (loopback) address.
	resp, err = http.Get("http://" + r.adminAddr + "/readyz")
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("/readyz: %v %v", resp, err)
	} else {
		resp.Body.Close()
	}
}

// TestServeTLSBadCertificate: a missing key file stops serve with a
// message naming TLS.
func TestServeTLSBadCertificate(t *testing.T) {
	dir := t.TempDir()
	certFile, _, _ := selfSigned(t, dir)
	cfg := testConfig(t)
	cfg.Issuer = "https://id.example.com"
	cfg.Addr = "127.0.0.1:0"
	cfg.TLSCert, cfg.TLSKey = certFile, filepath.Join(dir, "missing.pem")
	e := &env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard, now: time.Now}
	err := serve(t.Context(), e, cfg, serveHooks{})
	if err == nil || !strings.Contains(err.Error(), "tls") {
		t.Errorf("serve with a missing key = %v, want a tls error", err)
	}
	var pe *os.PathError
	if !errors.As(err, &pe) {
		t.Errorf("error %v does not name the file", err)
	}
}

// TestServeAdminListenerRules: a public admin-addr without a token is
// refused in one line; an empty admin-addr disables the listener.
func TestServeAdminListenerRules(t *testing.T) {
	h := newHarness(t)
	h.env["LATCH_KEY_ENCRYPTION_SECRET"] = testSecret
	base := []string{"serve", "--issuer", "http://localhost:8080", "--addr", "127.0.0.1:0", "--db", h.db}
	r := h.exec("", append(base, "--admin-addr", "0.0.0.0:0")...)
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, "admin-token") {
		t.Errorf("public admin-addr without a token: exit %d, stderr %q; want 1 and one line naming admin-token", r.code, r.stderr)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg := testConfig(t)
	cfg.Issuer = "http://" + ln.Addr().String()
	cfg.AdminAddr = ""
	run := serveInProcess(t, cfg, ln, "https://app.example/cb")
	if run.adminAddr != "" || strings.Contains(run.stderr.String(), "admin listening") {
		t.Errorf("admin listener started with an empty admin-addr:\n%s", run.stderr.String())
	}
}

package server_test

import (
	"bufio"
	"encoding/json"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/oauth2"

	"github.com/latchauth/latch/internal/config"
	"github.com/latchauth/latch/internal/latchtest"
	"github.com/latchauth/latch/internal/server"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/store/sqlite"
	"github.com/latchauth/latch/internal/store/storemetrics"
)

// logLines parses a JSON log into one map per line.
func logLines(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("log line is not JSON: %q", sc.Text())
		}
		out = append(out, m)
	}
	return out
}

// accessLines are the access log lines (msg "request").
func accessLines(t *testing.T, e *latchtest.Env) []map[string]any {
	var out []map[string]any
	for _, l := range logLines(t, e.OperationalLog()) {
		if l["msg"] == "request" {
			out = append(out, l)
		}
	}
	return out
}

func cookieValue(b *latchtest.Browser, issuer, name string) string {
	u, _ := url.Parse(issuer)
	for _, c := range b.Client.Jar.Cookies(u) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// TestNoSecretsInLogs runs every endpoint a client touches — authorize,
// a failed and a good login, consent, code exchange, refresh, userinfo,
// introspection, revocation, client credentials, logout — and checks that
// neither the operational log (access log, errors) nor the audit log
// contains a password, a code, a PKCE verifier, a token, a client secret
// or the session cookie, while both logs did record the flow.
func TestNoSecretsInLogs(t *testing.T) {
	e := latchtest.StartWith(t, latchtest.Options{CaptureLog: true})
	e.MustClient(store.Client{ID: "svc", Name: "Service", GrantTypes: []string{"client_credentials"}})
	ctx := latchtest.ClientContext(t.Context())
	const wrongPassword = "Tr0ub4dor&3-wrong-password"
	var secrets []string
	secret := func(what, v string) {
		t.Helper()
		if v == "" {
			t.Fatalf("%s is empty: the flow did not produce it", what)
		}
		secrets = append(secrets, v)
	}
	secret("alice's password", latchtest.AlicePassword)
	secret("wrong password", wrongPassword)
	secret("web secret", e.Secrets["web"])
	secret("svc secret", e.Secrets["svc"])

	conf := e.OAuthConfig("web", latchtest.WebRedirect, oidc.ScopeOpenID, "profile", oidc.ScopeOfflineAccess)
	verifier := oauth2.GenerateVerifier()
	secret("PKCE verifier", verifier)
	b := e.Browser()
	p := b.Get(conf.AuthCodeURL("state-xyz", oauth2.S256ChallengeOption(verifier), oidc.Nonce("nonce-xyz")))
	p = b.Login(p, "alice", wrongPassword)
	if p.Status != http.StatusUnauthorized {
		t.Fatalf("wrong password: status %d, want 401", p.Status)
	}
	p = b.Login(p, "alice", latchtest.AlicePassword)
	p = b.Consent(p, "allow")
	q := latchtest.Callback(t, p)
	secret("code", q.Get("code"))
	secret("session cookie", cookieValue(b, e.Issuer, "latch_session"))
	secret("csrf cookie", cookieValue(b, e.Issuer, "latch_csrf"))

	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	idToken, _ := tok.Extra("id_token").(string)
	secret("access token", tok.AccessToken)
	secret("refresh token", tok.RefreshToken)
	secret("ID token", idToken)
	// A JWT's signature alone identifies it; its header is shared by all.
	for _, jwt := range []string{tok.AccessToken, idToken} {
		secret("JWT signature", jwt[strings.LastIndex(jwt, ".")+1:])
	}
	// An unknown refresh token is logged as a failure.
	e.PostForm("/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bogus-" + tok.RefreshToken}},
		func(r *http.Request) { r.SetBasicAuth("web", e.Secrets["web"]) })

	refreshed, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	secret("refreshed access token", refreshed.AccessToken)
	secret("rotated refresh token", refreshed.RefreshToken)

	if st := e.UserinfoStatus(refreshed.AccessToken); st != http.StatusOK {
		t.Fatalf("userinfo: %d", st)
	}
	basic := func(id string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(id, e.Secrets[id]) }
	}
	if resp, body := e.PostForm("/introspect", url.Values{"token": {refreshed.AccessToken}}, basic("web")); resp.StatusCode != 200 || body["active"] != true {
		t.Fatalf("introspect: %d %v", resp.StatusCode, body)
	}
	if resp, _ := e.PostForm("/revoke", url.Values{"token": {refreshed.RefreshToken}, "token_type_hint": {"refresh_token"}}, basic("web")); resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
	resp, body := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, basic("svc"))
	if resp.StatusCode != 200 {
		t.Fatalf("client_credentials: %d %v", resp.StatusCode, body)
	}
	secret("client credentials token", body["access_token"].(string))
	// A wrong client secret is logged as a failure, without the secret.
	const wrongSecret = "not-the-secret-0123456789abcdef"
	secret("wrong client secret", wrongSecret)
	e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}}, func(r *http.Request) { r.SetBasicAuth("svc", wrongSecret) })

	p = b.Get(e.Issuer + "/logout?" + url.Values{"id_token_hint": {idToken}, "client_id": {"web"}}.Encode())
	if p.Status >= 500 {
		t.Fatalf("logout: %d", p.Status)
	}

	// A replayed code is logged as a failure and an audit event (and
	// revokes the grant, so it comes last).
	if _, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier)); err == nil {
		t.Fatal("replayed code accepted")
	}

	oplog, audit := e.OperationalLog(), e.AuditLog()
	for _, want := range []string{`"event":"login_failed"`, `"event":"login_succeeded"`, `"event":"token_issued"`, `"event":"logout"`, `"event":"code_replay_detected"`, `"event":"token_revoked"`} {
		if !strings.Contains(audit, want) {
			t.Errorf("audit log lacks %s: the check below would prove nothing", want)
		}
	}
	for _, path := range []string{"/authorize", "/login", "/consent", "/token", "/userinfo", "/introspect", "/revoke", "/logout"} {
		if !strings.Contains(oplog, `"path":"`+path+`"`) {
			t.Errorf("operational log has no access line for %s", path)
		}
	}
	for _, s := range secrets {
		for name, log := range map[string]string{"operational": oplog, "audit": audit} {
			if strings.Contains(log, s) {
				t.Errorf("%s log contains a secret %q", name, s)
			}
			// Also url-encoded, as it would be in a logged query.
			if enc := url.QueryEscape(s); enc != s && strings.Contains(log, enc) {
				t.Errorf("%s log contains a secret (url-encoded) %q", name, enc)
			}
		}
	}
}

// TestMetricsAfterFlow scrapes the registry after a flow and checks the
// counters moved by what happened, and that the route label is the mux
// pattern, never a raw path.
func TestMetricsAfterFlow(t *testing.T) {
	e := latchtest.Start(t)
	e.MustClient(store.Client{ID: "svc", GrantTypes: []string{"client_credentials"}})
	ctx := latchtest.ClientContext(t.Context())

	b := e.Browser()
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	v := oauth2.GenerateVerifier()
	p := b.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	p = b.Login(p, "alice", "wrong password!")
	q := latchtest.Callback(t, b.Login(p, "alice", latchtest.AlicePassword))
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(v))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err != nil {
		t.Fatal(err)
	}
	// Presenting the rotated token again, past any grace window, is reuse.
	e.Clock.Advance(time.Minute)
	if _, err := conf.TokenSource(ctx, &oauth2.Token{RefreshToken: tok.RefreshToken}).Token(); err == nil {
		t.Fatal("reused refresh token accepted")
	}
	if resp, _ := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}},
		func(r *http.Request) { r.SetBasicAuth("svc", e.Secrets["svc"]) }); resp.StatusCode != 200 {
		t.Fatalf("client_credentials: %d", resp.StatusCode)
	}
	b.Get(e.Issuer + "/no/such/path/12345")

	checks := []struct {
		name   string
		labels []string
		want   float64
	}{
		{"latch_tokens_issued_total", []string{"grant_type", "authorization_code"}, 1},
		{"latch_tokens_issued_total", []string{"grant_type", "refresh_token"}, 1},
		{"latch_tokens_issued_total", []string{"grant_type", "client_credentials"}, 1},
		{"latch_logins_total", []string{"result", "succeeded"}, 1},
		{"latch_logins_total", []string{"result", "failed"}, 1},
		{"latch_refresh_token_reuse_detected_total", nil, 1},
		{"latch_audit_events_total", []string{"event", "refresh_token_reuse_detected"}, 1},
		{"latch_http_requests_total", []string{"route", "/token", "method", "POST", "code", "200"}, 3},
		{"latch_http_requests_total", []string{"route", "/token", "method", "POST", "code", "400"}, 1},
		{"latch_http_requests_total", []string{"route", "/", "code", "404"}, 1},
		{"latch_http_request_duration_seconds", []string{"route", "/token"}, 4}, // sample count
		{"latch_store_duration_seconds", []string{"method", "RedeemAuthCode"}, 1},
		{"latch_store_duration_seconds", []string{"method", "RotateRefreshToken"}, 2},
		{"latch_store_errors_total", nil, 0}, // the reuse is a contract outcome, not a failure
		{"latch_http_requests_in_flight", nil, 0},
	}
	for _, c := range checks {
		if got := e.MetricValue(c.name, c.labels...); got != c.want {
			t.Errorf("%s%v = %v, want %v", c.name, c.labels, got, c.want)
		}
	}
	for _, mf := range e.Metrics() {
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if lp.GetName() == "route" && strings.Contains(lp.GetValue(), "no/such") {
					t.Errorf("%s has a raw path as route label: %q", mf.GetName(), lp.GetValue())
				}
			}
		}
	}
}

// TestNewMetricsPrivateRegistry: metrics go to the registry passed in,
// twice on one registry is an error, and nothing lands in the global one.
func TestNewMetricsPrivateRegistry(t *testing.T) {
	reg := prometheus.NewRegistry()
	if _, err := server.NewMetrics(reg); err != nil {
		t.Fatal(err)
	}
	if _, err := server.NewMetrics(reg); err == nil {
		t.Error("NewMetrics twice on one registry succeeded")
	}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "latch_") {
			t.Errorf("%s registered on the global default registry", mf.GetName())
		}
	}
}

// TestInstrumentStoreCoversEveryMethod calls every method of store.Store
// through the instrumenting wrapper and checks each one was timed under
// its own name: a method added to the contract but not to the wrapper
// fails here.
func TestInstrumentStoreCoversEveryMethod(t *testing.T) {
	st, err := sqlite.Open(t.Context(), t.TempDir()+"/latch.db")
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	m, err := server.NewMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	wrapped := reflect.ValueOf(storemetrics.Instrument(st, m))
	iface := reflect.TypeFor[store.Store]()
	ctxType := reflect.TypeFor[interface{ Done() <-chan struct{} }]()
	var names []string
	for i := range iface.NumMethod() {
		meth := iface.Method(i)
		if meth.Name == "Close" {
			continue // last
		}
		names = append(names, meth.Name)
		args := make([]reflect.Value, meth.Type.NumIn())
		for j := range args {
			in := meth.Type.In(j)
			if in.Kind() == reflect.Interface && in.Implements(ctxType) {
				args[j] = reflect.ValueOf(t.Context())
			} else {
				args[j] = reflect.Zero(in)
			}
		}
		if meth.Type.IsVariadic() {
			wrapped.MethodByName(meth.Name).CallSlice(args)
		} else {
			wrapped.MethodByName(meth.Name).Call(args)
		}
	}
	wrapped.MethodByName("Close").Call(nil)
	names = append(names, "Close")

	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, mf := range mfs {
		if mf.GetName() != "latch_store_duration_seconds" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			for _, lp := range mm.GetLabel() {
				if lp.GetName() == "method" && mm.GetHistogram().GetSampleCount() > 0 {
					seen[lp.GetValue()] = true
				}
			}
		}
	}
	for _, n := range names {
		if !seen[n] {
			t.Errorf("store method %s is not instrumented (add it to internal/store/storemetrics)", n)
		}
	}
	if storemetrics.Instrument(st, nil) != st {
		t.Error("Instrument with a nil observer should return the store unchanged")
	}
}

// TestAccessLogAndRequestID: one access line per request with the route,
// status and client address; the request id is generated unless a trusted
// proxy sent one, echoed in X-Request-Id, and carried by the error and
// audit lines of the same request.
func TestAccessLogAndRequestID(t *testing.T) {
	tests := []struct {
		name          string
		trusted       []string
		sendID        string
		xff           string
		wantIDKept    bool
		wantClientIP  string
		wantGenerated bool
	}{
		{name: "untrusted peer: headers ignored", sendID: "planted-id", xff: "203.0.113.7", wantClientIP: "127.0.0.1", wantGenerated: true},
		{name: "trusted peer: id and XFF believed", trusted: []string{"127.0.0.0/8"}, sendID: "lb-4f2a", xff: "203.0.113.7", wantIDKept: true, wantClientIP: "203.0.113.7"},
		{name: "trusted peer: spoofed left entries ignored", trusted: []string{"127.0.0.0/8", "10.0.0.0/8"}, sendID: "lb-1", xff: "198.51.100.1, 203.0.113.7, 10.1.2.3", wantIDKept: true, wantClientIP: "203.0.113.7"},
		{name: "trusted peer: unsafe id replaced", trusted: []string{"127.0.0.0/8"}, sendID: "bad id\twith blanks", wantClientIP: "127.0.0.1", wantGenerated: true},
		{name: "trusted peer: overlong id replaced", trusted: []string{"127.0.0.0/8"}, sendID: strings.Repeat("a", 129), wantClientIP: "127.0.0.1", wantGenerated: true},
		{name: "trusted peer: garbage XFF", trusted: []string{"127.0.0.0/8"}, xff: "not-an-ip", wantClientIP: "127.0.0.1", wantGenerated: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := latchtest.StartWith(t, latchtest.Options{CaptureLog: true, Config: []func(*config.Config){func(c *config.Config) { c.TrustedProxies = tt.trusted }}})
			req, _ := http.NewRequestWithContext(t.Context(), http.MethodPost, e.Issuer+"/token", strings.NewReader("grant_type=nope"))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tt.sendID != "" {
				req.Header.Set("X-Request-Id", tt.sendID)
			}
			if tt.xff != "" {
				req.Header.Set("X-Forwarded-For", tt.xff)
			}
			resp, _ := e.DoJSON(req)
			if resp.StatusCode != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", resp.StatusCode)
			}
			id := resp.Header.Get("X-Request-Id")
			switch {
			case tt.wantIDKept && id != tt.sendID:
				t.Errorf("X-Request-Id = %q, want the proxy's %q", id, tt.sendID)
			case tt.wantGenerated && (id == "" || id == tt.sendID):
				t.Errorf("X-Request-Id = %q, want a fresh id", id)
			}
			var access, failed []map[string]any
			for _, l := range logLines(t, e.OperationalLog()) {
				switch l["msg"] {
				case "request":
					access = append(access, l)
				case "request failed":
					failed = append(failed, l)
				}
			}
			if len(access) != 1 {
				t.Fatalf("%d access lines, want 1:\n%s", len(access), e.OperationalLog())
			}
			a := access[0]
			want := map[string]any{"method": "POST", "route": "/token", "path": "/token", "status": float64(400), "request_id": id, "client_ip": tt.wantClientIP, "scheme": "http"}
			for k, v := range want {
				if a[k] != v {
					t.Errorf("access line %s = %v, want %v", k, a[k], v)
				}
			}
			for _, k := range []string{"duration", "bytes"} {
				if _, ok := a[k]; !ok {
					t.Errorf("access line has no %s", k)
				}
			}
			if len(failed) != 1 || failed[0]["request_id"] != id {
				t.Errorf("error line does not carry the request id %q: %v", id, failed)
			}
		})
	}

	t.Run("audit lines carry it", func(t *testing.T) {
		e := latchtest.Start(t)
		e.MustClient(store.Client{ID: "svc", GrantTypes: []string{"client_credentials"}})
		resp, _ := e.PostForm("/token", url.Values{"grant_type": {"client_credentials"}},
			func(r *http.Request) { r.SetBasicAuth("svc", e.Secrets["svc"]) })
		id := resp.Header.Get("X-Request-Id")
		lines := logLines(t, e.AuditLog())
		if len(lines) != 1 || lines[0]["event"] != "token_issued" || lines[0]["request_id"] != id {
			t.Errorf("audit lines %v, want one token_issued with request_id %q", lines, id)
		}
	})
}

// TestIssuerIgnoresForwardedHeaders: the issuer is the single source of
// every URL Latch emits. A request with a spoofed Host, X-Forwarded-Host
// and X-Forwarded-Proto — even from a trusted proxy — gets discovery
// metadata, redirects and the iss parameter built from the issuer.
func TestIssuerIgnoresForwardedHeaders(t *testing.T) {
	e := latchtest.StartWith(t, latchtest.Options{CaptureLog: true, Config: []func(*config.Config){func(c *config.Config) { c.TrustedProxies = []string{"127.0.0.0/8"} }}})
	spoof := func(r *http.Request) {
		r.Host = "evil.example"
		r.Header.Set("X-Forwarded-Host", "evil.example")
		r.Header.Set("X-Forwarded-Proto", "https")
		r.Header.Set("Forwarded", "host=evil.example;proto=https")
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, e.Issuer+"/.well-known/openid-configuration", nil)
	spoof(req)
	resp, doc := e.DoJSON(req)
	if resp.StatusCode != 200 {
		t.Fatalf("discovery: %d", resp.StatusCode)
	}
	urls := 0
	for k, v := range doc {
		s, ok := v.(string)
		if !ok || !strings.Contains(s, "://") {
			continue
		}
		urls++
		if k == "issuer" && s != e.Issuer || !strings.HasPrefix(s, e.Issuer+"/") && s != e.Issuer {
			t.Errorf("discovery %s = %q, want it under the issuer %s", k, s, e.Issuer)
		}
	}
	if urls < 5 {
		t.Errorf("discovery has %d URLs; expected the endpoints", urls)
	}

	// The authorization response's iss (RFC 9207) and the login form, with
	// every request of the browser spoofed (below its cookie jar).
	b := e.Browser()
	b.Client.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		r = r.Clone(r.Context())
		spoof(r)
		return http.DefaultTransport.RoundTrip(r)
	})
	conf := e.OAuthConfig("spa", latchtest.SPARedirect, "openid")
	v := oauth2.GenerateVerifier()
	p := b.Get(conf.AuthCodeURL("s", oauth2.S256ChallengeOption(v)))
	if strings.Contains(p.Body, "evil.example") {
		t.Errorf("login page mentions the spoofed host:\n%s", p.Body)
	}
	q := latchtest.Callback(t, b.Login(p, "alice", latchtest.AlicePassword))
	if q.Get("iss") != e.Issuer {
		t.Errorf("iss = %q, want %q", q.Get("iss"), e.Issuer)
	}
	if line := accessLines(t, e); len(line) == 0 || line[0]["scheme"] != "https" {
		t.Errorf("a trusted proxy's X-Forwarded-Proto should reach the access log only: %v", line)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

package bench

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func TestRunCountsOpsAndErrors(t *testing.T) {
	var n atomic.Int64
	w := Workload{ID: "T1", Name: "test", prepare: func(context.Context, *runEnv) (func(context.Context, int) (op, error), error) {
		return func(context.Context, int) (op, error) {
			return func(context.Context) error {
				i := n.Add(1)
				time.Sleep(100 * time.Microsecond) // a measurable latency, not a wait for a condition
				if i%4 == 0 {
					return fmt.Errorf("failure %d", i%3) // three distinct messages
				}
				return nil
			}, nil
		}, nil
	}}
	var out bytes.Buffer
	res, err := Run(t.Context(), Options{Concurrency: 3, Duration: 200 * time.Millisecond, Progress: NewProgress(&out, false), MaxErrorSamples: 2}, []Workload{w})
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Ops == 0 || r.Errors == 0 {
		t.Fatalf("ops %d errors %d: want both positive", r.Ops, r.Errors)
	}
	// Every fourth call fails: allow for the calls in flight at the end.
	if frac := float64(r.Errors) / float64(r.Ops); frac < 0.2 || frac > 0.3 {
		t.Errorf("error fraction %.2f, want about 0.25", frac)
	}
	if want := float64(r.Ops-r.Errors) / r.Seconds; r.OpsPerSec < want*0.99 || r.OpsPerSec > want*1.01 {
		t.Errorf("OpsPerSec %.1f, want successful ops / seconds = %.1f", r.OpsPerSec, want)
	}
	if len(r.ErrorSamples) != 2 || r.ErrorSamples[0] == r.ErrorSamples[1] {
		t.Errorf("ErrorSamples %q: want 2 distinct messages (the cap)", r.ErrorSamples)
	}
	if r.P50MS < 0.1 || r.P99MS < r.P50MS || r.MaxMS < r.P99MS {
		t.Errorf("latencies p50 %.3f p99 %.3f max %.3f ms: want 0.1 ≤ p50 ≤ p99 ≤ max", r.P50MS, r.P99MS, r.MaxMS)
	}
	if uint64(r.Latencies().Count()) != r.Ops {
		t.Errorf("histogram holds %d values, want one per op (%d)", r.Latencies().Count(), r.Ops)
	}
	if !strings.Contains(out.String(), "T1") {
		t.Errorf("progress output does not name the workload: %q", out.String())
	}
}

func TestRunSkipsWorkloadWhoseSetupFails(t *testing.T) {
	bad := Workload{ID: "T1", prepare: func(context.Context, *runEnv) (func(context.Context, int) (op, error), error) {
		return func(_ context.Context, i int) (op, error) {
			if i == 1 {
				return nil, errors.New("no session")
			}
			return func(context.Context) error { return nil }, nil
		}, nil
	}}
	good := Workload{ID: "T2", prepare: func(context.Context, *runEnv) (func(context.Context, int) (op, error), error) {
		return func(context.Context, int) (op, error) { return func(context.Context) error { return nil }, nil }, nil
	}}
	res, err := Run(t.Context(), Options{Concurrency: 2, Duration: 20 * time.Millisecond}, []Workload{bad, good})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(res[0].Skipped, "worker 1: no session") || res[0].Ops != 0 {
		t.Errorf("T1: Skipped %q Ops %d, want skipped for worker 1's error", res[0].Skipped, res[0].Ops)
	}
	if res[1].Skipped != "" || res[1].Ops == 0 {
		t.Errorf("T2: Skipped %q Ops %d, want it to run after T1 was skipped", res[1].Skipped, res[1].Ops)
	}
}

func TestSelectWorkloads(t *testing.T) {
	ws, err := SelectWorkloads([]string{"w3", "W1", "W3"})
	if err != nil || len(ws) != 2 || ws[0].ID != "W3" || ws[1].ID != "W1" {
		t.Errorf("SelectWorkloads(w3,W1,W3) = %v, %v; want W3, W1", ids(ws), err)
	}
	if ws, _ := SelectWorkloads([]string{"all"}); len(ws) != len(Workloads()) {
		t.Errorf("all selected %d, want %d", len(ws), len(Workloads()))
	}
	if _, err := SelectWorkloads([]string{"W9"}); err == nil || !strings.Contains(err.Error(), "W9") {
		t.Errorf("SelectWorkloads(W9) error = %v, want one naming W9", err)
	}
}

func ids(ws []Workload) []string {
	var out []string
	for _, w := range ws {
		out = append(out, w.ID)
	}
	return out
}

// Latch's login and consent pages and oidc-provider's dev login page, as
// the sign-in form scanner sees them.
const (
	latchLogin = `<form class="form" method="post" action="http://127.0.0.1:8080/login">
<input type="hidden" name="interaction" value="a&amp;b">
<fieldset><input id="username" name="username" type="text" value="" autocomplete="username" required autofocus>
<input id="password" name="password" type="password" required>
<button class="button button-primary" type="submit">Sign in</button></fieldset></form>`
	latchConsent = `<form class="form" method="post" action="/consent">
<input type="hidden" name="interaction" value="xyz">
<button class="button button-secondary" type="submit" name="decision" value="deny">Deny</button>
<button class="button button-primary" type="submit" name="decision" value="allow">Allow</button></form>`
	opLogin = `<form autocomplete="off" action="http://127.0.0.1:3100/interaction/UID" method="post">
  <input type="hidden" name="prompt" value="login"/>
  <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
  <input required type="password" name="password" placeholder="and password" >
  <button type="submit" class="login login-submit">Sign-in</button></form>
  <form action='/other' method='get'><input name='q'></form>`
)

func TestSignInForms(t *testing.T) {
	base, _ := url.Parse("http://127.0.0.1:8080/authorize?x=1")
	for _, tc := range []struct {
		name, page, wantURL string
		want                url.Values
	}{
		{"latch login", latchLogin, "http://127.0.0.1:8080/login",
			url.Values{"interaction": {"a&b"}, "username": {"alice"}, "password": {"pw"}}},
		{"latch consent", latchConsent, "http://127.0.0.1:8080/consent",
			url.Values{"interaction": {"xyz"}, "decision": {"allow"}}},
		{"oidc-provider login", opLogin, "http://127.0.0.1:3100/interaction/UID",
			url.Values{"prompt": {"login"}, "login": {"alice"}, "password": {"pw"}}},
	} {
		f, ok := pickForm(tc.page)
		if !ok {
			t.Fatalf("%s: no form found", tc.name)
		}
		req, err := f.request(t.Context(), base, "alice", "pw")
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if req.Method != "POST" || req.URL.String() != tc.wantURL {
			t.Errorf("%s: %s %s, want POST %s", tc.name, req.Method, req.URL, tc.wantURL)
		}
		if err := req.ParseForm(); err != nil {
			t.Fatal(err)
		}
		if req.PostForm.Encode() != tc.want.Encode() {
			t.Errorf("%s: form %q, want %q", tc.name, req.PostForm.Encode(), tc.want.Encode())
		}
	}
	if _, ok := pickForm("<p>no form</p>"); ok {
		t.Error("pickForm found a form in a page without one")
	}
}

func TestCallbackChecks(t *testing.T) {
	tg := &Target{Issuer: "http://as.test", RedirectURI: "https://app.test/cb"}
	ar := authRequest{State: "s1"}
	for _, tc := range []struct {
		loc      string
		wantCode string
		wantOK   bool
		wantErr  string
	}{
		{"https://app.test/cb?code=c1&state=s1&iss=http%3A%2F%2Fas.test", "c1", true, ""},
		{"https://app.test/cb?code=c1&state=s1", "c1", true, ""},
		{"https://app.test/cb?code=c1&state=other", "", true, "state"},                  // CSRF: another request's answer
		{"https://app.test/cb?code=c1&state=s1&iss=http%3A%2F%2Fevil", "", true, "iss"}, // RFC 9207 mix-up
		{"https://app.test/cb?error=access_denied&state=s1", "", true, "access_denied"},
		{"https://app.test/cb?state=s1", "", true, "without code"},
		{"http://as.test/login", "", false, ""},
	} {
		u, _ := url.Parse(tc.loc)
		code, ok, err := tg.callback(u, ar)
		if code != tc.wantCode || ok != tc.wantOK || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("callback(%s) = %q, %v, %v; want %q, %v, error containing %q", tc.loc, code, ok, err, tc.wantCode, tc.wantOK, tc.wantErr)
		}
	}
}

func fakeJWT(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJFUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func TestCheckIDToken(t *testing.T) {
	tg := &Target{Issuer: "http://as.test", PublicClientID: "spa", Scope: "openid email"}
	for _, tc := range []struct {
		name, raw, nonce, wantErr string
	}{
		{"good", fakeJWT(map[string]any{"iss": "http://as.test", "aud": "spa", "nonce": "n1"}), "n1", ""},
		{"aud array", fakeJWT(map[string]any{"iss": "http://as.test", "aud": []string{"x", "spa"}}), "", ""},
		{"missing", "", "", "no id_token"},
		{"wrong iss", fakeJWT(map[string]any{"iss": "http://evil", "aud": "spa"}), "", "iss"},
		{"wrong aud", fakeJWT(map[string]any{"iss": "http://as.test", "aud": "other"}), "", "aud"},
		{"wrong nonce", fakeJWT(map[string]any{"iss": "http://as.test", "aud": "spa", "nonce": "n2"}), "n1", "nonce"},
		{"not a JWT", "abc", "", "compact"},
	} {
		err := tg.checkIDToken(tc.raw, tc.nonce)
		if (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: checkIDToken = %v, want error containing %q", tc.name, err, tc.wantErr)
		}
	}
	noOpenID := &Target{Issuer: "http://as.test", PublicClientID: "spa", Scope: "api"}
	if err := noOpenID.checkIDToken("", ""); err != nil {
		t.Errorf("without openid, no ID token is fine; got %v", err)
	}
}

func TestNewAuthRequestIsPKCES256(t *testing.T) {
	tg := &Target{AuthorizeURL: "http://as.test/authorize", PublicClientID: "spa", RedirectURI: "https://app.test/cb", Scope: "openid"}
	a, b := tg.newAuthRequest(), tg.newAuthRequest()
	if a.State == b.State || a.Verifier == b.Verifier || a.Nonce == b.Nonce {
		t.Error("two requests share state, nonce or verifier")
	}
	if len(a.Verifier) != 43 {
		t.Errorf("verifier length %d, want 43 (RFC 7636 §4.1)", len(a.Verifier))
	}
	u, _ := url.Parse(a.URL)
	q := u.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("code_challenge") == a.Verifier {
		t.Errorf("authorization request %s: want an S256 challenge, not the verifier", a.URL)
	}
}

func TestProcParsing(t *testing.T) {
	// The command name may contain spaces and parentheses.
	stat := []byte("1234 (latch (x) y) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 8 0 100 0 0")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 3.25 {
		t.Errorf("parseStatCPU = %v, %v; want 3.25 s (250+75 ticks)", cpu, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Error("parseStatCPU(garbage) succeeded")
	}
	status := []byte("Name:\tlatch\nVmPeak:\t  900000 kB\nVmHWM:\t   40960 kB\nVmRSS:\t   20480 kB\nThreads:\t8\n")
	hwm, rss, err := parseStatusRSS(status)
	if err != nil || hwm != 40<<20 || rss != 20<<20 {
		t.Errorf("parseStatusRSS = %d, %d, %v; want 40 MiB, 20 MiB", hwm, rss, err)
	}
	if _, _, err := parseStatusRSS([]byte("Name:\tx\n")); err == nil {
		t.Error("parseStatusRSS without VmHWM succeeded")
	}
}

func TestProcSamplerOnSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc on this system")
	}
	u, err := ProcSampler{PID: os.Getpid()}.Sample()
	if err != nil {
		t.Fatal(err)
	}
	if u.RSSBytes <= 0 || u.PeakRSSBytes < u.RSSBytes || u.CPUSeconds < 0 {
		t.Errorf("Sample of this process = %+v: want RSS > 0 and peak ≥ RSS", u)
	}
}

func TestReports(t *testing.T) {
	h := NewHistogram()
	for i := range 1000 {
		h.Record(time.Duration(500+i) * time.Microsecond)
	}
	rep := &Report{
		Date: time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC), Command: "latch bench --duration 20s", Server: "latch <test>",
		Issuer: "http://127.0.0.1:1", Concurrency: 64, Duration: "20s", CPUs: 2,
		Results: []Result{
			{ID: "W1", Name: "client_credentials", Ops: 1000, OpsPerSec: 5000, P50MS: 1, P95MS: 1.4, P99MS: 1.5, MaxMS: 1.5,
				Histogram: h.Bins(40), Server: &Usage{CPUSeconds: 3, CPUCores: 1.5, PeakRSSBytes: 50 << 20}},
			{ID: "W2", Name: "code+pkce flow", Skipped: "needs a public client"},
		},
	}
	var js bytes.Buffer
	if err := rep.WriteJSON(&js); err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Results) != 2 || back.Results[0].OpsPerSec != 5000 || len(back.Results[0].Histogram) != 40 {
		t.Errorf("JSON round trip: %v, %+v", err, back.Results)
	}
	var html bytes.Buffer
	if err := rep.WriteHTML(&html); err != nil {
		t.Fatal(err)
	}
	page := html.String()
	if n := strings.Count(page, "<svg"); n != 1 {
		t.Errorf("HTML has %d charts, want 1 (W2 was skipped)", n)
	}
	for _, want := range []string{"latch &lt;test&gt;", "skipped: needs a public client", "p99", "5000"} {
		if !strings.Contains(page, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	// Self-contained: nothing is loaded from anywhere.
	if m := regexp.MustCompile(`(?i)<script|<link|<img|\bsrc=|@import|url\(`).FindString(page); m != "" {
		t.Errorf("HTML loads an external resource or runs script: %q", m)
	}
	var txt bytes.Buffer
	if err := rep.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "50.0 MiB") || !strings.Contains(txt.String(), "skipped") {
		t.Errorf("text table:\n%s", txt.String())
	}
	// The files can be written where asked.
	if err := os.WriteFile(filepath.Join(t.TempDir(), "r.html"), html.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestProgressTTYUpdatesInPlace(t *testing.T) {
	var b bytes.Buffer
	p := NewProgress(&b, true)
	w := Workload{ID: "W1", Name: "client_credentials"}
	p.Status(w, "setting up a rather long status line")
	p.Status(w, "short")
	p.Done(Result{ID: "W1", Name: "client_credentials", OpsPerSec: 10})
	out := b.String()
	if strings.Count(out, "\n") != 1 || !strings.HasSuffix(out, "\n") {
		t.Errorf("TTY progress %q: want in-place updates and one final newline", out)
	}
	if strings.Count(out, "\r") != 3 {
		t.Errorf("TTY progress %q: want a carriage return per update", out)
	}
	var nil_ *Progress
	nil_.Status(w, "nothing") // a nil Progress shows nothing and does not panic
}

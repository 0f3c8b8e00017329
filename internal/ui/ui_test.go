package ui

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden files")

func newUI(t *testing.T) *UI {
	t.Helper()
	u, err := New("")
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return u
}

func render(t *testing.T, u *UI, page any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := u.Render(&buf, page); err != nil {
		t.Fatalf("Render(%T): %v", page, err)
	}
	return buf.String()
}

// fixture is one page with fixed data; name is its golden file.
type fixture struct {
	name string
	page any
	// formAction is the cross-origin form target the page may post to.
	formAction string
}

func fixtures() []fixture {
	return []fixture{
		{name: "login", page: LoginPage{Action: "/login", Interaction: "sealed.interaction.v1", ClientName: "Example App"}},
		{name: "login_error", page: LoginPage{Action: "/login", Interaction: "sealed.interaction.v1", ClientName: "Example App", Username: "alice", Error: "Incorrect username or password."}},
		{name: "login_locked", page: LoginPage{Action: "/login", Interaction: "sealed.interaction.v1", Username: "alice", Error: "Too many failed attempts. Try again in 15 minutes.", Locked: true}},
		{name: "consent", page: ConsentPage{
			Action: "/consent", Interaction: "sealed.interaction.v1",
			ClientName: "Example App", ClientID: "example-app", Username: "alice",
			Scopes: []Scope{
				{Name: "openid", Description: "Sign you in"},
				{Name: "profile", Description: "See your name and profile"},
				{Name: "email", Description: "See your email address"},
				{Name: "offline_access", Description: "Stay signed in when you are not using it"},
			},
		}},
		{name: "consent_no_scopes", page: ConsentPage{Action: "/consent", Interaction: "i", ClientID: "cli-only"}},
		{name: "error", page: ErrorPage{Title: "Unknown application", Message: "The application that sent you here is not registered with this server.", Code: "invalid_client"}},
		{name: "error_empty", page: ErrorPage{}},
		{name: "form_post", page: FormPostPage{Action: "https://app.example.com/callback", Fields: []Field{
			{Name: "code", Value: "SplxlOBeZQQYbYS6WxSbIA"},
			{Name: "state", Value: "af0ifjsldkj"},
			{Name: "iss", Value: "https://id.example.com"},
		}}, formAction: "https://app.example.com/callback"},
		{name: "logout", page: LogoutPage{Action: "/logout", Interaction: "sealed.interaction.v1", ClientName: "Example App"}},
		{name: "logout_no_client", page: LogoutPage{Action: "/logout", Interaction: "sealed.interaction.v1"}},
		{name: "logged_out", page: LoggedOutPage{}},
		{name: "code", page: CodePage{Action: "/login/code", Interaction: "sealed.interaction.v1", ClientName: "Example App"}},
		{name: "code_error", page: CodePage{Action: "/login/code", Interaction: "sealed.interaction.v1", Error: "That code is not right, or was used already. Enter the current code from your authenticator app, or a recovery code."}},
		{name: "account", page: AccountPage{
			Action: "/account", Interaction: "sealed.interaction.v1", Username: "alice", HasPassword: true, HasTOTP: true, RecoveryLeft: 9,
			Notice:  "Your password was changed.",
			Methods: []AccountMethod{{Kind: "password", Name: "Password"}, {Kind: "totp", Name: "Authenticator app", Added: "2026-01-02"}},
			Sessions: []AccountSession{
				{Started: "2026-01-02 03:04 UTC", Methods: "pwd otp mfa", Current: true},
				{Started: "2026-01-01 10:00 UTC", Methods: "pwd"},
			},
			Apps:          []AccountApp{{ClientID: "example-app", Name: "Example App", Scopes: []string{"openid", "profile"}}},
			SignOutAction: "/logout",
		}},
		{name: "account_enrol", page: AccountPage{Action: "/account", Interaction: "sealed.interaction.v1", Username: "alice",
			Enrol: &TOTPEnrolment{QR: "data:image/png;base64,iVBORw0KGgo=", Secret: "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"}}},
		{name: "reset", page: ResetPage{Action: "/account/reset", Interaction: "sealed.interaction.v1", Username: "alice"}},
		{name: "reset_invalid", page: ResetPage{Invalid: true}},
		{name: "login_upstreams", page: LoginPage{Action: "/login", Interaction: "sealed.interaction.v1", ClientName: "Example App",
			Upstreams: []UpstreamButton{{Name: "Example Corp", URL: "/login/upstream?interaction=i1&upstream=corp"}, {Name: "GitLab", URL: "/login/upstream?interaction=i2&upstream=gitlab"}}}},
		{name: "account_upstreams", page: AccountPage{Action: "/account", Interaction: "sealed.interaction.v1", Username: "alice", HasPassword: true,
			Methods:   []AccountMethod{{Kind: "password", Name: "Password"}},
			Upstreams: []AccountUpstream{{Name: "Example Corp", Linked: true}, {Name: "GitLab", LinkURL: "/login/upstream?interaction=i1&upstream=gitlab"}}}},
		{name: "reset_passkey", page: ResetPage{Action: "/account/reset", Interaction: "sealed.interaction.v1", Username: "alice",
			PasskeyOptions: `{"challenge":"Y2hhbGxlbmdl","rp":{"name":"Latch","id":"id.example.com"},"user":{"name":"alice","displayName":"alice","id":"dTE"}}`}},
		{name: "reset_passkey_done", page: ResetPage{PasskeyDone: true}},
		{name: "login_passkey", page: LoginPage{Action: "/login", Interaction: "sealed.interaction.v1", ClientName: "Example App",
			PasskeyAction: "/login/passkey", PasskeyOptions: `{"challenge":"Y2hhbGxlbmdl","rpId":"id.example.com","userVerification":"required"}`}},
		{name: "login_passkey_required", page: LoginPage{Action: "/login", Interaction: "sealed.interaction.v1", ClientName: "Example App", Username: "alice",
			PasskeyRequired: true, PasskeyAction: "/login/passkey", PasskeyOptions: `{"challenge":"Y2hhbGxlbmdl","rpId":"id.example.com","userVerification":"required"}`}},
		{name: "account_passkeys", page: AccountPage{Action: "/account", Interaction: "sealed.interaction.v1", Username: "alice",
			PasskeyOptions: `{"challenge":"Y2hhbGxlbmdl","rp":{"name":"Latch","id":"id.example.com"},"user":{"name":"alice","displayName":"alice","id":"dTE"}}`,
			Passkeys: []AccountPasskey{
				{ID: "pk-AQID", Name: "Laptop", Added: "2026-01-02", LastUsed: "2026-01-03"},
				{ID: "pk-BAUG", Name: "Phone <synced>", Added: "2026-01-04", BackupEligible: true, BackedUp: true},
			}}},
		{name: "account_codes", page: AccountPage{Action: "/account", Interaction: "sealed.interaction.v1", Username: "alice",
			Codes: []string{"abcde-fghjk", "mnpqr-stuvw"}}},
		{name: "consent_cimd_localhost", page: ConsentPage{
			Action: "/consent", Interaction: "sealed.interaction.v1",
			ClientName: "Example CLI", ClientID: "https://cli.example.com/oauth/client.json", Username: "alice",
			Scopes:       []Scope{{Name: "openid", Description: "Sign you in"}},
			RedirectHost: "127.0.0.1:53682", LocalhostOnly: true,
		}},
		{name: "device", page: DevicePage{Action: "/device", Interaction: "sealed.interaction.v1", Step: "enter", UserCode: "BCDF-GHJK", Username: "alice"}},
		{name: "device_error", page: DevicePage{Action: "/device", Interaction: "sealed.interaction.v1", Step: "enter", UserCode: "BCDF-GHJX", Username: "alice", Error: "That code is not valid or has expired. Check the code on your device and try again."}},
		{name: "device_locked", page: DevicePage{Action: "/device", Interaction: "sealed.interaction.v1", Step: "enter", Username: "alice", Error: "Too many incorrect codes. Try again in 15 minutes.", Locked: true}},
		{name: "device_confirm", page: DevicePage{
			Action: "/device", Interaction: "sealed.interaction.v1", Step: "confirm", UserCode: "BCDF-GHJK",
			ClientName: "Example TV", ClientID: "example-tv", Username: "alice",
			Scopes: []Scope{{Name: "openid", Description: "Sign you in"}, {Name: "offline_access", Description: "Stay signed in when you are not using it"}},
		}},
		{name: "device_approved", page: DevicePage{Step: "done", Approved: true}},
		{name: "device_denied", page: DevicePage{Step: "done"}},
	}
}

func TestGolden(t *testing.T) {
	u := newUI(t)
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			checkGolden(t, f.name, render(t, u, f.page))
		})
	}
}

// checkGolden compares got with testdata/golden/NAME.html (-update
// rewrites it).
func checkGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name+".html")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/ui -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("Render(%s) differs from %s (run with -update if intended):\n%s", name, path, diff(string(want), got))
	}
}

// diff shows the first differing line, enough to see what changed.
func diff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(wl), len(gl)) {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + strconv.Itoa(i+1) + ":\n  want: " + w + "\n  got:  " + g
		}
	}
	return "(identical lines; trailing difference)"
}

// TestStrictCSP fails if any rendered page needs more than the strict
// Content-Security-Policy allows: inline <script>, <style>, style=, on*=
// handlers, or a URL to another origin (the form_post page's own action
// excepted).
func TestStrictCSP(t *testing.T) {
	u := newUI(t)
	for _, f := range fixtures() {
		html := render(t, u, f.page)
		for _, v := range cspViolations(html, f.formAction) {
			t.Errorf("page %s: %s", f.name, v)
		}
	}
}

// TestScannerCatchesViolations keeps the checker honest: each snippet
// must be reported.
func TestScannerCatchesViolations(t *testing.T) {
	bad := []string{
		`<script>alert(1)</script>`,
		`<SCRIPT type="module">x()</SCRIPT>`,
		`<script src="/static/a.js">inline()</script>`,
		`<style>body{}</style>`,
		`<p style="color:red">x</p>`,
		`<p STYLE='x'>x</p>`,
		`<button onclick="x()">x</button>`,
		`<body onload=x()>`,
		`<img src="https://evil.example/x.png">`,
		`<link rel="stylesheet" href="//cdn.example/x.css">`,
		`<script src="https://cdn.example/x.js"></script>`,
		`<form action="https://evil.example/steal"></form>`,
		`<a href="javascript:alert(1)">x</a>`,
		`<iframe src="/x"></iframe>`,
		`<p>see http://evil.example</p>`,
	}
	for _, b := range bad {
		if v := cspViolations(b, ""); len(v) == 0 {
			t.Errorf("cspViolations(%q) = none, want a violation", b)
		}
	}
	good := []string{
		`<script src="/static/form_post.js?v=1" defer></script>`,
		`<link rel="icon" href="data:,"><link rel="stylesheet" href="/static/latch.css?v=1">`,
		`<form method="post" action="/login"><input name="x" value="on"></form>`,
	}
	for _, g := range good {
		if v := cspViolations(g, ""); len(v) != 0 {
			t.Errorf("cspViolations(%q) = %v, want none", g, v)
		}
	}
	// The allowed action is allowed only as a form action.
	if v := cspViolations(`<img src="https://app.example/cb">`, "https://app.example/cb"); len(v) == 0 {
		t.Error("allowed form action accepted as an img src")
	}
}

func TestEscaping(t *testing.T) {
	u := newUI(t)
	const evil = `"><script>alert(1)</script>`
	const evilURL = `javascript:alert(1)`
	pages := []struct {
		name string
		page any
	}{
		{"login", LoginPage{Action: evilURL, Interaction: evil, ClientName: evil, Username: evil, Error: evil}},
		{"login_locked", LoginPage{Action: "/login", Interaction: evil, ClientName: evil, Username: evil, Error: evil, Locked: true}},
		{"login_upstreams", LoginPage{Action: "/login", Interaction: evil, Upstreams: []UpstreamButton{{Name: evil, URL: evilURL}}}},
		{"consent", ConsentPage{Action: evilURL, Interaction: evil, ClientName: evil, ClientID: evil, Username: evil, Scopes: []Scope{{Name: evil, Description: evil}}}},
		{"error", ErrorPage{Title: evil, Message: evil, Code: evil}},
		{"form_post", FormPostPage{Action: evilURL, Fields: []Field{{Name: evil, Value: evil}, {Name: "state", Value: evil}}}},
		{"logout", LogoutPage{Action: evilURL, Interaction: evil, ClientName: evil}},
	}
	for _, p := range pages {
		html := render(t, u, p.page)
		if strings.Contains(html, "<script>alert(1)") || strings.Contains(html, `"><script`) {
			t.Errorf("page %s: user string reached the HTML unescaped:\n%s", p.name, html)
		}
		if strings.Contains(html, "javascript:") {
			t.Errorf("page %s: javascript: URL survived in an attribute", p.name)
		}
		if !strings.Contains(html, "&lt;script&gt;alert(1)&lt;/script&gt;") && !strings.Contains(html, "&#34;&gt;&lt;script&gt;") {
			t.Errorf("page %s: escaped form of the user string not found", p.name)
		}
		for _, v := range cspViolations(html, "") {
			t.Errorf("page %s with hostile data: %s", p.name, v)
		}
	}
}

func TestFormPostURLSanitised(t *testing.T) {
	u := newUI(t)
	html := render(t, u, FormPostPage{Action: "javascript:alert(1)", Fields: []Field{{Name: "code", Value: "x"}}})
	if !strings.Contains(html, `action="#ZgotmplZ"`) {
		t.Errorf("javascript: action not neutralised:\n%s", html)
	}
}

func TestLoginForm(t *testing.T) {
	u := newUI(t)
	tests := []struct {
		name          string
		page          LoginPage
		autofocus     string // id of the autofocused input
		alert, locked bool
	}{
		{"empty", LoginPage{Action: "/login", Interaction: "i"}, "username", false, false},
		{"prefilled", LoginPage{Action: "/login", Interaction: "i", Username: "alice"}, "password", false, false},
		{"error", LoginPage{Action: "/login", Interaction: "i", Username: "alice", Error: "Wrong."}, "password", true, false},
		{"locked", LoginPage{Action: "/login", Interaction: "i", Username: "alice", Error: "Locked.", Locked: true}, "password", true, true},
		{"locked without message", LoginPage{Action: "/login", Interaction: "i", Locked: true}, "username", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html := render(t, u, tt.page)
			ts := tags(html)
			form := findTag(ts, "form", nil)
			if form == nil || form.attrs["method"] != "post" || form.attrs["action"] != "/login" {
				t.Fatalf("form = %+v, want method=post action=/login", form)
			}
			user := findTag(ts, "input", map[string]string{"name": "username"})
			pass := findTag(ts, "input", map[string]string{"name": "password"})
			inter := findTag(ts, "input", map[string]string{"name": "interaction"})
			if user == nil || pass == nil || inter == nil {
				t.Fatalf("missing inputs: username %v password %v interaction %v", user, pass, inter)
			}
			if user.attrs["autocomplete"] != "username" || pass.attrs["autocomplete"] != "current-password" || pass.attrs["type"] != "password" {
				t.Errorf("autocomplete/type wrong: %+v %+v", user.attrs, pass.attrs)
			}
			if inter.attrs["type"] != "hidden" || inter.attrs["value"] != "i" {
				t.Errorf("interaction input = %+v", inter.attrs)
			}
			if user.attrs["value"] != tt.page.Username {
				t.Errorf("username value = %q, want %q", user.attrs["value"], tt.page.Username)
			}
			var focused []string
			for _, tg := range ts {
				if tg.has("autofocus") {
					focused = append(focused, tg.attrs["id"])
				}
			}
			if len(focused) != 1 || focused[0] != tt.autofocus {
				t.Errorf("autofocus on %q, want exactly %q", focused, tt.autofocus)
			}
			if got := strings.Contains(html, `role="alert"`); got != tt.alert {
				t.Errorf("role=alert present = %v, want %v", got, tt.alert)
			}
			if tt.page.Error != "" && !strings.Contains(html, tt.page.Error) {
				t.Errorf("error %q not shown", tt.page.Error)
			}
			fs := findTag(ts, "fieldset", nil)
			if got := fs != nil && fs.has("disabled"); got != tt.locked {
				t.Errorf("fieldset disabled = %v, want %v", got, tt.locked)
			}
			if got := strings.Contains(html, "alert-locked"); got != tt.locked {
				t.Errorf("lockout notice = %v, want %v", got, tt.locked)
			}
			btn := findTag(ts, "button", map[string]string{"type": "submit"})
			if btn == nil || !strings.Contains(html, ">Sign in</button>") {
				t.Error(`no submit button "Sign in"`)
			}
			if tt.page.ClientName == "" && strings.Contains(html, "to continue to") {
				t.Error("shows 'to continue to' without a client name")
			}
		})
	}
}

func TestAccessibility(t *testing.T) {
	u := newUI(t)
	for _, f := range fixtures() {
		html := render(t, u, f.page)
		ts := tags(html)
		if h := findTag(ts, "html", nil); h == nil || h.attrs["lang"] == "" {
			t.Errorf("%s: <html> has no lang", f.name)
		}
		if n := strings.Count(html, "<h1"); n != 1 {
			t.Errorf("%s: %d <h1>, want 1", f.name, n)
		}
		if findTag(ts, "meta", map[string]string{"name": "viewport"}) == nil {
			t.Errorf("%s: no viewport meta", f.name)
		}
		if findTag(ts, "link", map[string]string{"rel": "stylesheet"}) == nil {
			t.Errorf("%s: no stylesheet", f.name)
		}
		labels := map[string]bool{}
		for _, tg := range ts {
			if tg.name == "label" {
				labels[tg.attrs["for"]] = true
			}
		}
		for _, tg := range ts {
			if tg.name == "input" && tg.attrs["type"] != "hidden" {
				if id := tg.attrs["id"]; id == "" || !labels[id] {
					t.Errorf("%s: input %q has no <label for>", f.name, tg.attrs["name"])
				}
			}
			if tg.name == "button" && tg.attrs["type"] == "" {
				t.Errorf("%s: button without type", f.name)
			}
		}
	}
}

func TestConsentPage(t *testing.T) {
	u := newUI(t)
	page := fixtures()[3].page.(ConsentPage)
	html := render(t, u, page)
	for _, s := range page.Scopes {
		if !strings.Contains(html, s.Description) || !strings.Contains(html, ">"+s.Name+"<") {
			t.Errorf("scope %s (%q) not listed", s.Name, s.Description)
		}
	}
	ts := tags(html)
	for _, d := range []string{"allow", "deny"} {
		b := findTag(ts, "button", map[string]string{"name": "decision", "value": d})
		if b == nil || b.attrs["type"] != "submit" {
			t.Errorf("no submit button decision=%s", d)
		}
	}
	// Deny comes first, so Enter never grants access by default.
	if strings.Index(html, `value="deny"`) > strings.Index(html, `value="allow"`) {
		t.Error("deny button is not first")
	}
	if findTag(ts, "input", map[string]string{"name": "interaction", "type": "hidden"}) == nil {
		t.Error("no hidden interaction input")
	}
	for _, want := range []string{"Example App", "example-app", "alice"} {
		if !strings.Contains(html, want) {
			t.Errorf("consent page lacks %q", want)
		}
	}
}

func TestLogoutPage(t *testing.T) {
	u := newUI(t)
	html := render(t, u, LogoutPage{Action: "/logout", Interaction: "i"})
	ts := tags(html)
	for _, d := range []string{"logout", "cancel"} {
		if findTag(ts, "button", map[string]string{"name": "decision", "value": d}) == nil {
			t.Errorf("no button decision=%s", d)
		}
	}
	if findTag(ts, "input", map[string]string{"name": "interaction", "value": "i"}) == nil {
		t.Error("no interaction input")
	}
}

func TestFormPostPage(t *testing.T) {
	u := newUI(t)
	page := FormPostPage{Action: "https://app.example.com/cb?x=1", Fields: []Field{{"code", "c1"}, {"state", "s&1"}, {"submit", "shadow"}}}
	html := render(t, u, page)
	ts := tags(html)
	form := findTag(ts, "form", nil)
	if form == nil || form.attrs["method"] != "post" || form.attrs["action"] != "https://app.example.com/cb?x=1" {
		t.Fatalf("form = %+v", form)
	}
	for _, f := range []Field{{"code", "c1"}, {"state", "s&amp;1"}, {"submit", "shadow"}} {
		if findTag(ts, "input", map[string]string{"type": "hidden", "name": f.Name, "value": f.Value}) == nil {
			t.Errorf("no hidden field %s=%s", f.Name, f.Value)
		}
	}
	if !strings.Contains(html, "<noscript>") || findTag(ts, "button", map[string]string{"type": "submit"}) == nil {
		t.Error("no <noscript> note and submit button")
	}
	s := findTag(ts, "script", nil)
	if s == nil || !strings.HasPrefix(s.attrs["src"], StaticPrefix+"form_post.js?v=") {
		t.Errorf("script = %+v, want src %sform_post.js?v=…", s, StaticPrefix)
	}
	// Only the form_post page loads a script.
	if strings.Contains(render(t, u, LoginPage{Action: "/login"}), "<script") {
		t.Error("login page loads a script")
	}
}

func TestRenderErrors(t *testing.T) {
	u := newUI(t)
	for _, page := range []any{nil, "login", struct{}{}, (*LoginPage)(nil), &struct{}{}, FormPostPage{}} {
		var buf bytes.Buffer
		if err := u.Render(&buf, page); err == nil {
			t.Errorf("Render(%#v) = nil error, want error", page)
		}
		if buf.Len() != 0 {
			t.Errorf("Render(%#v) wrote %d bytes on error", page, buf.Len())
		}
	}
	var buf bytes.Buffer
	if err := u.Render(&buf, 42); !errors.Is(err, ErrUnknownPage) {
		t.Errorf("Render(42) = %v, want ErrUnknownPage", err)
	}
	// A pointer to a page renders like the value.
	if got, want := render(t, u, &LoggedOutPage{}), render(t, u, LoggedOutPage{}); got != want {
		t.Error("Render(&LoggedOutPage{}) differs from Render(LoggedOutPage{})")
	}
}

type failWriter struct{ n int }

func (w *failWriter) Write(p []byte) (int, error) {
	w.n++
	return 0, errors.New("broken pipe")
}

func TestRenderWritesOnce(t *testing.T) {
	u := newUI(t)
	w := &failWriter{}
	if err := u.Render(w, LoggedOutPage{}); err == nil {
		t.Error("Render to a failing writer returned nil")
	}
	if w.n != 1 {
		t.Errorf("Render made %d writes, want 1 (buffered)", w.n)
	}
}

func TestProductName(t *testing.T) {
	u := newUI(t)
	if html := render(t, u, LoggedOutPage{}); !strings.Contains(html, "<title>Signed out · Latch</title>") {
		t.Errorf("default product name missing from title:\n%s", html)
	}
	acme, err := New(`Acme <ID>`)
	if err != nil {
		t.Fatal(err)
	}
	html := render(t, acme, LogoutPage{Action: "/logout"})
	if !strings.Contains(html, "<title>Sign out · Acme &lt;ID&gt;</title>") || strings.Contains(html, "Latch") {
		t.Errorf("custom product name not used (escaped) everywhere:\n%s", html)
	}
}

func TestRenderConcurrent(t *testing.T) {
	u := newUI(t)
	want := render(t, u, fixtures()[0].page)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, f := range fixtures() {
				var buf bytes.Buffer
				if err := u.Render(&buf, f.page); err != nil {
					t.Errorf("Render(%s): %v", f.name, err)
				}
			}
			var buf bytes.Buffer
			if err := u.Render(&buf, fixtures()[0].page); err != nil || buf.String() != want {
				t.Errorf("concurrent Render differs: %v", err)
			}
		})
	}
	wg.Wait()
}

func findTag(ts []tag, name string, attrs map[string]string) *tag {
outer:
	for i := range ts {
		if ts[i].name != name {
			continue
		}
		for k, v := range attrs {
			if got, ok := ts[i].attrs[k]; !ok || got != v {
				continue outer
			}
		}
		return &ts[i]
	}
	return nil
}

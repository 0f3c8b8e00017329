package ui

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func testBranding() Branding {
	return Branding{
		Product:    "Acme ID",
		Logo:       filepath.Join("testdata", "brand", "logo.svg"),
		Color:      "#0A7D4F",
		ColorDark:  "#5fd3a0",
		Stylesheet: filepath.Join("testdata", "brand", "acme.css"),
	}
}

func newBranded(t *testing.T, b Branding) *UI {
	t.Helper()
	u, err := NewBranded(b)
	if err != nil {
		t.Fatalf("NewBranded: %v", err)
	}
	return u
}

func renderLang(t *testing.T, u *UI, lang string, page any) string {
	t.Helper()
	var buf bytes.Buffer
	if err := u.RenderLang(&buf, lang, page); err != nil {
		t.Fatalf("RenderLang(%s, %T): %v", lang, page, err)
	}
	return buf.String()
}

// devError is the development-mode authorization error page fixture.
var devError = ErrorPage{
	Title: "This request can't be completed", Message: "redirect_uri does not match a registered redirect URI",
	Code: "invalid_request", RequestID: "REQ7ZP3QK",
	Dev: &ErrorDetails{
		ClientID: "example-spa", RedirectURI: "http://localhost:5173/callbak",
		Registered: []string{"http://localhost:5173/callback", "https://app.example.com/callback"},
		Fix:        "Register the URI: latch client update example-spa --redirect-uri http://localhost:5173/callbak",
	},
}

// TestGoldenVariants pins a branded rendering, translated renderings and
// the development error page.
// fixtureNamed is the page of the fixture called name.
func fixtureNamed(t *testing.T, name string) any {
	t.Helper()
	for _, f := range fixtures() {
		if f.name == name {
			return f.page
		}
	}
	t.Fatalf("no fixture %q", name)
	return nil
}

func TestGoldenVariants(t *testing.T) {
	plain, branded := newUI(t), newBranded(t, testBranding())
	fx := fixtures()
	tests := []struct {
		name string
		u    *UI
		lang string
		page any
	}{
		{"branded_login", branded, "en", fx[1].page},
		{"branded_consent", branded, "en", fx[3].page},
		{"branded_error", branded, "en", ErrorPage{Title: "This request can't be completed", Message: "The application that sent you here is not registered with this server.", RequestID: "REQ7ZP3QK"}},
		{"de_login_error", plain, "de", fx[1].page},
		{"de_consent", plain, "de", ConsentPage{Action: "/consent", Interaction: "i", ClientName: "Beispiel-App", ClientID: "example-app", Username: "alice",
			Scopes: []Scope{{Name: "openid", Description: "Sign you in and know who you are"}, {Name: "email", Description: "See your email address"}, {Name: "calendar"}}}},
		{"de_logout", plain, "de", fx[8].page},
		{"de_consent_cimd_localhost", plain, "de", fx[11].page},
		{"fr_consent_cimd_localhost", plain, "fr", fx[11].page},
		{"fr_login_locked", plain, "fr", LoginPage{Action: "/login", Interaction: "i", Username: "alice", Locked: true}},
		{"fr_form_post", plain, "fr", fx[7].page},
		{"de_device_confirm", plain, "de", DevicePage{Action: "/device", Interaction: "i", Step: "confirm", UserCode: "BCDF-GHJK", ClientName: "Fernseher", ClientID: "tv", Username: "alice",
			Scopes: []Scope{{Name: "openid", Description: "Sign you in and know who you are"}}}},
		{"fr_device_error", plain, "fr", DevicePage{Action: "/device", Interaction: "i", Step: "enter", Username: "alice", Error: "That code is not valid or has expired. Check the code on your device and try again."}},
		{"error_dev", plain, "en", devError},
		{"de_branded_error_dev", branded, "de", devError},
		{"de_account", plain, "de", fixtureNamed(t, "account")},
		{"fr_account_enrol", plain, "fr", fixtureNamed(t, "account_enrol")},
		{"de_code_error", plain, "de", fixtureNamed(t, "code_error")},
		{"de_login_upstreams", plain, "de", fixtureNamed(t, "login_upstreams")},
		{"fr_login_upstreams", plain, "fr", fixtureNamed(t, "login_upstreams")},
		{"de_account_upstreams", plain, "de", fixtureNamed(t, "account_upstreams")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			html := renderLang(t, tt.u, tt.lang, tt.page)
			checkGolden(t, tt.name, html)
			formAction := ""
			if fp, ok := tt.page.(FormPostPage); ok {
				formAction = fp.Action
			}
			if ep, ok := tt.page.(ErrorPage); ok && ep.Dev != nil {
				return // shows URLs as text, which the scanner reports
			}
			for _, v := range cspViolations(html, formAction) {
				t.Errorf("%s: %s", tt.name, v)
			}
		})
	}
}

// TestBrandingKeepsCSP: branded pages add only same-origin stylesheets
// and a same-origin image, all served by Static with the content and
// version the page links.
func TestBrandingKeepsCSP(t *testing.T) {
	u := newBranded(t, testBranding())
	h := u.Static()
	for _, f := range fixtures() {
		html := render(t, u, f.page)
		for _, v := range cspViolations(html, f.formAction) {
			t.Errorf("branded %s: %s", f.name, v)
		}
		if strings.Contains(html, "<style") || strings.Contains(html, "style=") {
			t.Errorf("branded %s: inline style", f.name)
		}
		ts := tags(html)
		var sheets []string
		for _, tg := range ts {
			if tg.name == "link" && tg.attrs["rel"] == "stylesheet" {
				sheets = append(sheets, tg.attrs["href"])
			}
		}
		if len(sheets) != 3 || !strings.HasPrefix(sheets[0], "/static/latch.css?v=") ||
			!strings.HasPrefix(sheets[1], "/static/brand.css?v=") || !strings.HasPrefix(sheets[2], "/static/custom.css?v=") {
			t.Errorf("branded %s: stylesheets %q, want latch.css, brand.css, custom.css in that order", f.name, sheets)
		}
		img := findTag(ts, "img", map[string]string{"class": "brand-logo"})
		if img == nil || !strings.HasPrefix(img.attrs["src"], "/static/logo.svg?v=") {
			t.Errorf("branded %s: logo = %+v", f.name, img)
		}
		if !strings.Contains(html, "<title>") || !strings.Contains(html, " · Acme ID</title>") {
			t.Errorf("branded %s: product name not in title", f.name)
		}
	}
	want := map[string]struct{ ctype, body string }{
		"/static/brand.css":  {"text/css", "--accent: #0a7d4f;"},
		"/static/custom.css": {"text/css", ".brand-name { font-weight: 700"},
		"/static/logo.svg":   {"image/svg+xml", "<circle"},
	}
	for path, w := range want {
		res := serve(t, h, "GET", path, nil)
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), w.ctype) || !strings.Contains(string(body), w.body) {
			t.Errorf("GET %s = %d %q %q, want 200 %s containing %q", path, res.StatusCode, res.Header.Get("Content-Type"), body, w.ctype, w.body)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "sandbox") {
			t.Errorf("GET %s: headers %v, want nosniff and a sandbox CSP", path, res.Header)
		}
	}
	// Unbranded, none of them exists.
	plain := newUI(t).Static()
	for path := range want {
		if res := serve(t, plain, "GET", path, nil); res.StatusCode != 404 {
			t.Errorf("unbranded GET %s = %d, want 404", path, res.StatusCode)
		}
	}
}

func TestBrandCSS(t *testing.T) {
	css, err := brandCSS("#0A7D4F", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--accent: #0a7d4f;", "--accent-hover: #086a43;", "--accent-text: #ffffff;", "prefers-color-scheme: dark"} {
		if !strings.Contains(string(css), want) {
			t.Errorf("brandCSS lacks %q:\n%s", want, css)
		}
	}
	if css, _ := brandCSS("#ffd84a", ""); !strings.Contains(string(css), "--accent-text: #000000;") {
		t.Errorf("a light accent should get dark text:\n%s", css)
	}
}

// TestBrandColorsStrict: only #rrggbb passes; anything that could end
// the declaration or load something is refused at start-up.
func TestBrandColorsStrict(t *testing.T) {
	for _, c := range []string{"red", "#fff", "#12345g", "#1234567", "#123456;}body{background:url(//evil.example/x)", "rgb(0,0,0)", " #123456", "#123456 ", "#12345\n", "var(--x)", "#ＡＢＣＤＥＦ"} {
		if ValidColor(c) {
			t.Errorf("ValidColor(%q) = true", c)
		}
		if _, err := NewBranded(Branding{Color: c}); err == nil {
			t.Errorf("NewBranded(Color %q) accepted", c)
		}
		if _, err := NewBranded(Branding{Color: "#000000", ColorDark: c}); err == nil {
			t.Errorf("NewBranded(ColorDark %q) accepted", c)
		}
	}
	for _, c := range []string{"#000000", "#ABCDEF", "#a1b2c3"} {
		if !ValidColor(c) {
			t.Errorf("ValidColor(%q) = false", c)
		}
	}
}

func TestBrandFilesRefused(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.png")
	if err := os.WriteFile(big, make([]byte, MaxLogoBytes+1), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		b    Branding
		want string
	}{
		{"missing logo", Branding{Logo: filepath.Join(dir, "nope.svg")}, "nope.svg"},
		{"logo type", Branding{Logo: filepath.Join("testdata", "brand", "acme.css")}, ".svg, .png"},
		{"logo too big", Branding{Logo: big}, "limit"},
		{"logo is a directory", Branding{Logo: dir + "/x.png/.."}, ""},
		{"stylesheet type", Branding{Stylesheet: filepath.Join("testdata", "brand", "logo.svg")}, ".css"},
		{"missing stylesheet", Branding{Stylesheet: filepath.Join(dir, "nope.css")}, "nope.css"},
	}
	for _, tt := range tests {
		_, err := NewBranded(tt.b)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: NewBranded = %v, want an error mentioning %q", tt.name, err, tt.want)
		}
	}
}

// TestTemplatesDir: a directory may replace some templates; start-up
// fails with a message naming the file for a misspelt file name, a
// missing {{define}}, a parse error or a template that cannot execute.
func TestTemplatesDir(t *testing.T) {
	write := func(t *testing.T, files map[string]string) string {
		dir := t.TempDir()
		for name, text := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	t.Run("override", func(t *testing.T) {
		dir := write(t, map[string]string{
			"logged_out.html": `{{define "title"}}{{t "Signed out"}}{{end}}{{define "content"}}<h1 id="page-title">{{t "You’re signed out"}}</h1><p class="custom">{{.Product}}</p>{{end}}`,
			"notes.txt":       "not a template, ignored",
		})
		u := newBranded(t, Branding{TemplatesDir: dir})
		if html := renderLang(t, u, "de", LoggedOutPage{}); !strings.Contains(html, `<h1 id="page-title">Sie sind abgemeldet</h1><p class="custom">Latch</p>`) {
			t.Errorf("override not used:\n%s", html)
		}
		// Other pages still come from the embedded set.
		if got, want := render(t, u, fixtures()[0].page), render(t, newUI(t), fixtures()[0].page); got != want {
			t.Error("login page changed though only logged_out.html was replaced")
		}
	})
	bad := []struct {
		name  string
		files map[string]string
		want  []string
	}{
		{"misspelt file", map[string]string{"loign.html": `x`}, []string{"loign.html", "is not a Latch template"}},
		{"missing content", map[string]string{"login.html": `{{define "title"}}x{{end}}`}, []string{"login.html", `missing template "content"`}},
		{"layout without layout", map[string]string{"layout.html": `{{define "page"}}{{end}}`}, []string{"layout.html", `missing template "layout"`}},
		{"parse error", map[string]string{"consent.html": `{{define "title"}}{{if}}{{end}}{{define "content"}}{{end}}`}, []string{"consent.html"}},
		{"unknown function", map[string]string{"logout.html": `{{define "title"}}{{tr "x"}}{{end}}{{define "content"}}{{end}}`}, []string{"logout.html", "tr"}},
		{"cannot execute", map[string]string{"error.html": `{{define "title"}}x{{end}}{{define "content"}}{{.Page.Nope}}{{end}}`}, []string{"error.html", "Nope"}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewBranded(Branding{TemplatesDir: write(t, tt.files)})
			if err == nil {
				t.Fatal("NewBranded accepted the directory")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	if _, err := NewBranded(Branding{TemplatesDir: filepath.Join(t.TempDir(), "missing")}); err == nil || !strings.Contains(err.Error(), "templates-dir") {
		t.Errorf("missing directory: %v", err)
	}
}

package ui

import (
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/template/parse"
)

// TemplateFiles lists the template files: layout.html, which must define
// "layout", and one file per page, which must define "title" and
// "content" (and may define "scripts"). A templates directory may
// replace any of them; see Branding.TemplatesDir.
func TemplateFiles() []string {
	out := []string{"layout.html"}
	for _, p := range pageNames() {
		out = append(out, p+".html")
	}
	return out
}

// requiredDefines are the templates each file must define.
func requiredDefines(file string) []string {
	if file == "layout.html" {
		return []string{"layout"}
	}
	return []string{"title", "content"}
}

// templateSources returns the text of every template file: from dir when
// it has the file, else the embedded one. A .html file in dir that is not
// a template file is an error (most likely a misspelt name that would
// otherwise be silently ignored).
func templateSources(dir string) (map[string]string, error) {
	src := make(map[string]string)
	known := TemplateFiles()
	if dir != "" {
		entries, err := os.ReadDir(dir)
		if err != nil {
			return nil, fmt.Errorf("ui: templates-dir: %w", err)
		}
		for _, e := range entries {
			if e.IsDir() || !strings.HasSuffix(e.Name(), ".html") {
				continue
			}
			if !slices.Contains(known, e.Name()) {
				return nil, fmt.Errorf("ui: templates-dir %s: %s is not a Latch template (the files are %s)", dir, e.Name(), strings.Join(known, ", "))
			}
			b, err := readLimited(filepath.Join(dir, e.Name()), 1<<20)
			if err != nil {
				return nil, fmt.Errorf("ui: templates-dir: %w", err)
			}
			src[e.Name()] = string(b)
		}
	}
	for _, f := range known {
		if _, ok := src[f]; ok {
			continue
		}
		b, err := fs.ReadFile(templateFS, "templates/"+f)
		if err != nil {
			return nil, fmt.Errorf("ui: %w", err)
		}
		src[f] = string(b)
	}
	return src, nil
}

// parseTrees parses one template file on its own (with the template
// functions declared), returning its defined templates by name.
func parseTrees(file, text string) (map[string]*parse.Tree, error) {
	fm := make(map[string]any)
	for k, v := range funcs() {
		fm[k] = v
	}
	return parse.Parse(file, text, "", "", fm, builtinFuncs())
}

// builtinFuncs declares text/template's predefined functions for parse,
// which does not know them.
func builtinFuncs() map[string]any {
	m := make(map[string]any)
	for _, n := range []string{"and", "call", "html", "index", "slice", "js", "len", "not", "or", "print", "printf", "println", "urlquery", "eq", "ge", "gt", "le", "lt", "ne"} {
		m[n] = fmt.Sprint
	}
	return m
}

// parseTemplates parses layout.html with each page file, taking files
// from dir where present (see templateSources), with the template
// functions fm (t and th bound to one language), and checks that each
// file defines what it must. Errors name the file.
//
// Each language gets its own parse (cheap, once at start), so a page's
// functions are fixed before html/template escapes it.
func parseTemplates(dir string, fm template.FuncMap) (map[string]*template.Template, error) {
	src, err := templateSources(dir)
	if err != nil {
		return nil, err
	}
	where := func(f string) string {
		if dir != "" {
			if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
				return filepath.Join(dir, f)
			}
		}
		return "embedded " + f
	}
	for _, f := range TemplateFiles() {
		trees, err := parseTrees(f, src[f])
		if err != nil {
			return nil, fmt.Errorf("ui: %s: %w", where(f), err)
		}
		for _, d := range requiredDefines(f) {
			if _, ok := trees[d]; !ok {
				return nil, fmt.Errorf("ui: %s: missing template %q (add {{define %q}}…{{end}})", where(f), d, d)
			}
		}
	}
	layout, err := template.New("layout.html").Funcs(funcs()).Funcs(fm).Parse(src["layout.html"])
	if err != nil {
		return nil, fmt.Errorf("ui: %s: %w", where("layout.html"), err)
	}
	out := make(map[string]*template.Template)
	for _, name := range pageNames() {
		f := name + ".html"
		t, err := layout.Clone()
		if err != nil {
			return nil, fmt.Errorf("ui: %s: %w", f, err)
		}
		if _, err := t.New(f).Parse(src[f]); err != nil {
			return nil, fmt.Errorf("ui: %s: %w", where(f), err)
		}
		out[name] = t
	}
	return out, nil
}

// samplePages are one value of every page type, filled so that every
// branch a template is likely to take has data.
func samplePages() []any {
	return []any{
		LoginPage{Action: "/login", Interaction: "i", ClientName: "App", Username: "u", Error: "e"},
		LoginPage{Action: "/login", Interaction: "i", Locked: true},
		CodePage{Action: "/login/code", Interaction: "i", ClientName: "App", Error: "e"},
		CodePage{Action: "/login/code", Interaction: "i", Locked: true},
		AccountPage{Action: "/account", Interaction: "i", Username: "u", Notice: "n", Error: "e", HasPassword: true, HasTOTP: true, RecoveryLeft: 3,
			Methods:  []AccountMethod{{Kind: "password", Name: "Password"}, {Kind: "totp", Name: "Authenticator app", Added: "2026-01-02"}},
			Sessions: []AccountSession{{Started: "2026-01-02 03:04", Methods: "pwd", Current: true}},
			Apps:     []AccountApp{{ClientID: "app", Name: "App", Scopes: []string{"openid"}}}, SignOutAction: "/logout"},
		AccountPage{Action: "/account", Interaction: "i", Username: "u", Enrol: &TOTPEnrolment{QR: "data:image/png;base64,AA==", Secret: "S"}},
		AccountPage{Action: "/account", Interaction: "i", Username: "u", Codes: []string{"a-b"}},
		ResetPage{Action: "/account/reset", Interaction: "i", Username: "u", Error: "e"},
		ResetPage{Done: true},
		ResetPage{Invalid: true},
		ConsentPage{Action: "/consent", Interaction: "i", ClientName: "App", ClientID: "app", Username: "u", Scopes: []Scope{{Name: "openid", Description: "d"}, {Name: "x"}}},
		DevicePage{Action: "/device", Interaction: "i", Step: "enter", UserCode: "c", Username: "u", Error: "e"},
		DevicePage{Action: "/device", Interaction: "i", Step: "enter", Locked: true},
		DevicePage{Action: "/device", Interaction: "i", Step: "confirm", UserCode: "c", ClientName: "App", ClientID: "app", Username: "u", Scopes: []Scope{{Name: "openid", Description: "d"}, {Name: "x"}}},
		DevicePage{Step: "confirm"},
		DevicePage{Step: "done", Approved: true},
		DevicePage{Step: "done"},
		ErrorPage{Title: "t", Message: "m", Code: "c", RequestID: "r", Dev: &ErrorDetails{ClientID: "app", RedirectURI: "https://a/cb", Registered: []string{"https://a/x"}, Fix: "f"}},
		ErrorPage{},
		FormPostPage{Action: "https://app.example/cb", Fields: []Field{{Name: "code", Value: "c"}}},
		LogoutPage{Action: "/logout", Interaction: "i", ClientName: "App"},
		LogoutPage{Action: "/logout", Interaction: "i"},
		LoggedOutPage{},
	}
}

// selfTest renders every sample page in every language, so a template
// that parses but cannot execute (a misspelt field, a wrong argument)
// fails start-up instead of a user's sign-in.
func (u *UI) selfTest() error {
	for _, lang := range u.langs {
		for _, p := range samplePages() {
			if err := u.RenderLang(io.Discard, lang, p); err != nil {
				return fmt.Errorf("ui: templates do not render (%s): %w", lang, err)
			}
		}
	}
	return nil
}

package ui

import (
	"bytes"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"text/template/parse"
	"unicode"
)

// templateText walks a parsed template in order and returns its literal
// text, with every action replaced by \x1a, and the literal keys passed
// to t and th.
func templateText(n parse.Node, text *strings.Builder, keys *[]string) {
	switch n := n.(type) {
	case nil:
	case *parse.ListNode:
		if n == nil {
			return
		}
		for _, c := range n.Nodes {
			templateText(c, text, keys)
		}
	case *parse.TextNode:
		text.Write(n.Text)
	case *parse.ActionNode:
		text.WriteByte(0x1a)
		templateText(n.Pipe, text, keys)
	case *parse.PipeNode:
		if n == nil {
			return
		}
		for _, c := range n.Cmds {
			templateText(c, text, keys)
		}
	case *parse.CommandNode:
		if len(n.Args) >= 2 {
			if id, ok := n.Args[0].(*parse.IdentifierNode); ok && (id.Ident == "t" || id.Ident == "th") {
				if s, ok := n.Args[1].(*parse.StringNode); ok {
					*keys = append(*keys, s.Text)
				}
			}
		}
		for _, a := range n.Args {
			templateText(a, text, keys)
		}
	case *parse.IfNode:
		text.WriteByte(0x1a)
		templateText(n.Pipe, text, keys)
		templateText(n.List, text, keys)
		templateText(n.ElseList, text, keys)
	case *parse.RangeNode:
		text.WriteByte(0x1a)
		templateText(n.Pipe, text, keys)
		templateText(n.List, text, keys)
		templateText(n.ElseList, text, keys)
	case *parse.WithNode:
		text.WriteByte(0x1a)
		templateText(n.Pipe, text, keys)
		templateText(n.List, text, keys)
		templateText(n.ElseList, text, keys)
	case *parse.TemplateNode:
		text.WriteByte(0x1a)
		templateText(n.Pipe, text, keys)
	}
}

var (
	markupRE = regexp.MustCompile(`(?s)<[^>]*>|&[a-zA-Z]+;|&#[0-9]+;|&#x[0-9a-fA-F]+;`)
	// humanAttrRE finds attributes whose value a person reads.
	humanAttrRE = regexp.MustCompile(`(?i)\s(alt|title|aria-label|placeholder|label)\s*=\s*("[^"]*"|'[^']*')`)
)

// untranslated returns the human-readable literal text of a template
// file (text outside tags and entities, or in alt/title/aria-label/
// placeholder attributes) and the literal keys it translates.
func untranslated(t *testing.T, file, src string) (literals, keys []string) {
	t.Helper()
	trees, err := parseTrees(file, src)
	if err != nil {
		t.Fatalf("parse %s: %v", file, err)
	}
	names := make([]string, 0, len(trees))
	for n := range trees {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, name := range names {
		var b strings.Builder
		templateText(trees[name].Root, &b, &keys)
		text := b.String()
		for _, m := range humanAttrRE.FindAllStringSubmatch(text, -1) {
			if strings.IndexFunc(m[2], unicode.IsLetter) >= 0 {
				literals = append(literals, name+": "+m[0])
			}
		}
		for _, chunk := range strings.Split(markupRE.ReplaceAllString(text, "\x1a"), "\x1a") {
			if strings.IndexFunc(chunk, unicode.IsLetter) >= 0 {
				literals = append(literals, name+": "+strconv.Quote(strings.TrimSpace(chunk)))
			}
		}
	}
	return literals, keys
}

// allTemplateKeys returns every literal message key of the embedded
// templates, failing the test for any literal text outside t/th.
func allTemplateKeys(t *testing.T) []string {
	t.Helper()
	src, err := templateSources("")
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, f := range TemplateFiles() {
		lits, keys := untranslated(t, f, src[f])
		for _, l := range lits {
			t.Errorf("%s has untranslated text %s: wrap it in {{t \"…\"}} and add it to every locales/*.json", f, l)
		}
		all = append(all, keys...)
	}
	slices.Sort(all)
	return slices.Compact(all)
}

// TestTemplatesFullyTranslated fails when a template has literal text a
// catalogue cannot translate, or when any catalogue lacks a message a
// template uses.
func TestTemplatesFullyTranslated(t *testing.T) {
	u := newUI(t)
	keys := allTemplateKeys(t)
	if len(keys) < 20 {
		t.Fatalf("found only %d message keys in the templates; the walker is broken", len(keys))
	}
	if len(u.Languages()) < 2 {
		t.Fatalf("Languages() = %v, want English and at least one translation", u.Languages())
	}
	for _, lang := range u.Languages()[1:] {
		for _, k := range keys {
			tr, ok := u.cat[lang][k]
			if !ok || strings.TrimSpace(tr) == "" {
				t.Errorf("locales/%s.json has no translation for %q", lang, k)
			}
		}
	}
}

// TestCataloguesAgree keeps the catalogues in step: the same keys in
// each, and each translation uses exactly the arguments of its key (a
// missing or extra %s would garble or drop a client name).
func TestCataloguesAgree(t *testing.T) {
	u := newUI(t)
	langs := u.Languages()[1:]
	first := u.cat[langs[0]]
	for _, lang := range langs {
		c := u.cat[lang]
		for k, v := range c {
			if _, ok := first[k]; !ok {
				t.Errorf("locales/%s.json has %q, locales/%s.json does not", lang, k, langs[0])
			}
			if got, want := fmtArgs(v), fmtArgs(k); !slices.Equal(got, want) {
				t.Errorf("locales/%s.json: %q uses arguments %v, its key %q uses %v", lang, v, got, k, want)
			}
		}
		for k := range first {
			if _, ok := c[k]; !ok {
				t.Errorf("locales/%s.json lacks %q (in locales/%s.json)", lang, k, langs[0])
			}
		}
	}
}

var verbRE = regexp.MustCompile(`%(?:\[(\d+)\])?([a-z%])`)

// fmtArgs returns the sorted, distinct argument numbers a format string
// uses (1-based; %% uses none).
func fmtArgs(format string) []int {
	var out []int
	next := 1
	for _, m := range verbRE.FindAllStringSubmatch(format, -1) {
		if m[2] == "%" {
			continue
		}
		n := next
		if m[1] != "" {
			n, _ = strconv.Atoi(m[1])
		}
		out = append(out, n)
		next = n + 1
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestUntranslatedTextDetected keeps the checker honest: each snippet has
// text a translator would never see.
func TestUntranslatedTextDetected(t *testing.T) {
	bad := []string{
		`{{define "title"}}Sign in{{end}}`,
		`{{define "content"}}<h1>{{t "Sign in"}}</h1><p>Welcome back</p>{{end}}`,
		`{{define "content"}}{{if .X}}<p>Locked</p>{{end}}{{end}}`,
		`{{define "content"}}<img src="/x" alt="Company logo">{{end}}`,
		`{{define "content"}}<button aria-label='Close'>×</button>{{end}}`,
		`{{define "content"}}{{t "ok"}} and more{{end}}`,
		`{{define "content"}}<p>Café</p>{{end}}`,
	}
	for _, b := range bad {
		if lits, _ := untranslated(t, "x.html", b); len(lits) == 0 {
			t.Errorf("untranslated(%q) = none, want the literal text reported", b)
		}
	}
	good := `{{define "content"}}<p class="lede" id="x">{{t "Sign in"}} · <strong>{{.Name}}</strong> &amp; <svg viewBox="0 0 1 1"><rect x="4"/></svg></p>{{end}}`
	if lits, keys := untranslated(t, "x.html", good); len(lits) != 0 || !slices.Equal(keys, []string{"Sign in"}) {
		t.Errorf("untranslated(good) = %q, %q; want none, [Sign in]", lits, keys)
	}
}

func TestLang(t *testing.T) {
	u := newUI(t)
	tests := []struct {
		uiLocales, accept, want string
	}{
		{"", "", "en"},
		{"", "de-DE,de;q=0.9,en;q=0.8", "de"},
		{"", "fr-CH, fr;q=0.9, en;q=0.8", "fr"},
		{"", "en-GB,en;q=0.9,de;q=0.8", "en"},
		{"", "es-ES,es;q=0.9", "en"},
		{"", "es,de;q=0.5", "de"},
		{"", "de;q=0.1,fr;q=0.9", "fr"},
		{"", "*", "en"},
		{"", "garbage;;;q=zz,,,", "en"},
		{"de", "fr", "de"},
		{"fr-CA en", "de", "fr"},
		{"es de", "fr", "de"},       // first served ui_locales entry wins
		{"es pt", "fr", "fr"},       // none served: Accept-Language
		{"x-klingon!!", "de", "de"}, // malformed ui_locales ignored
		{"en de", "de", "en"},
		{strings.Repeat("es ", 100) + "de", "fr", "fr"}, // bounded
	}
	for _, tt := range tests {
		if got := u.Lang(tt.uiLocales, tt.accept); got != tt.want {
			t.Errorf("Lang(%q, %q) = %q, want %q", tt.uiLocales, tt.accept, got, tt.want)
		}
	}
}

func FuzzLang(f *testing.F) {
	f.Add("de fr", "en-US,en;q=0.9")
	f.Add("", "*;q=0")
	u, err := New("")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, uiLocales, accept string) {
		if got := u.Lang(uiLocales, accept); !slices.Contains(u.Languages(), got) {
			t.Fatalf("Lang(%q, %q) = %q, not a supported language", uiLocales, accept, got)
		}
	})
}

// TestTranslatedPages renders every fixture in every language: <html
// lang> names it, the page is still strict-CSP clean, and no page is
// identical to English (something was translated).
func TestTranslatedPages(t *testing.T) {
	u := newUI(t)
	for _, lang := range u.Languages() {
		for _, f := range fixtures() {
			var buf bytes.Buffer
			if err := u.RenderLang(&buf, lang, f.page); err != nil {
				t.Fatalf("RenderLang(%s, %s): %v", lang, f.name, err)
			}
			html := buf.String()
			if h := findTag(tags(html), "html", nil); h == nil || h.attrs["lang"] != lang {
				t.Errorf("%s/%s: <html lang> = %v, want %q", lang, f.name, h, lang)
			}
			for _, v := range cspViolations(html, f.formAction) {
				t.Errorf("%s/%s: %s", lang, f.name, v)
			}
			if lang != DefaultLang && html == strings.Replace(render(t, u, f.page), `lang="en"`, `lang="`+lang+`"`, 1) {
				t.Errorf("%s/%s: identical to English", lang, f.name)
			}
		}
	}
	// An unsupported language renders English rather than failing.
	var buf bytes.Buffer
	if err := u.RenderLang(&buf, "xx", LoggedOutPage{}); err != nil || !strings.Contains(buf.String(), `lang="en"`) {
		t.Errorf("RenderLang(xx) = %v, want English", err)
	}
}

// TestTranslationEscaping: th escapes the message and its plain
// arguments, so only wrap's element reaches the page as markup.
func TestTranslationEscaping(t *testing.T) {
	// The client name is a wrap argument, the product name a plain one.
	u, err := New(`Acme <img src=y onerror=alert(2)>`)
	if err != nil {
		t.Fatal(err)
	}
	for _, lang := range u.Languages() {
		var buf bytes.Buffer
		evil := `<img src=x onerror=alert(1)>%s%d`
		if err := u.RenderLang(&buf, lang, LogoutPage{Action: "/logout", ClientName: evil}); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(buf.String(), "<img src=x") {
			t.Errorf("%s: client name reached the page unescaped", lang)
		}
		if strings.Contains(buf.String(), "<img src=y") || !strings.Contains(buf.String(), "Acme &lt;img src=y onerror=alert(2)&gt;") {
			t.Errorf("%s: product name not escaped in a th sentence:\n%s", lang, buf.String())
		}
		if !strings.Contains(buf.String(), "<strong>&lt;img src=x onerror=alert(1)&gt;%s%d</strong>") {
			t.Errorf("%s: escaped client name in <strong> not found:\n%s", lang, buf.String())
		}
	}
}

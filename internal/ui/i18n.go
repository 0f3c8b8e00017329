package ui

import (
	"cmp"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
)

// Translations. Messages are keyed by their English text (the gettext
// convention): a template writes {{t "Sign in"}}, and English needs no
// catalogue. Each other language is locales/LANG.json, a JSON object from
// English text to translated text. Invariants, checked by i18n_test.go:
// every literal key a template passes to t or th is in every catalogue,
// all catalogues have the same keys, a translation uses the same fmt
// arguments as its key, and no template has literal text outside t/th.
// (internal/server checks that the messages it puts on pages are in the
// catalogues too.)
//
// A key missing from a catalogue (a message the server made up at run
// time) renders in English rather than failing.

//go:embed locales/*.json
var localeFS embed.FS

// DefaultLang is the language of the message keys and the fallback.
const DefaultLang = "en"

// catalogues maps a language tag ("de") to its messages. English has an
// empty catalogue: its keys are its messages.
type catalogues map[string]map[string]string

func loadCatalogues() (catalogues, error) {
	cs := catalogues{DefaultLang: {}}
	files, err := fs.Glob(localeFS, "locales/*.json")
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		b, err := fs.ReadFile(localeFS, f)
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, fmt.Errorf("ui: %s: %w", f, err)
		}
		lang := strings.TrimSuffix(path.Base(f), ".json")
		if !validLangTag(lang) {
			return nil, fmt.Errorf("ui: %s: %q is not a language tag", f, lang)
		}
		cs[lang] = m
	}
	return cs, nil
}

// langs returns the supported languages, English first (the
// fallback), the rest sorted.
func (cs catalogues) langs() []string {
	out := []string{DefaultLang}
	for l := range cs {
		if l != DefaultLang {
			out = append(out, l)
		}
	}
	slices.Sort(out[1:])
	return out
}

// translate returns the message for key in lang, or key itself when lang
// has no translation for it.
func (cs catalogues) translate(lang, key string) string {
	if m, ok := cs[lang][key]; ok && m != "" {
		return m
	}
	return key
}

// Languages returns the languages the pages are available in (BCP 47
// tags), English first.
func (u *UI) Languages() []string { return slices.Clone(u.langs) }

// HasTranslation reports whether msg, an English message, has a
// translation in every supported language. The server uses it in tests
// for the messages it puts on pages.
func (u *UI) HasTranslation(msg string) bool {
	for _, l := range u.langs {
		if l == DefaultLang {
			continue
		}
		if _, ok := u.cat[l][msg]; !ok {
			return false
		}
	}
	return true
}

// maxLocales bounds how many ui_locales / Accept-Language entries are
// looked at, so a hostile header costs little.
const maxLocales = 16

// Lang picks the page language for a request: the first of uiLocales (the
// OIDC ui_locales parameter, space-separated BCP 47 tags in order of
// preference, OIDC Core §3.1.2.1) that a catalogue serves, else the best
// match for acceptLanguage (an Accept-Language header, RFC 9110 §12.5.4,
// with q-values), else English. Malformed input is ignored, never an
// error: both are only preferences.
//
// Matching is RFC 4647 §3.4 lookup: a tag is tried as it is, then with
// its last subtag removed ("fr-CA" → "fr"), case-insensitively. That is
// all a handful of whole-language catalogues needs, and it keeps this
// package on the standard library.
func (u *UI) Lang(uiLocales, acceptLanguage string) string {
	for i, tag := range strings.Fields(uiLocales) {
		if i == maxLocales {
			break
		}
		// ui_locales is an ordered list: the first tag any catalogue
		// serves wins, even if a later one would match more exactly.
		if l, ok := u.lookup(tag); ok {
			return l
		}
	}
	if len(acceptLanguage) <= 1024 {
		for _, tag := range acceptLanguageTags(acceptLanguage) {
			if l, ok := u.lookup(tag); ok {
				return l
			}
		}
	}
	return DefaultLang
}

// lookup returns the supported language tag serves, truncating it one
// subtag at a time (RFC 4647 §3.4); false for a malformed tag.
func (u *UI) lookup(tag string) (string, bool) {
	if !validLangTag(tag) {
		return "", false
	}
	tag = strings.ToLower(tag)
	for {
		for _, l := range u.langs {
			if strings.ToLower(l) == tag {
				return l, true
			}
		}
		i := strings.LastIndexByte(tag, '-')
		if i < 0 {
			return "", false
		}
		tag = tag[:i]
	}
}

// validLangTag reports whether s has the shape of a BCP 47 tag (RFC 5646
// §2.1): subtags of 1 to 8 letters or digits joined by hyphens, the first
// letters only. The wildcard "*" is not a tag.
func validLangTag(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, sub := range strings.Split(s, "-") {
		if len(sub) == 0 || len(sub) > 8 {
			return false
		}
		for _, c := range []byte(sub) {
			letter := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z'
			if !letter && (i == 0 || c < '0' || c > '9') {
				return false
			}
		}
	}
	return true
}

// acceptLanguageTags returns the language ranges of an Accept-Language
// header (RFC 9110 §12.5.4) with a q-value above zero, most preferred
// first (a stable sort keeps the header's order among equal q-values), at
// most maxLocales of them. Malformed entries are skipped.
func acceptLanguageTags(h string) []string {
	type ranged struct {
		tag string
		q   float64
	}
	var rs []ranged
	for _, part := range strings.Split(h, ",") {
		if len(rs) == maxLocales {
			break
		}
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		tag = strings.TrimSpace(tag)
		q := 1.0
		if params != "" {
			k, v, ok := strings.Cut(strings.TrimSpace(params), "=")
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if !ok || strings.TrimSpace(k) != "q" || err != nil || f < 0 || f > 1 {
				continue
			}
			q = f
		}
		if tag == "" || tag == "*" || q == 0 {
			continue
		}
		rs = append(rs, ranged{tag, q})
	}
	slices.SortStableFunc(rs, func(a, b ranged) int { return cmp.Compare(b.q, a.q) })
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.tag
	}
	return out
}

// markup is HTML already escaped by wrap, for th's arguments.
type markup string

// funcs are the template functions. t and th are bound to the page
// language at render time (see Render); these are placeholders with the
// right signatures for parsing.
func funcs() template.FuncMap {
	return template.FuncMap{
		"t":    func(key string, args ...any) string { return key },
		"th":   func(key string, args ...any) template.HTML { return "" },
		"wrap": wrap,
	}
}

// wrap returns text (escaped) inside an element, for an emphasised part
// of a translated sentence: {{th "to continue to %s" (wrap "strong" "" .ClientName)}}.
// The element and class come from the template, never from data.
func wrap(element, class, text string) markup {
	open := "<" + template.HTMLEscapeString(element)
	if class != "" {
		open += ` class="` + template.HTMLEscapeString(class) + `"`
	}
	return markup(open + ">" + template.HTMLEscapeString(text) + "</" + template.HTMLEscapeString(element) + ">")
}

// translator binds t and th to one language.
func (u *UI) translator(lang string) template.FuncMap {
	return template.FuncMap{
		// t is the translated message, formatted with args; the
		// template escapes the result for where it lands.
		"t": func(key string, args ...any) string {
			msg := u.cat.translate(lang, key)
			if len(args) == 0 {
				return msg
			}
			return fmt.Sprintf(msg, args...)
		},
		// th is t for HTML text whose arguments carry markup (from
		// wrap): the message is escaped here, each plain argument too,
		// so the only markup in the result is wrap's.
		"th": func(key string, args ...any) template.HTML {
			msg := template.HTMLEscapeString(u.cat.translate(lang, key))
			esc := make([]any, len(args))
			for i, a := range args {
				if m, ok := a.(markup); ok {
					esc[i] = string(m)
				} else {
					esc[i] = template.HTMLEscapeString(fmt.Sprint(a))
				}
			}
			return template.HTML(fmt.Sprintf(msg, esc...))
		},
	}
}

package ui

import (
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"path"
	"slices"
	"strings"

	"golang.org/x/text/language"
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
		if _, err := language.Parse(lang); err != nil {
			return nil, fmt.Errorf("ui: %s: not a language tag: %w", f, err)
		}
		cs[lang] = m
	}
	return cs, nil
}

// langs returns the supported languages, English first (the matcher's
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
func (u *UI) Lang(uiLocales, acceptLanguage string) string {
	if uiLocales != "" {
		var tags []language.Tag
		for _, s := range strings.Fields(uiLocales) {
			if len(tags) == maxLocales {
				break
			}
			if t, err := language.Parse(s); err == nil {
				tags = append(tags, t)
			}
		}
		// ui_locales is an ordered list: the first tag any catalogue
		// serves wins, even if a later one would match more exactly.
		for _, t := range tags {
			if _, i, c := u.matcher.Match(t); c != language.No {
				return u.langs[i]
			}
		}
	}
	if acceptLanguage != "" && len(acceptLanguage) <= 1024 {
		tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
		if err == nil && len(tags) > 0 {
			if len(tags) > maxLocales {
				tags = tags[:maxLocales]
			}
			if _, i, c := u.matcher.Match(tags...); c != language.No {
				return u.langs[i]
			}
		}
	}
	return DefaultLang
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

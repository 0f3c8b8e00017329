package ui

import (
	"regexp"
	"strings"
)

// This file holds a small HTML scanner for tests. It is not a general
// parser: it reads the well-formed markup our templates produce, and
// TestScannerCatchesViolations proves it sees each thing it must reject.

type tag struct {
	name  string            // lower-case element name
	attrs map[string]string // lower-case attribute name → raw value ("" if bare)
	order []string          // attribute names in order, duplicates included
}

var (
	tagRE  = regexp.MustCompile(`(?s)<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s/>"'=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>` + "`" + `]+))?)*)\s*/?>`)
	attrRE = regexp.MustCompile(`(?s)([^\s/>"'=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>` + "`" + `]+)))?`)
)

func tags(html string) []tag {
	var out []tag
	for _, m := range tagRE.FindAllStringSubmatch(html, -1) {
		t := tag{name: strings.ToLower(m[1]), attrs: map[string]string{}}
		for _, a := range attrRE.FindAllStringSubmatch(m[2], -1) {
			name := strings.ToLower(a[1])
			t.attrs[name] = a[2] + a[3] + a[4]
			t.order = append(t.order, name)
		}
		out = append(out, t)
	}
	return out
}

func (t tag) has(attr string) bool { _, ok := t.attrs[attr]; return ok }

// urlAttrs are the attributes through which a page could load or send
// something.
var urlAttrs = map[string]bool{
	"href": true, "src": true, "action": true, "formaction": true, "srcset": true,
	"poster": true, "data": true, "xlink:href": true, "background": true,
	"cite": true, "manifest": true, "ping": true,
}

// cspViolations lists everything in html that the strict CSP would block
// or that would weaken it: inline script, inline style, event handler
// attributes, and URLs to other origins. allowedAction is the one
// cross-origin form target the page may have (a FormPostPage's Action).
func cspViolations(html, allowedAction string) []string {
	var v []string
	lower := strings.ToLower(html)
	if strings.Contains(lower, "<style") {
		v = append(v, "<style> element")
	}
	for _, bad := range []string{"<iframe", "<object", "<embed", "<base", "<frame", "javascript:"} {
		if strings.Contains(lower, bad) {
			v = append(v, bad)
		}
	}
	// Inline script: a <script> without src, or with a body.
	for _, m := range regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script\s*>`).FindAllStringSubmatch(html, -1) {
		if !regexp.MustCompile(`(?i)\ssrc\s*=`).MatchString(" " + m[1]) {
			v = append(v, "<script> without src")
		}
		if strings.TrimSpace(m[2]) != "" {
			v = append(v, "<script> with inline body")
		}
	}
	if n, m := strings.Count(lower, "<script"), strings.Count(lower, "</script"); n != m {
		v = append(v, "unbalanced <script>")
	}
	for _, t := range tags(html) {
		for _, a := range t.order {
			val := t.attrs[a]
			switch {
			case a == "style":
				v = append(v, "style= attribute on <"+t.name+">")
			case strings.HasPrefix(a, "on"):
				v = append(v, a+"= handler on <"+t.name+">")
			case urlAttrs[a]:
				if t.name == "form" && a == "action" && val == allowedAction && allowedAction != "" {
					continue
				}
				if !sameOrigin(val) {
					v = append(v, a+"="+val+" on <"+t.name+"> leaves the origin")
				}
			}
		}
	}
	// Any other absolute URL in the document must be the allowed form
	// action; form field values are data (form_post's iss), not loads.
	rest := regexp.MustCompile(`\svalue="[^"]*"`).ReplaceAllString(html, "")
	// Text in <code> is shown, never loaded (a client ID that is a
	// metadata document URL).
	rest = regexp.MustCompile(`<code>[^<]*</code>`).ReplaceAllString(rest, "")
	if allowedAction != "" {
		rest = strings.ReplaceAll(rest, `action="`+allowedAction+`"`, "")
	}
	for _, m := range regexp.MustCompile(`(?i)(https?:)?//[a-z0-9.-]+`).FindAllString(rest, -1) {
		v = append(v, "absolute URL "+m)
	}
	return v
}

// sameOrigin reports whether a URL attribute value stays on Latch's
// origin: a path ("/x", "x", "?q", "#f"), or the empty data: favicon.
func sameOrigin(val string) bool {
	val = strings.TrimSpace(val)
	if val == "data:," || strings.HasPrefix(val, "data:image/png;base64,") {
		return true // loads nothing (the favicon, the TOTP QR code)
	}
	if strings.HasPrefix(val, "//") || strings.HasPrefix(val, `\\`) || strings.HasPrefix(val, `/\`) {
		return false
	}
	if i := strings.IndexAny(val, ":/?#"); i >= 0 && val[i] == ':' {
		return false // has a scheme
	}
	return true
}

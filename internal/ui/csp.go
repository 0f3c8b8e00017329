package ui

import (
	"net/url"
	"strings"
)

// ContentSecurityPolicy returns the Content-Security-Policy header value
// these pages are written for:
//
//	default-src 'none'; style-src 'self'; script-src 'self';
//	img-src 'self' data:; form-action 'self' [ORIGINS]; frame-ancestors 'none';
//	base-uri 'none'
//
// formActions are the extra form targets a page posts to: for a
// FormPostPage, its Action (the client's redirect URI). Each is reduced to
// its origin (scheme://host[:port]); a value that is not an absolute http
// or https URL with a plain host is left out rather than risk injecting
// CSP syntax, so the browser blocks that form instead.
func ContentSecurityPolicy(formActions ...string) string {
	formAction := "'self'"
	for _, a := range formActions {
		if o := origin(a); o != "" && !strings.Contains(formAction, " "+o) {
			formAction += " " + o
		}
	}
	return "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; " +
		"form-action " + formAction + "; frame-ancestors 'none'; base-uri 'none'"
}

// origin returns scheme://host[:port] of an absolute http(s) URL, or "" if
// raw is anything else or its host has characters outside a CSP
// host-source (RFC 3986 host characters minus anything CSP treats as
// syntax: space, ';', ',', quote).
func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return ""
	}
	for _, r := range u.Host {
		ok := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' ||
			strings.ContainsRune("-.:[]", r)
		if !ok {
			return ""
		}
	}
	return u.Scheme + "://" + strings.ToLower(u.Host)
}

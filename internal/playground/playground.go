package playground

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// Path is where the playground lives, relative to the issuer. The client
// it uses must have <issuer>/playground/callback as a redirect URI and
// <issuer>/playground as a post-logout redirect URI.
const Path = "/playground"

// csp allows this origin only: the page's script, style and the calls to
// discovery, /token and /userinfo (same origin as the page, since Latch
// serves both). No inline script or style anywhere, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"

//go:embed static
var static embed.FS

var page = template.Must(template.ParseFS(static, "static/index.html"))

// assets are the files served next to the page, with their content types.
var assets = map[string]string{
	"playground.js":  "text/javascript; charset=utf-8",
	"playground.css": "text/css; charset=utf-8",
}

// Handler serves the playground for the client clientID of the server
// issuer: the page at <issuer path>/playground and
// <issuer path>/playground/callback, and its script and style sheet under
// <issuer path>/playground/. Mount it for both patterns, "/playground" and
// "/playground/" (prefixed with the issuer's path, if any). It answers GET
// and HEAD only, sets its own security headers (the server sets none on
// extra routes), and never sees a token: the flow runs in the browser.
func Handler(issuer, clientID string) http.Handler {
	base := ""
	if u, err := url.Parse(issuer); err == nil {
		base = strings.TrimSuffix(u.Path, "/")
	}
	prefix := base + Path
	var buf bytes.Buffer
	data := struct{ Issuer, ClientID, Base string }{strings.TrimSuffix(issuer, "/"), clientID, prefix}
	if err := page.Execute(&buf, data); err != nil {
		panic("playground: page template: " + err.Error()) // static template, tested
	}
	html := buf.Bytes()

	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		// The callback URL carries the authorization code: never send it
		// on in a Referer (RFC 9700 §4.2.4).
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		switch rest, ok := strings.CutPrefix(r.URL.Path, prefix); {
		case ok && rest == "/":
			http.Redirect(w, r, prefix, http.StatusMovedPermanently)
		case ok && (rest == "" || rest == "/callback"):
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Cache-Control", "no-store")
			write(w, r, html)
		case ok && strings.HasPrefix(rest, "/") && assets[rest[1:]] != "":
			b, err := static.ReadFile("static/" + rest[1:])
			if err != nil {
				http.NotFound(w, r)
				return
			}
			h.Set("Content-Type", assets[rest[1:]])
			h.Set("Cache-Control", "no-cache")
			write(w, r, b)
		default:
			http.NotFound(w, r)
		}
	})
}

// write sends b, or only its length for HEAD.
func write(w http.ResponseWriter, r *http.Request, b []byte) {
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	if r.Method != http.MethodHead {
		w.Write(b)
	}
}

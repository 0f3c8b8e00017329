package bff

import (
	"embed"
	"net/http"
	"net/url"
)

//go:embed static
var static embed.FS

// Handler serves the example's page (/, /app.js, /app.css) and sends
// every other request to b, the BFF. issuer is Latch's URL: the page
// navigates there to sign out, so the CSP lists it.
func Handler(b http.Handler, issuer string) http.Handler {
	nav := "'self'"
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		nav += " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action " + nav + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	mux := http.NewServeMux()
	page := func(name, contentType string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			body, err := static.ReadFile("static/" + name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			h := w.Header()
			h.Set("Content-Type", contentType)
			h.Set("Cache-Control", "no-cache")
			h.Set("Content-Security-Policy", csp)
			h.Set("X-Frame-Options", "DENY")
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			w.Write(body)
		}
	}
	mux.HandleFunc("GET /{$}", page("index.html", "text/html; charset=utf-8"))
	mux.HandleFunc("GET /app.js", page("app.js", "text/javascript; charset=utf-8"))
	mux.HandleFunc("GET /app.css", page("app.css", "text/css; charset=utf-8"))
	mux.Handle("/", b)
	return mux
}

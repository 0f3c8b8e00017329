package bff

import (
	"embed"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
)

//go:embed static
var static embed.FS

// Handler serves the example's page (/, /app.js, /app.css) and sends
// every other request to b, the BFF. issuer is Latch's URL: the page
// navigates there to sign out, so the CSP lists it.
func Handler(b http.Handler, issuer string) http.Handler {
	files, _ := fs.Sub(static, "static") // a constant, valid path: cannot fail
	return AppHandler(b, issuer, files)
}

// AppHandler is Handler with the page's files taken from files instead:
// GET / answers index.html and GET /NAME a file NAME at the top of files
// (a built single-page app, e.g. os.DirFS of the Angular example's
// dist/bff/browser); every other request, and every name files does not
// hold, goes to b. Each file is served under the same strict CSP: scripts
// and styles from this origin only, no inline code.
func AppHandler(b http.Handler, issuer string, files fs.FS) http.Handler {
	nav := "'self'"
	if u, err := url.Parse(issuer); err == nil && u.Host != "" {
		nav += " " + u.Scheme + "://" + u.Host
	}
	csp := "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action " + nav + "; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
	serve := func(w http.ResponseWriter, r *http.Request, name string) bool {
		body, err := fs.ReadFile(files, name)
		if err != nil {
			return false
		}
		ct := mime.TypeByExtension(path.Ext(name))
		if ct == "" {
			ct = "application/octet-stream"
		}
		h := w.Header()
		h.Set("Content-Type", ct)
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		w.Write(body)
		return true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		if !serve(w, r, "index.html") {
			http.NotFound(w, r)
		}
	})
	// One path segment: /me, /login and the like fall through to the BFF
	// when files holds no such name; /api/… never matches here.
	mux.HandleFunc("GET /{name}", func(w http.ResponseWriter, r *http.Request) {
		if name := r.PathValue("name"); !fs.ValidPath(name) || !serve(w, r, name) {
			b.ServeHTTP(w, r)
		}
	})
	mux.Handle("/", b)
	return mux
}

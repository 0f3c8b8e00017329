package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/latchauth/latch/internal/oauth"
)

// maxBodyBytes caps every request body; protocol requests are small.
const maxBodyBytes = 64 << 10

func slogLevelFor(e *oauth.Error) slog.Level {
	switch e.Code {
	case oauth.ServerError:
		return slog.LevelError
	case oauth.TemporarilyUnavailable:
		if errors.Is(e, errLoadShed) {
			return slog.LevelDebug
		}
		return slog.LevelWarn // the cause says what the store answered
	}
	return slog.LevelInfo
}

// common wraps every route: panic recovery, body cap, baseline headers.
func (s *Server) common(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.writePanic(w, r, v)
			}
		}()
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		}
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		// RFC 6797: browsers that saw Latch over https never try http
		// again (no SSL stripping of the login page or the cookies).
		if v := s.hstsValue(); v != "" {
			h.Set("Strict-Transport-Security", v)
		}
		next.ServeHTTP(w, r)
	})
}

// setPageHeaders sets the headers of every HTML page: a strict CSP with no
// inline script, no framing (clickjacking, RFC 9700 §4.16), no caching.
// formTarget, when set, is an extra origin forms may post to (form_post).
func setPageHeaders(h http.Header, formTarget string) {
	formAction := "'self'"
	if formTarget != "" {
		formAction += " " + formTarget
	}
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action "+formAction+"; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
}

// browser wraps routes that serve HTML forms: cross-origin POSTs are
// refused (CSRF on login, consent and logout forms) by the standard
// library's Sec-Fetch-Site/Origin check.
func (s *Server) browser(h http.Handler) http.Handler {
	cop := http.NewCrossOriginProtection()
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeErrorPage(w, r, oauth.Errorf(oauth.InvalidRequest, "cross-origin form submission refused"))
	}))
	return cop.Handler(h)
}

// corsMode says which origins an API route answers.
type corsMode int

const (
	corsAny        corsMode = iota // public documents: discovery, JWKS
	corsRegistered                 // an origin some client registered
)

// cors wraps API routes that a browser app on another origin may call.
// Preflights are answered here; the actual response carries
// Access-Control-Allow-Origin only for allowed origins. Credentials
// (cookies) are never allowed: tokens travel in headers and bodies.
//
// For corsRegistered this middleware runs before the body is read, so it
// allows the origin of any client. That is final for a preflight: it
// carries no body and no credentials, so it cannot say which client is
// asking, and all it grants is permission to send the request — what the
// browser lets the page read is decided by the actual response. The
// actual response is narrowed by the handler to the origins of the client
// it names (narrowCORS) or serves (allowOrigin), error answers included.
func (s *Server) cors(mode corsMode, methods string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		h := w.Header()
		h.Add("Vary", "Origin")
		allowed := false
		if origin != "" {
			switch mode {
			case corsAny:
				allowed = true
			case corsRegistered:
				allowed = s.origins.allowed(r, origin)
			}
		}
		if allowed {
			if mode == corsAny {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			h.Set("Access-Control-Expose-Headers", "WWW-Authenticate, DPoP-Nonce")
		}
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			if allowed {
				h.Set("Access-Control-Allow-Methods", methods)
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, DPoP")
				h.Set("Access-Control-Max-Age", "600")
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// narrowCORS narrows the CORS answer of a token, revocation or
// introspection request to the client its form or Authorization header
// names: the cors middleware allowed any client's origin, and an error
// answer (invalid_grant, invalid_client …) is no business of another
// client's page. A request that names no client keeps the middleware's
// answer; one that names a client ambiguously (malformed or conflicting
// credentials) gets none.
func (s *Server) narrowCORS(w http.ResponseWriter, r *http.Request, form url.Values) {
	h := w.Header()
	origin := r.Header.Get("Origin")
	if origin == "" || h.Get("Access-Control-Allow-Origin") == "" {
		return
	}
	auth := r.Header.Get("Authorization")
	if auth == "" && len(form["client_id"]) == 0 {
		return
	}
	cred, err := oauth.ParseClientCredentials(auth, form)
	if err == nil && s.origins.allowedFor(r, origin, cred.ID) {
		return
	}
	h.Del("Access-Control-Allow-Origin")
	h.Del("Access-Control-Expose-Headers")
}

// methods answers a disallowed method with the endpoint's own error
// channel (a JSON error for API routes) instead of net/http's plain text.
func (s *Server) methods(allowed []string, next http.Handler) http.Handler {
	allow := ""
	for i, m := range allowed {
		if i > 0 {
			allow += ", "
		}
		allow += m
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !slices.Contains(allowed, r.Method) {
			writeMethodNotAllowed(w, allow)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// statusRecorder captures the status for the access log.
type statusRecorder struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	n, err := r.ResponseWriter.Write(b)
	r.bytes += n
	return n, err
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

// accessLog gives every request an id (see requestID), echoes it in the
// X-Request-Id response header, puts it in the request's context (so every
// line logged for the request carries it) and writes one line when the
// request is done: method, route (the mux pattern), path, status, bytes,
// duration, client address and scheme. It logs the path only, never the
// query (which may hold codes) or any header value but the request id.
func (s *Server) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := s.requestID(r)
		w.Header().Set(requestIDHeader, id)
		r = r.WithContext(context.WithValue(r.Context(), requestIDKey{}, id))
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		client := ""
		if ip := s.clientIP(r); ip.IsValid() {
			client = ip.String()
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("method", r.Method), slog.String("route", routeLabel(r)),
			slog.String("path", r.URL.Path),
			slog.Int("status", rec.status), slog.Int("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)),
			slog.String("client_ip", client), slog.String("scheme", s.proxies.scheme(r)))
	})
}

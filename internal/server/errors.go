package server

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/token"
	"github.com/latchauth/latch/internal/ui"
)

// This file is the one place that turns errors into bytes. Handlers return
// errors; the adapters below pick the channel the endpoint speaks:
//
//	api     token, revocation, introspection: RFC 6749 §5.2 JSON, no-store
//	bearer  userinfo: 401/403 + WWW-Authenticate (RFC 6750 §3, RFC 9449 §7.1)
//	page    authorize, login, consent, logout: an HTML error page, or, only
//	        for a *redirectError, a redirect to the validated redirect URI.
//
// and the answers of the middleware: a recovered panic (writePanic), a
// method the route does not serve (writeMethodNotAllowed), a page that
// failed to render (writeRenderFailure).
//
// The description sent to a client is oauth.Error.Description; the cause
// (Error.Err, or any non-oauth error) goes to the log only.

// handlerFunc is an endpoint that returns its error instead of writing it.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// redirectError is an authorization error to be sent back to the client.
// It holds an *oauth.Redirect, which only oauth.CheckRedirect can make, so
// an error can never be redirected to a URI that was not validated against
// the client's registration (RFC 6749 §4.1.2.1).
type redirectError struct {
	to  *oauth.Redirect
	err *oauth.Error
}

func (e *redirectError) Error() string { return e.err.Error() }
func (e *redirectError) Unwrap() error { return e.err }

// errInternal is what a client sees for any error that is not an
// *oauth.Error: no internal text leaks.
var errInternal = &oauth.Error{Code: oauth.ServerError, Description: "internal error"}

// asOAuth maps any error to the *oauth.Error a client may see.
func asOAuth(err error) *oauth.Error {
	if e, ok := oauth.As(err); ok {
		return e
	}
	return errInternal.WithCause(err)
}

// clientError is asOAuth, except that a store that cannot answer, a
// passed deadline or a request shed under overload becomes
// temporarily_unavailable with Retry-After (overload.go), on every channel.
func (s *Server) clientError(err error) *oauth.Error {
	if s.unavailable(err) {
		if e, ok := oauth.As(err); ok && e.Code == oauth.TemporarilyUnavailable {
			return e
		}
		return errUnavailable.WithCause(err)
	}
	return asOAuth(err)
}

// logError logs a failed request; attrs are extra key-value pairs.
func (s *Server) logError(r *http.Request, e *oauth.Error, err error, attrs ...any) {
	lvl := slogLevelFor(e)
	s.log.Log(r.Context(), lvl, "request failed", append([]any{
		"method", r.Method, "path", r.URL.Path, "error", string(e.Code),
		"description", e.Description, "cause", errString(err)}, attrs...)...)
}

// api adapts a handler of a JSON endpoint (RFC 6749 §5.2).
func (s *Server) api(h handlerFunc) http.Handler {
	h = s.limited(s.admitAPI, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeJSONError(w, r, err)
		}
	})
}

// writeJSONError writes an RFC 6749 §5.2 error response.
func (s *Server) writeJSONError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.clientError(err)
	s.logError(r, e, err)
	status := http.StatusBadRequest
	switch e.Code {
	case oauth.InvalidClient:
		status = http.StatusUnauthorized
		// RFC 6749 §5.2: 401 with WWW-Authenticate for the scheme used.
		// The error code rides along as auth-params of the challenge
		// (the RFC 6750 §3 shape): clients that read the challenge
		// rather than the body (openid-client v6) still see
		// invalid_client. The description is quoteSafe'd for the header.
		w.Header().Set("WWW-Authenticate", basicChallenge(e))
	case oauth.SlowDown:
		// A throttled client: 429 with Retry-After. RFC 8628 §3.5's
		// slow_down (a device polling too fast) has no Retry-After and is
		// 400, as §3.5 says.
		if e.RetryAfter > 0 {
			status = http.StatusTooManyRequests
		}
	case oauth.ServerError:
		status = http.StatusInternalServerError
	case oauth.TemporarilyUnavailable:
		status = http.StatusServiceUnavailable
	case oauth.UseDPoPNonce:
		// RFC 9449 §8: 400 with the nonce in DPoP-Nonce (set by caller).
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	writeJSON(w, status, errorBody(e))
}

// basicChallenge is the WWW-Authenticate value of an invalid_client
// answer: the Basic challenge (RFC 7617 §2) with the error and its
// description as auth-params.
func basicChallenge(e *oauth.Error) string {
	var b strings.Builder
	fmt.Fprintf(&b, `Basic realm="latch", charset="UTF-8", error=%q`, string(e.Code))
	if e.Description != "" {
		fmt.Fprintf(&b, `, error_description=%q`, quoteSafe(e.Description))
	}
	return b.String()
}

// bearer adapts a handler of a protected resource (RFC 6750 §3).
func (s *Server) bearer(h handlerFunc) http.Handler {
	h = s.limited(s.admitAPI, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeBearerError(w, r, err)
		}
	})
}

// bearerChallenge carries the scheme a protected-resource error is
// reported under ("Bearer" or "DPoP") and the scope needed, if any.
type bearerChallenge struct {
	scheme string
	scope  string
	err    *oauth.Error
}

func (e *bearerChallenge) Error() string { return e.err.Error() }
func (e *bearerChallenge) Unwrap() error { return e.err }

func (s *Server) writeBearerError(w http.ResponseWriter, r *http.Request, err error) {
	scheme, scope := "Bearer", ""
	var bc *bearerChallenge
	if errors.As(err, &bc) {
		scheme, scope = bc.scheme, bc.scope
	}
	e := s.clientError(err)
	s.logError(r, e, err)
	status := http.StatusUnauthorized
	switch e.Code {
	case oauth.InsufficientScope:
		status = http.StatusForbidden
	case oauth.InvalidRequest, oauth.InvalidClientMetadata, oauth.InvalidRedirectURI:
		// RFC 7591 §3.2.2, RFC 7592 §2.2: registration errors are 400.
		status = http.StatusBadRequest
	case oauth.SlowDown:
		status = http.StatusTooManyRequests
	case oauth.ServerError:
		status = http.StatusInternalServerError
	case oauth.TemporarilyUnavailable:
		status = http.StatusServiceUnavailable
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	if status < http.StatusInternalServerError {
		var b strings.Builder
		fmt.Fprintf(&b, `%s realm="latch"`, scheme)
		if e.Code != "" {
			fmt.Fprintf(&b, `, error=%q`, string(e.Code))
		}
		if e.Description != "" {
			fmt.Fprintf(&b, `, error_description=%q`, quoteSafe(e.Description))
		}
		if scope != "" {
			fmt.Fprintf(&b, `, scope=%q`, scope)
		}
		if scheme == "DPoP" {
			b.WriteString(`, algs="` + strings.Join(token.DPoPAlgorithms(), " ") + `"`) // RFC 9449 §7.1
		}
		w.Header().Set("WWW-Authenticate", b.String())
	}
	if e.Code == "" {
		// No credentials at all: a bare challenge (RFC 6750 §3.1).
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(status)
		return
	}
	writeJSON(w, status, errorBody(e))
}

// page adapts a browser-facing handler: errors become Latch's HTML error
// page, except a *redirectError, which goes back to the client.
func (s *Server) page(h handlerFunc) http.Handler {
	h = s.limited(s.admitPages, h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			var re *redirectError
			if errors.As(err, &re) {
				s.logError(r, re.err, err)
				s.respondAuthorize(w, r, re.to, re.to.ErrorParams(re.err))
				return
			}
			s.writeErrorPage(w, r, err)
		}
	})
}

// writeErrorPage renders Latch's error page. It never redirects. The
// page carries the request ID, which the log line carries too.
//
// An authorization request refused before its client and redirect URI
// were validated (*authorizePageError) is shown two ways: in development
// mode (latch dev) with the client ID, the redirect URI received, those
// registered and the likely fix; in production with a plain message and
// the request ID only, the details going to the log.
func (s *Server) writeErrorPage(w http.ResponseWriter, r *http.Request, err error) {
	e := s.clientError(err)
	page := ui.ErrorPage{Message: e.Description, Code: string(e.Code), RequestID: RequestID(r.Context())}
	uiLocales := ""
	var ae *authorizePageError
	if errors.As(err, &ae) {
		s.logError(r, e, err, "client_id", ae.clientID, "redirect_uri", ae.redirectURI)
		uiLocales = ae.uiLocales
		if s.opts.Dev {
			page.Dev = &ui.ErrorDetails{ClientID: ae.clientID, RedirectURI: ae.redirectURI, Registered: ae.registered, Fix: ae.fix}
		} else {
			page.Message, page.Code = ae.plain, ""
		}
	} else {
		s.logError(r, e, err)
	}
	status := http.StatusBadRequest
	title := "This request can't be completed"
	switch e.Code {
	case oauth.ServerError:
		status, title = http.StatusInternalServerError, "Something went wrong"
	case oauth.SlowDown:
		status, title = http.StatusTooManyRequests, "Too many attempts"
	case oauth.AccessDenied:
		status, title = http.StatusForbidden, "Access denied"
	case codeNotFound:
		status, title = http.StatusNotFound, "Not found"
	case oauth.TemporarilyUnavailable:
		status, title = http.StatusServiceUnavailable, "Temporarily unavailable"
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	page.Title = title
	s.renderLang(w, r, status, page, "", uiLocales)
}

// render writes an HTML page with the page security headers.
func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, page any) {
	s.renderFor(w, r, status, page, "")
}

// renderFor is render for a page whose form, once submitted, may be
// answered with a redirect to formTarget, a validated redirect URI. CSP
// form-action also governs the redirects that follow a form submission
// (CSP3 §6.3.2; Chromium enforces it), so without the client's origin the
// browser would block the way back to the client after login or consent.
//
// The page language follows Accept-Language; renderLang also weighs the
// authorization request's ui_locales.
func (s *Server) renderFor(w http.ResponseWriter, r *http.Request, status int, page any, formTarget string) {
	s.renderLang(w, r, status, page, formTarget, "")
}

// renderLang is renderFor in the language chosen from uiLocales (OIDC
// Core §3.1.2.1 ui_locales, carried in the sealed interaction) and then
// the Accept-Language header.
func (s *Server) renderLang(w http.ResponseWriter, r *http.Request, status int, page any, formTarget, uiLocales string) {
	setPageHeaders(w.Header(), originOf(formTarget))
	w.Header().Add("Vary", "Accept-Language")
	var buf strings.Builder
	if err := s.ui.RenderLang(&buf, s.pageLang(r, uiLocales), page); err != nil {
		s.writeRenderFailure(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(buf.String()))
}

// pageLang picks the language of a page for r.
func (s *Server) pageLang(r *http.Request, uiLocales string) string {
	return s.ui.Lang(uiLocales, r.Header.Get("Accept-Language"))
}

func errorBody(e *oauth.Error) map[string]string {
	body := map[string]string{"error": string(e.Code)}
	if e.Description != "" {
		body["error_description"] = e.Description
	}
	return body
}

// writeJSON writes v with Cache-Control: no-store (RFC 6749 §5.1).
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"server_error"}`)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writePanic answers a request whose handler panicked with v: the stack
// goes to the log, the client gets server_error as JSON (the one body
// every client can read) and nothing of v.
func (s *Server) writePanic(w http.ResponseWriter, r *http.Request, v any) {
	s.log.ErrorContext(r.Context(), "panic", "value", v, "stack", string(debug.Stack()))
	writeJSON(w, http.StatusInternalServerError, errorBody(errInternal))
}

// writeMethodNotAllowed answers a method the route does not serve: 405
// with Allow (RFC 9110 §15.5.6) and an RFC 6749 §5.2 body, instead of
// net/http's plain text.
func writeMethodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, errorBody(oauth.Errorf(oauth.InvalidRequest, "method not allowed; see the Allow header")))
}

// writeRenderFailure answers a page that failed to render: the cause to
// the log, a plain 500 to the browser (the error page itself may be what
// failed).
func (s *Server) writeRenderFailure(w http.ResponseWriter, r *http.Request, err error) {
	s.log.ErrorContext(r.Context(), "render failed", "error", err)
	http.Error(w, "internal error", http.StatusInternalServerError)
}

// quoteSafe drops characters that may not appear in an auth-param
// (RFC 6750 §3: %x20-21 / %x23-5B / %x5D-7E).
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// codeNotFound is Latch's own code for an unknown path (not an OAuth code).
const codeNotFound oauth.Code = "not_found"

var errNotFound = &oauth.Error{Code: codeNotFound, Description: "There is nothing at this address."}

// writePublicJSON writes a cacheable public document (the caller sets
// Cache-Control).
func writePublicJSON(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b)
	return err
}

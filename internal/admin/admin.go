package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/password"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Options are everything the admin listener needs.
type Options struct {
	Store store.Store
	// Keys is the running server's key manager, so a rotation takes
	// effect in this instance at once.
	Keys *token.Keys
	// Passwords hashes passwords set through the API (the server's cost).
	Passwords *password.Hasher
	// Issuer is the server's issuer URL: a browser app served from its
	// origin needs no allowed origin (the "warnings" of client changes).
	Issuer string
	// Upstreams seals upstream client secrets set through the API
	// (app.UpstreamSealer); nil refuses a client secret.
	Upstreams manage.Sealer
	// Ready reports whether the server can take traffic (store reachable,
	// signing key loaded); nil checks Store.Ping and Keys only.
	Ready func(ctx context.Context) error
	// Gatherer is scraped by GET /metrics; nil disables /metrics.
	Gatherer prometheus.Gatherer
	// Token is the admin API's bearer token; "" disables the API.
	Token string
	// Token guessing is throttled like every credential: each attempt is
	// reserved in the store (shared by every instance) before the token
	// is compared, at most MaxFailures per client IP within Window
	// (config ip-max-failures, throttle-window); zero values: 20, 15m.
	MaxFailures int
	Window      time.Duration
	Logger      *slog.Logger // operational log; nil discards
	Audit       *slog.Logger // admin actions; nil uses Logger
	Now         func() time.Time
}

// Server is the admin listener's handler.
type Server struct {
	opts     Options
	tokenSum [sha256.Size]byte
	log      *slog.Logger
	audit    *slog.Logger
	now      func() time.Time
	svc      *manage.Service // every change goes through it (one implementation with the CLI)
	handler  http.Handler
	draining atomic.Bool
}

// readyTimeout bounds one readiness check.
const readyTimeout = 2 * time.Second

// maxBody caps admin API request bodies.
const maxBody = 64 << 10

// New builds the admin handler.
func New(opts Options) (*Server, error) {
	if opts.Store == nil || opts.Keys == nil || opts.Passwords == nil {
		return nil, errors.New("admin: Store, Keys and Passwords are required")
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Audit == nil {
		opts.Audit = opts.Logger
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxFailures <= 0 {
		opts.MaxFailures = 20
	}
	if opts.Window <= 0 {
		opts.Window = 15 * time.Minute
	}
	svc, err := manage.New(manage.Options{
		Store: opts.Store, Keys: opts.Keys, HashPassword: opts.Passwords.Hash,
		Audit: opts.Audit, Actor: manage.ActorAdminAPI, Issuer: opts.Issuer,
		FieldName: registration.Field.JSON, Now: opts.Now, Upstreams: opts.Upstreams,
	})
	if err != nil {
		return nil, err
	}
	s := &Server{opts: opts, log: opts.Logger, audit: opts.Audit, now: opts.Now, svc: svc}
	if opts.Token != "" {
		s.tokenSum = sha256.Sum256([]byte(opts.Token))
	}
	s.handler = s.routes()
	return s, nil
}

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.handler.ServeHTTP(w, r) }

// SetDraining makes /readyz answer 503 from now on: called when graceful
// shutdown starts, so load balancers stop sending traffic while in-flight
// requests finish. /healthz stays 200 until the process exits.
func (s *Server) SetDraining() { s.draining.Store(true) }

// handlerFunc is an admin API endpoint: it returns its error (an *apiError
// or any error, which becomes a 500 without internal text).
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// route is one admin API operation; routes() mounts them and the OpenAPI
// test checks the document lists exactly these.
type route struct {
	method, pattern string
	h               handlerFunc
}

// apiRoutes is every admin API operation on one screen. {id} is a client
// ID or a user ID (the OIDC sub); GET /admin/users?username=NAME finds a
// user by username.
func (s *Server) apiRoutes() []route {
	return []route{
		{http.MethodGet, "/admin/clients", s.listClients},
		{http.MethodPost, "/admin/clients", s.createClient},
		{http.MethodGet, "/admin/clients/{id}", s.getClient},
		{http.MethodPatch, "/admin/clients/{id}", s.updateClient},
		{http.MethodDelete, "/admin/clients/{id}", s.deleteClient},

		{http.MethodGet, "/admin/users", s.listUsers},
		{http.MethodPost, "/admin/users", s.createUser},
		{http.MethodGet, "/admin/users/{id}", s.getUser},
		{http.MethodDelete, "/admin/users/{id}", s.deleteUser},
		{http.MethodPut, "/admin/users/{id}/password", s.setPassword},
		{http.MethodGet, "/admin/users/{id}/sessions", s.listSessions},
		{http.MethodDelete, "/admin/users/{id}/sessions", s.logoutEverywhere},
		{http.MethodGet, "/admin/users/{id}/grants", s.listGrants},
		{http.MethodPut, "/admin/users/{id}/mfa", s.setMFARequired},
		{http.MethodDelete, "/admin/users/{id}/factors", s.resetFactors},
		{http.MethodPost, "/admin/users/{id}/reset-link", s.issueResetLink},
		{http.MethodGet, "/admin/users/{id}/passkeys", s.listPasskeys},
		{http.MethodDelete, "/admin/users/{id}/passkeys/{passkey}", s.deletePasskey},

		{http.MethodGet, "/admin/upstreams", s.listUpstreams},
		{http.MethodPost, "/admin/upstreams", s.addUpstream},
		{http.MethodGet, "/admin/upstreams/{id}", s.getUpstream},
		{http.MethodPatch, "/admin/upstreams/{id}", s.updateUpstream},
		{http.MethodDelete, "/admin/upstreams/{id}", s.deleteUpstream},

		{http.MethodGet, "/admin/keys", s.listKeys},
		{http.MethodPost, "/admin/keys/rotate", s.rotateKey},
		{http.MethodPost, "/admin/keys/prune", s.pruneKeys},

		{http.MethodPost, "/admin/initial-access-tokens", s.createInitialAccessToken},
	}
}

// openRoutes need no token.
const (
	pathHealthz = "/healthz"
	pathReadyz  = "/readyz"
	pathMetrics = "/metrics"
	pathOpenAPI = "/admin/openapi.json"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	// Probes and metrics: no token, no secrets.
	mux.HandleFunc("GET "+pathHealthz, s.healthz)
	mux.HandleFunc("GET "+pathReadyz, s.readyz)
	if s.opts.Gatherer != nil {
		mux.Handle("GET "+pathMetrics, promhttp.HandlerFor(s.opts.Gatherer, promhttp.HandlerOpts{
			ErrorLog: slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		}))
	}
	mux.HandleFunc("GET "+pathOpenAPI, serveOpenAPI)

	// The admin API: bearer token, JSON errors, one log line per call.
	allowed := map[string][]string{}
	for _, rt := range s.apiRoutes() {
		mux.Handle(rt.method+" "+rt.pattern, s.api(rt.h))
		allowed[rt.pattern] = append(allowed[rt.pattern], rt.method)
	}
	// A known path with another method: 405 in JSON (a pattern without a
	// method is less specific than the ones above, so it only gets the
	// rest).
	for pattern, methods := range allowed {
		allow := strings.Join(methods, ", ")
		mux.Handle(pattern, s.api(func(w http.ResponseWriter, r *http.Request) error {
			w.Header().Set("Allow", allow)
			return &apiError{http.StatusMethodNotAllowed, "method_not_allowed", fmt.Sprintf("%s is not allowed here (allowed: %s)", r.Method, allow)}
		}))
	}
	mux.Handle("/admin/", s.api(func(w http.ResponseWriter, r *http.Request) error {
		return errNotFound("no such admin API route; see /admin/openapi.json")
	}))
	return mux
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz answers 200 when the server can take traffic: the store answers
// and a signing key is loaded, and shutdown has not begun. Otherwise 503
// with the reason.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.draining.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": "shutting down"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := s.ready(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "not ready", "reason": err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

func (s *Server) ready(ctx context.Context) error {
	if s.opts.Ready != nil {
		return s.opts.Ready(ctx)
	}
	if err := s.opts.Store.Ping(ctx); err != nil {
		return errors.New("store unreachable")
	}
	if alg := s.opts.Keys.DefaultAlg(); !s.opts.Keys.Supports(alg) {
		return fmt.Errorf("no %s signing key loaded", alg)
	}
	return nil
}

// api authenticates an admin API call, runs it, writes its error and logs
// one line (method, route, status, duration; never a body).
func (s *Server) api(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		w = rec
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		r.Body = http.MaxBytesReader(w, r.Body, maxBody)
		err := s.authorize(w, r)
		if err == nil {
			err = checkRequestText(r)
		}
		if err == nil {
			err = h(w, r)
		}
		if err != nil {
			s.writeError(w, r, err)
		}
		s.log.LogAttrs(r.Context(), slog.LevelInfo, "admin request",
			slog.String("method", r.Method), slog.String("route", r.Pattern),
			slog.Int("status", rec.status), slog.Duration("duration", time.Since(start)),
			slog.String("remote_addr", r.RemoteAddr))
	})
}

// authorize checks the bearer token (RFC 6750 §2.1) in constant time: both
// sides are hashed first so neither the content nor the length of the
// configured token leaks through timing.
//
// Token guessing is throttled (issue: admin token brute force): an
// attempt is reserved against the client IP's budget in the store before
// the token is compared, so no burst, on any number of instances,
// compares more than MaxFailures tokens per Window; past it the answer is
// 429 with Retry-After, audited. A right token releases its reservation.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) error {
	if s.opts.Token == "" {
		return &apiError{http.StatusForbidden, "access_denied", "the admin API is disabled: no admin-token is configured"}
	}
	scheme, cred, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || cred == "" {
		return errUnauthorized("a bearer token is required (Authorization: Bearer <admin-token>)")
	}
	ctx := r.Context()
	now := s.now()
	key := "admin:ip:" + clientIP(r.RemoteAddr)
	// A lease of the whole window: a reservation never settled counts as a
	// failure, and a wrong token needs no ConfirmAttempt.
	_, ok, _, err := s.opts.Store.ReserveAttempt(ctx, now, s.opts.Window, s.opts.Window, store.Budget{Key: key, Limit: s.opts.MaxFailures})
	if err != nil {
		return err
	}
	if !ok {
		s.audit.LogAttrs(ctx, slog.LevelWarn, "audit", slog.String("event", "admin_auth_throttled"),
			slog.String("remote_addr", r.RemoteAddr))
		w.Header().Set("Retry-After", strconv.Itoa(int(s.opts.Window.Seconds())))
		return &apiError{http.StatusTooManyRequests, "too_many_requests", "too many failed admin token attempts from this address; retry later"}
	}
	sum := sha256.Sum256([]byte(strings.TrimSpace(cred)))
	if subtle.ConstantTimeCompare(sum[:], s.tokenSum[:]) != 1 {
		s.audit.LogAttrs(ctx, slog.LevelWarn, "audit", slog.String("event", "admin_auth_failed"),
			slog.String("remote_addr", r.RemoteAddr))
		return errUnauthorized("the bearer token is not valid")
	}
	return s.opts.Store.ReleaseAttempt(ctx, now, key)
}

// clientIP is the throttle key of a peer address: its IP, or the /64 of
// an IPv6 address (one subscriber's allocation). The admin listener is
// reached directly (no proxy headers are believed).
func clientIP(remoteAddr string) string {
	ap, err := netip.ParseAddrPort(remoteAddr)
	if err != nil {
		return "unknown"
	}
	a := ap.Addr().Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// apiError is an admin API error: a status and the JSON body
// {"error": code, "error_description": description}.
type apiError struct {
	status      int
	code        string
	description string
}

func (e *apiError) Error() string { return e.code + ": " + e.description }

func errBadRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, "invalid_request", fmt.Sprintf(format, args...)}
}

func errNotFound(format string, args ...any) error {
	return &apiError{http.StatusNotFound, "not_found", fmt.Sprintf(format, args...)}
}

func errConflict(format string, args ...any) error {
	return &apiError{http.StatusConflict, "conflict", fmt.Sprintf(format, args...)}
}

func errUnauthorized(desc string) error {
	return &apiError{http.StatusUnauthorized, "invalid_token", desc}
}

// writeError writes err as JSON. A non-API error is logged with its cause
// and answered 500 "internal error": no internal text leaks.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var me *manage.Error
	if errors.As(err, &me) {
		ae = fromManage(me)
	} else if !errors.As(err, &ae) {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			ae = &apiError{http.StatusRequestEntityTooLarge, "invalid_request", fmt.Sprintf("the request body exceeds %d bytes", maxBody)}
		} else {
			s.log.ErrorContext(r.Context(), "admin request failed", "method", r.Method, "route", r.Pattern, "error", err)
			ae = &apiError{http.StatusInternalServerError, "server_error", "internal error"}
		}
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="latch-admin", error="invalid_token"`)
	}
	writeJSON(w, ae.status, map[string]string{"error": ae.code, "error_description": ae.description})
}

// fromManage is the API error of a problem the caller caused in the
// service (internal/manage).
func fromManage(e *manage.Error) *apiError {
	switch e.Kind {
	case manage.NotFound:
		return &apiError{http.StatusNotFound, "not_found", e.Error()}
	case manage.Conflict:
		return &apiError{http.StatusConflict, "conflict", e.Error()}
	}
	return &apiError{http.StatusBadRequest, "invalid_request", e.Error()}
}

// writeJSON writes v with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error","error_description":"internal error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(append(b, '\n'))
}

// errBadText refuses a path, query or body holding a NUL byte or invalid
// UTF-8.
var errBadText = errBadRequest("the request contains a NUL byte or invalid UTF-8")

// checkRequestText is the edge rule for what handlers read from the URL:
// the path (hence every {id}) and every query name and value must be
// store.ValidText, so no such value reaches the store (PostgreSQL would
// fail the call: a 500 and a store error for bad input). decode applies
// the same rule to bodies.
func checkRequestText(r *http.Request) error {
	if !store.ValidText(r.URL.Path) {
		return errBadText
	}
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return errBadRequest("the query string is malformed")
	}
	if !store.ValidValues(q) {
		return errBadText
	}
	return nil
}

// decode reads a JSON object into v; unknown fields, trailing data, a
// body that is not JSON and text that is not store.ValidText (invalid
// UTF-8, which encoding/json would silently replace with U+FFFD, or a
// \u0000 escape anywhere) are 400s.
func decode(r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.HasPrefix(strings.ToLower(ct), "application/json") {
		return &apiError{http.StatusUnsupportedMediaType, "invalid_request", "the body must be application/json"}
	}
	body, err := io.ReadAll(r.Body) // capped at maxBody by api
	if err != nil {
		return err
	}
	if !utf8.Valid(body) {
		return errBadText
	}
	var generic any
	if json.Unmarshal(body, &generic) == nil && hasNUL(generic) {
		return errBadText
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		if errors.Is(err, io.EOF) {
			return errBadRequest("the request body is empty; want a JSON object")
		}
		return errBadRequest("the request body is not valid JSON for this operation: %s", jsonProblem(err))
	}
	if dec.More() {
		return errBadRequest("the request body holds more than one JSON value")
	}
	return nil
}

// hasNUL reports whether a decoded JSON value holds a NUL in any string
// or object key.
func hasNUL(v any) bool {
	switch v := v.(type) {
	case string:
		return strings.IndexByte(v, 0) >= 0
	case []any:
		return slices.ContainsFunc(v, hasNUL)
	case map[string]any:
		for k, e := range v {
			if strings.IndexByte(k, 0) >= 0 || hasNUL(e) {
				return true
			}
		}
	}
	return false
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	var ute *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &ute):
		return fmt.Sprintf("field %q must be %s", ute.Field, ute.Type.String())
	case errors.As(err, &se):
		return fmt.Sprintf("syntax error at byte %d", se.Offset)
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return strings.TrimPrefix(err.Error(), "json: ")
	}
	return "malformed JSON"
}

// statusRecorder captures the status for the log line.
type statusRecorder struct {
	http.ResponseWriter
	status int
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
	return r.ResponseWriter.Write(b)
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }

//go:embed openapi.json
var openAPI []byte

func serveOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPI)
}

package server

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/latchauth/latch/internal/store"
)

// Metrics are Latch's Prometheus metrics. NewMetrics registers them on a
// registry the caller owns (never the global default registry); a nil
// *Metrics is valid and records nothing, so tests and embedders that do
// not want metrics pass none.
//
// Labels are bounded by construction: routes are the mux patterns of
// routes.go (never the raw path), methods outside the standard set are
// "other", events and grant types are constants of this package, store
// methods are the names of store.Store's methods.
type Metrics struct {
	requests      *prometheus.CounterVec   // route, method, code
	duration      *prometheus.HistogramVec // route
	inFlight      prometheus.Gauge
	tokens        *prometheus.CounterVec // grant_type
	logins        *prometheus.CounterVec // result
	refreshReuse  prometheus.Counter
	codeReplay    prometheus.Counter
	challenge     *prometheus.CounterVec   // kind, refused
	auditEvents   *prometheus.CounterVec   // event
	storeDuration *prometheus.HistogramVec // method
	storeErrors   *prometheus.CounterVec   // method
	bcl           *prometheus.CounterVec   // result: delivered, failed, gave_up
	bclPending    prometheus.Gauge
}

// NewMetrics creates Latch's collectors and registers them on reg. It
// does not register the Go runtime and process collectors: the caller
// decides (see cmd/latch). It fails if reg already holds metrics of the
// same names.
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_http_requests_total",
			Help: "HTTP requests on the public listener, by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_http_request_duration_seconds",
			Help:    "Latency of HTTP requests on the public listener, by route pattern.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "latch_http_requests_in_flight",
			Help: "HTTP requests being served on the public listener.",
		}),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_tokens_issued_total",
			Help: "Token responses issued by the token endpoint, by grant type.",
		}, []string{"grant_type"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_logins_total",
			Help: "Password sign-ins, by result (succeeded, failed).",
		}, []string{"result"}),
		refreshReuse: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latch_refresh_token_reuse_detected_total",
			Help: "Rotated refresh tokens presented again outside the grace window; each revoked its grant (RFC 9700 §4.14.2).",
		}),
		codeReplay: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "latch_code_replay_detected_total",
			Help: "Authorization codes redeemed twice; each revoked its grant (RFC 6749 §4.1.2).",
		}),
		challenge: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_challenge_replay_detected_total",
			Help: "Authorization requests whose code_challenge or nonce the client had sent before (RFC 9700 §2.1.1), by kind and whether the request was refused (the client's require_fresh_challenge).",
		}, []string{"kind", "refused"}),
		auditEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_audit_events_total",
			Help: "Audit events, by event name.",
		}, []string{"event"}),
		storeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "latch_store_duration_seconds",
			Help:    "Latency of storage calls, by store method.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"method"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_store_errors_total",
			Help: "Storage calls that failed, by store method. Outcomes of the store contract (not found, already exists, code used, refresh reused, revoked, expired) are not failures.",
		}, []string{"method"}),
		bcl: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "latch_backchannel_logouts_total",
			Help: "Back-channel logout attempts, by result: delivered, failed (will be retried), gave_up (dropped after max age, or the client is gone).",
		}, []string{"result"}),
		bclPending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "latch_backchannel_logouts_pending",
			Help: "Back-channel logouts in the outbox (all instances), as last counted by this instance's delivery worker.",
		}),
	}
	for _, c := range []prometheus.Collector{
		m.requests, m.duration, m.inFlight, m.tokens, m.logins, m.refreshReuse,
		m.codeReplay, m.challenge, m.auditEvents, m.storeDuration, m.storeErrors, m.bcl, m.bclPending,
	} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	// Pre-create the series a dashboard alerts on, so they read 0 rather
	// than being absent before the first event.
	for _, r := range []string{"succeeded", "failed"} {
		m.logins.WithLabelValues(r)
	}
	for _, r := range []string{"delivered", "failed", "gave_up"} {
		m.bcl.WithLabelValues(r)
	}
	for _, k := range []string{replayCodeChallenge, replayNonce} {
		for _, r := range []string{"true", "false"} {
			m.challenge.WithLabelValues(k, r)
		}
	}
	return m, nil
}

// Audit events the metrics count specially (see audit.go callers).
const (
	eventTokenIssued    = "token_issued"
	eventLoginSucceeded = "login_succeeded"
	eventLoginFailed    = "login_failed"
	eventRefreshReuse   = "refresh_token_reuse_detected"
	eventCodeReplay     = "code_replay_detected"
)

// event counts one audit event. attrs are the audit log's key/value
// pairs; only grant_type is read (its values are the grant types the
// token endpoint accepted, so the label stays bounded).
func (m *Metrics) event(event string, attrs []any) {
	if m == nil {
		return
	}
	m.auditEvents.WithLabelValues(event).Inc()
	switch event {
	case eventTokenIssued:
		gt := "unknown"
		for i := 0; i+1 < len(attrs); i += 2 {
			if k, ok := attrs[i].(string); ok && k == "grant_type" {
				if v, ok := attrs[i+1].(string); ok {
					gt = v
				}
			}
		}
		m.tokens.WithLabelValues(gt).Inc()
	case eventLoginSucceeded:
		m.logins.WithLabelValues("succeeded").Inc()
	case eventLoginFailed:
		m.logins.WithLabelValues("failed").Inc()
	case eventRefreshReuse:
		m.refreshReuse.Inc()
	case eventCodeReplay:
		m.codeReplay.Inc()
	case eventBCLDelivered:
		m.bcl.WithLabelValues("delivered").Inc()
	case eventBCLFailed:
		m.bcl.WithLabelValues("failed").Inc()
	case eventBCLGaveUp:
		m.bcl.WithLabelValues("gave_up").Inc()
	case eventChallengeReplay:
		kind, refused := attr(attrs, "kind"), attr(attrs, "refused")
		if (kind == replayCodeChallenge || kind == replayNonce) && (refused == true || refused == false) {
			m.challenge.WithLabelValues(kind.(string), strconv.FormatBool(refused.(bool))).Inc()
		}
	}
}

// backchannelPending sets the outbox gauge from the store's count; a
// failed count leaves it as it was.
func (m *Metrics) backchannelPending(ctx context.Context, st store.Store) {
	if m == nil {
		return
	}
	if n, err := st.PendingBackchannelLogouts(ctx); err == nil {
		m.bclPending.Set(float64(n))
	}
}

// attr returns the value of key among audit attributes, or nil.
func attr(attrs []any, key string) any {
	for i := 0; i+1 < len(attrs); i += 2 {
		if k, ok := attrs[i].(string); ok && k == key {
			return attrs[i+1]
		}
	}
	return nil
}

// ObserveStore records one store call (storemetrics.Observer): its
// latency, and a failure.
func (m *Metrics) ObserveStore(method string, d time.Duration, failed bool) {
	if m == nil {
		return
	}
	m.storeDuration.WithLabelValues(method).Observe(d.Seconds())
	if failed {
		m.storeErrors.WithLabelValues(method).Inc()
	}
}

// instrument counts and times every request by the route pattern the mux
// matched (r.Pattern, set by http.ServeMux on the request it was handed),
// so the label set is the fixed list of routes whatever paths clients
// send. A nil s.metrics makes it a pass-through.
func (s *Server) instrument(next http.Handler) http.Handler {
	m := s.opts.Metrics
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		m.inFlight.Inc()
		defer m.inFlight.Dec()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := routeLabel(r)
		status := rec.status
		if status == 0 {
			status = http.StatusOK
		}
		m.requests.WithLabelValues(route, methodLabel(r.Method), strconv.Itoa(status)).Inc()
		m.duration.WithLabelValues(route).Observe(time.Since(start).Seconds())
	})
}

// routeLabel is the mux pattern that served r, or "unmatched".
func routeLabel(r *http.Request) string {
	if r.Pattern == "" {
		return "unmatched"
	}
	return r.Pattern
}

// methodLabel bounds the method label to the standard methods.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions:
		return m
	}
	return "other"
}

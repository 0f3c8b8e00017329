package server

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http"
)

// requestIDHeader carries the request id in both directions.
const requestIDHeader = "X-Request-Id"

// maxRequestIDLen bounds a propagated request id.
const maxRequestIDLen = 128

type requestIDKey struct{}

// RequestID returns the id of the request ctx belongs to, or "".
func RequestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// requestID picks the id of r: the X-Request-Id header when r comes from
// a trusted proxy and the value is short, visible ASCII (so it is safe in
// a log line); otherwise a fresh random one. An id from anyone else is
// ignored: a client must not be able to plant ids that collide with
// another request's in the logs.
func (s *Server) requestID(r *http.Request) string {
	if s.proxies.fromTrustedPeer(r) {
		if id := r.Header.Get(requestIDHeader); validRequestID(id) {
			return id
		}
	}
	return rand.Text() // 128 bits, base32
}

func validRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; c <= 0x20 || c >= 0x7f || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// withRequestID returns a logger whose records carry request_id when they
// are logged with a request's context (every *Context call and Log/LogAttrs
// with r.Context()), so error and audit lines can be matched to the access
// log line of their request.
func withRequestID(l *slog.Logger) *slog.Logger {
	if _, ok := l.Handler().(requestIDHandler); ok {
		return l
	}
	return slog.New(requestIDHandler{l.Handler()})
}

type requestIDHandler struct{ slog.Handler }

func (h requestIDHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := RequestID(ctx); id != "" {
		r = r.Clone()
		r.AddAttrs(slog.String("request_id", id))
	}
	return h.Handler.Handle(ctx, r)
}

func (h requestIDHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return requestIDHandler{h.Handler.WithAttrs(attrs)}
}

func (h requestIDHandler) WithGroup(name string) slog.Handler {
	return requestIDHandler{h.Handler.WithGroup(name)}
}

package server

import (
	"context"
	"log/slog"
)

// auditLog writes one audit event. Attributes name clients and subjects,
// never a token, code, secret or password.
func (s *Server) auditLog(ctx context.Context, event string, attrs ...any) {
	s.audit.Log(ctx, slog.LevelInfo, "audit", append([]any{"event", event}, attrs...)...)
	s.opts.Metrics.event(event, attrs) // counters; a nil Metrics is a no-op
}

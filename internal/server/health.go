package server

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Ready reports whether the server can serve requests: the store answers
// a ping and a signing key for the default algorithm is loaded. The error
// says which is missing, in words fit for a readiness probe's body (no
// connection strings or other internals).
//
// The ping is bounded by readyTimeout, so a database that hangs (a
// network partition) turns the probe not-ready instead of stalling it.
func (s *Server) Ready(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	if err := s.store.Ping(ctx); err != nil {
		s.log.WarnContext(ctx, "readiness: store ping failed", "error", err)
		return errors.New("store unreachable")
	}
	if alg := s.keys.DefaultAlg(); !s.keys.Supports(alg) {
		return fmt.Errorf("no %s signing key loaded", alg)
	}
	return nil
}

// readyTimeout bounds the store ping of a readiness probe.
const readyTimeout = 2 * time.Second

// Keys is the server's signing key manager, for the admin API: rotating
// through it makes this instance sign with the new key at once (other
// instances reload within their refresh interval).
func (s *Server) Keys() *token.Keys { return s.keys }

// Store is the server's store for whatever else runs in the same process
// and changes clients or users (the admin API): its reads are the
// store's own (uncached), and its changes drop this server's cached
// copies (clientcache.go) before they return, so they take effect here
// at once.
func (s *Server) Store() store.Store {
	if c, ok := s.store.(*clientCache); ok {
		return writeThrough{Store: c.Store, c: c}
	}
	return s.store
}

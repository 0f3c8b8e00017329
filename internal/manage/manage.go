package manage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// Actors: the road an operation came by, the "actor" of its audit event.
const (
	ActorAdminAPI = "admin-api"
	ActorCLI      = "cli"
)

// Options are what a Service needs. Only Store is required; an operation
// that needs a missing part (Keys, HashPassword) fails with an internal
// error.
type Options struct {
	Store store.Store
	// Keys signs tokens: the running server's (so a rotation takes
	// effect in that instance at once) or, on the command line, one built
	// over Store and loaded.
	Keys *token.Keys
	// HashPassword hashes a new password with argon2id at the configured
	// cost: the server's password.Hasher.Hash, or password.Hash with the
	// configured parameters on the command line.
	HashPassword func(pw string) (string, error)
	// Audit receives one event per change ("msg":"audit"); nil discards.
	Audit *slog.Logger
	// Actor is the audit events' "actor": ActorAdminAPI or ActorCLI.
	Actor string
	// Issuer is the server's issuer URL; an app served from its origin
	// needs no allowed origin (registration.ClientWarnings). "" when not
	// known.
	Issuer string
	// FieldName names client fields in validation messages:
	// registration.Field.Flag on the command line, Field.JSON (the
	// default) in the admin API.
	FieldName func(registration.Field) string
	Now       func() time.Time
	// Upstreams seals upstream client secrets (AddUpstream,
	// UpdateUpstream); nil refuses a client secret.
	Upstreams Sealer
}

// Service runs the administrative operations over one store.
type Service struct {
	opts Options
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("manage: Store is required")
	}
	if opts.Audit == nil {
		opts.Audit = slog.New(slog.DiscardHandler)
	}
	if opts.FieldName == nil {
		opts.FieldName = registration.Field.JSON
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Service{opts: opts}, nil
}

// Kind says what an Error is about; the admin API maps it to a status.
type Kind int

const (
	Invalid  Kind = iota + 1 // the request breaks a rule: 400
	NotFound                 // no such record: 404
	Conflict                 // the record exists already: 409
)

// Error is a problem the caller caused. Its message is safe to show to
// the administrator (it never holds a secret or password).
type Error struct {
	Kind Kind
	msg  string
}

func (e *Error) Error() string { return e.msg }

func errorf(k Kind, format string, args ...any) error {
	return &Error{Kind: k, msg: fmt.Sprintf(format, args...)}
}

// audit records one change. attrs name records (client_id, sub, kid),
// never a secret, hash or password.
func (s *Service) audit(ctx context.Context, event string, attrs ...any) {
	s.opts.Audit.Log(ctx, slog.LevelInfo, "audit", append([]any{"event", event, "actor", s.opts.Actor}, attrs...)...)
}

package manage

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// ClientResult is a client just created or updated: its view (with the
// secret when one was just made, once) and what is probably wrong with
// it (registration.ClientWarnings).
type ClientResult struct {
	View     registration.ClientView
	Warnings []string
}

func (s *Service) clientResult(c store.Client, secret string) ClientResult {
	return ClientResult{
		View:     registration.NewClientView(c, secret),
		Warnings: registration.ClientWarnings(c, registration.URLOrigin(s.opts.Issuer)),
	}
}

// validate applies the registration policy, naming fields as the road
// does.
func (s *Service) validate(c *store.Client) error {
	if err := registration.ValidateClient(c, s.opts.FieldName); err != nil {
		return &Error{Kind: Invalid, msg: err.Error()}
	}
	return nil
}

// ListClients returns every client's view, never nil.
func (s *Service) ListClients(ctx context.Context) ([]registration.ClientView, error) {
	clients, err := s.opts.Store.ListClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing clients: %w", err)
	}
	views := make([]registration.ClientView, 0, len(clients))
	for _, c := range clients {
		views = append(views, registration.NewClientView(c, ""))
	}
	return views, nil
}

// GetClient returns the client id.
func (s *Service) GetClient(ctx context.Context, id string) (store.Client, error) {
	c, err := s.opts.Store.GetClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return c, errorf(NotFound, "client %q not found", id)
	}
	if err != nil {
		return c, fmt.Errorf("reading client %q: %w", id, err)
	}
	return c, nil
}

// CreateClient validates and stores c (ID, Public, settings; CreatedAt
// is set when zero). A confidential client gets a random 256-bit secret,
// in the result once: only its hash is stored; a private_key_jwt client
// (RFC 7523) gets none: it authenticates with its keys.
// Audit: admin_client_created (client_id, client_type).
func (s *Service) CreateClient(ctx context.Context, c store.Client) (ClientResult, error) {
	if c.CreatedAt.IsZero() {
		c.CreatedAt = s.opts.Now().UTC()
	}
	c.SecretHash = ""
	if err := s.validate(&c); err != nil {
		return ClientResult{}, err
	}
	var secret string
	if !c.Public && c.AuthMethod == "" {
		secret, c.SecretHash = registration.NewClientSecret()
	}
	err := s.opts.Store.CreateClient(ctx, c)
	if errors.Is(err, store.ErrAlreadyExists) {
		return ClientResult{}, errorf(Conflict, "client %q already exists", c.ID)
	}
	if err != nil {
		return ClientResult{}, fmt.Errorf("creating client %q: %w", c.ID, err)
	}
	s.audit(ctx, "admin_client_created", "client_id", c.ID, "client_type", registration.ClientType(c))
	return s.clientResult(c, secret), nil
}

// ClientUpdate is a change to a stored client.
type ClientUpdate struct {
	// Public, when not nil, sets the client type: true deletes the
	// secret; false on a public client makes a new one.
	Public *bool
	// RotateSecret replaces a confidential client's secret.
	RotateSecret bool
	// Apply copies the settings given onto the client (not its ID, type
	// or secret); nil changes none. An error it returns is returned as
	// is (an *Error when the caller caused it).
	Apply func(*store.Client) error
}

// UpdateClient applies u to the client id and stores it, validated. A
// new secret (rotated, or a public client turned confidential) is in the
// result once. A read-modify-write: a concurrent update of the same
// client may be lost (last writer wins), acceptable for administration.
// Audit: admin_client_updated (client_id, secret_rotated).
func (s *Service) UpdateClient(ctx context.Context, id string, u ClientUpdate) (ClientResult, error) {
	c, err := s.GetClient(ctx, id)
	if err != nil {
		return ClientResult{}, err
	}
	var secret string
	switch {
	case u.Public == nil:
	case *u.Public:
		c.Public, c.SecretHash = true, ""
	case c.Public:
		c.Public = false
		secret, c.SecretHash = registration.NewClientSecret()
	}
	if u.RotateSecret {
		if c.Public {
			return ClientResult{}, errorf(Invalid, "client %q is a public client: it has no secret to rotate", id)
		}
		secret, c.SecretHash = registration.NewClientSecret()
	}
	if u.Apply != nil {
		if err := u.Apply(&c); err != nil {
			return ClientResult{}, err
		}
	}
	c.ID = id
	if err := s.validate(&c); err != nil {
		return ClientResult{}, err
	}
	// A private_key_jwt client has keys, no secret (RFC 7523 §2.2); a
	// confidential client leaving private_key_jwt gets a secret.
	switch {
	case c.AuthMethod != "" && u.RotateSecret:
		return ClientResult{}, errorf(Invalid, "client %q authenticates with private_key_jwt: it has no secret to rotate", id)
	case c.AuthMethod != "":
		secret, c.SecretHash = "", ""
	case !c.Public && c.SecretHash == "":
		secret, c.SecretHash = registration.NewClientSecret()
	}
	err = s.opts.Store.UpdateClient(ctx, c)
	if errors.Is(err, store.ErrNotFound) { // deleted meanwhile
		return ClientResult{}, errorf(NotFound, "client %q not found", id)
	}
	if err != nil {
		return ClientResult{}, fmt.Errorf("updating client %q: %w", id, err)
	}
	s.audit(ctx, "admin_client_updated", "client_id", c.ID, "secret_rotated", secret != "")
	return s.clientResult(c, secret), nil
}

// DeleteClient deletes the client id. Its refresh tokens stop working;
// access tokens already issued stay valid until they expire.
// Audit: admin_client_deleted (client_id).
func (s *Service) DeleteClient(ctx context.Context, id string) error {
	err := s.opts.Store.DeleteClient(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(NotFound, "client %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("deleting client %q: %w", id, err)
	}
	s.audit(ctx, "admin_client_deleted", "client_id", id, "reason", store.ReasonClientDeleted)
	return nil
}

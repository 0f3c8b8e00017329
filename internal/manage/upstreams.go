package manage

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// Sealer seals upstream client secrets at rest (internal/seal.Sealer
// under the purpose "upstream-secrets"; the server opens them).
type Sealer interface {
	Seal(plaintext, additionalData []byte) []byte
}

// UpstreamChange is what an add or update sets: a nil field is left
// unchanged (update) or defaulted (add). ClientSecret "" on update
// removes the secret (a public client at the upstream).
type UpstreamChange struct {
	Issuer        *string
	ClientID      *string
	ClientSecret  *string
	Scopes        *[]string
	DisplayName   *string
	UsernameClaim *string
	EmailClaim    *string
	NameClaim     *string
	LinkPolicy    *string
}

func (c UpstreamChange) apply(u *store.Upstream, seal func(string) ([]byte, error)) error {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&u.Issuer, c.Issuer)
	set(&u.ClientID, c.ClientID)
	set(&u.DisplayName, c.DisplayName)
	set(&u.UsernameClaim, c.UsernameClaim)
	set(&u.EmailClaim, c.EmailClaim)
	set(&u.NameClaim, c.NameClaim)
	set(&u.LinkPolicy, c.LinkPolicy)
	if c.Scopes != nil {
		u.Scopes = *c.Scopes
	}
	if c.ClientSecret != nil {
		if *c.ClientSecret == "" {
			u.ClientSecret = nil
		} else {
			b, err := seal(*c.ClientSecret)
			if err != nil {
				return err
			}
			u.ClientSecret = b
		}
	}
	return nil
}

func (s *Service) sealUpstreamSecret(id string) func(string) ([]byte, error) {
	return func(secret string) ([]byte, error) {
		if s.opts.Upstreams == nil {
			return nil, errors.New("upstream client secrets cannot be sealed here: no key-encryption secret")
		}
		return s.opts.Upstreams.Seal([]byte(secret), registration.UpstreamSecretAD(id)), nil
	}
}

// AddUpstream adds an upstream OpenID Provider; its client secret is
// sealed (Options.Upstreams) and never returned. The issuer is not
// contacted here: the first sign-in discovers it. Audit:
// admin_upstream_added (upstream, issuer, link_policy).
func (s *Service) AddUpstream(ctx context.Context, id string, c UpstreamChange) (registration.UpstreamView, error) {
	now := s.opts.Now().UTC()
	u := store.Upstream{ID: id, CreatedAt: now, UpdatedAt: now}
	if err := c.apply(&u, s.sealUpstreamSecret(id)); err != nil {
		return registration.UpstreamView{}, err
	}
	if err := registration.ValidateUpstream(&u); err != nil {
		return registration.UpstreamView{}, errorf(Invalid, "%s", err.Error())
	}
	err := s.opts.Store.CreateUpstream(ctx, u)
	if errors.Is(err, store.ErrAlreadyExists) {
		return registration.UpstreamView{}, errorf(Conflict, "upstream %q already exists", id)
	}
	if err != nil {
		return registration.UpstreamView{}, fmt.Errorf("adding upstream %q: %w", id, err)
	}
	s.audit(ctx, "admin_upstream_added", "upstream", id, "issuer", u.Issuer, "link_policy", u.LinkPolicy)
	return registration.NewUpstreamView(u), nil
}

// UpdateUpstream changes the fields c sets. Audit:
// admin_upstream_updated (upstream, issuer, link_policy, secret_changed).
func (s *Service) UpdateUpstream(ctx context.Context, id string, c UpstreamChange) (registration.UpstreamView, error) {
	u, err := s.opts.Store.GetUpstream(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return registration.UpstreamView{}, errorf(NotFound, "upstream %q not found", id)
	}
	if err != nil {
		return registration.UpstreamView{}, fmt.Errorf("reading upstream %q: %w", id, err)
	}
	if err := c.apply(&u, s.sealUpstreamSecret(id)); err != nil {
		return registration.UpstreamView{}, err
	}
	if err := registration.ValidateUpstream(&u); err != nil {
		return registration.UpstreamView{}, errorf(Invalid, "%s", err.Error())
	}
	u.UpdatedAt = s.opts.Now().UTC()
	err = s.opts.Store.UpdateUpstream(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return registration.UpstreamView{}, errorf(NotFound, "upstream %q not found", id)
	}
	if err != nil {
		return registration.UpstreamView{}, fmt.Errorf("updating upstream %q: %w", id, err)
	}
	s.audit(ctx, "admin_upstream_updated", "upstream", id, "issuer", u.Issuer, "link_policy", u.LinkPolicy, "secret_changed", c.ClientSecret != nil)
	return registration.NewUpstreamView(u), nil
}

// ListUpstreams returns every upstream, by ID.
func (s *Service) ListUpstreams(ctx context.Context) ([]registration.UpstreamView, error) {
	us, err := s.opts.Store.ListUpstreams(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing upstreams: %w", err)
	}
	out := make([]registration.UpstreamView, 0, len(us))
	for _, u := range us {
		out = append(out, registration.NewUpstreamView(u))
	}
	return out, nil
}

// GetUpstream returns one upstream.
func (s *Service) GetUpstream(ctx context.Context, id string) (registration.UpstreamView, error) {
	u, err := s.opts.Store.GetUpstream(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return registration.UpstreamView{}, errorf(NotFound, "upstream %q not found", id)
	}
	if err != nil {
		return registration.UpstreamView{}, fmt.Errorf("reading upstream %q: %w", id, err)
	}
	return registration.NewUpstreamView(u), nil
}

// DeleteUpstream deletes the upstream and every link of its subjects to
// users (the users stay). Audit: admin_upstream_deleted (upstream).
func (s *Service) DeleteUpstream(ctx context.Context, id string) error {
	err := s.opts.Store.DeleteUpstream(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(NotFound, "upstream %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("deleting upstream %q: %w", id, err)
	}
	s.audit(ctx, "admin_upstream_deleted", "upstream", id)
	return nil
}

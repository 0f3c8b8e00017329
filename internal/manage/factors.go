package manage

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// ResetLink is a one-time password reset link (printed by the CLI,
// returned by the admin API; never mailed: Latch sends no mail).
type ResetLink struct {
	URL       string    `json:"url"`
	ExpiresAt time.Time `json:"expires_at"`
}

// RequireMFA sets whether the user id must sign in with a second factor
// whatever the client asks (store.User.MFARequired). A user without one
// is refused with unmet_authentication_requirements until they add one
// on the account page. Audit: admin_user_mfa_required (sub, required).
func (s *Service) RequireMFA(ctx context.Context, id string, required bool) error {
	err := s.opts.Store.SetUserMFARequired(ctx, id, required)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(NotFound, "user %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("setting the second-factor requirement of %q: %w", id, err)
	}
	s.audit(ctx, "admin_user_mfa_required", "sub", id, "required", required)
	return nil
}

// ResetFactors removes every sign-in factor of the user id (TOTP,
// recovery codes, passkeys, open reset links) in one store write, for a
// user who lost their device. Their password is kept. It returns how
// many factors were removed. Audit: admin_factors_reset (sub, factors).
func (s *Service) ResetFactors(ctx context.Context, id string) (int, error) {
	fs, err := s.opts.Store.ListFactors(ctx, id)
	if err != nil {
		return 0, fmt.Errorf("listing the factors of %q: %w", id, err)
	}
	var kinds []string
	for _, f := range fs {
		if !slices.Contains(kinds, f.Kind) {
			kinds = append(kinds, f.Kind)
		}
	}
	err = s.opts.Store.SaveFactors(ctx, id, append(kinds, store.FactorTOTP, store.FactorRecovery))
	if errors.Is(err, store.ErrNotFound) {
		return 0, errorf(NotFound, "user %q not found", id)
	}
	if err != nil {
		return 0, fmt.Errorf("resetting the factors of %q: %w", id, err)
	}
	s.audit(ctx, "admin_factors_reset", "sub", id, "factors", len(fs))
	return len(fs), nil
}

// IssueResetLink makes a one-time link with which the user id sets a new
// password once, within store.ResetLinkTTL; a newer link replaces an
// older one. The link's secret is random (256 bits) and only its hash is
// stored. Audit: admin_reset_link_issued (sub, expires_at) — never the
// link.
func (s *Service) IssueResetLink(ctx context.Context, id string) (ResetLink, error) {
	if s.opts.Issuer == "" {
		return ResetLink{}, errorf(Invalid, "the issuer is not configured: a reset link is an address on it")
	}
	secret := token.NewOpaque()
	now := s.opts.Now().UTC()
	f := store.Factor{UserID: id, ID: registration.ResetLinkID(secret), Kind: store.FactorResetLink, CreatedAt: now}
	err := s.opts.Store.SaveFactors(ctx, id, []string{store.FactorResetLink}, f)
	if errors.Is(err, store.ErrNotFound) {
		return ResetLink{}, errorf(NotFound, "user %q not found", id)
	}
	if err != nil {
		return ResetLink{}, fmt.Errorf("issuing a reset link for %q: %w", id, err)
	}
	exp := now.Add(store.ResetLinkTTL)
	s.audit(ctx, "admin_reset_link_issued", "sub", id, "expires_at", exp)
	u := strings.TrimSuffix(s.opts.Issuer, "/") + "/account/reset?" + url.Values{"u": {id}, "t": {secret}}.Encode()
	return ResetLink{URL: u, ExpiresAt: exp}, nil
}

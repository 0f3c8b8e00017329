package manage

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// PasskeyView is one passkey of a user as the CLI shows it.
type PasskeyView struct {
	ID             string    `json:"id"`
	Name           string    `json:"name"`
	CreatedAt      time.Time `json:"created_at"`
	LastUsedAt     time.Time `json:"last_used_at,omitzero"`
	SignCount      int64     `json:"sign_count"`
	BackupEligible bool      `json:"backup_eligible"`
	BackedUp       bool      `json:"backed_up"`
}

// CreatePasskeyUser creates u without a password — an account that
// signs in with passkeys only — and issues its registration link: the
// one-time reset link (IssueResetLink), whose page creates the first
// passkey instead of setting a password for an account without one.
// Audit: admin_user_created (sub, passkey_only) and
// admin_reset_link_issued.
func (s *Service) CreatePasskeyUser(ctx context.Context, u store.User) (registration.UserView, ResetLink, error) {
	if s.opts.Issuer == "" {
		return registration.UserView{}, ResetLink{}, errorf(Invalid, "the issuer is not configured: a registration link is an address on it")
	}
	u.ID, u.PasswordHash = registration.NewUserID(), ""
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.opts.Now().UTC()
	}
	if err := registration.ValidateUser(u); err != nil {
		return registration.UserView{}, ResetLink{}, errorf(Invalid, "%s", err.Error())
	}
	typed := u.Username
	canonical, err := registration.CanonicalUsername(typed)
	if err != nil {
		return registration.UserView{}, ResetLink{}, errorf(Invalid, "username: %s", err.Error())
	}
	u.Username = canonical
	err = s.opts.Store.CreateUser(ctx, u)
	if errors.Is(err, store.ErrAlreadyExists) {
		return registration.UserView{}, ResetLink{}, errorf(Conflict, "%s", registration.UsernameTaken(typed, u.Username))
	}
	if err != nil {
		return registration.UserView{}, ResetLink{}, fmt.Errorf("creating user %q: %w", u.Username, err)
	}
	s.audit(ctx, "admin_user_created", "sub", u.ID, "passkey_only", true)
	link, err := s.IssueResetLink(ctx, u.ID)
	if err != nil {
		return registration.UserView{}, ResetLink{}, err
	}
	return registration.NewUserView(u), link, nil
}

// ListPasskeys lists the passkeys of the user id, oldest first.
func (s *Service) ListPasskeys(ctx context.Context, id string) ([]PasskeyView, error) {
	if _, err := s.opts.Store.GetUser(ctx, id); errors.Is(err, store.ErrNotFound) {
		return nil, errorf(NotFound, "user %q not found", id)
	} else if err != nil {
		return nil, err
	}
	fs, err := s.opts.Store.ListFactors(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("listing the factors of %q: %w", id, err)
	}
	out := []PasskeyView{}
	for _, f := range fs {
		if f.Kind != store.FactorPasskey {
			continue
		}
		info, ok := registration.PasskeyFlags(f.Secret)
		if !ok {
			continue
		}
		out = append(out, PasskeyView{ID: f.ID, Name: f.Name, CreatedAt: f.CreatedAt, LastUsedAt: f.LastUsedAt,
			SignCount: f.Counter, BackupEligible: info.BackupEligible, BackedUp: info.BackedUp})
	}
	return out, nil
}

// DeletePasskey removes the passkey factorID of the user id (a lost or
// compromised device). Audit: admin_passkey_deleted (sub, factor).
func (s *Service) DeletePasskey(ctx context.Context, id, factorID string) error {
	fs, err := s.opts.Store.ListFactors(ctx, id)
	if err != nil {
		return fmt.Errorf("listing the factors of %q: %w", id, err)
	}
	found := false
	for _, f := range fs {
		found = found || (f.Kind == store.FactorPasskey && f.ID == factorID)
	}
	if !found {
		return errorf(NotFound, "user %q has no passkey %q", id, factorID)
	}
	if err := s.opts.Store.DeleteFactor(ctx, id, factorID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("deleting passkey %q of %q: %w", factorID, id, err)
	}
	s.audit(ctx, "admin_passkey_deleted", "sub", id, "factor", factorID)
	return nil
}

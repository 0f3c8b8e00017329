package manage

import (
	"context"
	"errors"
	"fmt"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// LogoutResult says what "log out everywhere" ended.
type LogoutResult struct {
	SessionsEnded int `json:"sessions_ended"`
	GrantsRevoked int `json:"grants_revoked"`
}

// ListUsers returns every user's view, never nil.
func (s *Service) ListUsers(ctx context.Context) ([]registration.UserView, error) {
	users, err := s.opts.Store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing users: %w", err)
	}
	views := make([]registration.UserView, 0, len(users))
	for _, u := range users {
		views = append(views, registration.NewUserView(u))
	}
	return views, nil
}

// GetUser returns the user with ID (OIDC sub) id.
func (s *Service) GetUser(ctx context.Context, id string) (store.User, error) {
	u, err := s.opts.Store.GetUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return u, errorf(NotFound, "user %q not found", id)
	}
	if err != nil {
		return u, fmt.Errorf("reading user %q: %w", id, err)
	}
	return u, nil
}

// FindUser returns the user an administrator means by username
// (registration.FindUser: canonical form first).
func (s *Service) FindUser(ctx context.Context, username string) (store.User, error) {
	u, _, err := registration.FindUser(ctx, s.opts.Store, username)
	if errors.Is(err, store.ErrNotFound) {
		return store.User{}, errorf(NotFound, "user %q not found", username)
	}
	if err != nil {
		return store.User{}, fmt.Errorf("reading user %q: %w", username, err)
	}
	return u, nil
}

// CreateUser creates u (Username as typed, Email, EmailVerified, Name)
// with password pw, hashed with argon2id at the configured cost (never
// logged or returned). The username is stored in canonical form
// (RFC 8265 §3.3), so look-alike spellings of one name collide on the
// store's unique username; the ID (the OIDC sub) is a random UUID.
// Audit: admin_user_created (sub).
func (s *Service) CreateUser(ctx context.Context, u store.User, pw string) (registration.UserView, error) {
	u.ID, u.PasswordHash = registration.NewUserID(), ""
	if u.CreatedAt.IsZero() {
		u.CreatedAt = s.opts.Now().UTC()
	}
	if err := registration.ValidateUser(u); err != nil {
		return registration.UserView{}, errorf(Invalid, "%s", err.Error())
	}
	typed := u.Username
	canonical, err := registration.CanonicalUsername(typed)
	if err != nil {
		return registration.UserView{}, errorf(Invalid, "username: %s", err.Error())
	}
	u.Username = canonical
	if u.PasswordHash, err = s.hash(pw); err != nil {
		return registration.UserView{}, err
	}
	err = s.opts.Store.CreateUser(ctx, u)
	if errors.Is(err, store.ErrAlreadyExists) {
		return registration.UserView{}, errorf(Conflict, "%s", registration.UsernameTaken(typed, u.Username))
	}
	if err != nil {
		return registration.UserView{}, fmt.Errorf("creating user %q: %w", u.Username, err)
	}
	s.audit(ctx, "admin_user_created", "sub", u.ID)
	return registration.NewUserView(u), nil
}

// hash applies the password policy and hashes pw.
func (s *Service) hash(pw string) (string, error) {
	if err := registration.CheckPassword(pw); err != nil {
		return "", errorf(Invalid, "password: %s", err.Error())
	}
	if s.opts.HashPassword == nil {
		return "", errors.New("manage: no password hasher")
	}
	h, err := s.opts.HashPassword(pw)
	if err != nil {
		return "", fmt.Errorf("hashing the password: %w", err)
	}
	return h, nil
}

// SetPassword replaces the password of the user id with pw; with logout
// it also logs them out everywhere (LogoutEverywhere) and says what that
// ended. Audit: admin_password_set (sub), then admin_user_logged_out.
func (s *Service) SetPassword(ctx context.Context, id, pw string, logout bool) (LogoutResult, error) {
	hash, err := s.hash(pw)
	if err != nil {
		return LogoutResult{}, err
	}
	if err := s.opts.Store.SetUserPassword(ctx, id, hash); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return LogoutResult{}, errorf(NotFound, "user %q not found", id)
		}
		return LogoutResult{}, fmt.Errorf("setting the password of %q: %w", id, err)
	}
	s.audit(ctx, "admin_password_set", "sub", id)
	if !logout {
		return LogoutResult{}, nil
	}
	return s.logoutEverywhere(ctx, id, store.ReasonPasswordChanged)
}

// LogoutEverywhere ends every SSO session of the user id and revokes
// every grant (so every refresh token) they gave, for reason "admin".
// Every client with a backchannel_logout_uri that got tokens in a live
// session is sent a Logout Token (the store enqueues them with the
// sessions' end; the servers' workers deliver). Access tokens already
// issued stay valid until they expire (access-token-ttl).
// Audit: admin_user_logged_out (sub, sessions_ended, grants_revoked,
// reason, backchannel_logouts_queued).
func (s *Service) LogoutEverywhere(ctx context.Context, id string) (LogoutResult, error) {
	return s.logoutEverywhere(ctx, id, store.ReasonAdmin)
}

// logoutEverywhere is LogoutEverywhere for reason (the grants' stored
// RevokedReason, which the token endpoint tells their clients).
func (s *Service) logoutEverywhere(ctx context.Context, id string, reason store.Reason) (LogoutResult, error) {
	var res LogoutResult
	ended, queued, err := s.opts.Store.EndUserSessions(ctx, id, s.opts.Now())
	if err != nil {
		return res, fmt.Errorf("ending the sessions of %q: %w", id, err)
	}
	res.SessionsEnded = ended
	if res.GrantsRevoked, err = s.opts.Store.RevokeUserGrants(ctx, id, "", s.opts.Now(), reason); err != nil {
		return res, fmt.Errorf("revoking the grants of %q: %w", id, err)
	}
	s.audit(ctx, "admin_user_logged_out", "sub", id, "sessions_ended", res.SessionsEnded, "grants_revoked", res.GrantsRevoked,
		"reason", reason, "backchannel_logouts_queued", queued)
	return res, nil
}

// ListSessions returns the user's SSO sessions that have not expired.
func (s *Service) ListSessions(ctx context.Context, id string) ([]store.Session, error) {
	sessions, err := s.opts.Store.ListUserSessions(ctx, id, s.opts.Now())
	if err != nil {
		return nil, fmt.Errorf("listing the sessions of %q: %w", id, err)
	}
	return sessions, nil
}

// ListGrants returns the user's grants (token families), as the store
// lists them.
func (s *Service) ListGrants(ctx context.Context, id string) ([]store.Grant, error) {
	grants, err := s.opts.Store.ListUserGrants(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("listing the grants of %q: %w", id, err)
	}
	return grants, nil
}

// DeleteUser deletes the user id with their sessions (notifying the
// back-channel logout clients, as LogoutEverywhere does), consents and
// grants. Access tokens already issued stay valid until they expire.
// Audit: admin_user_deleted (sub).
func (s *Service) DeleteUser(ctx context.Context, id string) error {
	// End the sessions first, so the clients that got tokens in them are
	// sent a back-channel logout: DeleteUser removes the grants that
	// record them.
	if _, _, err := s.opts.Store.EndUserSessions(ctx, id, s.opts.Now()); err != nil {
		return fmt.Errorf("ending the sessions of %q: %w", id, err)
	}
	err := s.opts.Store.DeleteUser(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(NotFound, "user %q not found", id)
	}
	if err != nil {
		return fmt.Errorf("deleting user %q: %w", id, err)
	}
	s.audit(ctx, "admin_user_deleted", "sub", id, "reason", store.ReasonUserDeleted)
	return nil
}

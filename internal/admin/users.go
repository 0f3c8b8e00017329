package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// userRequest is the body of POST /admin/users.
type userRequest struct {
	Username      string `json:"username"`
	Password      string `json:"password"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
}

// passwordRequest is the body of PUT /admin/users/{id}/password.
type passwordRequest struct {
	Password string `json:"password"`
	// Logout also ends the user's sessions and revokes their grants, as
	// after a suspected compromise.
	Logout bool `json:"logout"`
}

// logoutResult says what "log out everywhere" ended.
type logoutResult struct {
	SessionsEnded int `json:"sessions_ended"`
	GrantsRevoked int `json:"grants_revoked"`
}

// sessionView is an SSO session; it has no field for the session id (the
// hash of the browser's cookie).
type sessionView struct {
	AuthTime  time.Time `json:"auth_time"`
	CreatedAt time.Time `json:"created_at"`
	ExpiresAt time.Time `json:"expires_at"`
	AMR       []string  `json:"amr,omitempty"`
}

// grantView is a token family (what a refresh token belongs to).
type grantView struct {
	ID                string    `json:"id"`
	ClientID          string    `json:"client_id"`
	Scopes            []string  `json:"scopes"`
	Audiences         []string  `json:"audiences,omitempty"`
	AuthTime          time.Time `json:"auth_time,omitzero"`
	CreatedAt         time.Time `json:"created_at"`
	AbsoluteExpiresAt time.Time `json:"absolute_expires_at,omitzero"`
	RevokedAt         time.Time `json:"revoked_at,omitzero"`
}

// listUsers lists users, or with ?username=NAME the one user of that name
// (an empty list when there is none).
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var users []store.User
	if name, ok := r.URL.Query()["username"]; ok {
		u, _, err := registration.FindUser(ctx, s.opts.Store, name[0])
		switch {
		case errors.Is(err, store.ErrNotFound):
		case err != nil:
			return err
		default:
			users = append(users, u)
		}
	} else {
		var err error
		if users, err = s.opts.Store.ListUsers(ctx); err != nil {
			return err
		}
	}
	views := make([]registration.UserView, 0, len(users))
	for _, u := range users {
		views = append(views, registration.NewUserView(u))
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

func (s *Server) user(r *http.Request) (store.User, error) {
	id := r.PathValue("id")
	u, err := s.opts.Store.GetUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return u, errNotFound("user %q not found", id)
	}
	return u, err
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := s.user(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, registration.NewUserView(u))
	return nil
}

// createUser creates a user with a password (hashed with argon2id at the
// server's cost; never logged or returned). The ID (the OIDC sub) is a
// random UUID.
func (s *Server) createUser(w http.ResponseWriter, r *http.Request) error {
	var req userRequest
	err := decode(r, &req)
	if err != nil {
		return err
	}
	u := store.User{
		ID: registration.NewUserID(), Username: req.Username, Email: req.Email,
		EmailVerified: req.EmailVerified, Name: req.Name, CreatedAt: s.now().UTC(),
	}
	if err := registration.ValidateUser(u); err != nil {
		return errBadRequest("%s", err.Error())
	}
	// Stored in canonical form (RFC 8265 §3.3), so look-alike spellings
	// of one name collide on the store's unique username.
	typed := u.Username
	if u.Username, err = registration.CanonicalUsername(typed); err != nil {
		return errBadRequest("%s", err.Error())
	}
	if err := registration.CheckPassword(req.Password); err != nil {
		return errBadRequest("password: %s", err.Error())
	}
	hash, err := s.opts.Passwords.Hash(req.Password)
	if err != nil {
		return err
	}
	u.PasswordHash = hash
	err = s.opts.Store.CreateUser(r.Context(), u)
	if errors.Is(err, store.ErrAlreadyExists) {
		return errConflict("%s", registration.UsernameTaken(typed, u.Username))
	}
	if err != nil {
		return err
	}
	s.auditLog(r.Context(), "admin_user_created", "sub", u.ID)
	w.Header().Set("Location", "/admin/users/"+u.ID)
	writeJSON(w, http.StatusCreated, registration.NewUserView(u))
	return nil
}

// deleteUser deletes the user with their sessions, consents and grants.
// Access tokens already issued stay valid until they expire.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := s.opts.Store.DeleteUser(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound("user %q not found", id)
	}
	if err != nil {
		return err
	}
	s.auditLog(r.Context(), "admin_user_deleted", "sub", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// setPassword replaces the user's password; with "logout": true it also
// logs the user out everywhere.
func (s *Server) setPassword(w http.ResponseWriter, r *http.Request) error {
	var req passwordRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if err := registration.CheckPassword(req.Password); err != nil {
		return errBadRequest("password: %s", err.Error())
	}
	u, err := s.user(r)
	if err != nil {
		return err
	}
	hash, err := s.opts.Passwords.Hash(req.Password)
	if err != nil {
		return err
	}
	ctx := r.Context()
	if err := s.opts.Store.SetUserPassword(ctx, u.ID, hash); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return errNotFound("user %q not found", u.ID)
		}
		return err
	}
	s.auditLog(ctx, "admin_password_set", "sub", u.ID)
	var res logoutResult
	if req.Logout {
		if res, err = s.logout(r, u.ID); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	u, err := s.user(r)
	if err != nil {
		return err
	}
	sessions, err := s.opts.Store.ListUserSessions(r.Context(), u.ID, s.now())
	if err != nil {
		return err
	}
	views := make([]sessionView, 0, len(sessions))
	for _, se := range sessions {
		views = append(views, sessionView{AuthTime: se.AuthTime.UTC(), CreatedAt: se.CreatedAt.UTC(), ExpiresAt: se.ExpiresAt.UTC(), AMR: se.AMR})
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

func (s *Server) listGrants(w http.ResponseWriter, r *http.Request) error {
	u, err := s.user(r)
	if err != nil {
		return err
	}
	grants, err := s.opts.Store.ListUserGrants(r.Context(), u.ID)
	if err != nil {
		return err
	}
	views := make([]grantView, 0, len(grants))
	for _, g := range grants {
		views = append(views, grantView{
			ID: g.ID, ClientID: g.ClientID, Scopes: g.Scopes, Audiences: g.Audiences,
			AuthTime: g.AuthTime.UTC(), CreatedAt: g.CreatedAt.UTC(),
			AbsoluteExpiresAt: g.AbsoluteExpiresAt.UTC(), RevokedAt: g.RevokedAt.UTC(),
		})
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

// logoutEverywhere ends every SSO session of the user and revokes every
// grant (so every refresh token) they gave: the "log out everywhere"
// button. Access tokens already issued stay valid until they expire
// (their lifetime is short: access-token-ttl).
func (s *Server) logoutEverywhere(w http.ResponseWriter, r *http.Request) error {
	u, err := s.user(r)
	if err != nil {
		return err
	}
	res, err := s.logout(r, u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) logout(r *http.Request, userID string) (logoutResult, error) {
	ctx := r.Context()
	var res logoutResult
	var err error
	if res.SessionsEnded, err = s.opts.Store.DeleteUserSessions(ctx, userID); err != nil {
		return res, err
	}
	if res.GrantsRevoked, err = s.opts.Store.RevokeUserGrants(ctx, userID, "", s.now()); err != nil {
		return res, err
	}
	s.auditLog(ctx, "admin_user_logged_out", "sub", userID, "sessions_ended", res.SessionsEnded, "grants_revoked", res.GrantsRevoked)
	return res, nil
}

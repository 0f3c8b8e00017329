package admin

import (
	"errors"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/manage"
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
	// PasskeyOnly: no password; the answer carries the passkey
	// registration link (manage.CreatePasskeyUser).
	PasskeyOnly bool `json:"passkey_only"`
}

// passwordRequest is the body of PUT /admin/users/{id}/password.
type passwordRequest struct {
	Password string `json:"password"`
	// Logout also ends the user's sessions and revokes their grants, as
	// after a suspected compromise.
	Logout bool `json:"logout"`
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
	// RevokedReason is the stable reason code of the revocation
	// (store.Reason, docs/tokens.md); absent unless revoked.
	RevokedReason store.Reason `json:"revoked_reason,omitempty"`
}

// listUsers lists users, or with ?username=NAME the one user of that name
// (an empty list when there is none).
func (s *Server) listUsers(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	name, ok := r.URL.Query()["username"]
	if !ok {
		views, err := s.svc.ListUsers(ctx)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, views)
		return nil
	}
	views := []registration.UserView{}
	u, err := s.svc.FindUser(ctx, name[0])
	var me *manage.Error
	switch {
	case errors.As(err, &me) && me.Kind == manage.NotFound:
	case err != nil:
		return err
	default:
		views = append(views, registration.NewUserView(u))
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

func (s *Server) user(r *http.Request) (store.User, error) {
	return s.svc.GetUser(r.Context(), r.PathValue("id"))
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
	if err := decode(r, &req); err != nil {
		return err
	}
	u := store.User{Username: req.Username, Email: req.Email, EmailVerified: req.EmailVerified, Name: req.Name}
	if req.PasskeyOnly {
		if req.Password != "" {
			return &apiError{http.StatusBadRequest, "invalid_request", `"passkey_only" and "password" exclude each other`}
		}
		v, link, err := s.svc.CreatePasskeyUser(r.Context(), u)
		if err != nil {
			return err
		}
		w.Header().Set("Location", "/admin/users/"+v.ID)
		w.Header().Set("Cache-Control", "no-store")
		writeJSON(w, http.StatusCreated, passkeyUserCreated{v, link})
		return nil
	}
	v, err := s.svc.CreateUser(r.Context(), u, req.Password)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/users/"+v.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// deleteUser deletes the user with their sessions, consents and grants.
// Access tokens already issued stay valid until they expire.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteUser(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
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
	res, err := s.svc.SetPassword(r.Context(), r.PathValue("id"), req.Password, req.Logout)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) error {
	u, err := s.user(r)
	if err != nil {
		return err
	}
	sessions, err := s.svc.ListSessions(r.Context(), u.ID)
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
	grants, err := s.svc.ListGrants(r.Context(), u.ID)
	if err != nil {
		return err
	}
	views := make([]grantView, 0, len(grants))
	for _, g := range grants {
		views = append(views, grantView{
			ID: g.ID, ClientID: g.ClientID, Scopes: g.Scopes, Audiences: g.Audiences,
			AuthTime: g.AuthTime.UTC(), CreatedAt: g.CreatedAt.UTC(),
			AbsoluteExpiresAt: g.AbsoluteExpiresAt.UTC(), RevokedAt: g.RevokedAt.UTC(), RevokedReason: g.RevokedReason,
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
	res, err := s.svc.LogoutEverywhere(r.Context(), u.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

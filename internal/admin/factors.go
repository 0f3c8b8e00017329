package admin

import (
	"net/http"

	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/registration"
)

// mfaRequest is the body of PUT /admin/users/{id}/mfa.
type mfaRequest struct {
	// Required: every sign-in of the user needs a second factor.
	Required *bool `json:"required"`
}

// setMFARequired sets or clears the user's second-factor requirement.
func (s *Server) setMFARequired(w http.ResponseWriter, r *http.Request) error {
	var req mfaRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.Required == nil {
		return &apiError{http.StatusBadRequest, "invalid_request", `"required" (true or false) is required`}
	}
	if err := s.svc.RequireMFA(r.Context(), r.PathValue("id"), *req.Required); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]bool{"required": *req.Required})
	return nil
}

// resetFactors removes every sign-in factor of the user (TOTP, recovery
// codes, passkeys); the password stays.
func (s *Server) resetFactors(w http.ResponseWriter, r *http.Request) error {
	n, err := s.svc.ResetFactors(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"factors_removed": n})
	return nil
}

// issueResetLink returns a one-time password reset link for the user.
func (s *Server) issueResetLink(w http.ResponseWriter, r *http.Request) error {
	link, err := s.svc.IssueResetLink(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusCreated, link)
	return nil
}

// passkeyUserCreated answers POST /admin/users with "passkey_only": the
// user and its one-time passkey registration link.
type passkeyUserCreated struct {
	registration.UserView
	Link manage.ResetLink `json:"registration_link"`
}

// listPasskeys lists the user's passkeys.
func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	ps, err := s.svc.ListPasskeys(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, ps)
	return nil
}

// deletePasskey removes one passkey of the user (audited).
func (s *Server) deletePasskey(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeletePasskey(r.Context(), r.PathValue("id"), r.PathValue("passkey")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

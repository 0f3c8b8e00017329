package admin

import (
	"net/http"
	"time"
)

// initialAccessTokenRequest is the body of POST /admin/initial-access-tokens
// (optional): how many registrations the token allows and for how long.
type initialAccessTokenRequest struct {
	Uses int    `json:"uses"`
	TTL  string `json:"ttl"` // a Go duration, e.g. "24h"
}

// createInitialAccessToken makes a token for dynamic client registration
// (RFC 7591 §3); it is in the response once.
func (s *Server) createInitialAccessToken(w http.ResponseWriter, r *http.Request) error {
	var req initialAccessTokenRequest
	if r.ContentLength != 0 {
		if err := decode(r, &req); err != nil {
			return err
		}
	}
	var ttl time.Duration
	if req.TTL != "" {
		d, err := time.ParseDuration(req.TTL)
		if err != nil {
			return &apiError{http.StatusBadRequest, "invalid_request", "ttl must be a duration such as 24h"}
		}
		ttl = d
	}
	res, err := s.svc.CreateInitialAccessToken(r.Context(), req.Uses, ttl)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

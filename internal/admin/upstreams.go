package admin

import (
	"net/http"

	"github.com/latchauth/latch/internal/manage"
)

// upstreamRequest is the body of POST /admin/upstreams and PATCH
// /admin/upstreams/{id}: a member left out is unchanged (PATCH) or
// defaulted (POST); "client_secret": "" removes the secret.
type upstreamRequest struct {
	ID            string    `json:"id"`
	Issuer        *string   `json:"issuer"`
	ClientID      *string   `json:"client_id"`
	ClientSecret  *string   `json:"client_secret"`
	Scopes        *[]string `json:"scopes"`
	DisplayName   *string   `json:"display_name"`
	UsernameClaim *string   `json:"username_claim"`
	EmailClaim    *string   `json:"email_claim"`
	NameClaim     *string   `json:"name_claim"`
	LinkPolicy    *string   `json:"link_policy"`
}

func (q upstreamRequest) change() manage.UpstreamChange {
	return manage.UpstreamChange{
		Issuer: q.Issuer, ClientID: q.ClientID, ClientSecret: q.ClientSecret, Scopes: q.Scopes,
		DisplayName: q.DisplayName, UsernameClaim: q.UsernameClaim, EmailClaim: q.EmailClaim,
		NameClaim: q.NameClaim, LinkPolicy: q.LinkPolicy,
	}
}

// listUpstreams answers every upstream OpenID Provider (never a secret).
func (s *Server) listUpstreams(w http.ResponseWriter, r *http.Request) error {
	vs, err := s.svc.ListUpstreams(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, vs)
	return nil
}

// addUpstream adds an upstream; its client secret is sealed at rest.
func (s *Server) addUpstream(w http.ResponseWriter, r *http.Request) error {
	var req upstreamRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	v, err := s.svc.AddUpstream(r.Context(), req.ID, req.change())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, v)
	return nil
}

func (s *Server) getUpstream(w http.ResponseWriter, r *http.Request) error {
	v, err := s.svc.GetUpstream(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// updateUpstream changes the members given (the ID is the path's).
func (s *Server) updateUpstream(w http.ResponseWriter, r *http.Request) error {
	var req upstreamRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.ID != "" && req.ID != r.PathValue("id") {
		return &apiError{http.StatusBadRequest, "invalid_request", `"id" cannot be changed; delete the upstream and add it again`}
	}
	v, err := s.svc.UpdateUpstream(r.Context(), r.PathValue("id"), req.change())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

func (s *Server) deleteUpstream(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteUpstream(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

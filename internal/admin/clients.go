package admin

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/manage"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
)

// clientRequest is the body of POST /admin/clients and PATCH
// /admin/clients/{id}: the names of registration.ClientView. Absent fields
// are left alone (PATCH) or take their defaults (POST); a list replaces
// the whole list. Durations are strings such as "30s", "24h".
type clientRequest struct {
	ClientID               *string   `json:"client_id"`
	ClientType             *string   `json:"client_type"` // public or confidential
	ClientName             *string   `json:"client_name"`
	RedirectURIs           *[]string `json:"redirect_uris"`
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	AllowedOrigins         *[]string `json:"allowed_origins"`
	GrantTypes             *[]string `json:"grant_types"`
	Scopes                 *[]string `json:"scopes"`
	Audiences              *[]string `json:"audiences"`
	FirstParty             *bool     `json:"first_party"`
	RequireDPoP            *bool     `json:"dpop_bound_access_tokens"`
	IDTokenAlg             *string   `json:"id_token_signed_response_alg"`
	RefreshGrace           *string   `json:"refresh_grace"`
	RefreshIdle            *string   `json:"refresh_idle"`
	RefreshAbsolute        *string   `json:"refresh_absolute"`
	AccessTokenTTL         *string   `json:"access_token_ttl"`
	RevokeRefreshOnLogout  *bool     `json:"revoke_refresh_on_logout"`
	ResourceServer         *bool     `json:"resource_server"`
	// RFC 7591 §2, RFC 9126 §6.
	AuthMethod *string         `json:"token_endpoint_auth_method"`
	JWKS       json.RawMessage `json:"jwks"` // absent: nil; null clears
	JWKSURI    *string         `json:"jwks_uri"`
	RequirePAR *bool           `json:"require_pushed_authorization_requests"`
	// Back-Channel Logout 1.0 §2.2; "" removes the URI.
	BackchannelLogoutURI             *string `json:"backchannel_logout_uri"`
	BackchannelLogoutSessionRequired *bool   `json:"backchannel_logout_session_required"`
	RequireFreshChallenge            *bool   `json:"require_fresh_challenge"`
	AuthenticationPolicy             *string `json:"authentication_policy"`
	// RotateSecret (PATCH only) replaces a confidential client's secret;
	// the new one is in the response, once.
	RotateSecret bool `json:"rotate_secret"`
}

// apply copies the fields present onto c (not the ID, type or secret).
func (req *clientRequest) apply(c *store.Client) error {
	setList := func(dst *[]string, src *[]string) {
		if src != nil {
			*dst = append([]string(nil), (*src)...)
		}
	}
	setList(&c.RedirectURIs, req.RedirectURIs)
	setList(&c.PostLogoutRedirectURIs, req.PostLogoutRedirectURIs)
	setList(&c.AllowedOrigins, req.AllowedOrigins)
	setList(&c.GrantTypes, req.GrantTypes)
	setList(&c.Scopes, req.Scopes)
	setList(&c.Audiences, req.Audiences)
	if req.ClientName != nil {
		c.Name = *req.ClientName
	}
	if req.FirstParty != nil {
		c.FirstParty = *req.FirstParty
	}
	if req.RequireDPoP != nil {
		c.RequireDPoP = *req.RequireDPoP
	}
	if req.IDTokenAlg != nil {
		c.IDTokenAlg = *req.IDTokenAlg
	}
	if req.RevokeRefreshOnLogout != nil {
		c.RevokeRefreshOnLogout = *req.RevokeRefreshOnLogout
	}
	if req.ResourceServer != nil {
		c.ResourceServer = *req.ResourceServer
	}
	if req.AuthMethod != nil {
		c.AuthMethod = *req.AuthMethod
	}
	if req.JWKS != nil {
		c.JWKS = ""
		if s := string(req.JWKS); s != "null" && s != `""` {
			c.JWKS = s
		}
	}
	if req.JWKSURI != nil {
		c.JWKSURI = *req.JWKSURI
	}
	if req.RequirePAR != nil {
		c.RequirePAR = *req.RequirePAR
	}
	if req.BackchannelLogoutURI != nil {
		c.BackchannelLogoutURI = *req.BackchannelLogoutURI
	}
	if req.BackchannelLogoutSessionRequired != nil {
		c.BackchannelLogoutSessionRequired = *req.BackchannelLogoutSessionRequired
	}
	if req.RequireFreshChallenge != nil {
		c.RequireFreshChallenge = *req.RequireFreshChallenge
	}
	if req.AuthenticationPolicy != nil {
		c.AuthenticationPolicy = *req.AuthenticationPolicy
	}
	for _, d := range []struct {
		f   registration.Field
		src *string
		dst *time.Duration
	}{
		{registration.FieldRefreshGrace, req.RefreshGrace, &c.RefreshGrace},
		{registration.FieldRefreshIdle, req.RefreshIdle, &c.RefreshIdle},
		{registration.FieldRefreshAbsolute, req.RefreshAbsolute, &c.RefreshAbsolute},
		{registration.FieldAccessTokenTTL, req.AccessTokenTTL, &c.AccessTokenTTL},
	} {
		if d.src == nil {
			continue
		}
		if *d.src == "" {
			*d.dst = 0 // back to the server default
			continue
		}
		v, err := time.ParseDuration(*d.src)
		if err != nil {
			return errBadRequest("%s: %q is not a duration such as 30s, 10m or 24h", d.f.JSON(), *d.src)
		}
		*d.dst = v
	}
	return nil
}

// clientResponse is a client just created or updated: its view and, when
// not empty, "warnings": what is probably wrong with it although valid
// (registration.ClientWarnings; the CLI prints the same sentences).
type clientResponse struct {
	registration.ClientView
	Warnings []string `json:"warnings,omitempty"`
}

func newClientResponse(res manage.ClientResult) clientResponse {
	return clientResponse{ClientView: res.View, Warnings: res.Warnings}
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request) error {
	views, err := s.svc.ListClients(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, views)
	return nil
}

func (s *Server) getClient(w http.ResponseWriter, r *http.Request) error {
	c, err := s.svc.GetClient(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, registration.NewClientView(c, ""))
	return nil
}

// createClient registers a client. A confidential client gets a random
// 256-bit secret, returned once in client_secret: only its hash is stored.
func (s *Server) createClient(w http.ResponseWriter, r *http.Request) error {
	var req clientRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	if req.ClientID == nil || *req.ClientID == "" {
		return errBadRequest("client_id is required")
	}
	if req.ClientType == nil {
		return errBadRequest(`client_type is required: "public" or "confidential"`)
	}
	if req.RotateSecret {
		return errBadRequest("rotate_secret applies to PATCH only")
	}
	c := store.Client{ID: *req.ClientID, GrantTypes: registration.DefaultGrantTypes()}
	switch *req.ClientType {
	case "public":
		c.Public = true
	case "confidential":
	default:
		return errBadRequest(`client_type must be "public" or "confidential"`)
	}
	if err := req.apply(&c); err != nil {
		return err
	}
	res, err := s.svc.CreateClient(r.Context(), c)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/admin/clients/"+c.ID)
	writeJSON(w, http.StatusCreated, newClientResponse(res))
	return nil
}

// updateClient changes the given settings. client_type "public" deletes
// the secret; "confidential" on a public client, or rotate_secret, makes a
// new one, returned once.
func (s *Server) updateClient(w http.ResponseWriter, r *http.Request) error {
	var req clientRequest
	if err := decode(r, &req); err != nil {
		return err
	}
	id := r.PathValue("id")
	if req.ClientID != nil && *req.ClientID != id {
		return errBadRequest("client_id cannot be changed")
	}
	u := manage.ClientUpdate{RotateSecret: req.RotateSecret, Apply: req.apply}
	if req.ClientType != nil {
		switch *req.ClientType {
		case "public":
			if req.RotateSecret {
				return errBadRequest("rotate_secret with client_type public: public clients have no secret")
			}
			u.Public = new(true)
		case "confidential":
			u.Public = new(false)
		default:
			return errBadRequest(`client_type must be "public" or "confidential"`)
		}
	}
	res, err := s.svc.UpdateClient(r.Context(), id, u)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, newClientResponse(res))
	return nil
}

func (s *Server) deleteClient(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteClient(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

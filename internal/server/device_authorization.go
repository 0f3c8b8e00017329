package server

import (
	"net/http"
	"net/url"
	"time"

	"github.com/latchauth/latch/internal/oauth"
)

// handleDeviceAuthorization is the device authorization endpoint (RFC
// 8628 §3.1, §3.2): parse → authenticate the client (grant.Authenticate,
// every method; public clients by client_id) → scope as /authorize allows
// it → grant.StartDevice (the client must be registered for the
// device_code grant) → 200 with device_code, user_code (XXXX-XXXX),
// verification_uri (/device), verification_uri_complete (with the code),
// expires_in and interval. Errors are RFC 6749 §5.2 JSON (RFC 8628 §3.2).
func (s *Server) handleDeviceAuthorization(w http.ResponseWriter, r *http.Request) error {
	auth, form, err := s.clientForm(w, r)
	if err != nil {
		return err
	}
	req, err := oauth.ParseDeviceAuthorizationRequest(auth, form)
	if err != nil {
		return err
	}
	ctx := r.Context()
	ac, err := s.authenticateClient(ctx, r, req.Client)
	if err != nil {
		return err
	}
	c := ac.Client()
	if !oauth.ScopeSubset(req.Scopes, allowedScopes(c)) {
		return oauth.Errorf(oauth.InvalidScope, "the requested scope is not allowed for this client")
	}
	da, err := s.grants.StartDevice(ctx, ac, req.Scopes)
	if err != nil {
		return err
	}
	code := oauth.FormatUserCode(da.UserCode)
	s.allowOrigin(w, r, c)
	writeJSON(w, http.StatusOK, map[string]any{
		"device_code":               da.DeviceCode,
		"user_code":                 code,
		"verification_uri":          s.url(pathDevice),
		"verification_uri_complete": s.url(pathDevice) + "?" + url.Values{"user_code": {code}}.Encode(),
		"expires_in":                int(da.ExpiresIn / time.Second),
		"interval":                  int(da.Interval / time.Second),
	})
	return nil
}

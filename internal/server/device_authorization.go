package server

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// handleDeviceAuthorization is the device authorization endpoint (RFC
// 8628 §3.1, §3.2): parse → reserve a request against the client IP's
// budget (device-max-requests per throttle-window, reserved in the shared
// store before any work, so a concurrent burst stores at most that many
// device codes; refused: 429 slow_down with Retry-After, as a throttled
// token request) → authenticate the client (grant.Authenticate,
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
	a, wait, err := s.throttle.reserveDeviceAuthorization(ctx, s.clientIP(r))
	if err != nil {
		return err
	}
	if a == nil {
		s.auditLog(ctx, "device_authorization_throttled", "client_id", req.Client.ID)
		return grant.SlowDown(wait, fmt.Sprintf("too many device authorization requests from this address; retry after %d seconds", grant.RetryAfter(wait)))
	}
	da, err := s.startDevice(ctx, r, req)
	if err != nil {
		// Nothing stored: the request gives its reservation back.
		if aerr := s.throttle.abandoned(ctx, a); aerr != nil {
			return errors.Join(err, aerr)
		}
		return err
	}
	if _, err := s.throttle.confirm(ctx, a, s.now()); err != nil {
		return err
	}
	c := da.client
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

// startedDevice is a device authorization started for client.
type startedDevice struct {
	*grant.DeviceAuthorization
	client store.Client
}

// startDevice is the work the budget guards: client authentication, the
// scope check, and grant.StartDevice (which stores the device code).
func (s *Server) startDevice(ctx context.Context, r *http.Request, req *oauth.DeviceAuthorizationRequest) (*startedDevice, error) {
	ac, err := s.authenticateClient(ctx, r, req.Client)
	if err != nil {
		return nil, err
	}
	c := ac.Client()
	if !oauth.ScopeSubset(req.Scopes, allowedScopes(c)) {
		return nil, oauth.Errorf(oauth.InvalidScope, "the requested scope is not allowed for this client")
	}
	da, err := s.grants.StartDevice(ctx, ac, req.Scopes)
	if err != nil {
		return nil, err
	}
	return &startedDevice{da, c}, nil
}

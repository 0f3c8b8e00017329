package server

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/ui"
)

// The device verification page (RFC 8628 §3.3), verification_uri.
//
//	GET  /device[?user_code=…]  signed in: the code form (prefilled from
//	                            verification_uri_complete); else the
//	                            sign-in page, which comes back here
//	POST /device (user_code)    look the code up (throttled) → the
//	                            confirmation: client name and scopes
//	POST /device (decision)     approve or deny the code looked up
//
// Invariants: every POST carries a sealed, single-use interaction of kind
// "device" bound to this browser's CSRF cookie and to the signed-in user
// (openInteraction), on a route guarded against cross-origin posts
// (browser) — a forged or cross-site POST decides nothing. The decision
// applies to the code sealed in the confirmation form, never to one in
// the request, so only a code the user looked up and saw described can
// be approved. Every code lookup is reserved against the throttle's
// budgets (userCodeLimits: per session, per client IP) before it is made,
// and an unknown, expired, decided or malformed code gets one answer
// (msgBadUserCode): a wrong code says nothing about any other.

const kindDevice = "device"

// msgBadUserCode is the one answer for any code that cannot be approved.
const msgBadUserCode = "That code is not valid or has expired. Check the code on your device and try again."

func (s *Server) handleDevice(w http.ResponseWriter, r *http.Request) error {
	sess, user, err := s.currentSession(r)
	if err != nil {
		return err
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		code, _ := oauth.NormalizeUserCode(r.URL.Query().Get("user_code"))
		if sess == nil {
			return s.showDeviceLogin(w, r, code)
		}
		return s.showDeviceEnter(w, r, user, code, "", http.StatusOK)
	case http.MethodPost:
	default:
		return oauth.Errorf(oauth.InvalidRequest, "method not allowed")
	}
	form, err := parsePostForm(r)
	if err != nil {
		return err
	}
	sealed, err1 := formValue(form, "interaction")
	decision, err2 := formValue(form, "decision")
	typed, err3 := formValue(form, "user_code")
	if err := errors.Join(err1, err2, err3); err != nil {
		return err
	}
	in, err := s.openInteraction(r, kindDevice, sealed)
	if err != nil {
		return err
	}
	// The form must come from the user it was shown to, still signed in.
	if sess == nil || user.ID != in.UserID {
		return errInteraction.WithCause(errors.New("device: no session or another user"))
	}
	if in.UserCode == "" {
		return s.lookupUserCode(w, r, sess, user, typed)
	}
	return s.decideDevice(w, r, sess, user, in.UserCode, decision)
}

// lookupUserCode is the code entry step: reserve an attempt, look the
// code up, and show the confirmation for a pending one.
func (s *Server) lookupUserCode(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, typed string) error {
	ctx := r.Context()
	a, wait, err := s.throttle.reserve(ctx, s.throttle.userCodeLimits(sess.SID, s.clientIP(r)))
	if err != nil {
		return err
	}
	if a == nil {
		s.auditLog(ctx, "user_code_throttled", "sub", user.ID)
		return s.showDeviceLocked(w, r, user, wait)
	}
	var d store.DeviceCode
	code, ok := oauth.NormalizeUserCode(typed)
	if ok {
		d, err = s.store.GetDeviceCodeByUserCode(ctx, grant.UserCodeHash(code))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return errors.Join(err, s.throttle.abandoned(ctx, a))
		}
		ok = err == nil && d.Status == store.DevicePending && d.ExpiresAt.After(s.now())
	}
	if !ok {
		wait, err := s.throttle.failed(ctx, a)
		if err != nil {
			return err
		}
		s.auditLog(ctx, "user_code_failed", "sub", user.ID)
		if wait > 0 {
			return s.showDeviceLocked(w, r, user, wait)
		}
		return s.showDeviceEnter(w, r, user, "", msgBadUserCode, http.StatusBadRequest)
	}
	// A right code releases its reservation; earlier failures stay.
	if err := s.throttle.succeeded(ctx, a); err != nil {
		return err
	}
	c, err := s.store.GetClient(ctx, d.ClientID)
	if errors.Is(err, store.ErrNotFound) {
		// The client was deleted (PostgreSQL keeps its device codes until
		// they are swept): nothing can redeem the code.
		return s.showDeviceEnter(w, r, user, "", msgBadUserCode, http.StatusBadRequest)
	}
	if err != nil {
		return err
	}
	sealed, err := s.sealInteraction(w, r, interaction{Kind: kindDevice, UserID: user.ID, UserCode: code})
	if err != nil {
		return err
	}
	scopes := make([]ui.Scope, 0, len(d.Scopes))
	for _, sc := range d.Scopes {
		scopes = append(scopes, ui.Scope{Name: sc, Description: scopeDescription(sc)})
	}
	s.render(w, r, http.StatusOK, ui.DevicePage{
		Action: s.url(pathDevice), Interaction: sealed, Step: "confirm", UserCode: oauth.FormatUserCode(code),
		Username: user.Username, ClientName: clientName(c), ClientID: c.ID, Scopes: scopes,
	})
	return nil
}

// decideDevice records the user's decision on the code sealed in the
// confirmation form (store.DecideDeviceCode: once), with the session's
// sid, auth_time and amr for the tokens the device will get.
func (s *Server) decideDevice(w http.ResponseWriter, r *http.Request, sess *store.Session, user *store.User, code, decision string) error {
	if decision != "allow" && decision != "deny" {
		return oauth.Errorf(oauth.InvalidRequest, "choose Allow or Deny")
	}
	ctx := r.Context()
	d, err := s.store.DecideDeviceCode(ctx, grant.UserCodeHash(code), s.now(), store.DeviceDecision{
		Approved: decision == "allow", UserID: user.ID, SessionID: sess.SID, AuthTime: sess.AuthTime, AMR: sess.AMR,
	})
	switch {
	case errors.Is(err, store.ErrNotFound), errors.Is(err, store.ErrExpired), errors.Is(err, store.ErrCodeUsed):
		// Expired, or decided meanwhile (another tab): start over.
		return s.showDeviceEnter(w, r, user, "", msgBadUserCode, http.StatusBadRequest)
	case err != nil:
		return err
	}
	event := "device_denied"
	if d.Status == store.DeviceApproved {
		event = "device_approved"
	}
	s.auditLog(ctx, event, "client_id", d.ClientID, "sub", user.ID, "scope", oauth.JoinScope(d.Scopes))
	s.render(w, r, http.StatusOK, ui.DevicePage{Step: "done", Approved: d.Status == store.DeviceApproved})
	return nil
}

// showDeviceEnter shows the code form to a signed-in user.
func (s *Server) showDeviceEnter(w http.ResponseWriter, r *http.Request, user *store.User, code, msg string, status int) error {
	sealed, err := s.sealInteraction(w, r, interaction{Kind: kindDevice, UserID: user.ID})
	if err != nil {
		return err
	}
	shown := ""
	if code != "" {
		shown = oauth.FormatUserCode(code)
	}
	s.render(w, r, status, ui.DevicePage{
		Action: s.url(pathDevice), Interaction: sealed, Step: "enter", UserCode: shown, Username: user.Username, Error: msg,
	})
	return nil
}

// showDeviceLocked answers a lookup refused by the throttle: the code
// form disabled, 429 and Retry-After.
func (s *Server) showDeviceLocked(w http.ResponseWriter, r *http.Request, user *store.User, wait time.Duration) error {
	sealed, err := s.sealInteraction(w, r, interaction{Kind: kindDevice, UserID: user.ID})
	if err != nil {
		return err
	}
	w.Header().Set("Retry-After", strconv.Itoa(grant.RetryAfter(wait)))
	s.render(w, r, http.StatusTooManyRequests, ui.DevicePage{
		Action: s.url(pathDevice), Interaction: sealed, Step: "enter", Username: user.Username, Locked: true,
		Error: fmt.Sprintf("Too many incorrect codes. Try again in %s.", waitText(wait)),
	})
	return nil
}

// showDeviceLogin shows the sign-in page for the device page: the
// interaction carries no authorization request, only the code to come
// back with (handleLogin then calls returnToDevice).
func (s *Server) showDeviceLogin(w http.ResponseWriter, r *http.Request, code string) error {
	return s.showLogin(w, r, nil, interaction{Device: true, UserCode: code}, "", "", http.StatusOK)
}

// returnToDevice ends a sign-in the device page asked for: back to
// /device, with the code the user arrived with. The target is always
// this server's device page (no open redirect); code is canonical.
func (s *Server) returnToDevice(w http.ResponseWriter, r *http.Request, code string) error {
	to := s.url(pathDevice)
	if code != "" {
		to += "?" + url.Values{"user_code": {oauth.FormatUserCode(code)}}.Encode()
	}
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

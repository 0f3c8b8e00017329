package server

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"time"

	"github.com/latchauth/latch/internal/token"
)

// A known device is a browser that has signed in as a user before. It
// carries a sealed cookie naming the user (by ID, the OIDC sub) and a
// random device ID; a sign-in attempt for that user from that browser is
// counted under the device's own budget (throttle.deviceLimits) instead
// of the username's, so an attacker who spends the username's budgets
// from elsewhere does not lock the user out of their own browser (OWASP
// "device cookies"). The cookie proves only that this browser signed in
// as the user before, never who is at it: the password is still checked,
// and guessing with a stolen cookie is bounded by the device's budget.
//
// Invariants: the cookie is sealed (AES-GCM, the interaction sealer with
// its own additional data, so neither can be opened as the other), bound
// to one user ID, expires (knownDeviceTTL, inside the seal as well as on
// the cookie) and is HttpOnly, SameSite=Lax, Secure on an https issuer.
// It is set only after a successful sign-in.

const (
	deviceCookie   = "latch_device"
	knownDeviceTTL = 90 * 24 * time.Hour
	// deviceAD is the additional data the device cookie is sealed with.
	deviceAD = "known-device"
)

// knownDevice is the sealed content of the device cookie.
type knownDevice struct {
	Sub     string `json:"u"`
	ID      string `json:"d"`
	Expires int64  `json:"e"`
}

// readDevice opens the browser's device cookie; ok is false when there
// is none, or it is forged, expired or unreadable.
func (s *Server) readDevice(r *http.Request) (knownDevice, bool) {
	var d knownDevice
	v := s.cookie(r, deviceCookie)
	if v == "" {
		return d, false
	}
	raw, err := base64.RawURLEncoding.DecodeString(v)
	if err != nil {
		return d, false
	}
	b, err := s.opts.Interaction.Open(raw, []byte(deviceAD))
	if err != nil || json.Unmarshal(b, &d) != nil || d.Sub == "" || d.ID == "" || s.now().Unix() > d.Expires {
		return knownDevice{}, false
	}
	return d, true
}

// knownDeviceFor returns the device ID of r's browser when it is a known
// device of the user userID.
func (s *Server) knownDeviceFor(r *http.Request, userID string) (string, bool) {
	d, ok := s.readDevice(r)
	if !ok || d.Sub != userID {
		return "", false
	}
	return d.ID, true
}

// rememberDevice marks the browser as a known device of userID after a
// successful sign-in, keeping its device ID when it was one already.
func (s *Server) rememberDevice(w http.ResponseWriter, r *http.Request, userID string) error {
	d, ok := s.readDevice(r)
	if !ok || d.Sub != userID {
		d = knownDevice{Sub: userID, ID: token.NewOpaque()}
	}
	exp := s.now().Add(knownDeviceTTL)
	d.Expires = exp.Unix()
	b, err := json.Marshal(d)
	if err != nil {
		return err
	}
	http.SetCookie(w, s.newCookie(deviceCookie, base64.RawURLEncoding.EncodeToString(s.opts.Interaction.Seal(b, []byte(deviceAD))), exp, 0))
	return nil
}

package token

// TypeLogoutToken is the typ header of a Logout Token (OpenID Connect
// Back-Channel Logout 1.0 §2.4: "logout+jwt", explicit typing per
// RFC 8725 §3.11, so no other JWT of this issuer passes for one).
const TypeLogoutToken = "logout+jwt"

// EventBackchannelLogout is the member of a Logout Token's events claim
// (Back-Channel Logout §2.4); its value is an empty JSON object.
const EventBackchannelLogout = "http://schemas.openid.net/event/backchannel-logout"

// LogoutClaims are the claims of a Logout Token (Back-Channel Logout
// §2.4): iss, aud, iat, exp, jti, events and sub and/or sid. There is no
// nonce: §2.4 forbids it, so a Logout Token can never be replayed as an
// ID token (which, at Latch, always has a typ of JWT besides).
type LogoutClaims struct {
	Issuer    string              `json:"iss"`
	Audience  string              `json:"aud"`
	IssuedAt  int64               `json:"iat"`
	ExpiresAt int64               `json:"exp"`
	JTI       string              `json:"jti"`
	Subject   string              `json:"sub,omitempty"`
	SID       string              `json:"sid,omitempty"`
	Events    map[string]struct{} `json:"events"`
}

// NewLogoutEvents is the events claim of every Logout Token.
func NewLogoutEvents() map[string]struct{} {
	return map[string]struct{}{EventBackchannelLogout: {}}
}

package grant

// Why a refresh token no longer works, told to the client that holds it.

import (
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// reasonSentence says in words what a reason code means; the code itself
// follows in a stable suffix (see endedError). ok is false for a reason
// the token endpoint never names (or "").
func reasonSentence(r store.Reason) (s string, ok bool) {
	switch r {
	case store.ReasonReused:
		return "the refresh token was used after it had been replaced, so its grant was revoked", true
	case store.ReasonCodeReplayed:
		return "the authorization code or device_code of this grant was redeemed twice, so the grant was revoked", true
	case store.ReasonIdleExpired:
		return "the refresh token expired: it was not used within its idle lifetime", true
	case store.ReasonAbsoluteExpired:
		return "the refresh token expired: its grant reached its absolute lifetime", true
	case store.ReasonRevokedByClient:
		return "the refresh token was revoked by the client", true
	case store.ReasonLogout:
		return "the refresh token was revoked when the user signed out of this client", true
	case store.ReasonSessionEnded:
		return "the refresh token was revoked when the user's sign-in session ended", true
	case store.ReasonAdmin:
		return "the refresh token was revoked by an administrator", true
	case store.ReasonPasswordChanged:
		return "the refresh token was revoked when the user's password was changed", true
	case store.ReasonRevokedByUser:
		return "the user removed this app's access on their account page", true
	}
	return "", false
}

// ReasonSuffix is the stable end of an invalid_grant error_description
// that names why a refresh token ended: " (reason: CODE)" with CODE one
// of store.Reasons. Apps may parse it (docs/tokens.md); it never changes.
func ReasonSuffix(r store.Reason) string { return " (reason: " + string(r) + ")" }

// endedError is the invalid_grant answer for a refresh token that ended
// for reason r (RFC 6749 §5.2). It is told only to the client the token
// was issued to: the caller has checked the binding. An unknown or empty
// reason (a grant revoked before reasons were recorded) gets the generic
// answer without a suffix.
func endedError(r store.Reason) *oauth.Error {
	s, ok := reasonSentence(r)
	if !ok {
		return errBadRefresh
	}
	return oauth.Errorf(oauth.InvalidGrant, "%s%s", s, ReasonSuffix(r))
}

// expiryReason says which lifetime ended a refresh token the store found
// expired at now: the grant's absolute bound when it has passed, else the
// token's idle one (the store's order: RotateRefreshToken).
func expiryReason(g store.Grant, now time.Time) store.Reason {
	if !g.AbsoluteExpiresAt.IsZero() && !g.AbsoluteExpiresAt.After(now) {
		return store.ReasonAbsoluteExpired
	}
	return store.ReasonIdleExpired
}

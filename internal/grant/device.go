package grant

import (
	"context"
	"errors"
	"time"

	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/registration"
	"github.com/latchauth/latch/internal/store"
	"github.com/latchauth/latch/internal/token"
)

// The device authorization grant (RFC 8628).
const (
	// DeviceCodeTTL is the life of a device authorization: how long the
	// user has to enter the code (RFC 8628 §3.2 expires_in).
	DeviceCodeTTL = 10 * time.Minute
	// DeviceInterval is the minimum polling interval a device is given
	// (RFC 8628 §3.2 interval; 5 seconds is the RFC's default).
	DeviceInterval = 5 * time.Second
	// SlowDownStep is what every slow_down adds to the interval (RFC 8628
	// §3.5: "increased by 5 seconds for this and all subsequent requests").
	SlowDownStep = 5 * time.Second
	// userCodeAttempts bounds the retries on a user code collision.
	userCodeAttempts = 4
)

// DeviceAuthorization is a started device authorization: the codes (the
// user code canonical, unformatted) and their timing.
type DeviceAuthorization struct {
	DeviceCode string
	UserCode   string
	ExpiresIn  time.Duration
	Interval   time.Duration
}

// errNoDeviceGrant answers a client not registered for the grant.
var errNoDeviceGrant = oauth.Errorf(oauth.UnauthorizedClient,
	"the client is not registered for the device authorization grant (grant type %s)", oauth.GrantDeviceCode)

// StartDevice is the device authorization endpoint's step after client
// authentication (RFC 8628 §3.1, §3.2): the client must be registered for
// the grant; scopes must already be allowed for it (the caller checks
// them as /authorize does). It stores a pending authorization under the
// hashes of a fresh device_code (256 random bits) and user code
// (oauth.NewUserCode); neither code is stored in the clear.
func (e *Engine) StartDevice(ctx context.Context, ac AuthenticatedClient, scopes []string) (*DeviceAuthorization, error) {
	c, err := ac.client()
	if err != nil {
		return nil, err
	}
	if !registration.HasGrant(c, oauth.GrantDeviceCode) {
		return nil, errNoDeviceGrant
	}
	now := e.now()
	for range userCodeAttempts {
		da := &DeviceAuthorization{DeviceCode: token.NewOpaque(), UserCode: oauth.NewUserCode(), ExpiresIn: DeviceCodeTTL, Interval: DeviceInterval}
		d := store.DeviceCode{
			Hash: token.Hash(da.DeviceCode), UserCodeHash: UserCodeHash(da.UserCode), ClientID: c.ID, Scopes: scopes,
			GrantID: token.NewOpaque(), Interval: DeviceInterval, CreatedAt: now, ExpiresAt: now.Add(DeviceCodeTTL),
			Status: store.DevicePending,
		}
		err = e.store.CreateDeviceCode(ctx, d)
		if errors.Is(err, store.ErrAlreadyExists) {
			continue // a live user code drawn twice: draw again
		}
		if err != nil {
			return nil, err
		}
		e.audit(ctx, "device_authorization_started", "client_id", c.ID, "scope", oauth.JoinScope(scopes))
		return da, nil
	}
	return nil, err
}

// deviceCodeReplayed answers a device_code polled after it yielded tokens
// (d is the used record, store.ErrCodeUsed). As for a replayed
// authorization code (RFC 6749 §4.1.2, RFC 9700 §4.5; see authCode), the
// grant the code produced is revoked with ReasonCodeReplayed: its refresh
// tokens stop working and its access tokens introspect inactive. One of
// the two polls may have been a thief holding the device_code, and Latch
// cannot tell which. That includes polls racing after the approval: the
// one that got tokens loses them when another arrives after it (as two
// racing redemptions of an auth code do); a client polls once at a time.
// Only a replay by the client the code was issued to revokes (the
// client's authentication has passed): another client's poll of it is
// refused like an unknown code and revokes nothing.
func (e *Engine) deviceCodeReplayed(ctx context.Context, c store.Client, d store.DeviceCode, now time.Time, err error) error {
	if d.ClientID != c.ID || d.GrantID == "" {
		e.audit(ctx, "device_code_replayed", "client_id", c.ID)
		return errBadDeviceCode.WithCause(err)
	}
	if rerr := e.store.RevokeGrant(ctx, d.GrantID, now, store.ReasonCodeReplayed); rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
		return rerr
	}
	e.audit(ctx, "device_code_replayed", "client_id", c.ID, "sub", d.UserID, "grant_id", d.GrantID, "reason", store.ReasonCodeReplayed)
	return errBadDeviceCode.WithCause(err)
}

// UserCodeHash is how a canonical user code is stored and looked up.
func UserCodeHash(canonical string) string { return token.Hash("user_code:" + canonical) }

// errBadDeviceCode is the one answer for an unknown device code, one of
// another client, and one used before.
var errBadDeviceCode = oauth.Errorf(oauth.InvalidGrant, "the device_code is invalid, already used, or was issued to another client")

// deviceToken is the device_code grant (RFC 8628 §3.4, §3.5): every poll
// is recorded atomically (store.PollDeviceCode), and answered in this
// order: unknown, used before or another client's: invalid_grant (used
// before by its own client: the grant it produced is revoked too,
// deviceCodeReplayed);
// expired: expired_token; polled before the interval passed: slow_down
// (the stored interval grows by SlowDownStep); not decided yet:
// authorization_pending; denied: access_denied; approved: the
// authorization is redeemed, once (store.RedeemDeviceCode: of concurrent
// polls exactly one gets tokens), into a grant carrying the approving
// session's sid, auth_time and amr. A public client gets rotating
// refresh tokens as after the code grant (getsRefreshToken).
func (e *Engine) deviceToken(ctx context.Context, c store.Client, treq *oauth.TokenRequest, proof *token.DPoPProof) (*Response, error) {
	if !registration.HasGrant(c, oauth.GrantDeviceCode) {
		return nil, errNoDeviceGrant
	}
	now := e.now()
	hash := token.Hash(treq.DeviceCode)
	d, slow, err := e.store.PollDeviceCode(ctx, hash, now, SlowDownStep)
	switch {
	case errors.Is(err, store.ErrNotFound):
		return nil, errBadDeviceCode.WithCause(err)
	case errors.Is(err, store.ErrCodeUsed):
		return nil, e.deviceCodeReplayed(ctx, c, d, now, err)
	case errors.Is(err, store.ErrExpired):
		return nil, oauth.Errorf(oauth.ExpiredToken, "the device_code has expired: start a new device authorization")
	case err != nil:
		return nil, err
	}
	// The poll was recorded before this check: a device_code is 256
	// random bits, so only its holder can poll it at all.
	if d.ClientID != c.ID {
		return nil, errBadDeviceCode.WithCause(errors.New("device code of another client"))
	}
	if slow {
		return nil, oauth.Errorf(oauth.SlowDown, "polling too fast: wait at least %d seconds between requests", RetryAfter(d.Interval))
	}
	switch d.Status {
	case store.DevicePending:
		return nil, oauth.Errorf(oauth.AuthorizationPending, "the user has not yet approved the request")
	case store.DeviceDenied:
		return nil, oauth.Errorf(oauth.AccessDenied, "the user denied the request")
	case store.DeviceApproved:
	default:
		return nil, errors.New("device code in an unknown state")
	}
	g := store.Grant{
		ID: d.GrantID, ClientID: c.ID, UserID: d.UserID, SessionID: d.SessionID, Scopes: d.Scopes,
		AuthTime: d.AuthTime, AMR: d.AMR, CreatedAt: now,
	}
	if c.Public {
		g.DPoPJKT = jktOf(proof) // RFC 9449 §5, as after the code grant
	}
	g, rt, refresh := e.newGrant(c, g, d.Scopes)
	if used, err := e.store.RedeemDeviceCode(ctx, hash, now, g, rt); err != nil {
		switch {
		case errors.Is(err, store.ErrCodeUsed):
			// Lost a race to another poll: a replay like any other
			// (used is the record, read after the winner's commit).
			return nil, e.deviceCodeReplayed(ctx, c, used, now, err)
		case errors.Is(err, store.ErrNotFound):
			return nil, errBadDeviceCode.WithCause(err)
		case errors.Is(err, store.ErrExpired):
			return nil, oauth.Errorf(oauth.ExpiredToken, "the device_code has expired: start a new device authorization")
		}
		return nil, err
	}
	resp, err := e.mintTokens(ctx, c, g, d.Scopes, "", true, jktOf(proof))
	if err != nil {
		return nil, err
	}
	resp.RefreshToken = refresh
	e.audit(ctx, "token_issued", "grant_type", string(oauth.GrantDeviceCode), "client_id", c.ID, "sub", g.UserID, "grant_id", g.ID, "refresh_token", refresh != "", "dpop", jktOf(proof) != "")
	return resp, nil
}

package grant_test

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/grant"
	"github.com/latchauth/latch/internal/oauth"
	"github.com/latchauth/latch/internal/store"
)

// tvID is a public client registered for the device grant only.
const tvID = "tv"

func (e *env) tv() grant.AuthenticatedClient {
	e.t.Helper()
	err := e.store.CreateClient(e.t.Context(), store.Client{ID: tvID, Public: true, CreatedAt: e.now,
		GrantTypes: []string{string(oauth.GrantDeviceCode), string(oauth.GrantRefreshToken)}})
	if err != nil {
		e.t.Fatal(err)
	}
	return e.authenticate(oauth.ClientCredentials{ID: tvID, Method: oauth.AuthNone})
}

func deviceRequest(dc string) *oauth.TokenRequest {
	return &oauth.TokenRequest{GrantType: oauth.GrantDeviceCode, Client: oauth.ClientCredentials{ID: tvID, Method: oauth.AuthNone}, DeviceCode: dc}
}

// TestDeviceGrant: the engine's side of RFC 8628 — StartDevice needs the
// grant and an authenticated client; the approval's session reaches the
// grant; the device_code yields tokens once.
func TestDeviceGrant(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	if _, err := e.engine.StartDevice(ctx, grant.AuthenticatedClient{}, nil); err == nil {
		t.Fatal("StartDevice with a zero AuthenticatedClient succeeded")
	}
	_, err := e.engine.StartDevice(ctx, e.spa(), []string{"openid"})
	wantCode(t, "StartDevice for a client without the grant", err, oauth.UnauthorizedClient)

	tv := e.tv()
	da, err := e.engine.StartDevice(ctx, tv, []string{"openid"})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := oauth.NormalizeUserCode(da.UserCode); !ok || da.Interval != grant.DeviceInterval || da.ExpiresIn != grant.DeviceCodeTTL {
		t.Errorf("StartDevice = %+v", da)
	}
	_, err = e.engine.Token(ctx, tv, deviceRequest(da.DeviceCode), nil)
	wantCode(t, "first poll", err, oauth.AuthorizationPending)
	authTime := e.now.Add(-time.Minute)
	if _, err := e.store.DecideDeviceCode(ctx, grant.UserCodeHash(da.UserCode), e.now, store.DeviceDecision{
		Approved: true, UserID: userID, SessionID: "sid-tv", AuthTime: authTime, AMR: []string{"pwd", "otp"},
	}); err != nil {
		t.Fatal(err)
	}
	_, err = e.engine.Token(ctx, grant.AuthenticatedClient{}, deviceRequest(da.DeviceCode), nil)
	wantCode(t, "zero AuthenticatedClient", err, oauth.InvalidClient)
	e.now = e.now.Add(grant.DeviceInterval)
	resp, err := e.engine.Token(ctx, tv, deviceRequest(da.DeviceCode), nil)
	if err != nil {
		t.Fatalf("poll after approval: %v", err)
	}
	if resp.RefreshToken == "" || resp.IDToken == "" {
		t.Errorf("response: refresh %v, id token %v; want both", resp.RefreshToken != "", resp.IDToken != "")
	}
	grants, err := e.store.ListUserGrants(ctx, userID)
	if err != nil || len(grants) != 1 || grants[0].SessionID != "sid-tv" || !grants[0].AuthTime.Equal(authTime) || len(grants[0].AMR) != 2 {
		t.Errorf("grants = %+v, %v; want one carrying the approving session's sid, auth_time and amr", grants, err)
	}
	_, err = e.engine.Token(ctx, tv, deviceRequest(da.DeviceCode), nil)
	wantCode(t, "replay", err, oauth.InvalidGrant)
	if !e.sawEvent("device_code_replayed") || !e.sawEvent("device_authorization_started") {
		t.Errorf("events %v", e.events)
	}
}

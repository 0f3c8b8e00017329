package manage

import (
	"testing"
	"time"

	"github.com/latchauth/latch/internal/store"
)

// TestSessionEndsNotifyBackchannel: every admin road that ends a user's
// sessions — log out everywhere, a password change with logout, deleting
// the user — enqueues a back-channel logout for the client that got
// tokens in each live session, on both stores; a client that is validated
// with a bad backchannel_logout_uri is refused.
func TestSessionEndsNotifyBackchannel(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := t.Context()
		svc, audit := newService(t, st)
		if _, err := svc.CreateClient(ctx, store.Client{ID: "rp", Public: true, GrantTypes: []string{"authorization_code"},
			RedirectURIs: []string{"https://rp.example/cb"}, BackchannelLogoutURI: "http://rp.example/bcl"}); kindOf(err) != Invalid {
			t.Fatalf("CreateClient with an http backchannel_logout_uri: %v, want Invalid", err)
		}
		if _, err := svc.CreateClient(ctx, store.Client{ID: "rp", Public: true, GrantTypes: []string{"authorization_code"},
			RedirectURIs: []string{"https://rp.example/cb"}, BackchannelLogoutURI: "https://rp.example/bcl"}); err != nil {
			t.Fatal(err)
		}
		type road struct {
			name string
			end  func(id string) error
		}
		for i, r := range []road{
			{"LogoutEverywhere", func(id string) error { _, err := svc.LogoutEverywhere(ctx, id); return err }},
			{"SetPassword(logout)", func(id string) error { _, err := svc.SetPassword(ctx, id, "a new long password 123", true); return err }},
			{"DeleteUser", func(id string) error { return svc.DeleteUser(ctx, id) }},
		} {
			u, err := svc.CreateUser(ctx, store.User{Username: "user" + r.name}, "a long enough password 1")
			if err != nil {
				t.Fatal(err)
			}
			sid := "sid-" + r.name
			if err := st.CreateSession(ctx, store.Session{ID: "s-" + r.name, SID: sid, UserID: u.ID, CreatedAt: testNow, ExpiresAt: testNow.Add(time.Hour)}); err != nil {
				t.Fatal(err)
			}
			if err := st.CreateGrant(ctx, store.Grant{ID: "g-" + r.name, ClientID: "rp", UserID: u.ID, SessionID: sid, CreatedAt: testNow}, nil); err != nil {
				t.Fatal(err)
			}
			if err := r.end(u.ID); err != nil {
				t.Fatalf("%s: %v", r.name, err)
			}
			if n, err := st.PendingBackchannelLogouts(ctx); err != nil || n != i+1 {
				t.Errorf("after %s: %d notifications pending, %v; want %d", r.name, n, err, i+1)
			}
		}
		got, err := st.ClaimBackchannelLogouts(ctx, testNow, time.Minute, 10)
		if err != nil || len(got) != 3 {
			t.Fatalf("claimed %d, %v; want 3", len(got), err)
		}
		if countEvents(t, audit.String(), "admin_user_logged_out") != 2 {
			t.Errorf("want 2 admin_user_logged_out events:\n%s", audit.String())
		}
	})
}
